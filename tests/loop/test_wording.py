"""Wording for elders: every template of config/templates.yaml rendered, in Simplified and Traditional,
with the values the bot really produces (people with and without their role in their name, deadlines
today, tomorrow and next month, every emergency number); no doubled names or roles, no unfilled
placeholder, no machine-looking date, no stray space in a sentence. And the same on live stories."""

from __future__ import annotations

import itertools
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlmodel import Session

from bots.actions import ACTION_LABELS
from bots.templates import call_text
from config.settings import CONFIG_DIR
from core.chinese import to_simplified
from core.models import Person
from core.people import display_name, titled_name
from core.routing import load_routing
from core.taxonomy import REQUEST_CATEGORIES, Urgency
from core.ticket_states import TicketState
from core.timefmt import spoken, spoken_deadline

TEMPLATES = yaml.safe_load((CONFIG_DIR / "templates.yaml").read_text(encoding="utf-8"))
TEMPLATES.pop("traditional", None)
ROLE_WORDS = ("网格员", "志愿者", "养老服务中心", "指挥中心", "居民")
HAN = "\u4e00-\u9fff"


def person(name: str, role: str) -> Person:
    return Person(key=f"playground:{name}", name=name, role=role)


# As the grids file and the chats name them: roles in brackets, roles in the name, plain names.
WORKERS = [person("王芳（网格员）", "grid_worker"), person("陈社区书记", "grid_worker"), person("李强", "grid_worker"),
           person("和平街道指挥中心", "grid_worker")]
ACTORS = [*WORKERS, person("志愿者小刘", "volunteer"), person("张阿姨", "resident"),
          person("幸福居家养老服务中心", "care_center"), person("区指挥中心", "admin")]


def machine_problems(text: str) -> list[str]:
    """What an elder should never read in a message from the bot."""
    plain = to_simplified(text)
    problems = []
    if re.search(r"[{}]", plain) or re.search(r"\b(None|null|nan)\b", plain):
        problems.append("unfilled placeholder")
    if re.search(r"\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}", plain):
        problems.append("machine-looking date")
    if m := re.search(rf"([{HAN}]{{2,}})\1", plain):
        problems.append(f"doubled word {m.group(1)}")
    for role in ROLE_WORDS:
        if re.search(rf"{role}.{{0,8}}{role}", plain):
            problems.append(f"role {role} twice")
    outside_quotes = re.sub(r"「[^」]*」", "", plain)
    if re.search(rf"[{HAN}] +[{HAN}]", outside_quotes) or re.search(r"(拨打|电话) ", outside_quotes):
        problems.append("space inside a sentence")
    if re.search(r"[：:]\s*—|—[，。]", plain):
        problems.append("a dash for a missing value")
    if re.search(r"[，。、；：]{2}|（）|\(\)", plain):
        problems.append("empty or doubled punctuation")
    return problems


def sample_values(actions, session, ticket, now: datetime) -> list[dict]:
    """Realistic values for every placeholder, varied over the people and times they can take."""
    routing = load_routing(CONFIG_DIR / "routing.yaml")
    calls = [call_text(kind.call) for kind in routing.emergency.kinds.values()]
    deadlines = [now + timedelta(hours=h) for h in (3, 20, 49, 24 * 40)]
    base = actions.values(session, ticket, now=now)
    out = []
    for i, (actor, worker, due) in enumerate(zip(itertools.cycle(ACTORS), itertools.cycle(WORKERS), deadlines * 2)):
        told_by = [[], ["网格员"], ["上级"], ["网格员", "上级"]][i % 4]
        grid_worker = titled_name(worker)
        hint = actions.templates.render(["hint_reopen", "hint_confirm_first", "hint_refile", "hint_withdraw_open"][i % 4],
                                        number=ticket.id, master=ticket.id + 1)
        out.append(base | {
            # ``name`` is someone refused: never a care centre refused 代办, which is theirs
            "actor": titled_name(actor), "name": display_name(actor if actor.role != "care_center" else ACTORS[0]), "grid_worker": grid_worker,
            "assignee": titled_name(worker), "handler": f"幸福物业服务中心·{titled_name(worker)}" if i % 2 else grid_worker,
            "contact": grid_worker, "elder": "张大爷", "due": spoken_deadline(due, now),
            "created": spoken(now - timedelta(hours=i * 13), now), "call": calls[i % len(calls)],
            "category": REQUEST_CATEGORIES[i % len(REQUEST_CATEGORIES)].spoken,
            "state": list(TicketState)[i % len(TicketState)].label, "urgency": list(Urgency)[i % 3].label,
            "told": actions.told(told_by, "simplified", grid_worker), "hint": hint,
            "note": "已联系物业，明天上门维修", "level": "和平街道", "master": ticket.id + 1, "count": 2,
            "rating": "满意", "lines": "#3【处理中】物业服务：3栋电梯坏了", "command": ACTION_LABELS["claim"],
            "who": "本网格的网格员", "whom": "上级（和平街道）", "usage": "查询 编号，如「查询 12」", "slash": "status", "action": "派单",
            "actions": "、".join(ACTION_LABELS.values()), "names": "into", "detail": "未知类别「修水管」",
            "deadline": actions.templates.render("ticket_status_deadline", due=spoken_deadline(due, now)) if i % 2 else "",
            "channel": "微信公众号", "reason": "超过48小时未互动", "text": "#3 已办结：电梯已修好", "grid": "幸福社区第一网格",
            "place": "3栋2单元东侧", "group": "幸福里3栋群", "advice": "不要开关电器、不要点火，开窗通风，离开后拨打燃气抢修电话96777。",
        })
    return out


def test_every_template_reads_well_for_elders_in_both_scripts(hood):
    hood.say("zhang", "3栋电梯坏了，老人下不了楼，电话13912345678")
    (ticket,) = hood.tickets()
    actions = hood.runtime.bot.actions
    now = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 上午10点 in Shanghai
    used = {f for text in TEMPLATES.values() for _, f, _, _ in string.Formatter().parse(text) if f}
    failures = []
    with Session(hood.runtime.engine) as session:
        samples = sample_values(actions, session, session.get(type(ticket), ticket.id), now)
        assert used <= set(samples[0]), f"give these placeholders sample values: {used - set(samples[0])}"
        for name, values in itertools.product(TEMPLATES, samples):
            for script in ("simplified", "traditional"):
                text = actions.templates.render(name, script, **values)
                problems = [p for p in machine_problems(text)
                            if not (name in ("command_usage", "help_line") and p == "space inside a sentence")]  # a command's format
                if problems:
                    failures.append(f"{name} [{script}]: {problems}: {text}")
    assert not failures, "\n".join(sorted(set(failures))[:20])


@pytest.mark.parametrize(("text", "problem"), [
    ("已转网格员王芳（网格员）处理", "role 网格员 twice"), ("#3 志愿者志愿者小刘已认领", "doubled word"),
    ("请立即拨打 燃气抢修 96777", "space inside a sentence"), ("应办结时间 12-05 13:24", "machine-looking date"),
    ("#3 已受理，处理人：{actor}", "unfilled placeholder"), ("已登记 #3，。", "empty or doubled punctuation"),
    ("#3 已受理，承办：—，明天下午1点前办结", "a dash"),
])
def test_the_wording_check_catches_what_elders_stumble_over(text, problem):
    assert any(p.startswith(problem) for p in machine_problems(text)), machine_problems(text)


@pytest.mark.parametrize(("hours", "said"), [
    (0, "今天上午10点"), (3.5, "今天下午1点半"), (8.2, "今天晚上6点12分"), (14, "明天凌晨0点"),
    (27, "明天下午1点"), (71.5, "12月5日上午9点半"), (24 * 40, "2027年1月11日上午10点"),
])
def test_times_are_said_as_people_say_them(hours, said):
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert spoken(now + timedelta(hours=hours), now) == said


def test_a_deadline_is_rounded_down_to_the_half_hour_and_ends_in_before():
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert spoken_deadline(datetime(2026, 12, 5, 5, 24, tzinfo=UTC), now) == "12月5日下午1点前"
    assert spoken_deadline(datetime(2026, 12, 5, 5, 44, tzinfo=UTC), now) == "12月5日下午1点半前"


@pytest.mark.parametrize(("name", "role", "plain", "titled"), [
    ("王芳（网格员）", "grid_worker", "王芳", "网格员王芳"), ("赵敏（安乐网格员）", "grid_worker", "赵敏", "网格员赵敏"),
    ("志愿者小刘", "volunteer", "志愿者小刘", "志愿者小刘"), ("陈社区书记", "grid_worker", "陈社区书记", "陈社区书记"),
    ("张阿姨", "resident", "张阿姨", "张阿姨"), ("幸福居家养老服务中心", "care_center", "幸福居家养老服务中心", "幸福居家养老服务中心"),
])
def test_names_carry_their_role_once(name, role, plain, titled):
    assert (display_name(person(name, role)), titled_name(person(name, role))) == (plain, titled)


def test_emergency_numbers_read_without_stray_spaces():
    assert call_text("燃气抢修 96777") == "燃气抢修电话96777"
    assert call_text("119") == "119"


def test_live_replies_name_people_once_say_dates_in_words_and_never_call_the_resident_the_handler(hood):
    (created,) = hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    assert "已转网格员王芳处理" in created.text and "（网格员）" not in created.text
    hood.deliver()  # the card is sent, so later changes edit it
    (status,) = hood.say("zhang", f"查询 {ticket.id}")
    assert re.search(r"\n今天(凌晨|早上|上午|中午|下午|晚上)\d{1,2}点(半|\d{2}分)?登记，"
                     r"(后天|\d{1,2}月\d{1,2}日)\S+点(半)?前办结", status.text), status.text
    hood.say("wangfang", f"确认 {ticket.id}")
    hood.say("wangfang", f"办结 {ticket.id} 已修好")
    hood.deliver()
    replies = hood.say("zhang", "3")  # not satisfied: reopened by the resident's answer
    (card,) = [r for r in replies if r.edit_message_id]
    assert card.text.endswith("当前状态：处理中（幸福物业服务中心）") and "张阿姨" not in card.text.splitlines()[-1]
    for r in replies:
        assert not machine_problems(r.text), r.text


def test_a_volunteer_claiming_is_named_once_and_gas_advice_has_no_stray_spaces(make_neighbourhood):
    hood = make_neighbourhood(classify=None)
    hood.say("care", "代办 张大爷 3栋502 需要买药送药")
    (errand,) = hood.tickets()
    (claimed, *_) = hood.say("volunteer-liu", f"我来 {errand.id}")
    assert claimed.text == f"#{errand.id} 志愿者小刘已认领，正在帮忙。"
    gas = hood.say("zhang", "楼道里煤气味很重")
    assert "离开后拨打燃气抢修电话96777。" in gas[0].text
    for r in gas:
        assert not machine_problems(r.text), r.text
