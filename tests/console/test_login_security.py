"""Sign-in under attack, over real HTTP on SQLite and PostgreSQL: parallel guessing locks after the limit,
a per-address throttle holds across instances, locked/unknown/disabled accounts look like a wrong
password (same answer, same work), sign-out and disabling end every session."""

from __future__ import annotations

import re
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, select

from core import accounts, db
from core.models import ConsoleAccount

PASSWORD = "correct horse battery"


class CountingHasher(PasswordHasher):
    """Real argon2 (test-sized cost) that records which hash every verification was against."""

    def __init__(self, **cost):
        super().__init__(**({"time_cost": 1, "memory_cost": 1024, "parallelism": 1} | cost))
        self.verified: list[str] = []
        self.busy = self.most_at_once = 0
        self._lock = threading.Lock()

    def verify(self, hash, password):
        with self._lock:
            self.verified.append(hash)
            self.busy += 1
            self.most_at_once = max(self.most_at_once, self.busy)
        try:
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.busy -= 1


@pytest.fixture
def hasher(monkeypatch, quick_password_hashing) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


class Browser:
    """One client with the login form open (its CSRF cookie and token), optionally from another address."""

    def __init__(self, url: str, address: str | None = None):
        self.http = httpx.Client(base_url=url, timeout=60, follow_redirects=False,
                                 headers={"X-Forwarded-For": address} if address else {})
        page = self.http.get("/console/login")
        self.csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    def sign_in(self, username: str, password: str) -> httpx.Response:
        return self.http.post("/console/login", data={"username": username, "password": password, "csrf": self.csrf,
                                                      "next": "/console/tickets"})


def in_parallel(calls) -> list:
    """Run the calls in threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _account(engine, username: str) -> ConsoleAccount:
    with Session(engine) as s:
        return s.exec(select(ConsoleAccount).where(ConsoleAccount.username == username)).one()


def _refused(r: httpx.Response) -> bool:
    return r.status_code == 303 and "error=" in r.headers["location"]


@pytest.mark.parametrize("limit", [5, 3])
def test_twenty_parallel_wrong_passwords_lock_the_account_after_the_limit(console_with, hasher, limit, caplog):
    caplog.set_level("WARNING", logger="linli.console")
    with console_with(login_max_failures=limit, login_attempts_per_address=1000) as console:
        real_hash = _account(console.runtime.engine, "wang").password_hash
        browsers = [Browser(console.url) for _ in range(20)]
        answers = in_parallel([lambda b=b, i=i: b.sign_in("wang", f"guess number {i}") for i, b in enumerate(browsers)])
        assert all(_refused(r) for r in answers)
        # Only `limit` guesses were ever checked against the real password; the rest met the lock.
        assert hasher.verified.count(real_hash) == limit
        assert len(hasher.verified) == 20  # …and still cost one verification each
        assert hasher.most_at_once <= accounts.VERIFY_SLOTS  # a burst waits for a slot, memory stays bounded
        row = _account(console.runtime.engine, "wang")
        assert row.failed_logins == limit and row.locked_until > datetime.now(UTC) + timedelta(minutes=4)
        assert _refused(Browser(console.url).sign_in("wang", PASSWORD))  # locked: even the right password
        locks = [r.getMessage() for r in caplog.records if "locked" in r.getMessage()]
        assert locks == [f"console account 'wang' locked for 300 s after {limit} wrong passwords (last from 127.0.0.1)"]
        from core.models import RateCounter

        with Session(console.runtime.engine) as s:
            assert s.exec(select(RateCounter.count).where(RateCounter.key == "login:127.0.0.1")).one() == 21


def test_a_locked_unknown_or_disabled_account_answers_exactly_like_a_wrong_password(console, hasher):
    for _ in range(accounts.MAX_FAILED_LOGINS):
        assert _refused(Browser(console.url).sign_in("zhao", "not the password"))
    with db.session_scope(console.runtime.engine) as s:  # disabled as the shell or an admin would
        care = s.exec(select(ConsoleAccount).where(ConsoleAccount.username == "care")).one()
        care.active = False
        s.add(care)
    cases = {"wrong password": ("wang", "not the password"), "unknown user": ("nobody", PASSWORD),
             "disabled, right password": ("care", PASSWORD), "locked, right password": ("zhao", PASSWORD)}
    answers = {}
    for case, (username, password) in cases.items():
        before = len(hasher.verified)
        r = Browser(console.url).sign_in(username, password)
        answers[case] = (r.status_code, r.headers["location"], r.content)
        assert len(hasher.verified) == before + 1, f"{case}: one argon2 verification, like any attempt"
    assert len(set(answers.values())) == 1, answers
    assert _refused(Browser(console.url).sign_in("wang", "not the password"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_locked_account_takes_as_long_to_refuse_as_an_unlocked_one(console_with, monkeypatch):
    # A hasher costly enough that its verification dominates the request (production's costs more still).
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=2, memory_cost=32768, parallelism=1))
    with console_with(login_attempts_per_address=1000) as console:
        _compare_refusal_times(console)


def _compare_refusal_times(console) -> None:
    for _ in range(accounts.MAX_FAILED_LOGINS):
        Browser(console.url).sign_in("zhao", "not the password")

    def median_seconds(username: str) -> float:
        samples = []
        for _ in range(9):
            browser = Browser(console.url)
            started = time.perf_counter()
            assert _refused(browser.sign_in(username, "not the password either"))
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    unlocked, locked, unknown = median_seconds("wang"), median_seconds("zhao"), median_seconds("nobody")
    assert locked > 0.5 * unlocked and unknown > 0.5 * unlocked, (unlocked, locked, unknown)


def test_the_address_throttle_holds_across_instances_and_answers_429_with_retry_after(console_with, hasher):
    with console_with(login_attempts_per_address=3) as a, console_with(login_attempts_per_address=3, accounts_too=False) as b:
        attacker = "198.51.100.7"
        for instance in (a, b, a):
            assert _refused(Browser(instance.url, attacker).sign_in("wang", "guess"))
        r = Browser(b.url, attacker).sign_in("admin", "guess")
        assert r.status_code == 429 and "秒后再试" in r.text
        assert 1 <= int(r.headers["retry-after"]) <= 300
        assert _refused(Browser(b.url, "198.51.100.8").sign_in("wang", "guess"))  # another address is not held up

        office = "198.51.100.9"  # successful sign-ins do not use up an office's allowance
        for _ in range(5):
            assert Browser(a.url, office).sign_in("wang", PASSWORD).status_code == 303
        assert [Browser(b.url, office).sign_in("wang", "guess").status_code for _ in range(4)] == [303, 303, 303, 429]

        burst = [Browser(a.url if i % 2 else b.url, "198.51.100.10") for i in range(12)]
        codes = in_parallel([lambda br=br: br.sign_in("zhao", "guess").status_code for br in burst])
        assert sorted(codes) == [303] * 3 + [429] * 9


def test_sign_out_ends_every_session_of_the_account(console):
    phone, desk = console.client("wang"), console.client("wang")
    other = console.client("zhao")
    page = phone.get("/console/tickets")
    assert desk.get("/console/tickets").status_code == 200
    assert phone.post("/console/logout", data={"csrf": console.csrf(page.text)}).status_code == 303
    assert desk.get("/console/tickets").status_code == 303  # signed out on the other device too
    assert phone.get("/console/tickets").status_code == 303
    assert other.get("/console/tickets").status_code == 200  # another account is untouched


def test_disabling_ends_sessions_at_once_and_refuses_api_tokens(console):
    wang = console.client("wang")
    with db.session_scope(console.runtime.engine) as s:
        _, token = accounts.issue_token(s, accounts.account_named(s, "wang"), "ci", "read")
    api = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {token}"})
    assert wang.get("/console/tickets").status_code == 200 and api.get("/api/me").status_code == 200
    with db.session_scope(console.runtime.engine) as s:
        assert accounts.set_active(s, "wang", False) == 1
    assert wang.get("/console/tickets").status_code == 303
    assert api.get("/api/me").status_code == 401
    listed = console.client("admin").get("/console/accounts").text
    assert "已停用</td></tr>" in re.search(r"<td>wang</td>.*?</tr>", listed, re.S).group(0)
    assert _refused(Browser(console.url).sign_in("wang", PASSWORD))
    with db.session_scope(console.runtime.engine) as s:
        accounts.set_active(s, "wang", True)
    assert api.get("/api/me").status_code == 200  # the token works again; the ended session does not
    assert wang.get("/console/tickets").status_code == 303


def test_resetting_a_password_ends_every_session_and_lifts_the_lock(console):
    signed_in = console.client("wang")
    for _ in range(accounts.MAX_FAILED_LOGINS):
        assert _refused(Browser(console.url).sign_in("wang", "not the password"))
    assert _refused(Browser(console.url).sign_in("wang", PASSWORD))  # locked
    engine = console.runtime.engine
    with db.session_scope(engine) as s:
        assert len(accounts.sessions_of(s, accounts.account_named(s, "wang").id)) == 1
        assert accounts.reset_password(s, "wang", "a brand new password") == 1
    assert signed_in.get("/console/tickets").status_code == 303
    assert _refused(Browser(console.url).sign_in("wang", PASSWORD))
    assert Browser(console.url).sign_in("wang", "a brand new password").headers["location"] == "/console/tickets"
    with db.session_scope(engine) as s:
        wang = accounts.account_named(s, "wang")
        assert len(accounts.sessions_of(s, wang.id)) == 1
        assert accounts.end_all_sessions(s, wang.id) == 1 and accounts.sessions_of(s, wang.id) == []
