"""Short conversations with the real bot, classifier and database (SQLite and PostgreSQL): duplicates by
object and place, 「和 #N 是同一处吗？」, the place question, the survey answered in words, 「需要登记为诉求吗？」,
expiry, and what is *not* taken as an answer.

Rooms (config/grids.example.yaml): ``demo`` is 幸福里3栋邻里群, bound to one building (it implies 3栋);
``anle`` is 安乐家园互助群, community-wide (it implies no place). Residents who are not declared
(zhou, wu) are residents of the chat's grid.
"""

from __future__ import annotations

import pytest

from core.ticket_states import TicketState as S

ANLE = "playground:anle"
PLACE_Q = "请问具体在哪个位置（几栋几单元/哪个门）？"


@pytest.fixture
def real(make_neighbourhood):
    """The neighbourhood with the real classifier."""
    return make_neighbourhood(classify=None)


def texts(replies) -> list[str]:
    return [r.text for r in replies]


# -- duplicates by object and place ------------------------------------------------------------


def test_the_same_lamp_in_other_words_and_traditional_joins_the_open_ticket(real):
    real.say("zhou", "东门路灯坏了好几天了", room="anle")
    (joined,) = real.say("wu", "東門那邊晚上黑乎乎的，路燈不亮", room="anle")
    (ticket,) = real.tickets()
    assert f"#{ticket.id}" in joined.text and "已有鄰居反映過" in joined.text  # answered in Traditional
    assert [e.actor for e in real.events(ticket.id, "reporter")] == ["playground:wu"]


def test_the_same_object_joins_even_when_the_classifier_chose_another_category(real):
    real.say("zhou", "7栋楼道水管漏水", room="anle")
    real.say("wu", "7号楼楼道里的管子一直在滴水，到处湿漉漉", room="anle")
    assert len(real.tickets()) == 1


def test_lifts_of_different_buildings_never_join(real):
    real.say("zhou", "3栋电梯坏了", room="anle")
    (created,) = real.say("wu", "5栋电梯坏了", room="anle")
    first, second = real.tickets()
    assert "已收到您的诉求" in created.text and (first.location, second.location) == ("3栋", "5栋")


def test_lamps_at_different_gates_never_join(real):
    real.say("zhou", "东门路灯不亮", room="anle")
    real.say("wu", "北门路灯不亮", room="anle")
    assert len(real.tickets()) == 2


def test_in_a_building_group_two_reports_of_the_lift_join(real):
    real.say("zhang", "电梯坏了")
    (joined,) = real.say("liu", "电梯又停了，爬楼累死")
    (ticket,) = real.tickets()
    assert ticket.location == "3栋" and f"#{ticket.id}" in joined.text


def test_in_a_community_group_a_lift_without_a_building_is_not_joined_to_one_with(real):
    first = real.say("zhou", "电梯坏了", room="anle")
    assert PLACE_Q in first[-1].text
    real.say("wu", "3栋电梯坏了", room="anle")
    assert len(real.tickets()) == 2


def test_leaks_in_two_homes_are_not_joined_silently_and_no_keeps_them_apart(real):
    real.say("zhou", "我家厨房漏水了", room="anle")
    created, asked = real.say("wu", "我家卫生间也漏水了", room="anle")
    first, second = real.tickets()
    assert f"#{second.id}" in created.text
    assert asked.text.startswith(f"和 #{first.id} 是同一处吗？") and "我家厨房漏水了" in asked.text
    assert [b.label for b in asked.buttons[0]] == ["是", "不是"]
    separate, place = real.say("wu", "不是", room="anle")
    assert f"#{second.id} 按新的问题登记处理" in separate.text and PLACE_Q in place.text
    assert real.ticket(second.id).state is S.PENDING and real.ticket(first.id).state is S.PENDING


def test_yes_to_the_same_place_question_merges_the_new_report_into_the_first(real):
    real.say("zhou", "我家厨房漏水了", room="anle")
    real.say("wu", "我家厨房也漏水了", room="anle")
    first, second = real.tickets()
    replies = real.say("wu", "对", room="anle")
    assert any(f"#{second.id} 已并入 #{first.id}" in t for t in texts(replies))
    assert real.ticket(second.id).state is S.DUPLICATE and real.ticket(second.id).master_id == first.id
    assert "playground:wu" in [e.actor for e in real.events(first.id, "reporter")]


def test_the_same_place_question_is_understood_in_traditional(real):
    real.say("zhou", "我家停電了", room="anle")
    real.say("wu", "我們家也停電了，怎麼回事", room="anle")
    first, second = real.tickets()
    real.say("wu", "是的", room="anle")
    assert real.ticket(second.id).state is S.DUPLICATE


def test_the_same_place_buttons_answer_too(real):
    real.say("zhou", "我家下水道堵了", room="anle")
    _, asked = real.say("wu", "我们家下水道也堵了", room="anle")
    yes, no = asked.buttons[0]
    real.press("wu", no.data, room="anle")
    first, second = real.tickets()
    assert real.ticket(second.id).state is S.PENDING
    (refused,) = real.press("wu", yes.data, room="anle")  # answered already
    assert refused.alert_for_action and real.ticket(second.id).state is S.PENDING


def test_one_person_reporting_their_home_again_joins_silently(real):
    real.say("zhou", "我家厨房漏水了", room="anle")
    real.say("zhou", "3栋", room="anle")  # answers where
    (again,) = real.say("zhou", "我家厨房还在漏水，快来人看看", room="anle")
    (ticket,) = real.tickets()
    assert f"您已反映过此问题 #{ticket.id}" in again.text


def test_repeat_reports_of_one_fire_within_half_an_hour_join_it(real):
    real.say("zhou", "3栋着火了！", room="anle")
    real.clock.advance(minutes=10)
    replies = real.say("wu", "三栋起火了，好大的烟", room="anle")
    (ticket,) = real.tickets()
    assert "119" in replies[0].text and f"已有邻居报告 #{ticket.id}" in replies[0].text


def test_a_fire_reported_after_half_an_hour_is_a_new_ticket(real):
    real.say("zhou", "着火了，好大的烟", room="anle")
    real.clock.advance(minutes=45)
    real.say("wu", "着火了，快打119", room="anle")
    assert len(real.tickets()) == 2


def test_different_emergencies_at_once_are_not_joined(real):
    real.say("zhou", "3栋着火了！", room="anle")
    real.say("wu", "3栋楼道里煤气味很重", room="anle")
    first, second = real.tickets()
    assert first.urgency.value == second.urgency.value == "emergency"


def test_the_merge_offer_shows_each_tickets_text_same_object_first(real):
    real.say("zhang", "楼下垃圾桶满了没人倒")
    real.say("liu", "3栋门口路灯不亮")
    real.say("zhou", "3栋门口那个灯晚上不亮", room="anle")  # another group, another grid: not offered
    real.say("liu", "5栋路灯坏了")
    bins, lamp, _, lamp5 = real.tickets()
    (offer,) = real.press("wangfang", f"t:merge:{lamp5.id}")
    labels = [b.label for row in offer.buttons for b in row]
    assert labels[0] == f"并入 #{lamp.id}：3栋门口路灯不亮"
    assert f"并入 #{bins.id}：楼下垃圾桶满了没人倒" in labels


# -- where? ----------------------------------------------------------------------------------


def test_a_request_without_a_place_is_asked_where_and_the_answer_fills_the_location(real):
    created, asked = real.say("zhou", "楼道灯坏了好几天了", room="anle")
    (ticket,) = real.tickets()
    assert asked.text == f"#{ticket.id} {PLACE_Q}"
    (noted,) = real.say("zhou", "3栋2单元", room="anle")
    assert real.ticket(ticket.id).location == "3栋2单元" and "3栋2单元" in noted.text
    assert len(real.tickets()) == 1  # the answer is not a new request
    assert [e.note for e in real.events(ticket.id, "location")] == ["3栋2单元"]


@pytest.mark.parametrize(("report", "answer"), [("路灯坏了", "就在北门那边"), ("樓道燈壞了", "3棟2單元")],
                         ids=["a-gate", "traditional"])
def test_a_gate_or_a_traditional_building_is_a_place_answer(real, report, answer):
    real.say("zhou", report, room="anle")
    real.say("zhou", answer, room="anle")
    (ticket,) = real.tickets()
    assert ticket.location == answer


def test_a_building_group_is_never_asked_where(real):
    (created,) = real.say("zhang", "楼道灯坏了好几天了")
    (ticket,) = real.tickets()
    assert ticket.location == "3栋" and PLACE_Q not in created.text


def test_a_message_that_names_its_place_is_not_asked(real):
    (created,) = real.say("zhou", "北门路灯不亮", room="anle")
    assert real.tickets()[0].location == "北门"


def test_chatter_after_the_place_question_is_not_the_answer_and_the_question_waits(real):
    real.say("zhou", "楼道灯坏了", room="anle")
    assert real.say("zhou", "早上好", room="anle") == []
    assert real.say("zhou", "好的", room="anle") == []
    real.say("zhou", "5栋", room="anle")
    (ticket,) = real.tickets()
    assert ticket.location == "5栋"


def test_a_new_request_after_the_place_question_is_filed_as_new(real):
    real.say("zhou", "楼道灯坏了", room="anle")
    real.say("zhou", "还有楼下垃圾桶满了没人清运", room="anle")
    first, second = real.tickets()
    assert first.location is None and second.category.value == "sanitation"


def test_another_problem_with_its_own_place_is_not_taken_for_the_place(real):
    real.say("zhou", "路灯坏了", room="anle")
    real.say("zhou", "北门垃圾桶也满了，没人清", room="anle")
    lamp, bins = real.tickets()
    assert lamp.location is None and bins.location == "北门"


def test_a_place_answer_naming_the_same_object_is_still_the_answer(real):
    real.say("zhou", "路灯坏了", room="anle")
    real.say("zhou", "3栋2单元门口的路灯", room="anle")
    (lamp,) = real.tickets()
    assert lamp.location == "3栋2单元门口的路灯"


def test_an_expired_place_question_is_ignored(real):
    real.say("zhou", "楼道灯坏了", room="anle")
    real.clock.advance(hours=3)
    assert real.say("zhou", "5栋", room="anle") == []
    assert real.tickets()[0].location is None


def test_dont_know_is_an_answer_and_the_grid_worker_will_ask(real):
    real.say("zhou", "楼道灯坏了", room="anle")
    (reply,) = real.say("zhou", "不知道", room="anle")
    assert "网格员会和您联系确认位置" in reply.text
    assert real.say("zhou", "5栋", room="anle") == []  # the question is settled


def test_someone_elses_words_do_not_answer_the_question(real):
    real.say("zhou", "楼道灯坏了", room="anle")
    assert real.say("wu", "5栋", room="anle") == []
    assert real.tickets()[0].location is None


def test_personal_matters_are_not_asked_where(real):
    (created,) = real.say("zhou", "低保怎么申请", room="anle")
    assert "已收到您的诉求" in created.text


def test_an_emergency_without_a_place_gets_the_number_then_the_question(real):
    emergency, *rest = real.say("zhou", "有人晕倒了，快来人", room="anle")
    assert "120" in emergency.text
    assert any(PLACE_Q in t for t in texts(rest))
    real.say("zhou", "8栋楼下", room="anle")
    assert real.tickets()[0].location == "8栋楼下"


def test_a_place_answer_that_matches_an_open_ticket_there_joins_it(real):
    real.say("wu", "3栋电梯坏了，停在五楼不动", room="anle")
    real.say("zhou", "电梯坏了", room="anle")  # no place: asked where, a ticket of its own for now
    first, second = real.tickets()
    replies = real.say("zhou", "3栋", room="anle")
    assert any(f"#{second.id} 已并入 #{first.id}" in t for t in texts(replies))
    assert real.ticket(second.id).state is S.DUPLICATE and real.ticket(second.id).master_id == first.id
    assert [e.note for e in real.events(first.id, "merged")] == [f"#{second.id}"]


def test_a_place_answer_elsewhere_keeps_the_ticket_apart(real):
    real.say("wu", "3栋电梯坏了，停在五楼不动", room="anle")
    real.say("zhou", "电梯坏了", room="anle")
    replies = real.say("zhou", "5栋", room="anle")
    _first, second = real.tickets()
    assert second.state is not S.DUPLICATE and second.location == "5栋"
    assert not any("已并入" in t or "是同一处吗" in t for t in texts(replies))


# -- the survey in words -----------------------------------------------------------------------


def _resolved(hood, text="3栋电梯坏了") -> int:
    hood.say("zhang", text)
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"办结 {ticket.id} 已修好")
    assert hood.ticket(ticket.id).state is S.RESOLVED
    return ticket.id


@pytest.mark.parametrize("answer", ["解决了，谢谢", "好了", "修好了，谢谢你们", "满意"])
def test_a_satisfied_answer_in_words_closes_the_ticket(real, answer):
    number = _resolved(real)
    replies = real.say("zhang", answer)
    assert real.ticket(number).state is S.CLOSED
    assert any(f"#{number} 已关闭" in t for t in texts(replies))


@pytest.mark.parametrize("answer", ["还是不行", "没修好", "又坏了", "还是老样子，根本没人来"])
def test_an_unhappy_answer_in_words_reopens_and_tells_the_grid_worker(real, answer):
    number = _resolved(real)
    replies = real.say("zhang", answer)
    assert real.ticket(number).state is S.IN_PROGRESS
    assert any(t.startswith(f"【重办】#{number}") for t in texts(replies))
    real.clock.advance(hours=100)
    real.sweep()
    assert real.ticket(number).state is not S.CLOSED  # never times out into closed


def test_a_traditional_answer_closes_and_is_answered_in_traditional(real):
    number = _resolved(real)
    replies = real.say("zhang", "解決了，謝謝")
    assert real.ticket(number).state is S.CLOSED
    assert any("已關閉" in t for t in texts(replies))


def test_an_unclear_answer_is_asked_once_more_with_buttons_then_a_button_answers(real):
    number = _resolved(real)
    (again,) = real.say("zhang", "嗯")
    assert again.text.startswith(f"#{number} 问题解决了吗？")
    assert [b.data for b in again.buttons[0]] == [f"t:rate_{r}:{number}" for r in ("good", "fair", "bad")]
    real.press("zhang", again.buttons[0][2].data)
    assert real.ticket(number).state is S.IN_PROGRESS


def test_an_unclear_answer_twice_is_left_to_the_buttons(real):
    number = _resolved(real)
    real.say("zhang", "师傅来过了")
    assert real.say("zhang", "嗯嗯") == []
    assert real.ticket(number).state is S.RESOLVED


def test_an_unclear_unhappy_answer_tells_the_worker_and_never_times_out(real):
    number = _resolved(real)
    replies = real.say("zhang", "好像还有点漏")
    assert any(t.startswith(f"#{number} 问题解决了吗？") for t in texts(replies))
    assert any(t.startswith(f"【回访】#{number}") for t in texts(replies))
    real.clock.advance(hours=100)
    assert real.sweep().done.get("closed") is None
    assert real.ticket(number).state is S.RESOLVED


def test_without_any_answer_the_survey_times_out_into_closed(real):
    number = _resolved(real)
    real.clock.advance(hours=73)
    assert real.sweep().done.get("closed") == 1
    assert real.ticket(number).state is S.CLOSED


def test_small_talk_is_not_a_survey_answer_and_the_survey_waits(real):
    number = _resolved(real)
    assert real.say("zhang", "早上好") == []
    real.say("zhang", "好了")
    assert real.ticket(number).state is S.CLOSED


def test_a_new_request_during_the_survey_is_filed_and_the_survey_still_waits(real):
    number = _resolved(real)
    real.say("zhang", "楼下垃圾桶满了没人清运")
    assert len(real.tickets()) == 2
    real.say("zhang", "电梯好了，谢谢")
    assert real.ticket(number).state is S.CLOSED


@pytest.mark.parametrize("text", ["5栋电梯又坏了", "5栋的电梯也停了，还是不行"])
def test_the_same_object_elsewhere_during_the_survey_is_a_new_report_not_an_answer(real, text):
    number = _resolved(real)  # 3栋's lift, in the 3栋 group
    replies = real.say("zhang", text)
    assert real.ticket(number).state is S.RESOLVED  # not reopened
    new = [t for t in real.tickets() if t.id != number]
    assert len(new) == 1 and new[0].location == "5栋"
    assert any(f"#{new[0].id}" in t for t in texts(replies))
    real.say("zhang", "3栋电梯好了，谢谢")
    assert real.ticket(number).state is S.CLOSED  # the survey still waited for its answer


def test_the_same_object_at_the_same_place_during_the_survey_is_still_an_answer(real):
    number = _resolved(real)
    real.say("zhang", "3栋电梯又坏了")
    assert real.ticket(number).state is S.IN_PROGRESS
    assert len(real.tickets()) == 1


def test_only_the_reporter_answers_the_survey_in_words(real):
    number = _resolved(real)
    assert real.say("liu", "解决了") == []
    assert real.ticket(number).state is S.RESOLVED


# -- 需要登记为诉求吗？ -----------------------------------------------------------------------------


@pytest.mark.parametrize("yes", ["是", "好的", "对", "登记一下", "需要", "是的，麻煩登記"])
def test_yes_words_file_the_message_the_bot_asked_about(hood, yes):
    (asked,) = hood.say("zhang", "楼下好像有点什么味道", message_id="smell")
    assert "需要登记为诉求吗" in asked.text
    (filed,) = hood.say("zhang", yes)
    (ticket,) = hood.tickets()
    assert ticket.text == "楼下好像有点什么味道" and f"#{ticket.id}" in filed.text


@pytest.mark.parametrize("no", ["不用了", "不是", "算了", "不用了，謝謝"])
def test_no_words_drop_the_message(hood, no):
    hood.say("zhang", "楼下好像有点什么味道")
    (dropped,) = hood.say("zhang", no)
    assert "不登记" in dropped.text or "不登記" in dropped.text
    assert hood.tickets() == [] and hood.say("zhang", "是") == []


def test_the_no_button_drops_the_message(hood):
    (asked,) = hood.say("zhang", "楼下好像有点什么味道")
    _yes, no = asked.buttons[0]
    assert no.label == "不用了"
    hood.press("zhang", no.data)
    assert hood.tickets() == []


def test_the_question_is_asked_at_most_three_times_an_hour(hood):
    for i in range(3):
        (asked,) = hood.say("zhang", f"楼下好像有点什么味道{i}")
        assert "需要登记为诉求吗" in asked.text
    (filed,) = hood.say("zhang", "楼下好像有点什么味道3")  # beyond the limit the classifier decides alone
    assert "已收到您的诉求" in filed.text
    hood.clock.advance(minutes=61)
    (asked,) = hood.say("zhang", "楼下好像有点什么味道4")
    assert "需要登记为诉求吗" in asked.text


def test_a_newer_question_replaces_the_older_one(hood):
    hood.say("zhang", "楼下好像有点什么味道", message_id="first")
    hood.say("zhang", "楼道里有股味道", message_id="second")
    hood.say("zhang", "是")
    (ticket,) = hood.tickets()
    assert ticket.origin_message_id == "second"


def test_realistic_unsure_messages_get_the_question_on_the_real_classifier(real):
    for text in ("楼下好像有点什么味道", "请问这个事情找谁"):
        (asked,) = real.say("zhou", text, room="anle")
        assert "需要登记为诉求吗" in asked.text, text
    assert real.say("zhou", "今天天气真不错", room="anle") == []


# -- bad input keeps its answers with a question pending ------------------------------------------


def test_bad_input_with_a_question_pending_keeps_its_answers(real):
    real.say("zhou", "楼道灯坏了", room="anle")
    for junk in ("", "👍👍👍", "\x00\x07\x1b", "   "):
        assert real.say("zhou", junk, room="anle") == [], repr(junk)
    real.say("zhou", "6栋", room="anle")
    assert real.tickets()[0].location == "6栋"
