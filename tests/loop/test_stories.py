"""Stories through the real runtime, bot and database (SQLite and PostgreSQL): emergencies, care-centre
relays, volunteers, refusals, masking, Traditional replies, the 「是」 question, withdrawal, replies to the bot."""

from __future__ import annotations

from sqlmodel import Session

from core.models import Chat, Person
from core.ticket_states import TicketState as S

DEMO = "playground:demo"
COMMUNITY_ROOM = "playground:xingfu-staff"  # staff rooms of config/grids.example.yaml


def test_an_emergency_gets_the_fire_number_at_once_and_the_worker_and_next_level_are_told(make_neighbourhood):
    hood = make_neighbourhood(classify=None)  # the real classifier
    replies = hood.say("zhang", "3栋502着火了，冒烟很大！")
    (ticket,) = hood.tickets()
    assert ticket.state is S.CONFIRMED and ticket.urgency.value == "emergency"  # no confirmation wait
    answer = replies[0]
    assert answer.chat_id == "demo" and "119" in answer.text and f"#{ticket.id}" in answer.text
    assert "已通知网格员王芳和上级" in answer.text
    # the grid worker and the level above (the community) hear it in the community's staff room, once
    (staff,) = [r for r in replies if r.chat_id != "demo"]
    assert staff.chat_id == "xingfu-staff" and staff.text.startswith(f"【紧急】#{ticket.id}") and "119" in staff.text


def test_emergency_numbers_follow_the_kind_of_emergency(make_neighbourhood):
    hood = make_neighbourhood(classify=None)
    for text, number in [("有人晕倒了，快来人", "120"), ("楼道里煤气味很重", "燃气抢修"), ("楼下有人打架持刀", "110")]:
        replies = hood.say("zhang", text)
        assert number in replies[0].text, (text, replies[0].text)


def test_chatter_gets_silence_on_the_real_classifier(make_neighbourhood):
    hood = make_neighbourhood(classify=None)
    for text in ("早上好", "收到", "谢谢网格员！", "不是着火，是烧烤的烟"):
        assert hood.say("liu", text) == []
    assert hood.tickets() == []


def test_a_care_centre_files_for_an_elder_and_hears_about_progress(hood):
    replies = hood.say("care", "代办 张大爷 3栋502 13800138000 需要买药送药")
    (ticket,) = hood.tickets()
    assert ticket.on_behalf_of == "张大爷 13800138000" and ticket.location == "3栋502"
    assert ticket.category.value == "elderly_care"
    assert ticket.state is S.CONFIRMED  # the centre is trusted: no confirmation wait
    assert ticket.department == "幸福居家养老服务中心"
    assert "张大爷" in replies[0].text and f"#{ticket.id}" in replies[0].text
    assert "13800138000" in ticket.text or ticket.on_behalf_of.endswith("13800138000")

    # a volunteer claims it; the announcement reaches the centre's chat
    claimed = hood.say("volunteer-liu", f"我来 {ticket.id}", room="anle")
    assert [r.chat_id for r in claimed] == ["anle", "demo"]
    assert "志愿者小刘已认领" in claimed[0].text
    assert any("志愿者小刘已认领" in r.payload["text"] for r in hood.outbox(DEMO))
    assert hood.ticket(ticket.id).assignee == "playground:volunteer-liu"
    assert hood.ticket(ticket.id).state is S.IN_PROGRESS


def test_relay_usage_and_who_may_relay(hood):
    (usage,) = hood.say("care", "代办 张大爷")
    assert "代办 姓名 楼栋房号" in usage.text
    (refused,) = hood.say("zhang", "代办 李奶奶 5栋101 需要买菜")
    assert "养老服务中心" in refused.text
    assert hood.tickets() == []


def test_an_untrusted_care_centre_relay_waits_for_confirmation(hood):
    with Session(hood.runtime.engine) as s:
        s.add(Person(key="playground:care2", name="安乐养老驿站", role="care_center", grid_id="anle"))
        s.commit()
    hood.say("care2", "代办 王奶奶 2栋301 需要有人陪诊", room="anle")
    (ticket,) = hood.tickets()
    assert ticket.state is S.PENDING and ticket.on_behalf_of == "王奶奶"


def test_volunteers_claim_only_elderly_care(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"确认 {ticket.id}")
    (refused,) = hood.say("volunteer-liu", f"/claim {ticket.id}")
    assert "助老服务" in refused.text
    assert hood.ticket(ticket.id).state is S.CONFIRMED


def test_a_resident_trying_grid_worker_commands_is_refused_and_nothing_changes(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    trail = len(hood.events(ticket.id))
    for command in (f"确认 {ticket.id}", f"驳回 {ticket.id} 没事", f"/resolve {ticket.id} 好了", f"派单 {ticket.id}",
                    f"上报 {ticket.id}", f"合并 {ticket.id} 到 1"):
        (refusal,) = hood.say("liu", command)
        assert "只有本网格的网格员" in refusal.text, command
    (alert,) = hood.press("liu", f"t:confirm:{ticket.id}")
    assert alert.alert_for_action and "无权限" in alert.text
    # a grid worker of another grid is refused too
    (other,) = hood.say("zhaomin", f"确认 {ticket.id}")
    assert "网格员" in other.text
    assert hood.ticket(ticket.id).state is S.PENDING
    assert len(hood.events(ticket.id)) == trail


def test_workers_above_the_grid_may_act_and_illegal_moves_are_explained(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    (answer,) = hood.say("chenshuji", f"接单 {ticket.id}")  # pending → in_progress is not a legal move
    assert "当前状态为「待确认」" in answer.text
    (confirmed,) = hood.say("chenshuji", f"/confirm {ticket.id}")  # the community's worker, a level above
    assert "已受理" in confirmed.text
    (needs_reason,) = hood.say("wangfang", f"驳回 {ticket.id}")
    assert "请写明驳回原因" in needs_reason.text
    assert hood.ticket(ticket.id).state is S.CONFIRMED


def test_grid_worker_commands_reclassify_set_urgency_merge_progress_and_refer(hood):
    hood.say("zhang", "3栋电梯坏了")
    hood.say("liu", "5号楼门口垃圾没人清运")
    first, second = hood.tickets()
    (reclass,) = hood.say("wangfang", f"改类 {second.id} 环境卫生")
    assert "环境卫生" in reclass.text and hood.ticket(second.id).category.value == "sanitation"
    hood.say("wangfang", f"定级 {first.id} 加急")
    urgent = hood.ticket(first.id)
    assert urgent.urgency.value == "urgent"
    assert (urgent.resolve_due_at - urgent.created_at).total_seconds() == 12 * 3600  # property 48 h, urgent 12 h
    hood.say("wangfang", f"确认 {first.id}")
    replies = hood.say("wangfang", f"进展 {first.id} 已联系物业，明天上午维修")
    assert any("明天上午维修" in r.text for r in replies)
    (refer,) = [r for r in hood.say("wangfang", f"上报 {first.id} 物业不配合") if r.chat_id == "demo"]
    assert "已上报幸福社区督办" in refer.text
    assert hood.ticket(first.id).escalation_level == "community"
    assert hood.outbox(COMMUNITY_ROOM, contains="【上报】")
    hood.say("wangfang", f"合并 {second.id} 到 {first.id}")
    merged = hood.ticket(second.id)
    assert merged.state is S.DUPLICATE and merged.master_id == first.id
    assert "playground:liu" in [e.actor for e in hood.events(first.id, "reporter")]


def test_assign_to_a_named_person_or_department(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"派单 {ticket.id} 市政所")
    assert hood.ticket(ticket.id).department == "市政所"
    (assigned,) = hood.say("wangfang", f"派单 {ticket.id} 李强")
    assert hood.ticket(ticket.id).assignee == "playground:liqiang"
    assert "市政所·网格员李强" in assigned.text  # the role once, in front
    # the assignee may accept and resolve, though 李强 works for the neighbouring grid
    (accepted,) = hood.say("liqiang", f"接单 {ticket.id}")
    assert "已接单" in accepted.text
    (refused,) = hood.say("zhaomin", f"接单 {ticket.id}")
    assert "承办人" in refused.text


def test_phone_and_id_numbers_are_masked_in_the_group_but_kept_on_the_ticket(hood):
    hood.say("zhang", "楼上漏水，电话13912345678，身份证110101199003071234")
    (ticket,) = hood.tickets()
    assert "13912345678" in ticket.text
    (status,) = hood.say("zhang", f"查询 {ticket.id}")
    assert "139****5678" in status.text and "13912345678" not in status.text
    assert "1101**********1234" in status.text
    for row in hood.outbox():
        assert "13912345678" not in row.payload["text"] and "110101199003071234" not in row.payload["text"]


def test_replies_are_traditional_for_people_who_write_traditional_and_for_traditional_chats(make_neighbourhood):
    hood = make_neighbourhood(classify=None)
    (created,) = hood.say("zhang", "樓上漏水到我家了，天花板都濕了")
    assert "編號" in created.text and "訴求" in created.text
    with Session(hood.runtime.engine) as s:
        chat = s.get(Chat, "playground:demo")
        chat.script = "traditional"
        s.add(chat)
        s.commit()
    (status,) = hood.say("wangfang", "查询 1")  # written in Simplified, answered in the chat's Traditional
    assert "樓上漏水" in status.text and "待確認" in status.text


def test_an_uncertain_message_is_asked_about_and_yes_files_it(hood):
    (question,) = hood.say("zhang", "楼下好像有点什么味道", message_id="smell")
    assert question.text == "需要登记为诉求吗？回复「是」登记"
    assert hood.tickets() == []
    (filed,) = hood.say("zhang", "是")
    (ticket,) = hood.tickets()
    assert ticket.text == "楼下好像有点什么味道" and ticket.origin_message_id == "smell"
    assert f"#{ticket.id}" in filed.text and filed.reply_to_message_id == "smell"
    # another 「是」 has nothing left to file: it is just chatter
    assert hood.say("zhang", "是") == []


def test_the_question_button_files_the_message(hood):
    (question,) = hood.say("liu", "楼下好像有点什么味道")
    button, _no = question.buttons[0]
    hood.press("liu", button.data)
    assert len(hood.tickets()) == 1
    hood.press("liu", button.data)  # pressed twice: still one ticket
    assert len(hood.tickets()) == 1


def test_a_reporter_withdraws_their_own_pending_ticket_only(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    (refused,) = hood.say("liu", f"撤回 {ticket.id}")
    assert "本人" in refused.text
    (done,) = hood.say("zhang", f"撤回 {ticket.id}")
    assert "已撤回" in done.text and hood.ticket(ticket.id).state is S.WITHDRAWN


def test_replying_to_the_bots_ticket_message_adds_information(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.deliver()
    (card,) = hood.outbox(DEMO)
    (thanks,) = hood.say("zhang", "是2单元那部，门一直开着关不上", reply_to=card.platform_message_id)
    assert f"已补充到 #{ticket.id}" in thanks.text
    (info,) = hood.events(ticket.id, "info")
    assert info.note == "是2单元那部，门一直开着关不上"
    assert hood.say("zhang", "谢谢", reply_to=card.platform_message_id) == []


def test_status_and_my_requests(hood):
    hood.say("zhang", "3栋电梯坏了")
    hood.say("zhang", "5号楼垃圾没人清运")
    (mine,) = hood.say("zhang", "我的诉求")
    assert "#1【待确认】" in mine.text and "#2【待确认】" in mine.text
    (slash,) = hood.say("zhang", "/mine")
    assert slash.text == mine.text
    (status,) = hood.say("zhang", "/status 2")
    assert "#2【待确认】环境卫生" in status.text
    (missing,) = hood.say("liu", "查询 99")
    assert "没有找到编号 #99" in missing.text


def test_yellow_reaches_an_assignee_of_another_grid_in_their_own_chat(hood):
    from datetime import timedelta

    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"派单 {ticket.id} 李强")  # 李强 works for 幸福社区第二网格
    hood.clock.now = hood.ticket(ticket.id).created_at + timedelta(hours=37)
    assert hood.sweep().done == {"yellow": 1}
    # both grids' workers are told in the community's staff room, once; no residents' group hears it
    assert len(hood.outbox(COMMUNITY_ROOM, contains="黄灯催办")) == 1
    assert hood.outbox(DEMO, contains="催办") == hood.outbox("wecom-bot:wrkSFfCgAAxxxx") == []


def test_raising_a_ticket_to_an_emergency_alerts_the_levels_at_once(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    replies = hood.say("wangfang", f"定级 {ticket.id} 紧急")
    assert hood.ticket(ticket.id).urgency.value == "emergency"
    assert any(r.chat_id == "xingfu-staff" and r.text.startswith(f"【紧急】#{ticket.id}") for r in replies)


def test_a_late_or_vague_yes_files_nothing(hood):

    hood.say("zhang", "楼下好像有点什么味道")
    assert hood.say("zhang", "等会儿再说吧") == []
    hood.clock.advance(hours=3)
    assert hood.say("zhang", "是") == []
    assert hood.tickets() == []
