"""The ticket list query (filters, scope, keyset paging) and the statistics, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import accounts, db, search, stats, tickets
from core.grids import Level
from core.search import BadQuery, TicketFilter
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


def _file(session, text, *, grid="xingfu-1", category=Category.PROPERTY, urgency=Urgency.NORMAL, at=T0, due_hours=48):
    chat = {"xingfu-1": "playground:demo", "anle-1": "playground:anle"}.get(grid, "playground:demo")
    return tickets.open_ticket(session, text=text, category=category, urgency=urgency, chat_key=chat, reporter_key="playground:zhang",
                               grid_id=grid, at=at, resolve_due_at=at + timedelta(hours=due_hours))


def _scope(session, person_key, username):
    account = accounts.create_account(session, username, person_key, "correct horse")
    return accounts.scope_for(session, account)


@pytest.fixture
def world(runtime):
    """Ten tickets in 幸福 grid 1, three in 安乐, with a mix of states and times."""
    with db.session_scope(runtime.engine) as s:
        made = []
        for i in range(10):
            t = _file(s, f"楼道灯坏了 {i}", at=T0 + timedelta(hours=i), category=Category.PROPERTY if i % 2 else Category.FACILITIES)
            made.append(t)
        for i in range(3):
            made.append(_file(s, f"安乐垃圾满了 {i}", grid="anle-1", category=Category.SANITATION, at=T0 + timedelta(days=1, hours=i)))
        # #1 confirmed after 1 h and resolved on time after 10 h; #2 confirmed after 3 h, resolved late after 60 h
        tickets.move(s, made[0], TicketState.CONFIRMED, "playground:wangfang", at=made[0].created_at + timedelta(hours=1))
        tickets.move(s, made[0], TicketState.RESOLVED, "playground:wangfang", at=made[0].created_at + timedelta(hours=10))
        tickets.move(s, made[1], TicketState.CONFIRMED, "playground:wangfang", at=made[1].created_at + timedelta(hours=3))
        tickets.move(s, made[1], TicketState.RESOLVED, "playground:wangfang", at=made[1].created_at + timedelta(hours=60))
        tickets.move(s, made[1], TicketState.CLOSED, "system", at=made[1].created_at + timedelta(hours=70))
        tickets.move(s, made[2], TicketState.CONFIRMED, "playground:wangfang", at=made[2].created_at + timedelta(hours=2))
        tickets.move(s, made[3], TicketState.REJECTED, "playground:wangfang", at=made[3].created_at + timedelta(hours=2))
        tickets.record(s, made[0], "playground:zhang", "survey", data={"score": 1})
        tickets.record(s, made[1], "playground:zhang", "survey", data={"score": 3})
    return runtime


def test_grid_worker_sees_only_their_grid_and_admin_sees_all(world):
    with db.session_scope(world.engine) as s:
        wang = _scope(s, "playground:wangfang", "wang")
        zhao = _scope(s, "playground:zhaomin", "zhao")
        street = _scope(s, "playground:heping-center", "heping")
        admin = _scope(s, "playground:admin", "admin")
        assert len(search.search(s, TicketFilter(), wang).items) == 10
        assert {t.grid_id for t in search.search(s, TicketFilter(), zhao).items} == {"anle-1"}
        assert len(search.search(s, TicketFilter(), street).items) == 13
        assert len(search.search(s, TicketFilter(), admin).items) == 13
        anle_ticket = search.search(s, TicketFilter(), zhao).items[0]
        assert not search.visible(wang, anle_ticket) and search.visible(admin, anle_ticket)


def test_filters_combine(world):
    now = T0 + timedelta(days=5)
    with db.session_scope(world.engine) as s:
        admin = _scope(s, "playground:admin", "admin")
        assert search.count(s, TicketFilter(states=(TicketState.PENDING,)), admin, now=now) == (9, False)
        assert search.count(s, TicketFilter(categories=(Category.SANITATION,)), admin, now=now)[0] == 3
        assert search.count(s, TicketFilter(grid_id="anle"), admin, now=now)[0] == 3
        assert search.count(s, TicketFilter(text="垃圾"), admin, now=now)[0] == 3
        assert [t.id for t in search.search(s, TicketFilter(text="#2"), admin, now=now).items] == [2]
        assert search.count(s, TicketFilter(text="100%"), admin, now=now)[0] == 0  # LIKE wildcards are literal
        # overdue: open tickets whose 48 h deadline passed (all open ones after 5 days)
        assert search.count(s, TicketFilter(overdue=True), admin, now=now)[0] == 10
        assert search.count(s, TicketFilter(status="closed"), admin, now=now)[0] == 3
        day2 = T0 + timedelta(days=1)
        assert search.count(s, TicketFilter(created_from=day2), admin, now=now)[0] == 3
        assert search.count(s, TicketFilter(urgency=Urgency.URGENT), admin, now=now)[0] == 0


@pytest.mark.parametrize("sort", list(search.SORTS))
def test_keyset_pages_visit_every_ticket_once_in_order(world, sort):
    with db.session_scope(world.engine) as s:
        admin = _scope(s, "playground:admin", "admin")
        flt = TicketFilter(sort=sort)
        whole = [t.id for t in search.search(s, flt, admin, limit=100).items]
        seen, cursor = [], None
        while True:
            page = search.search(s, flt, admin, cursor=cursor, limit=4)
            seen += [t.id for t in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == whole and len(seen) == 13
        assert [t.id for t in search.iterate(s, flt, admin, batch=5)] == whole
    if sort == "newest":
        assert whole == sorted(whole, reverse=True)


def test_bad_cursor_and_sort_say_what_is_wrong(world):
    with db.session_scope(world.engine) as s:
        with pytest.raises(BadQuery, match="cursor"):
            search.search(s, TicketFilter(), None, cursor="!!nonsense")
        with pytest.raises(BadQuery, match="sort must be one of"):
            search.search(s, TicketFilter(sort="colour"), None)


def test_statistics_by_category_with_rates_and_medians(world):
    with db.session_scope(world.engine) as s:
        admin = _scope(s, "playground:admin", "admin")
        rep = stats.report(s, admin, dimension="category", now=T0 + timedelta(days=5))
        total = rep.total
        assert (total.received, total.confirmed, total.resolved, total.closed) == (13, 3, 2, 1)
        assert total.completion_rate == pytest.approx(2 / 3)
        assert total.on_time_rate == pytest.approx(1 / 2)
        assert total.median_confirm_seconds == pytest.approx(2 * 3600)
        assert total.median_resolve_seconds == pytest.approx(35 * 3600)
        assert (total.survey_answers, total.satisfied) == (2, 1)
        by = {r.key: r for r in rep.rows}
        assert by["sanitation"].received == 3 and by["sanitation"].label == "环境卫生"
        assert by["facilities"].received == 5 and by["facilities"].resolved == 1


def test_statistics_by_grid_roll_up_and_by_period(world):
    now = T0 + timedelta(days=5)
    with db.session_scope(world.engine) as s:
        admin = _scope(s, "playground:admin", "admin")
        by_community = {r.key: r.received for r in stats.report(s, admin, dimension="grid", grid_level=Level.COMMUNITY, now=now).rows}
        assert by_community == {"xingfu": 10, "anle": 3}
        by_street = {r.key: r.received for r in stats.report(s, admin, dimension="grid", grid_level=Level.STREET, now=now).rows}
        assert by_street == {"heping": 13}
        by_day = {r.key: r.received for r in stats.report(s, admin, dimension="day", now=now).rows}
        assert by_day == {"2026-03-02": 10, "2026-03-03": 3}
        assert [r.key for r in stats.report(s, admin, dimension="week", now=now).rows] == ["2026-03-02"]
        assert [r.key for r in stats.report(s, admin, dimension="month", now=now).rows] == ["2026-03"]
        zhao = _scope(s, "playground:zhaomin", "zhao")
        assert stats.report(s, zhao, dimension="total", now=now).total.received == 3


def test_accounts_passwords_sessions_and_tokens(runtime):
    with db.session_scope(runtime.engine) as s:
        account = accounts.create_account(s, "wang", "playground:wangfang", "correct horse")
        assert account.password_hash.startswith("$argon2")
        with pytest.raises(accounts.AccountError, match="taken"):
            accounts.create_account(s, "wang", "playground:wangfang", "correct horse")
        with pytest.raises(accounts.AccountError, match="resident"):
            accounts.create_account(s, "zhang", "playground:zhang", "correct horse")
        with pytest.raises(accounts.AccountError, match="grids file"):
            accounts.create_account(s, "ghost", "playground:ghost", "correct horse")
    assert accounts.authenticate(runtime.engine, "wang", "wrong password").account is None
    assert accounts.authenticate(runtime.engine, "wang", "correct horse").account.id == account.id
    with db.session_scope(runtime.engine) as s:
        token = accounts.start_session(s, account)
        assert accounts.account_for_session(s, token).id == account.id
        assert accounts.account_for_session(s, token, now=datetime.now(UTC) + timedelta(days=1)) is None
        accounts.end_sessions_of_token(s, token)
        assert accounts.account_for_session(s, token) is None
        row, plain = accounts.issue_token(s, account, "ci", "read")
        assert plain.startswith("linli_") and plain not in row.token_hash
        assert accounts.account_for_token(s, plain)[1] == frozenset({"read"})
        assert accounts.revoke_token(s, account.id, row.id)
        assert accounts.account_for_token(s, plain) is None


def test_repeated_wrong_passwords_lock_the_account_for_a_while(runtime):
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with db.session_scope(runtime.engine) as s:
        accounts.create_account(s, "wang", "playground:wangfang", "correct horse")
    for _ in range(accounts.MAX_FAILED_LOGINS):
        assert accounts.authenticate(runtime.engine, "wang", "guess", now=now).account is None
    assert accounts.authenticate(runtime.engine, "wang", "correct horse", now=now).account is None
    later = now + accounts.LOCKOUT + timedelta(seconds=1)
    assert accounts.authenticate(runtime.engine, "wang", "correct horse", now=later).account is not None
