"""Follow-up questions: at most one pending question per person and chat, persisted, with an expiry.

The bot asks something (where is it? is it solved? shall I file this? is it the same flat as #N?)
and the asked person's next message in that chat is offered to the question first. A question
that expired is ignored (settled as ``expired`` when next looked at).

**One per person and chat; a new question replaces the old one** (settled ``replaced``). The
newest question is the one the person sees last and will answer; queueing would make a plain
「是」 answer a question asked an hour ago. Nothing is lost by replacing: survey and 是/不是
questions carry buttons with their ticket number, which keep working, and 「1/2/3」 still answers
the latest survey. The uniqueness is enforced by the database: ``open_key`` is
``person\\x1fchat`` while the question is pending and NULL once it is settled, under a unique
index (NULLs never collide, on SQLite and PostgreSQL alike).

Settled rows stay a day (the ask-to-file limit counts them), then the sweep prunes them (:func:`prune`).

The word lists below understand Simplified and Traditional (input is folded to Simplified).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.chinese import to_simplified
from core.classify import Classification
from core.db import rowcount
from core.models import PendingQuestion, QuestionKind


def open_key(person_key: str, chat_key: str) -> str:
    return f"{person_key}\x1f{chat_key}"


def is_live(question: PendingQuestion, now: datetime) -> bool:
    """Pending and not expired."""
    return question.open_key is not None and now < question.expires_at


# -- the store ---------------------------------------------------------------------------------


def pending(session: Session, person_key: str, chat_key: str, now: datetime) -> PendingQuestion | None:
    """The live question for this person in this chat; an expired one is settled and ignored."""
    row = session.exec(select(PendingQuestion).where(PendingQuestion.open_key == open_key(person_key, chat_key))).first()
    if row is None:
        return None
    if not is_live(row, now):
        settle(session, row, "expired", now)
        return None
    return row


def ask(session: Session, person_key: str, chat_key: str, kind: QuestionKind, *, now: datetime, ttl: timedelta,
        ticket_id: int | None = None, payload: dict[str, Any] | None = None) -> PendingQuestion:
    """Record a question (replacing the person's pending one in this chat)."""
    key = open_key(person_key, chat_key)
    # One statement settles the old question, before the new row takes its unique open_key.
    session.execute(
        sa.update(PendingQuestion).where(col(PendingQuestion.open_key) == key)
        .values(open_key=None, settled_at=now,
                outcome=sa.case((col(PendingQuestion.expires_at) > now, "replaced"), else_="expired"))
        .execution_options(synchronize_session=False))
    row = PendingQuestion(person_key=person_key, chat_key=chat_key, kind=kind.value, ticket_id=ticket_id,
                          payload=payload or {}, asked_at=now, expires_at=now + ttl, open_key=key)
    session.add(row)
    session.flush()
    return row


def prune(session: Session, before: datetime) -> int:
    """Forget settled questions asked before ``before`` (the sweep keeps a day: the ask-to-file limit counts them)."""
    return rowcount(session.execute(sa.delete(PendingQuestion).where(
        col(PendingQuestion.open_key).is_(None), col(PendingQuestion.asked_at) < before)))


def settle(session: Session, question: PendingQuestion, outcome: str, now: datetime) -> None:
    """The question is no longer pending (answered, replaced, dropped or expired)."""
    question.open_key = None
    question.settled_at = now
    question.outcome = outcome
    session.add(question)


def asked_since(session: Session, person_key: str, kind: QuestionKind, since: datetime) -> int:
    """How many questions of ``kind`` this person was asked (in any chat) since ``since``."""
    return session.exec(select(sa.func.count()).select_from(PendingQuestion).where(
        PendingQuestion.person_key == person_key, PendingQuestion.kind == kind.value,
        PendingQuestion.asked_at >= since)).one()


def pending_for_ticket(session: Session, ticket_id: int, kind: QuestionKind, now: datetime) -> list[PendingQuestion]:
    """The live questions of ``kind`` about one ticket (one per reporter at most)."""
    rows = session.exec(select(PendingQuestion).where(
        PendingQuestion.ticket_id == ticket_id, PendingQuestion.kind == kind.value,
        col(PendingQuestion.open_key).is_not(None))).all()
    return [r for r in rows if is_live(r, now)]


# -- understanding answers (pure) -----------------------------------------------------------------

_STRIP = re.compile(r"[\s。．.!！~～,，、…?？]+")


def _clean(text: str) -> str:
    s = to_simplified(unicodedata.normalize("NFKC", text or "")).strip().lower()
    return _STRIP.sub("", s)


_YES = frozenset("是 是的 是啊 是呀 是滴 对 对的 对啊 对呀 没错 对对 对对对 嗯 嗯嗯 恩 好 好的 好啊 行 可以 要 要的 需要 需要的 "
                 "登记 登记一下 帮我登记 麻烦登记 麻烦登记一下 要登记 需要登记 请登记 登记吧 "
                 "是同一处 同一处 同一家 一样 就是 就是它 ok yes y".split())
_NO = frozenset("不是 不是的 不对 不 不用 不用了 不需要 不要 不要了 算了 算了吧 没事 没事了 没有 不是同一处 不一样 "
                "不同 不是一家 不是我家 别登记 不用登记 no n".split())


_POLITE = frozenset("谢谢 谢了 感谢 多谢 麻烦了 麻烦你 麻烦你了 辛苦了 辛苦 谢谢你 谢谢你们 不好意思".split())
_CLAUSES = re.compile(r"[\s。．.!！~～,，、…?？]+")


def yes_no(text: str) -> bool | None:
    """True for 是/对/好的/登记一下/需要 …, False for 不是/不对/不用了/算了 …, None otherwise.

    Clauses of politeness around the answer are fine (「是的，麻烦登记」, 「不用了，谢谢」); Traditional too."""
    simplified = to_simplified(unicodedata.normalize("NFKC", text or "")).strip().lower()
    clauses = [c for c in _CLAUSES.split(simplified) if c and c not in _POLITE]
    if not clauses or len(clauses) > 3 or sum(map(len, clauses)) > 12:
        return None
    said = {True if c in _YES else False if c in _NO else None for c in clauses}
    return said.pop() if len(said) == 1 else None


class SurveyAnswer(StrEnum):
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    UNCLEAR = "unclear"


_UNSATISFIED = re.compile(
    r"还是不行|还不行|不行|没修好|没有修好|没弄好|没搞好|没解决|没有解决|未解决|还没好|没好|又坏|还是坏|还坏着|坏的|"
    r"还在漏|还漏|还是漏|还是老样子|老样子|一样坏|照旧|依旧|依然|仍然|不满意|不太满意|很差|太差|差评|"
    r"没人来|没来修|没有人来|根本没|敷衍|糊弄|骗人|假的|问题还在|还有问题|还是有|还是没|还没修|又开始|又漏|又堵|又不亮|又停"
)
_SATISFIED = re.compile(
    r"解决了|已解决|修好了|弄好了|搞定了|好了|好啦|可以了|没问题了|正常了|恢复了|亮了|通了|满意|非常好|很好|不错|挺好|"
    r"谢谢|感谢|辛苦了|点赞|👍"
)
_SATISFIED_ONLY_WITH_CONTEXT = re.compile(r"^(谢谢|感谢|辛苦了|谢谢你们|谢谢网格员|👍|好的|收到)+$")


def survey_answer(text: str) -> SurveyAnswer:
    """A free-text answer to 「问题解决了吗？」: 解决了/好了/满意 → satisfied; 还是不行/没修好/又坏了 →
    unsatisfied; anything else (「嗯」, 「师傅来过了」, a bare 「谢谢」) → unclear."""
    s = _clean(text)
    if not s:
        return SurveyAnswer.UNCLEAR
    if _UNSATISFIED.search(s) and not re.search(r"没有?不满意|不是不满意", s):
        return SurveyAnswer.UNSATISFIED
    if _SATISFIED_ONLY_WITH_CONTEXT.match(s):
        return SurveyAnswer.UNCLEAR  # thanks for what? ask once more
    if _SATISFIED.search(s):
        return SurveyAnswer.SATISFIED
    return SurveyAnswer.UNCLEAR


_UNHAPPY_HINT = re.compile(r"[不没未]|还|又|差|慢|怎么|漏|坏|堵|臭|吵")


def leans_unhappy(text: str) -> bool:
    """An unclear survey answer that sounds unhappy (「好像还有点」, 「怎么回事」): the ticket must not time out."""
    return bool(_UNHAPPY_HINT.search(_clean(text)))


_SMALL_TALK = re.compile(
    r"^(早上好|早安|早|上午好|中午好|下午好|晚上好|晚安|大家好|你好|您好|各位好|哈+|呵+|嘿+|嘻+|hh+|233+|666+|"
    r"\[[^\]]{1,6}\]|新年快乐|节日快乐|生日快乐|辛苦了|大家辛苦了)+$")
_ACK = re.compile(r"^(好的?|好滴|好嘞|收到|知道了|明白|了解|谢谢|感谢|多谢|ok|okay|嗯+|哦+|噢+|👌|👍)+$")


def small_talk(text: str) -> bool:
    """Greetings, laughter, stickers, emoji or punctuation only: never an answer to anything."""
    s = _clean(text)
    return not s or not re.search(r"[\w\u4e00-\u9fff]", s) or bool(_SMALL_TALK.match(s))


def is_ack(text: str) -> bool:
    """好的, 收到, 谢谢, 嗯: an acknowledgement, which says nothing about where or what."""
    return bool(_ACK.match(_clean(text)))


_DONT_KNOW = re.compile(r"^(不知道|不清楚|不记得|说不清|不确定|我也不知道|忘了)")


def dont_know(text: str) -> bool:
    return bool(_DONT_KNOW.match(_clean(text)))


# -- the classifier is unsure ---------------------------------------------------------------------

# A message the model files with less than this confidence is asked about rather than filed.
UNSURE_REQUEST_CONFIDENCE = 0.3
# A message the model would drop as chatter, but with P(chatter) below this, is asked about.
UNSURE_CHATTER_CONFIDENCE = 0.8


# A message dropped as chatter that asks who handles something is asked about below this P(chatter).
UNSURE_WHO_HANDLES_CONFIDENCE = 0.97
_WHO_HANDLES = re.compile(r"找谁|谁管|归谁|哪个部门|找哪里|找哪个|该找|去哪里办|去哪办")


def unsure(result: Classification, text: str) -> bool:
    """Whether to ask 「需要登记为诉求吗？」 rather than file or drop: the classifier said so
    (``needs_confirmation``), or it is in the middle band: a request filed with low confidence,
    or a message dropped as chatter that still names a problem (:func:`names_problem`) without being sure."""
    from core.taxonomy import Urgency

    if result.urgency is not Urgency.NORMAL:
        return False  # emergencies and urgent cases are filed at once
    if result.needs_confirmation:
        return True
    if result.is_request:
        return result.confidence < UNSURE_REQUEST_CONFIDENCE
    if result.confidence < UNSURE_CHATTER_CONFIDENCE and names_problem(text):
        return True
    # 「这个事情找谁」: asking who handles something is a plea for help even when the model,
    # which has learned that 请问-questions to neighbours are chatter, is fairly sure.
    return result.confidence < UNSURE_WHO_HANDLES_CONFIDENCE and bool(_WHO_HANDLES.search(to_simplified(text or "")))


_PROBLEM = re.compile(
    r"坏了|坏掉|不亮|不通|不动|堵|漏|没水|没电|停水|停电|太吵|吵死|噪音|臭|脏|乱|满了|丢了|掉了|裂|塌|破了|松了|歪了|"
    r"发黄|有点黄|浑浊|不对劲|不正常|有问题|出问题|危险|隐患|"
    r"没人管|没人修|没人清|怎么办|谁管|找谁|能不能|可不可以|帮忙|帮帮|麻烦|投诉|反映|举报|求助|需要|申请|咨询|问一下|请问"
)


_THANKS_FIRST = re.compile(r"^\s*(谢谢|感谢|多谢|辛苦|点赞|表扬)")


def names_problem(text: str) -> bool:
    """Whether a message has the shape of a request at all (a problem word or a plea), so that
    「早上好」, 「今天天气不错」 or 「谢谢网格员帮忙」 is never asked about."""
    s = to_simplified(text or "")
    return bool(_PROBLEM.search(s)) and not _THANKS_FIRST.match(s)
