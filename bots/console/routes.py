"""The console's pages: sign-in, tickets, one ticket with its actions, live updates, statistics, relays, accounts."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from bots.api.rest import TicketNumber
from bots.console import auth
from bots.console.audit import audit_lines, level_label
from bots.console.charts import grouped_bars
from bots.console.colours import COLOURS, colour_counts, colour_of
from bots.console.colours import LABELS as COLOUR_LABELS
from bots.console.views import answers_to_post, conversation, date_range, failed_deliveries, filter_from_query, grids_in_scope, kept_archive_records
from core import accounts, db, search, stats, tickets
from core.grids import LEVEL_LABELS, Level
from core.message import Message
from core.models import Chat, Grid, Person, Ticket, utcnow
from core.people import accounts_of, display_name
from core.search import BadQuery, TicketFilter
from core.taxonomy import REQUEST_CATEGORIES, Urgency
from core.ticket_states import TicketState
from core.timefmt import duration, local

HERE = Path(__file__).resolve().parent
log = logging.getLogger("linli.console")
PAGE_SIZE = 50
TICKET_CSV_COLUMNS = ["number", "state", "state_label", "colour", "category", "category_label", "urgency", "grid",
                      "text", "on_behalf_of", "location", "department", "assignee", "created_at", "confirmed_at",
                      "resolve_due_at", "resolved_at", "closed_at"]
# Which actions the ticket page offers in each state (the actions module decides what is really allowed).
ACTIONS_BY_STATE = {
    TicketState.PENDING: ["confirm", "reject", "assign", "merge", "reclassify", "urgency", "refer"],
    TicketState.CONFIRMED: ["assign", "accept", "progress", "resolve", "reject", "merge", "reclassify", "urgency", "refer"],
    TicketState.ASSIGNED: ["accept", "assign", "progress", "resolve", "merge", "reclassify", "urgency", "refer"],
    TicketState.IN_PROGRESS: ["progress", "resolve", "assign", "merge", "reclassify", "urgency", "refer"],
    TicketState.RESOLVED: ["reopen"],
    TicketState.CLOSED: ["reopen"],
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["local"] = lambda dt: local(dt).strftime("%Y-%m-%d %H:%M") if dt else "—"
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.1f}%"
    env.filters["duration"] = duration
    return env


def ticket_json(ticket: Ticket, now: datetime, grid_names: dict[str, str], actions) -> dict:
    """The fields the live list needs to draw or update a row."""
    colour = colour_of(ticket, now, actions)
    return {
        "id": ticket.id, "state": TicketState(ticket.state).value, "state_label": TicketState(ticket.state).label,
        "colour": colour, "colour_label": COLOUR_LABELS[colour], "category": ticket.category.label,
        "urgency": ticket.urgency.value, "urgency_label": ticket.urgency.label,
        "grid": grid_names.get(ticket.grid_id or "", "—"), "text": ticket.text[:80],
        "created": local(ticket.created_at).strftime("%Y-%m-%d %H:%M"),
        "due": local(ticket.resolve_due_at).strftime("%m-%d %H:%M") if ticket.resolve_due_at else "—",
        "escalation": level_label(ticket.escalation_level) if ticket.escalation_level else "",
    }


def router(runtime) -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)
    templates = Jinja2Templates(env=_environment())
    settings = runtime.settings
    secret = settings.secret_key
    secure = settings.public_url.startswith("https://")

    def session() -> Session:
        return Session(runtime.engine, expire_on_commit=False)

    def viewer(request: Request, s: Session) -> auth.Viewer:
        v = auth.viewer_of(request, s, secret)
        if v is None:
            raise auth.login_redirect(request)
        return v

    def page(request: Request, name: str, v: auth.Viewer | None, status_code: int = 200, headers: dict | None = None,
             **context) -> HTMLResponse:
        context.update(viewer=v, colour_labels=COLOUR_LABELS, nav=request.url.path)
        return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)

    def forbidden(request: Request, v: auth.Viewer, message: str) -> HTMLResponse:
        return page(request, "error.html", v, status_code=403, title="无权查看", message=message)

    def grid_names(s: Session) -> dict[str, str]:
        return {g.id: g.name for g in s.exec(select(Grid))}

    # -- sign-in ---------------------------------------------------------------------------

    @r.get("", response_class=HTMLResponse)
    def home() -> RedirectResponse:
        return RedirectResponse("/console/tickets", status_code=303)

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/console/tickets", error: str = "") -> HTMLResponse:
        nonce = auth.login_nonce(request)
        response = page(request, "login.html", None, csrf=auth.login_csrf(secret, nonce), next=_safe_next(next), error=error)
        auth.set_cookie(response, auth.LOGIN_COOKIE, nonce, secure=secure, max_age=3600)
        return response

    policy = accounts.LoginPolicy(settings.login_max_failures, timedelta(seconds=settings.login_lockout_seconds),
                                  settings.login_attempts_per_address, timedelta(seconds=settings.login_address_window_seconds))
    wrong = (f"用户名或密码不对（连续输错 {policy.max_failures} 次会锁定 "
             f"{max(1, round(policy.lockout.total_seconds() / 60))} 分钟）")

    @r.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form(""),
              next: str = Form("/console/tickets")) -> Response:
        nonce = request.cookies.get(auth.LOGIN_COOKIE, "")
        auth.check_token(auth.login_csrf(secret, nonce) if nonce else "", csrf)
        address = request.client.host if request.client else None
        result = accounts.authenticate(runtime.engine, username, password, policy=policy, address=address)
        if result.locked_username:
            log.warning("console account %r locked for %d s after %d wrong passwords (last from %s)", result.locked_username,
                        policy.lockout.total_seconds(), policy.max_failures, address)
        if result.retry_after is not None:
            log.warning("console sign-in from %s refused for %d s: over %d attempts", address, result.retry_after,
                        policy.per_address)
            return page(request, "error.html", None, status_code=429, title="尝试次数过多",
                        message=f"这个网络地址登录尝试次数过多，请 {result.retry_after} 秒后再试。",
                        headers={"Retry-After": str(result.retry_after)})
        if result.account is None:
            query = urlencode({"next": _safe_next(next), "error": wrong})
            return RedirectResponse(f"/console/login?{query}", status_code=303)
        with db.session_scope(runtime.engine) as s:
            token = accounts.start_session(s, result.account)
        response = RedirectResponse(_safe_next(next), status_code=303)
        auth.set_cookie(response, auth.SESSION_COOKIE, token, secure=secure, max_age=int(accounts.SESSION_LIFETIME.total_seconds()))
        response.delete_cookie(auth.LOGIN_COOKIE, path="/")
        return response

    @r.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        """Sign out everywhere: every session of the account ends, not only this browser's."""
        token = request.cookies.get(auth.SESSION_COOKIE)
        if token:
            auth.check_token(auth.csrf_for_session(secret, token), csrf)
            with db.session_scope(runtime.engine) as s:
                accounts.end_sessions_of_token(s, token)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    # -- the ticket list -------------------------------------------------------------------

    @r.get("/tickets", response_class=HTMLResponse)
    def ticket_list(request: Request, cursor: str | None = None) -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
            now = utcnow()
            error = ""
            try:
                flt = filter_from_query(request.query_params)
                result = search.search(s, flt, v.scope, cursor=cursor, limit=PAGE_SIZE, now=now)
                total, capped = search.count(s, flt, v.scope, now=now)
            except BadQuery as exc:
                flt, result, total, capped, error = TicketFilter(), search.Page([], None), 0, False, str(exc)
            names = grid_names(s)
            rows = [ticket_json(t, now, names, runtime.bot.actions) for t in result.items]
            colour_total, colour_rows = colour_counts(s, v.scope, now, runtime.bot.actions)
            query = [(k, val) for k, val in request.query_params.multi_items() if k != "cursor"]
            return page(
                request, "tickets.html", v, rows=rows, flt=flt, total=total, capped=capped, error=error,
                next_url=f"?{urlencode(query + [('cursor', result.next_cursor)])}" if result.next_cursor else None,
                first_page=cursor is None, query=urlencode(query), params=request.query_params,
                grids=grids_in_scope(s, v.scope), categories=REQUEST_CATEGORIES, states=list(TicketState),
                urgencies=list(Urgency), sorts=search.SORTS, colours=COLOURS, colour_total=colour_total,
                colour_rows=colour_rows, level_labels={lv.value: label for lv, label in LEVEL_LABELS.items()},
                filtered=sum(1 for k, val in query if val and k != "sort"),
                live_ids=",".join(str(row["id"]) for row in rows), max_id=max([row["id"] for row in rows], default=0),
            )

    @r.get("/tickets.csv")
    def tickets_csv(request: Request) -> StreamingResponse:
        with session() as s:
            v = viewer(request, s)
            try:
                flt = filter_from_query(request.query_params)
            except BadQuery as exc:
                raise HTTPException(400, str(exc)) from None
            names = grid_names(s)

        def rows():
            now = utcnow()
            yield "\ufeff"  # so spreadsheet programs read the Chinese as UTF-8
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(TICKET_CSV_COLUMNS)
            with session() as s:
                for t in search.iterate(s, flt, v.scope, now=now):
                    writer.writerow(_ticket_csv_row(t, now, names, runtime.bot.actions))
                    if buf.tell() > 64_000:
                        yield buf.getvalue()
                        buf.seek(0), buf.truncate()
            yield buf.getvalue()

        return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="linli-tickets.csv"'})

    # -- one ticket ------------------------------------------------------------------------

    @r.get("/tickets/{number}", response_class=HTMLResponse)
    def ticket_page(request: Request, number: TicketNumber, msg: str = "", ok: int = 0) -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
            ticket = s.get(Ticket, number)
            if ticket is None:
                return page(request, "error.html", v, status_code=404, title="没有这个诉求", message=f"没有编号为 #{number} 的诉求")
            if not search.visible(v.scope, ticket):
                return forbidden(request, v, f"#{number} 不在您负责的网格内")
            now = utcnow()
            people = {p.key: p for p in s.exec(select(Person))}
            reps = tickets.reporters(s, ticket.id)
            events = tickets.events(s, ticket.id)
            state = TicketState(ticket.state)
            return page(
                request, "ticket.html", v, t=ticket, row=ticket_json(ticket, now, grid_names(s), runtime.bot.actions), state=state,
                reporters=reps, people=people, events=audit_lines(events, {k: p.name for k, p in people.items()}),
                lines=conversation(s, ticket), msg=msg, ok=ok,
                actions=ACTIONS_BY_STATE.get(state, []) if v.scope.can_act else [], action_labels=_action_labels(),
                categories=REQUEST_CATEGORIES, urgencies=list(Urgency),
                master=s.get(Ticket, ticket.master_id) if ticket.master_id else None,
            )

    @r.post("/tickets/{number}/action")
    async def ticket_action(request: Request, number: TicketNumber) -> Response:
        form = await request.form()
        return await run_in_threadpool(_act, request, number, dict(form))

    def _act(request: Request, number: int, form: dict) -> Response:
        from bots.actions import ActionError
        from bots.replies import enqueue

        with session() as s:
            v = viewer(request, s)
        auth.check_token(v.csrf, form.get("csrf"))
        if not v.scope.can_act:
            raise HTTPException(403, "this account may not act on tickets")
        action = str(form.get("action", ""))
        into = str(form.get("into", "")).lstrip("#＃").strip()
        # the state the page showed: if someone else has moved the ticket since, the action is refused
        expected = next((st for st in TicketState if st.value == form.get("seen_state")), None)
        try:
            with db.session_scope(runtime.engine) as s:
                ticket = s.get(Ticket, number)
                if ticket is not None and not search.visible(v.scope, ticket):
                    raise HTTPException(403, f"#{number} is outside your grids")
                person = s.exec(select(Person).where(Person.key == v.scope.person_key)).one()
                replies = runtime.bot.actions.perform(
                    s, number, action, person, str(form.get("note", "")),
                    into=int(into) if into.isdecimal() else None,
                    category=form.get("category") or None, urgency=form.get("urgency") or None,
                    department=form.get("department") or None, assignee=form.get("assignee") or None,
                    expected=expected,
                )
                enqueue(s, replies, prefix=f"console:{secrets.token_hex(8)}")
        except ActionError as exc:
            return RedirectResponse(f"/console/tickets/{number}?{urlencode({'msg': str(exc)})}", status_code=303)
        runtime.changed.set()
        done = f"{_action_labels().get(action, action)}：已完成，并已在群里通知"
        return RedirectResponse(f"/console/tickets/{number}?{urlencode({'msg': done, 'ok': 1})}", status_code=303)

    # -- live updates ----------------------------------------------------------------------

    @r.get("/events")
    async def events(request: Request, ids: str = "", after: int = Query(0, ge=0, le=tickets.MAX_NUMBER)) -> StreamingResponse:
        """Server-sent events: new tickets in the viewer's scope, and state or colour changes of watched ones."""
        with session() as s:
            v = viewer(request, s)
        watched = {int(i) for i in ids.split(",")[:500] if i.strip().isdecimal() and 0 < int(i) <= tickets.MAX_NUMBER}
        known: dict[int, tuple[str, str]] = {}
        state = {"after": after, "since": utcnow() - timedelta(seconds=2)}

        def poll() -> list[dict]:
            now = utcnow()
            out = []
            with session() as s:
                names = grid_names(s)
                conds = search.where_clauses(s, TicketFilter(), v.scope, now)
                fresh = s.exec(select(Ticket).where(*conds, Ticket.id > state["after"]).order_by(Ticket.id).limit(50)).all()
                changed = s.exec(select(Ticket).where(*conds, Ticket.updated_at >= state["since"]).limit(200)).all()
                watch = s.exec(select(Ticket).where(*conds, Ticket.id.in_(sorted(watched)))).all() if watched else []
                state["since"] = now - timedelta(seconds=1)
                for t in fresh:
                    state["after"] = max(state["after"], t.id)
                    watched.add(t.id)
                    item = ticket_json(t, now, names, runtime.bot.actions)
                    known[t.id] = (item["state"], item["colour"])
                    out.append({"type": "new", **item})
                for t in [*changed, *watch]:
                    item = ticket_json(t, now, names, runtime.bot.actions)
                    if known.get(t.id) != (item["state"], item["colour"]):
                        first = t.id not in known
                        known[t.id] = (item["state"], item["colour"])
                        if not first or t in changed:
                            out.append({"type": "update", **item})
            return out

        async def stream():
            yield "retry: 2000\n\n"
            await run_in_threadpool(poll)  # the page already shows the current state
            while not await request.is_disconnected():
                for item in await run_in_threadpool(poll):
                    yield f"event: ticket\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
                yield ": keep-alive\n\n"
                await asyncio.sleep(1.0)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    # -- statistics ------------------------------------------------------------------------

    def _report(request: Request, s: Session, v: auth.Viewer) -> stats.Report:
        p = request.query_params
        dimension = p.get("by") or "category"
        if dimension not in stats.DIMENSIONS:
            raise BadQuery(f"by must be one of {', '.join(stats.DIMENSIONS)}")
        try:
            level = Level(p.get("level") or "community")
        except ValueError:
            raise BadQuery("level must be street, community or grid") from None
        start, end = date_range(p.get("from"), p.get("to"))
        flt = TicketFilter(grid_id=p.get("grid") or None)
        return stats.report(s, v.scope, dimension=dimension, start=start, end=end, grid_level=level, flt=flt, now=utcnow())

    @r.get("/stats", response_class=HTMLResponse)
    def stats_page(request: Request) -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
            try:
                rep = _report(request, s, v)
                error = ""
            except BadQuery as exc:
                rep, error = stats.Report("category", None, None, stats.StatsRow("total", "合计")), str(exc)
            return page(request, "stats.html", v, rep=rep, chart=grouped_bars(rep.rows), error=error, params=request.query_params,
                        query=urlencode(list(request.query_params.multi_items())), grids=grids_in_scope(s, v.scope),
                        levels=[(lv.value, LEVEL_LABELS[lv]) for lv in stats.level_choices()],
                        dimensions={"category": "按类别", "grid": "按网格", "day": "按日", "week": "按周", "month": "按月"})

    @r.get("/stats.csv")
    def stats_csv(request: Request) -> Response:
        with session() as s:
            v = viewer(request, s)
            try:
                rep = _report(request, s, v)
            except BadQuery as exc:
                raise HTTPException(400, str(exc)) from None
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=stats.CSV_COLUMNS)
        writer.writeheader()
        for row in [*rep.rows, rep.total]:
            writer.writerow(row.as_dict())
        return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="linli-stats-{rep.dimension}.csv"'})

    # -- accounts and tokens ---------------------------------------------------------------

    @r.get("/accounts", response_class=HTMLResponse)
    def accounts_page(request: Request, msg: str = "", ok: int = 0) -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
            if not v.scope.is_admin:
                return forbidden(request, v, "只有管理员（指挥中心）可以管理账号")
            people = [p for p in s.exec(select(Person).where(Person.declared).order_by(Person.id))
                      if p.role in {role.value for role in accounts.CONSOLE_ROLES}]
            return page(request, "accounts.html", v, rows=accounts.list_accounts(s), people=people, msg=msg, ok=ok, now=utcnow())

    @r.post("/accounts")
    def create_account(request: Request, username: str = Form(""), person: str = Form(""), password: str = Form(""),
                       csrf: str = Form("")) -> Response:
        with session() as s:
            v = viewer(request, s)
        auth.check_token(v.csrf, csrf)
        if not v.scope.is_admin:
            raise HTTPException(403, "only admins create accounts")
        try:
            with db.session_scope(runtime.engine) as s:
                accounts.create_account(s, username, person, password)
        except accounts.AccountError as exc:
            return RedirectResponse(f"/console/accounts?{urlencode({'msg': str(exc)})}", status_code=303)
        return RedirectResponse(f"/console/accounts?{urlencode({'msg': f'已创建账号 {username}', 'ok': 1})}", status_code=303)

    @r.get("/tokens", response_class=HTMLResponse)
    def tokens_page(request: Request, msg: str = "") -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
            return page(request, "tokens.html", v, tokens=accounts.tokens_of(s, v.account.id), new_token=None, msg=msg)

    @r.post("/tokens", response_class=HTMLResponse)
    def create_token(request: Request, name: str = Form(""), write: str = Form(""), csrf: str = Form("")) -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
        auth.check_token(v.csrf, csrf)
        with db.session_scope(runtime.engine) as s:
            _, plain = accounts.issue_token(s, v.account, name, ["read", "write"] if write else ["read"])
            rows = accounts.tokens_of(s, v.account.id)
        return page(request, "tokens.html", v, tokens=rows, new_token=plain, msg="")

    @r.post("/tokens/{token_id}/revoke")
    def revoke_token(request: Request, token_id: int, csrf: str = Form("")) -> Response:
        with session() as s:
            v = viewer(request, s)
        auth.check_token(v.csrf, csrf)
        with db.session_scope(runtime.engine) as s:
            accounts.revoke_token(s, v.account.id, token_id)
        return RedirectResponse("/console/tokens", status_code=303)

    # -- relays for care centres -----------------------------------------------------------

    def relay_chats(s: Session, v: auth.Viewer) -> dict[str, tuple[Chat, str]]:
        """Group chats in scope where this person has an account: chat key -> (chat, the sender key to use)."""
        me = s.exec(select(Person).where(Person.key == v.scope.person_key)).one()
        keys = accounts_of(s, me)
        out = {}
        for chat in s.exec(select(Chat).where(Chat.active, Chat.is_group, Chat.grid_id.is_not(None)).order_by(Chat.key)):
            if chat.platform in keys and v.scope.sees_grid(chat.grid_id):
                out[chat.key] = (chat, keys[chat.platform])
        return out

    @r.get("/relay", response_class=HTMLResponse)
    def relay_form(request: Request, msg: str = "") -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
            if not v.scope.can_relay:
                return forbidden(request, v, "只有养老服务中心、网格员和指挥中心可以代办登记")
            return page(request, "relay.html", v, chats=relay_chats(s, v), msg=msg)

    @r.post("/relay")
    async def relay(request: Request, chat: str = Form(""), name: str = Form(""), location: str = Form(""),
                    phone: str = Form(""), need: str = Form(""), csrf: str = Form("")) -> Response:
        """File for an elder exactly as the chat command 「代办 姓名 楼栋房号 [电话] 需求」 does, in the chosen group."""
        def prepare() -> tuple[auth.Viewer, Message | str]:
            with session() as s:
                v = viewer(request, s)
                auth.check_token(v.csrf, csrf)
                if not v.scope.can_relay:
                    raise HTTPException(403, "this account may not file relays")
                target = relay_chats(s, v).get(chat)
            # 代办's parser splits on spaces and Chinese commas: name, place and phone are one word each.
            parts = [re.sub(r"[\s，,、；;]+", "", x) for x in (name, location, phone)] + [" ".join(need.split())]
            if target is None:
                return v, "请选择要登记到的群"
            if not parts[0] or not parts[1] or not parts[3]:
                return v, "请填写老人姓名、楼栋房号和需求"
            row, sender_key = target
            text = "代办 " + " ".join(p for p in parts if p)
            return v, Message(platform=row.platform, chat_id=row.chat_id, message_id=f"console-{secrets.token_hex(8)}",
                              sender_id=sender_key.split(":", 1)[1], sender_name=v.scope.person_name, text=text,
                              raw={"via": "console", "account": v.scope.username})

        v, message = await run_in_threadpool(prepare)
        if isinstance(message, str):
            return RedirectResponse(f"/console/relay?{urlencode({'msg': message})}", status_code=303)
        result = await runtime.ingest(message, defer=False)  # shows the ticket number at once
        number = next((row.ticket_id for row in result.outbox if row.ticket_id), None)
        if number is None:
            texts = "；".join(reply.text for reply in result.replies) or "没有登记成功"
            return RedirectResponse(f"/console/relay?{urlencode({'msg': texts})}", status_code=303)
        return RedirectResponse(f"/console/tickets/{number}?{urlencode({'msg': f'已登记 #{number}，并已在群里通知', 'ok': 1})}",
                                status_code=303)

    # -- notices to residents' groups (通知) ---------------------------------------------------

    @r.get("/notices", response_class=HTMLResponse)
    def notices_page(request: Request, msg: str = "", ok: int = 0) -> HTMLResponse:
        from core import notices

        with session() as s:
            v = viewer(request, s)
            if not v.scope.can_act:
                return forbidden(request, v, "只有网格员和指挥中心可以发布通知")
            return page(request, "notices.html", v, grids=grids_in_scope(s, v.scope), names=grid_names(s), msg=msg, ok=ok,
                        rows=notices.recent(s, v.scope.grid_ids), max_chars=notices.MAX_NOTICE_CHARS)

    @r.post("/notices")
    def send_notice_form(request: Request, grid: str = Form(""), text: str = Form(""), csrf: str = Form("")) -> Response:
        """The same as 「通知 …」 in a chat: every residents' group of the grid and below, through the outbox."""
        from bots.notices import NoticeRefused, send_notice, sent_text
        from bots.replies import enqueue

        with session() as s:
            v = viewer(request, s)
        auth.check_token(v.csrf, csrf)
        if not v.scope.can_act:
            raise HTTPException(403, "this account may not send notices")
        templates_ = runtime.bot.templates
        try:
            with db.session_scope(runtime.engine) as s:
                person = s.exec(select(Person).where(Person.key == v.scope.person_key)).one()
                if s.get(Grid, grid) is None or not v.scope.sees_grid(grid):
                    raise NoticeRefused("notice_not_allowed", name=display_name(person), contact="上级指挥中心")
                sent = send_notice(s, templates_, sender=person, grid_id=grid, text=text, via="console", now=utcnow(),
                                   can_receive=runtime.bot.actions.can_receive)
                enqueue(s, sent.replies, prefix="console-notice")
                done = sent_text(templates_, "simplified", sent)
        except NoticeRefused as exc:
            return RedirectResponse(f"/console/notices?{urlencode({'msg': templates_.render(exc.template, **exc.values)})}",
                                    status_code=303)
        runtime.changed.set()
        return RedirectResponse(f"/console/notices?{urlencode({'msg': done, 'ok': 1})}", status_code=303)

    # -- failed deliveries -----------------------------------------------------------------

    @r.get("/outbox", response_class=HTMLResponse)
    def outbox_page(request: Request) -> HTMLResponse:
        with session() as s:
            v = viewer(request, s)
            return page(request, "outbox.html", v, rows=failed_deliveries(s, v.scope), to_post=answers_to_post(s, v.scope),
                        kept=kept_archive_records(s, v.scope))

    return r


def _safe_next(target: str) -> str:
    """Only redirect within the console (or back to the playground) after sign-in, never to another site."""
    inside = target.startswith("/console") or target in ("/playground", "/playground/")
    return target if inside and not target.startswith("//") else "/console/tickets"


def _action_labels() -> dict[str, str]:
    from bots.actions import ACTION_LABELS

    return ACTION_LABELS


def _cell(text: str | None) -> str:
    """Residents' words never run as a spreadsheet formula (CSV injection)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _ticket_csv_row(t: Ticket, now: datetime, names: dict[str, str], actions) -> list:
    iso = lambda dt: local(dt).isoformat(timespec="seconds") if dt else ""  # noqa: E731
    state = TicketState(t.state)
    return [t.id, state.value, state.label, colour_of(t, now, actions), t.category.value, t.category.label, t.urgency.value,
            names.get(t.grid_id or "", t.grid_id or ""), _cell(t.text), _cell(t.on_behalf_of), _cell(t.location),
            _cell(t.department), _cell(t.assignee), iso(t.created_at), iso(t.confirmed_at), iso(t.resolve_due_at),
            iso(t.resolved_at), iso(t.closed_at)]
