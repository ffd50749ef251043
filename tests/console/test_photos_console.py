"""Photos on the console's ticket page and in the REST API: only for viewers who may read the ticket."""

from __future__ import annotations

import httpx
import pytest

from core import accounts, db
from tests.photos.helpers import add_photo
from tests.photos.images import png

LEAK = "3栋楼上漏水到我家，沟通无效，怎么办？"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_photo_is_served_only_to_signed_in_viewers_who_may_read_its_ticket(console):
    number = console.report(LEAK)  # room demo: 幸福社区第一网格, 王芳's
    image = png(24, 18)
    photo_id = add_photo(console.runtime, number, image)
    path = f"/console/tickets/{number}/photos/{photo_id}"
    for who in ("wang", "admin"):
        r = console.client(who).get(path)
        assert r.status_code == 200 and r.content == image
        assert r.headers["content-type"] == "image/png" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"].startswith("private")
    assert console.client("zhao").get(path).status_code == 404  # 安乐社区's worker: not theirs, and not told it exists
    anonymous = console.client().get(path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/console/login")
    other = console.report("5栋电梯坏了，困在里面了", room="anle", sender="sun", name="孙大爷")
    assert console.client("wang").get(f"/console/tickets/{other}/photos/{photo_id}").status_code == 404  # wrong ticket
    assert console.client("wang").get(f"/console/tickets/{number}/photos/999999").status_code == 404


def test_the_ticket_page_shows_the_photos_the_result_photo_and_downloads_that_failed(console):
    number = console.report(LEAK)
    shown = add_photo(console.runtime, number, png())
    result = add_photo(console.runtime, number, png(6, 6, (0, 150, 0)), role="result")
    add_photo(console.runtime, number, None, state="pending", error="attempt 1 failed: HTTP 500")
    add_photo(console.runtime, number, None, state="failed", error="refused: not an image (JPEG, PNG, WebP, GIF or HEIC)")
    html = console.client("wang").get(f"/console/tickets/{number}").text
    assert f'src="/console/tickets/{number}/photos/{shown}"' in html
    assert f'src="/console/tickets/{number}/photos/{result}"' in html and "处理结果照片（工作留痕）" in html
    assert "图片下载失败，将重试" in html and "HTTP 500" in html
    assert "图片下载失败" in html and "not an image" in html
    assert "file-ref" not in html  # the platform's reference is never shown


@SQLITE_ONLY
def test_staff_see_failed_downloads_of_their_grids_and_can_queue_them_again(console):
    number = console.report(LEAK)
    failed = add_photo(console.runtime, number, None, state="failed", error="gave up: HTTP 502")
    wang = console.client("wang")
    page = wang.get("/console/photos")
    assert "gave up: HTTP 502" in page.text and f"#{number}" in page.text
    assert "gave up: HTTP 502" not in console.client("zhao").get("/console/photos").text
    assert wang.post(f"/console/photos/{failed}/retry", data={"csrf": "forged"}).status_code == 403
    r = wang.post(f"/console/photos/{failed}/retry", data={"csrf": console.csrf(page.text)})
    assert r.status_code == 303
    assert "没有下载失败的图片" in wang.get("/console/photos").text
    assert "图片下载失败，将重试" in wang.get(f"/console/tickets/{number}").text  # queued again, the last error kept


def _token(console, person: str) -> str:
    with db.session_scope(console.runtime.engine) as s:
        account = accounts.create_account(s, person.split(":")[1] + "-api", person, "api-test-password")
        return accounts.issue_token(s, account, "photos", ["read"])[1]


def test_the_api_lists_a_tickets_photos_with_their_state_and_serves_the_bytes_to_its_readers_only(console):
    number = console.report(LEAK)
    image = png(9, 9)
    fetched = add_photo(console.runtime, number, image)
    add_photo(console.runtime, number, None, state="pending", error="attempt 1 failed: HTTP 500")
    wang = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {_token(console, 'playground:wangfang')}"})
    zhao = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {_token(console, 'playground:zhaomin')}"})
    listed = wang.get(f"/api/tickets/{number}/photos").json()
    assert [(p["id"], p["state"], p["role"]) for p in listed] == [(fetched, "fetched", "report"), (fetched + 1, "pending", "report")]
    assert listed[0]["url"] == f"/api/tickets/{number}/photos/{fetched}" and listed[1]["url"] is None
    assert listed[1]["error"] == "attempt 1 failed: HTTP 500" and "ref" not in listed[0]
    r = wang.get(listed[0]["url"])
    assert r.status_code == 200 and r.content == image and r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert wang.get(f"/api/tickets/{number}/photos/{fetched + 1}").status_code == 404  # not downloaded yet
    assert zhao.get(f"/api/tickets/{number}/photos").status_code == 403
    assert zhao.get(listed[0]["url"]).status_code == 404
    assert httpx.get(console.url + listed[0]["url"]).status_code == 401
    assert wang.get(f"/api/tickets/{number}/photos/abc").status_code == 422


@SQLITE_ONLY
def test_open311_public_reads_never_show_photos(console_with):
    with console_with(open311_public=True) as console:
        number = console.report(LEAK)
        add_photo(console.runtime, number, png())
        wang = console.client("wang")
        assert wang.post(f"/console/tickets/{number}/action", data={
            "csrf": console.csrf(wang.get(f"/console/tickets/{number}").text), "action": "confirm",
            "seen_state": "pending"}).status_code == 303  # confirmed: public reads list it
        for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{number}.json", f"/open311/v2/requests/{number}.xml"):
            text = httpx.get(console.url + path).text
            assert str(number) in text and "/photos/" not in text and "image/png" not in text
            assert '"media_url":null' in text if path.endswith(".json") else "<media_url>" not in text.replace("<media_url/>", "")


@SQLITE_ONLY
def test_photos_of_a_ticket_merged_into_another_show_on_the_one_it_joined(console):
    master = console.report(LEAK)
    child = console.report("3栋502楼上一直滴水下来", sender="li", name="李阿姨")
    photo = add_photo(console.runtime, child, png(5, 4))
    wang = console.client("wang")
    page = wang.get(f"/console/tickets/{child}").text
    r = wang.post(f"/console/tickets/{child}/action", data={"csrf": console.csrf(page), "action": "merge", "into": str(master),
                                                           "seen_state": console.ticket(child).state.value})
    assert r.status_code == 303 and console.ticket(child).master_id == master
    html = wang.get(f"/console/tickets/{master}").text
    assert f'src="/console/tickets/{child}/photos/{photo}"' in html
    assert wang.get(f"/console/tickets/{child}/photos/{photo}").status_code == 200
