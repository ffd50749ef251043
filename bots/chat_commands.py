"""Every chat command, declared once: its words, slash form, grammar, who may use it, its help line
and its handler. Dispatch, the help page (by role) and README's command table all come from
:data:`ROUTER`.

To add a command: one ``@ROUTER.command(...)`` function here (or, for an action on a ticket, one
row in core.ticket_actions.TABLE, its handler in bots/actions.py and one ``_ticket_action(...)``
line below); then run ``python -m bots.chat_commands --write README.md`` to regenerate README's
command table (a test fails until README matches).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from bots.actions import ActionError, find_person
from bots.commands import Command, Grammar, ParsedCommand, Router, parse_relay
from bots.notices import NoticeRefused, send_notice, sent_text
from core import tickets
from core.classify import Classification
from core.grids import Role, ancestors
from core.message import MessageKind
from core.people import can_manage, can_read
from core.taxonomy import Category
from core.ticket_actions import ACTIONS, WHO_DOC, TicketAction
from core.ticket_states import TicketState
from core.timefmt import spoken

if TYPE_CHECKING:
    from bots.community import CommunityBot, Turn

ROUTER = Router(fallback="help")


# -- asking ------------------------------------------------------------------------------------

@ROUTER.command("status", ("查询", "查进度", "进度"), "查询 编号，如「查询 12」",
                who="its reporters, the person it was filed for, the care centre that filed it, its assignee, staff of "
                    "its grid or above (in its own chats, or 1:1); anyone else hears it does not exist")
def status(bot: CommunityBot, turn: Turn, cmd: ParsedCommand) -> None:
    """A ticket's state, handler and deadline, to those who may read it; to anyone else, as if it did not exist."""
    ticket = tickets.get(turn.session, cmd.number or 0)
    if ticket is None or not can_read(turn.session, turn.person, ticket, turn.chat):
        turn.say(bot.text(turn, "ticket_not_found", number=cmd.number), f"notfound:{cmd.number}")
        return
    values = bot.actions.values(turn.session, ticket, now=turn.now)
    deadline = ""
    if ticket.resolve_due_at and TicketState(ticket.state).is_open:
        deadline = bot.text(turn, "ticket_status_deadline", due=values["due"])
    text = bot.text(turn, "ticket_status", **{**values, "created": spoken(ticket.created_at, turn.now), "deadline": deadline})
    turn.say(text, f"status:{ticket.id}", ticket_id=ticket.id)


@ROUTER.command("mine", ("我的诉求", "我的工单"), "我的诉求", grammar=Grammar.BARE,
                who="anyone: their own tickets that may be shown in that chat")
def mine(bot: CommunityBot, turn: Turn, cmd: ParsedCommand) -> None:
    """The person's tickets (reported by them or filed for them) that may be shown in this chat."""
    found = [t for t in tickets.tickets_concerning(turn.session, turn.person)
             if can_read(turn.session, turn.person, t, turn.chat)]
    if not found:
        turn.say(bot.text(turn, "mine_none"), "mine")
        return
    lines = "\n".join(bot.text(turn, "mine_line", **bot.actions.values(turn.session, t)) for t in found)
    turn.say(bot.text(turn, "mine", lines=lines), "mine")


# -- actions on a ticket (core.ticket_actions.TABLE) ---------------------------------------------

def perform(bot: CommunityBot, turn: Turn, number: int, action: str, note: str = "", **arguments) -> None:
    """Do a ticket action as the person in the chat; a refusal says why and how, to them."""
    try:
        turn.replies += bot.actions.perform(turn.session, number, action, turn.person, note, origin=turn.origin,
                                            now=turn.now, since=turn.message.received_at, **arguments)
    except ActionError as exc:
        template = exc.template
        if turn.message.kind is MessageKind.ACTION and template == "not_allowed":
            template = "action_not_allowed"
        turn.refuse(bot.text(turn, template, **exc.values), f"refused:{action}:{number}", ticket_id=None)


def action_arguments(turn: Turn, action: TicketAction, rest: str) -> tuple[dict, str]:
    """Read what follows the number by what the action takes: 「到 12 说明」 (into), 「物业服务 说明」
    (category), 「加急」 (urgency), 「[部门或人] 说明」 (department or assignee); otherwise all of it is the note."""
    if "into" in action.arguments:
        match = re.match(r"^\s*(?:到|至|进|入|into|->)?\s*[#＃]?(\d{1,12})\s*(.*)$", rest, re.S)
        return ({"into": int(match.group(1))}, match.group(2).strip()) if match else ({}, rest)
    for name in ("category", "urgency"):
        if name in action.arguments:
            value, _, note = rest.partition(" ")
            return {name: value}, note
    if "assignee" in action.arguments and rest:
        target, _, note = rest.partition(" ")
        person = find_person(turn.session, target)
        return ({"assignee": person.key} if person else {"department": target}), note
    return {}, rest


def act(bot: CommunityBot, turn: Turn, cmd: ParsedCommand) -> None:
    """The handler of every ticket-action command: its arguments read, then bots.actions does it."""
    arguments, note = action_arguments(turn, ACTIONS[cmd.name], cmd.rest)
    perform(bot, turn, cmd.number or 0, cmd.name, note, **arguments)


def _ticket_action(name: str, words: tuple[str, ...], usage: str, *, who: str = "", **declared) -> None:
    """Declare the chat command of a ticket action: roles and who from the action table."""
    action = ACTIONS[name]
    when = "、".join(s.label for s in TicketState if s in action.states) if len(action.states) < len(TicketState) else ""
    doc = who or WHO_DOC[action.who]
    ROUTER.add(Command(name, words, usage, roles=action.who.roles, who=doc + (f"; when the ticket is {when}" if when else ""),
                       handler=act, **declared))


_ticket_action("withdraw", ("撤回", "撤销"), "撤回 编号（只能撤回自己登记、尚未确认的诉求）")
_ticket_action("confirm", ("确认", "受理"), "确认 编号")
_ticket_action("reject", ("驳回", "不予受理"), "驳回 编号 原因")
_ticket_action("merge", ("合并",), "合并 编号 到 编号，如「合并 15 到 12」")
_ticket_action("reclassify", ("改类", "改为"), "改类 编号 类别，如「改类 12 物业服务」")
_ticket_action("urgency", ("定级",), "定级 编号 紧急/加急/一般")
_ticket_action("assign", ("派单", "交办"), "派单 编号 [部门或人]，不写则按路由表派给默认承办")
_ticket_action("accept", ("接单",), "接单 编号")
_ticket_action("progress", ("进展", "备注"), "进展 编号 说明", aliases=("note",))
_ticket_action("resolve", ("办结",), "办结 编号 处理结果")
_ticket_action("reopen", ("重启", "重新办理"), "重启 编号 原因")
_ticket_action("refer", ("上报",), "上报 编号 说明（上报上一级督办）", aliases=("escalate",))
_ticket_action("transfer", ("转办",), "转办 编号 转给谁（不属于社区办理的，如「转办 12 已转12345热线」）")
_ticket_action("claim", ("我来", "认领"), "我来 编号（志愿者认领助老服务诉求）",
               who="volunteers of the ticket's grid or above (助老帮扶 only), grid workers, admins")


# -- filing for others and telling everyone ------------------------------------------------------

def relay_refusal(bot: CommunityBot, turn: Turn) -> str | None:
    """代办 is for care centres in chats of their own grids, and for the chat's grid workers."""
    person = turn.person
    if person.role != Role.CARE_CENTER and not can_manage(turn.session, person, turn.chat.grid_id):
        return "relay_not_allowed"
    if person.role == Role.CARE_CENTER and not any(g.id == person.grid_id for g in ancestors(turn.session, turn.chat.grid_id)):
        return "relay_other_grid"
    return None


@ROUTER.command("relay", ("代办",), "代办 姓名 楼栋房号 [电话] 需求", grammar=Grammar.TEXT, check=relay_refusal,
                roles=frozenset({Role.CARE_CENTER, Role.GRID_WORKER, Role.ADMIN}),
                who="care centres (in chats of their own grids) and grid workers, e.g. "
                    "`代办 张大爷 3栋502 13800138000 需要买药送药`")
def relay(bot: CommunityBot, turn: Turn, cmd: ParsedCommand) -> None:
    """A care centre files for an elder: 代办 姓名 楼栋房号 [电话] 需求."""
    parsed = parse_relay(cmd.rest)
    if parsed is None:
        turn.say(bot.text(turn, "relay_usage"), "usage:relay")
        return
    result = bot.classify(parsed.need)
    if not result.is_request or result.category in (Category.CHATTER, Category.OTHER):
        result = Classification(True, Category.ELDERLY_CARE, result.urgency, result.confidence)
    on_behalf = parsed.name + (f" {parsed.phone}" if parsed.phone else "")
    bot.file_request(turn, result, text=f"{parsed.name}（{parsed.location}）：{parsed.need}",
                     on_behalf_of=on_behalf, location=parsed.location, elder=parsed.name)


@ROUTER.command("notice", ("通知",), "通知 内容，如「通知 明天上午停水，请提前储水」", grammar=Grammar.TEXT,
                roles=frozenset({Role.GRID_WORKER, Role.ADMIN}),
                who="grid workers (for their grid and below) and admins: to every residents' group of the grid and "
                    "below (see Notices below)")
def notice(bot: CommunityBot, turn: Turn, cmd: ParsedCommand) -> None:
    """A grid worker's notice to every residents' group of their grid and below: 通知 内容."""
    person = turn.person
    own = person.role in (Role.GRID_WORKER, Role.ADMIN) and person.grid_id
    try:
        sent = send_notice(turn.session, bot.templates, sender=person, grid_id=person.grid_id if own else turn.chat.grid_id,
                           text=cmd.rest, via=turn.chat.key, now=turn.now, can_receive=bot.actions.can_receive)
    except NoticeRefused as exc:
        turn.refuse(bot.text(turn, exc.template, **exc.values), f"notice-refused:{exc.template}")
        return
    turn.replies += sent.replies
    turn.say(sent_text(bot.templates, turn.script, sent), f"notice-sent:{sent.notice.id}")


@ROUTER.command("help", ("帮助", "使用说明"), "帮助", grammar=Grammar.BARE, who="anyone")
def help_page(bot: CommunityBot, turn: Turn, cmd: ParsedCommand) -> None:
    """What the bot does, and only the commands the person's role may use."""
    lines = "\n".join(bot.text(turn, "help_line", usage=c.usage, slash=c.slash) for c in ROUTER.for_role(turn.person.role))
    turn.say(bot.text(turn, "help", lines=lines), "help")


# -- README -------------------------------------------------------------------------------------

README_START = "<!-- commands: generated by `python -m bots.chat_commands --write README.md`; a test checks it -->"
README_END = "<!-- end of commands -->"


def readme_table(router: Router = ROUTER) -> str:
    """README's command table, from the declarations."""
    rows = ["| command | slash | who may use it | help line |", "|---|---|---|---|"]
    for c in router.commands:
        words = " / ".join(f"`{w}`" for w in c.words)
        slash = " ".join(f"`/{s}`" for s in (c.slash, *c.aliases))
        rows.append(f"| {words} | {slash} | {c.who} | {c.usage} |")
    return "\n".join([README_START, *rows, README_END])


def write_readme(path: Path) -> None:
    """Replace the command table in README ``path`` with :func:`readme_table`."""
    text = path.read_text(encoding="utf-8")
    marker = README_START[:len("<!-- commands:")]
    if marker not in text or README_END not in text:
        raise SystemExit(f"{path}: no generated command table (the {marker!r} … {README_END!r} markers)")
    start, end = text.index(marker), text.index(README_END) + len(README_END)
    path.write_text(text[:start] + readme_table() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write"]:
        write_readme(Path(sys.argv[2] if len(sys.argv) > 2 else "README.md"))
    else:
        print(readme_table())
