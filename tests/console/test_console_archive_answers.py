"""The console's outbox page lists answers for WeCom customer groups still waiting for the grid
worker to post them, within the viewer's grids, until the chat archive shows them posted."""

from __future__ import annotations

from sqlmodel import Session

from core import archive, db


def test_answers_waiting_to_be_posted_are_listed_until_posted(console):
    with Session(console.runtime.engine) as s:
        archive.record_answer(s, chat_key="playground:demo", group_title="幸福里3栋群", text="已收到您的诉求，编号 #7（邻里纠纷）",
                              owners=["wangfang"], via="app")
    html = console.client("wang").get("/console/outbox").text
    assert "等待网格员发到群里的回复" in html and "已收到您的诉求，编号 #7" in html and "请网格员转发" in html
    assert "编号 #7" not in console.client("zhao").get("/console/outbox").text  # another grid's group
    with db.session_scope(console.runtime.engine) as s:
        for answer in archive.waiting_answers(s):
            answer.status = "posted"
            s.add(answer)
    assert "编号 #7" not in console.client("wang").get("/console/outbox").text


def test_kept_archive_records_show_their_reason_to_the_grids_they_belong_to(console):
    skipped = archive.Kept("m-skip", "skipped", "no consent recorded (同意会话聊天内容): not processed",
                           chat_key="playground:demo", sender="wmResident")
    bad = archive.Kept("m-bad", "bad", "unknown key version 9", publickey_ver=9, record={"seq": 2})
    with Session(console.runtime.engine) as s:
        archive.commit_batch(s, "ww-corp", [(1, skipped), (2, bad)], 2, require_consent=True)
    wang = console.client("wang").get("/console/outbox").text
    assert "no consent recorded" in wang and "unknown key version 9" not in wang  # bad records name no group
    assert "no consent recorded" not in console.client("zhao").get("/console/outbox").text
    assert "unknown key version 9" in console.client("admin").get("/console/outbox").text
