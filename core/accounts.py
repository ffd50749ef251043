"""Console accounts, login sessions, API tokens and what each account may see and do.

An account is a login linked to a person of the grids file; the person's role and grid
decide the scope, exactly as in the chat (core.people.can_manage):

- admin: every grid, every action, may create accounts;
- grid_worker: their grid and every grid below it (a street's worker sees its communities);
- care_center, volunteer: read their grid and below; care centres may file relays.

Residents get no console account.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from core import throttle
from core.db import pk, rowcount, session_scope, table_of
from core.grids import Role
from core.models import ApiToken, ConsoleAccount, ConsoleSession, Grid, Person, UTCDateTime, utcnow

SESSION_LIFETIME = timedelta(hours=12)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)
SCOPES = ("read", "write")
TOKEN_PREFIX = "linli_"
CONSOLE_ROLES = frozenset({Role.ADMIN, Role.GRID_WORKER, Role.CARE_CENTER, Role.VOLUNTEER})

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account cannot be created or used; the message says why and what to do."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- scope ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one account may see and do. ``grid_ids`` None means every grid (and tickets with none)."""

    account_id: int
    username: str
    person_key: str
    person_name: str
    role: Role
    grid_id: str | None
    grid_ids: frozenset[str] | None
    scopes: frozenset[str] = frozenset(SCOPES)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def can_act(self) -> bool:
        """May move tickets (confirm, assign, resolve …): admins and grid workers, with write scope."""
        return self.role in (Role.ADMIN, Role.GRID_WORKER) and "write" in self.scopes

    @property
    def can_relay(self) -> bool:
        return self.role in (Role.ADMIN, Role.GRID_WORKER, Role.CARE_CENTER) and "write" in self.scopes

    def sees_grid(self, grid_id: str | None) -> bool:
        return self.grid_ids is None or (grid_id is not None and grid_id in self.grid_ids)


def subtree(session: Session, grid_id: str) -> frozenset[str]:
    """The grid and every grid below it."""
    children: dict[str | None, list[str]] = {}
    for gid, parent in session.exec(select(Grid.id, Grid.parent_id)):
        children.setdefault(parent, []).append(gid)
    found, todo = set(), [grid_id]
    while todo:
        gid = todo.pop()
        if gid in found:
            continue
        found.add(gid)
        todo.extend(children.get(gid, []))
    return frozenset(found)


def scope_for(session: Session, account: ConsoleAccount, scopes: frozenset[str] = frozenset(SCOPES)) -> Scope:
    """The scope of an account from its person's current role and grid (a grids-file change applies at once)."""
    person = session.exec(select(Person).where(Person.key == account.person_key)).first()
    if person is None:
        raise AccountError(f"account {account.username!r} is linked to {account.person_key!r}, who is no longer in the grids file")
    role = Role(person.role)
    if role not in CONSOLE_ROLES:
        raise AccountError(f"{person.name or person.key} is a {role.value}; residents have no console access")
    if role is Role.ADMIN:
        grid_ids = None
    else:
        grid_ids = subtree(session, person.grid_id) if person.grid_id else frozenset()
    return Scope(pk(account), account.username, person.key, person.name or person.key, role, person.grid_id, grid_ids, scopes)


# -- accounts ------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_account(session: Session, username: str, person_key: str, password: str) -> ConsoleAccount:
    """Create a console login for a declared person. Raises :class:`AccountError` with the reason."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("username must be 1–64 characters without spaces")
    _check_password(password)
    person = session.exec(select(Person).where(Person.key == person_key)).first()
    if person is None:
        raise AccountError(f"no person {person_key!r}: declare them in the grids file (accounts: [platform:user_id]) first")
    if Role(person.role) not in CONSOLE_ROLES:
        raise AccountError(f"{person.name or person_key} is a {person.role}; only admins, grid workers, care centres and volunteers get accounts")
    if session.exec(select(ConsoleAccount).where(ConsoleAccount.username == username)).first():
        raise AccountError(f"username {username!r} is taken")
    account = ConsoleAccount(username=username, password_hash=hash_password(password), person_key=person_key)
    session.add(account)
    session.flush()
    return account


@dataclass(frozen=True)
class LoginPolicy:
    """How many wrong passwords lock an account and for how long, and how many sign-in attempts one
    client address may make per window (counted in the database, so it holds across instances)."""

    max_failures: int = MAX_FAILED_LOGINS
    lockout: timedelta = LOCKOUT
    per_address: int = 20
    address_window: timedelta = LOCKOUT


@dataclass(frozen=True)
class LoginResult:
    """The signed-in account, or None; ``retry_after`` (seconds) when the client address is throttled;
    ``locked_username`` when this attempt's wrong password locked that account."""

    account: ConsoleAccount | None
    retry_after: int | None = None
    locked_username: str | None = None


_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    """A hash of a random password made by the current hasher: verifying against it costs what a real check costs."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[1]


# argon2 takes 64 MiB and most of a second per verification: a burst of sign-ins waits for a slot
# instead of exhausting the process's memory (the per-address allowance limits the burst itself).
VERIFY_SLOTS = 4
_verifying = threading.BoundedSemaphore(VERIFY_SLOTS)


def _verify(password_hash: str, password: str) -> bool:
    with _verifying:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _claim_attempt(username: str, policy: LoginPolicy, now: datetime) -> sa.Update:
    """Count one attempt on an active, unlocked account before its password is checked, in one statement.

    Counting first (and resetting on success) means parallel guesses cannot all slip past the
    lock: the statement that makes the count reach the limit also sets the lock, so at most
    ``max_failures`` guesses per lock period are ever checked. An expired lock starts a new count.
    """
    t = table_of(ConsoleAccount)
    count = sa.case((t.c.locked_until.is_not(None), 1), else_=t.c.failed_logins + 1)
    until = sa.literal(now + policy.lockout, UTCDateTime())
    return (sa.update(t)
            .where(t.c.username == username, t.c.active.is_(True),
                   sa.or_(t.c.locked_until.is_(None), t.c.locked_until <= sa.literal(now, UTCDateTime())))
            .values(failed_logins=count, locked_until=sa.case((count >= policy.max_failures, until), else_=None))
            .returning(t.c.id, t.c.password_hash, t.c.failed_logins))


def authenticate(engine: sa.Engine, username: str, password: str, *, address: str | None = None,
                 policy: LoginPolicy = LoginPolicy(), now: datetime | None = None) -> LoginResult:
    """Check a sign-in. Unknown, disabled, locked and wrong all answer the same and cost the same
    (one argon2 verification, against a dummy hash when there is no usable account), so neither the
    answer nor its timing tells which usernames exist. Commits its own short transactions: counts
    must be visible to parallel attempts before the (slow) password check.
    """
    now = now or utcnow()
    address_key = f"login:{address}" if address else None
    window = int(policy.address_window.total_seconds())
    if address_key:
        with session_scope(engine) as s:
            verdict = throttle.claim(s, address_key, limit=policy.per_address, window_seconds=window, now=now)
        if not verdict.allowed:
            return LoginResult(None, retry_after=verdict.retry_after)
    with session_scope(engine) as s:
        claimed = s.execute(_claim_attempt(username.strip(), policy, now)).first()
    if not _verify(claimed.password_hash if claimed else _dummy_hash(), password) or claimed is None:
        locked = claimed is not None and claimed.failed_logins == policy.max_failures
        return LoginResult(None, locked_username=username.strip() if locked else None)
    with session_scope(engine) as s:
        account = s.get_one(ConsoleAccount, claimed.id)
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
        s.add(account)
        if address_key:  # a successful sign-in does not use up the address's allowance (an office shares one)
            throttle.refund(s, address_key, now=now)
    return LoginResult(account)


def account_named(session: Session, username: str) -> ConsoleAccount:
    """The account with this username, or :class:`AccountError` saying how to find the right one."""
    account = session.exec(select(ConsoleAccount).where(ConsoleAccount.username == username.strip())).first()
    if account is None:
        raise AccountError(f"no console account {username!r}; `linli account list` shows them, `linli account create` adds one")
    return account


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise AccountError("password must be at least 8 characters")


def set_active(session: Session, username: str, active: bool) -> int:
    """Disable an account (its sessions end at once, its API tokens are refused while it stays
    disabled) or enable it (lifting any lock). Returns how many sessions ended."""
    account = account_named(session, username)
    account.active = active
    if active:
        account.failed_logins, account.locked_until = 0, None
    session.add(account)
    return 0 if active else end_all_sessions(session, pk(account))


def reset_password(session: Session, username: str, password: str) -> int:
    """Set a new password, lift any lock and end every session of the account (API tokens stay).
    Returns how many sessions ended."""
    _check_password(password)
    account = account_named(session, username)
    account.password_hash = hash_password(password)
    account.failed_logins, account.locked_until = 0, None
    session.add(account)
    return end_all_sessions(session, pk(account))


def list_accounts(session: Session) -> list[tuple[ConsoleAccount, Person | None]]:
    rows = session.exec(select(ConsoleAccount).order_by(col(ConsoleAccount.id))).all()
    people = {p.key: p for p in session.exec(select(Person).where(col(Person.key).in_([a.person_key for a in rows])))}
    return [(a, people.get(a.person_key)) for a in rows]


# -- sessions ------------------------------------------------------------------------------


def start_session(session: Session, account: ConsoleAccount, *, now: datetime | None = None) -> str:
    """Open a login session; returns the token for the cookie (only its digest is stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_digest(token), account_id=pk(account), created_at=now, expires_at=now + SESSION_LIFETIME))
    return token


def account_for_session(session: Session, token: str | None, *, now: datetime | None = None) -> ConsoleAccount | None:
    if not token:
        return None
    row = session.exec(select(ConsoleSession).where(ConsoleSession.token_hash == _digest(token))).first()
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    account = session.get(ConsoleAccount, row.account_id)
    return account if account and account.active else None


def end_sessions_of_token(session: Session, token: str | None) -> int:
    """Sign-out: end every session of the account the token's session belongs to (every browser)."""
    if not token:
        return 0
    row = session.exec(select(ConsoleSession).where(ConsoleSession.token_hash == _digest(token))).first()
    return end_all_sessions(session, row.account_id) if row is not None else 0


def end_all_sessions(session: Session, account_id: int) -> int:
    """End every session of an account; returns how many there were."""
    result = session.execute(sa.delete(ConsoleSession).where(col(ConsoleSession.account_id) == account_id))
    return rowcount(result) or 0


def sessions_of(session: Session, account_id: int, *, now: datetime | None = None) -> list[ConsoleSession]:
    """The account's sessions that have not expired, oldest first."""
    return list(session.exec(select(ConsoleSession).where(ConsoleSession.account_id == account_id,
                                                          ConsoleSession.expires_at > (now or utcnow()))
                             .order_by(col(ConsoleSession.created_at))))


# -- API tokens ----------------------------------------------------------------------------


def parse_scopes(text: str | list[str]) -> frozenset[str]:
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = set(items) - set(SCOPES)
    if unknown or not items:
        raise AccountError(f"scopes must be among {', '.join(SCOPES)}, got {', '.join(sorted(unknown)) or 'none'}")
    return frozenset(items)


def issue_token(session: Session, account: ConsoleAccount, name: str = "", scopes: str | list[str] = "read") -> tuple[ApiToken, str]:
    """A new API token for an account. The plain token is returned once and never stored."""
    wanted = parse_scopes(scopes)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(account_id=pk(account), name=name[:100], prefix=token[: len(TOKEN_PREFIX) + 6],
                   token_hash=_digest(token), scopes=",".join(s for s in SCOPES if s in wanted))
    session.add(row)
    session.flush()
    return row, token


def account_for_token(session: Session, token: str | None, *, now: datetime | None = None) -> tuple[ConsoleAccount, frozenset[str]] | None:
    """The account and scopes of a bearer token, or None if it is unknown or revoked."""
    if not token:
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token.strip()))).first()
    if row is None or row.revoked_at is not None:
        return None
    account = session.get(ConsoleAccount, row.account_id)
    if account is None or not account.active:
        return None
    row.last_used_at = now or utcnow()
    session.add(row)
    return account, frozenset(row.scopes.split(","))


def tokens_of(session: Session, account_id: int) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(col(ApiToken.account_id) == account_id).order_by(col(ApiToken.id))))


def revoke_token(session: Session, account_id: int, token_id: int, *, now: datetime | None = None) -> bool:
    row = session.get(ApiToken, token_id)
    if row is None or row.account_id != account_id or row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    session.add(row)
    return True
