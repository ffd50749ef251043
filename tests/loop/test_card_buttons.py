"""The new-ticket card's four buttons: 确认 / 驳回 / 合并 / 转派, each a grid worker's one tap."""

from __future__ import annotations

from core.ticket_states import TicketState as S


def test_merge_button_offers_open_tickets_of_the_grid_and_a_second_tap_merges(hood):
    hood.say("zhang", "3栋电梯坏了，老人下不了楼")
    hood.say("liu", "楼下垃圾三天没人清运了")
    (first, second) = hood.tickets()
    (offer,) = hood.press("wangfang", f"t:merge:{second.id}")
    assert f"#{second.id}" in offer.text
    choices = [b.data for row in offer.buttons for b in row]
    assert choices == [f"t:merge:{second.id}:{first.id}"]
    replies = hood.press("wangfang", choices[0])
    assert hood.ticket(second.id).state is S.DUPLICATE and hood.ticket(second.id).master_id == first.id
    assert any(f"#{first.id}" in r.text for r in replies)


def test_merge_button_with_nothing_to_merge_into_answers_privately(hood):
    hood.say("zhang", "3栋电梯坏了，老人下不了楼")
    (ticket,) = hood.tickets()
    (answer,) = hood.press("wangfang", f"t:merge:{ticket.id}")
    assert answer.alert_for_action and f"合并 {ticket.id} 到" in answer.text
    assert hood.ticket(ticket.id).state is S.PENDING


def test_a_resident_pressing_merge_is_refused_and_nothing_changes(hood):
    hood.say("zhang", "3栋电梯坏了，老人下不了楼")
    hood.say("liu", "楼下垃圾三天没人清运了")
    (first, second) = hood.tickets()
    replies = hood.press("zhang", f"t:merge:{second.id}:{first.id}")
    assert replies and all(r.alert_for_action for r in replies)
    offer = hood.press("zhang", f"t:merge:{second.id}")
    assert all(not r.buttons for r in offer)
    assert hood.ticket(second.id).state is S.PENDING


def test_dispatch_button_confirms_and_assigns_to_the_routed_department(hood):
    hood.say("zhang", "3栋电梯坏了，老人下不了楼")
    (ticket,) = hood.tickets()
    hood.press("wangfang", f"t:assign:{ticket.id}")
    ticket = hood.ticket(ticket.id)
    assert ticket.state is S.ASSIGNED and ticket.department
    assert [e.to_state for e in hood.events(ticket.id, "transition")][-2:] == ["confirmed", "assigned"]
