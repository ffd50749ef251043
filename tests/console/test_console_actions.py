"""The ticket page offers exactly the actions the signed-in person may do now (core.ticket_actions.available)."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from core.models import Person, Ticket
from core.ticket_actions import available

LEAK = "楼上漏水到我家了，天花板都湿了"


def _offered(html: str) -> list[str]:
    return re.findall(r'<form[^>]*class="action" data-action="([a-z_]+)"', html)


def test_the_ticket_page_offers_the_available_actions_in_table_order(console):
    number = console.report(LEAK)
    wang = console.client("wang")
    page = wang.get(f"/console/tickets/{number}").text
    with Session(console.runtime.engine) as s:
        person = s.exec(select(Person).where(Person.key == "playground:wangfang")).one()
        expected = [a.name for a in available(s, s.get(Ticket, number), person, desk=True)]
    assert _offered(page) == expected and expected[:2] == ["confirm", "reject"] and "reopen" not in expected
    r = wang.post(f"/console/tickets/{number}/action",
                  data={"action": "resolve", "note": "已修好", "csrf": console.csrf(page)})
    assert r.status_code == 303 and "ok=1" in r.headers["location"]
    assert _offered(wang.get(f"/console/tickets/{number}").text) == ["reopen"]


def test_the_transfer_form_requires_where_it_went(console):
    number = console.report(LEAK)
    page = console.client("wang").get(f"/console/tickets/{number}").text
    form = re.search(r'<form[^>]*data-action="transfer".*?</form>', page, re.S).group(0)
    assert re.search(r'<input name="note"[^>]*required', form)
