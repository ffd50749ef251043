"""The bot's follow-up questions, on core.dialogue's one pending question per person and chat.

- **place** — a new ticket whose message and chat say nothing about where: 「请问具体在哪个位置
  （几栋几单元/哪个门）？」; the person's next message that names a place (or any short answer
  that is not chatter) becomes the ticket's location instead of a new request.
- **file** — the classifier is unsure: 「需要登记为诉求吗？」, at most ``ask_limit`` times per person
  per hour; 是/好的/对/登记一下/需要 files the message, 不用了/不是/算了 drops it.
- **survey** — 「问题解决了吗？」 answered in words: 解决了/好了/满意 closes, 还是不行/没修好/又坏了
  reopens and tells the grid worker, anything unclear is asked once more with buttons. An
  unclear answer that sounds unhappy is recorded (``survey_unclear``), and the sweep never closes
  such a ticket by timeout.
- **same_place** — a problem inside a home that looks like an open ticket of another person:
  「和 #N 是同一处吗？」 是 merges the new ticket into #N, 不是 keeps it.

What is *not* an answer: a command; small talk (早上好, 哈哈, a sticker) and, to 「在哪个位置？」,
acknowledgements — the question stays pending for a later answer; and a request of its own about
something else (「北门垃圾桶也满了」 after being asked where the lamp is), which is handled as the
new request it is (the survey stays pending, the other questions are dropped).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bots.actions import SURVEY_BUTTONS, SURVEY_SCORES, ActionError
from bots.commands import action_data
from core import dialogue, tickets
from core.classify import Classification
from core.db import pk
from core.dialogue import SurveyAnswer
from core.duplicates import (
    Report,
    Verdict,
    emergency_kind,
    find_duplicate,
    objects_of,
    place_of,
    same_object,
    same_place,
)
from core.message import Button
from core.models import Chat, PendingQuestion, QuestionKind, Ticket
from core.people import can_manage
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState as S

if TYPE_CHECKING:
    from bots.community import CommunityBot, Turn

# Categories where "where exactly?" matters; the others are about a person (their pension, an errand).
PLACE_CATEGORIES = frozenset({
    Category.PROPERTY, Category.NEIGHBOR, Category.SANITATION, Category.GREENING, Category.CITY_ORDER,
    Category.FACILITIES, Category.UTILITIES, Category.SAFETY_HAZARD, Category.PUBLIC_SECURITY, Category.NOISE,
})
PLACE_ANSWER_MAX = 40  # a longer message after 「在哪个位置？」 is something else, unless it names a place
LOCATION_MAX = 100


def chat_place(chat: Chat) -> str | None:
    """The building a group is for: its ``place`` from the grids file, else the one building its title names."""
    if chat.place:
        return chat.place
    place = place_of(chat.title or "")
    if len(place.buildings) == 1 and not (place.gates or place.spots or place.roads):
        return place.label()
    return None


class FollowUps:
    """Asks and understands the follow-up questions for one :class:`CommunityBot`."""

    def __init__(self, bot: CommunityBot, *, expiry: timedelta = timedelta(hours=2), ask_limit: int = 3):
        self.bot = bot
        self.expiry = expiry
        self.ask_limit = ask_limit

    # -- offering a message to the pending question ------------------------------------------

    def answer(self, turn: Turn, text: str) -> bool:
        """Offer the person's message to their pending question in this chat. True when it was the answer."""
        question = dialogue.pending(turn.session, turn.person.key, turn.chat.key, turn.now)
        if question is None:
            return False
        handler = {
            QuestionKind.PLACE: self._answer_place, QuestionKind.FILE: self._answer_yes_no,
            QuestionKind.SURVEY: self._answer_survey, QuestionKind.SAME_PLACE: self._answer_yes_no,
        }[question.kind_enum]
        return handler(turn, question, text)

    def _own_request(self, turn: Turn, text: str) -> bool:
        """A message that is a request of its own (the classifier files it, and surely)."""
        result = self.bot.classify_once(turn, text)
        return result.is_request and not dialogue.unsure(result, text)

    def _new_matter(self, turn: Turn, text: str, ticket: Ticket, *, unless_unhappy: bool = True) -> bool:
        """A request of its own about another object than ``ticket`` (「楼下垃圾桶满了」 while the lift's
        survey is pending), or naming none (and, with ``unless_unhappy``, not sounding unhappy)."""
        if not self._own_request(turn, text):
            return False
        said = objects_of(text)
        if said:
            return not same_object(said, objects_of(ticket.text))
        return not (unless_unhappy and dialogue.leans_unhappy(text))

    def _elsewhere(self, turn: Turn, text: str, ticket: Ticket) -> bool:
        """A report of its own at another place than ``ticket``'s (even about the same object), so
        not an answer about ``ticket``: it names a place that is not the ticket's, and an object or a request."""
        said = place_of(text)
        if not said.known:
            return False
        if same_place(said, place_of(ticket.text, ticket.location)) is not False:
            return False
        return bool(objects_of(text)) or self._own_request(turn, text)

    def _settle(self, turn: Turn, question: PendingQuestion, outcome: str = "answered") -> None:
        dialogue.settle(turn.session, question, outcome, turn.now)

    # -- where? ----------------------------------------------------------------------------

    def maybe_ask_place(self, turn: Turn, ticket: Ticket, result: Classification, text: str) -> None:
        """After filing: ask where, when neither the message nor the chat says."""
        if ticket.location or ticket.on_behalf_of:
            return
        if result.urgency is not Urgency.EMERGENCY and result.category not in PLACE_CATEGORIES:
            return
        if place_of(text).known or chat_place(turn.chat):
            return
        dialogue.ask(turn.session, turn.person.key, turn.chat.key, QuestionKind.PLACE, now=turn.now, ttl=self.expiry,
                     ticket_id=ticket.id)
        turn.say(self.bot.text(turn, "place_ask", number=ticket.id), f"place-ask:{ticket.id}", ticket_id=ticket.id)

    def _answer_place(self, turn: Turn, question: PendingQuestion, text: str) -> bool:
        ticket = turn.session.get(Ticket, question.ticket_id)
        if ticket is None or not S(ticket.state).is_open or ticket.location:
            self._settle(turn, question, "dropped")
            return False
        if dialogue.dont_know(text):
            self._settle(turn, question)
            turn.say(self.bot.text(turn, "place_unknown", number=ticket.id), f"place-unknown:{ticket.id}", ticket_id=ticket.id)
            return True
        names_place = place_of(text).known or bool(self.bot.classify_once(turn, text).location)
        if names_place and objects_of(text) and self._new_matter(turn, text, ticket):
            self._settle(turn, question, "dropped")
            return False  # 「北门垃圾桶也满了」: another problem, with its place
        if not names_place:
            if dialogue.small_talk(text) or dialogue.is_ack(text) or dialogue.yes_no(text) is not None:
                return False  # 「好的」, 「早上好」: not where; still waiting
            if len(text) > PLACE_ANSWER_MAX or self._own_request(turn, text):
                self._settle(turn, question, "dropped")
                return False  # something else: handled as the new message it is
        place = text.strip()[:LOCATION_MAX]
        locked = tickets.lock(turn.session, pk(ticket))
        if locked is None:  # gone since it was read
            self._settle(turn, question, "dropped")
            return False
        ticket = locked
        ticket.location = place
        ticket.updated_at = turn.now
        turn.session.add(ticket)
        tickets.record(turn.session, ticket, turn.person.key, "location", place, at=turn.now)
        self._settle(turn, question)
        turn.say(self.bot.text(turn, "place_noted", number=ticket.id, place=place), f"place-noted:{ticket.id}",
                 ticket_id=ticket.id)
        self._duplicate_at_place(turn, ticket)
        return True

    def _duplicate_at_place(self, turn: Turn, ticket: Ticket) -> None:
        """Once a ticket's place is known it is checked again like a new report that said it: the
        same problem there joins the open ticket (merged), a home that may be the same is asked about."""
        result = self.bot.classify(ticket.text)
        report = Report(ticket.text, Category(ticket.category), turn.person.key, ticket.created_at,
                        emergency_kind(result) if ticket.urgency is Urgency.EMERGENCY else None, ticket.location)
        match = find_duplicate(turn.session, grid_id=ticket.grid_id, report=report, window=self.bot.duplicate_window,
                               kind_of=lambda t: emergency_kind(self.bot.classify(t.text)), exclude=ticket.id)
        if match is None:
            return
        if match.verdict is Verdict.ASK:
            self.ask_same_place(turn, ticket, match.ticket)
            return
        locked, master = tickets.lock(turn.session, pk(ticket), pk(match.ticket)), turn.session.get(Ticket, match.ticket.id)
        if locked is None or master is None or not S(master.state).is_open or not S(locked.state).is_open:
            return
        ticket = locked
        try:
            turn.replies += self.bot.actions.merge_as_reporter(turn.session, ticket, master, turn.person, now=turn.now,
                                                               origin=turn.origin)
        except ActionError:
            return  # e.g. someone else's report: it stays a ticket of its own
        turn.say(self.bot.text(turn, "same_place_joined", number=ticket.id, master=master.id), f"place-joined:{ticket.id}",
                 ticket_id=master.id)

    # -- 需要登记为诉求吗？ -------------------------------------------------------------------

    def maybe_ask_to_file(self, turn: Turn, result: Classification, text: str) -> bool:
        """Ask 「需要登记为诉求吗？」 when the classifier is unsure, within the hourly limit. True when asked."""
        if not dialogue.unsure(result, text):
            return False
        if dialogue.asked_since(turn.session, turn.person.key, QuestionKind.FILE, turn.now - timedelta(hours=1)) >= self.ask_limit:
            return False
        m = turn.message
        question = dialogue.ask(turn.session, turn.person.key, turn.chat.key, QuestionKind.FILE, now=turn.now,
                                ttl=self.expiry, payload={"text": text, "message_id": m.message_id, "thread_id": m.thread_id})
        buttons = [[Button(label=self.bot.text(turn, "button_file"), data=action_data("file", pk(question))),
                    Button(label=self.bot.text(turn, "button_no_file"), data=action_data("nofile", pk(question)))]]
        turn.say(self.bot.text(turn, "ask_to_file"), "ask", buttons=buttons)
        return True

    def _answer_yes_no(self, turn: Turn, question: PendingQuestion, text: str) -> bool:
        """是/不是 questions (file it? the same flat?): a yes or no answers; a request of its own drops the question."""
        said = dialogue.yes_no(text)
        if said is None:
            if self._own_request(turn, text):
                self._settle(turn, question, "dropped")
            return False
        (self._file_or_drop if question.kind == QuestionKind.FILE else self._same_or_not)(turn, question, said)
        return True

    def _file_or_drop(self, turn: Turn, question: PendingQuestion, file: bool) -> None:
        self._settle(turn, question)
        if not file:
            turn.say(self.bot.text(turn, "ask_dropped"), f"ask-dropped:{question.id}")
            return
        asked = question.payload.get("text", "")
        result = self.bot.classify_once(turn, asked)
        if not result.is_request:
            result = Classification(True, Category.OTHER, Urgency.NORMAL, result.confidence, location=result.location)
        self.bot.file_request(turn, result, text=asked, origin_message_id=question.payload.get("message_id"))

    # -- 问题解决了吗？ ----------------------------------------------------------------------

    def _answer_survey(self, turn: Turn, question: PendingQuestion, text: str) -> bool:
        ticket = turn.session.get(Ticket, question.ticket_id)
        if ticket is None or S(ticket.state) is not S.RESOLVED:
            self._settle(turn, question, "dropped")
            return False
        if self._elsewhere(turn, text, ticket):
            return False  # 「5栋路灯也坏了」 while 3栋's lamp is surveyed: a new report; the survey waits
        answer = dialogue.survey_answer(text)
        if answer is SurveyAnswer.UNCLEAR:
            if dialogue.small_talk(text):
                return False  # 「早上好」 is not an answer; still waiting
            if self._new_matter(turn, text, ticket):
                return False  # a request about something else; the survey stays pending
            if question.payload.get("again"):
                self._settle(turn, question, "dropped")
                return False  # asked twice: the buttons and 1/2/3 still work
            self._ask_again(turn, ticket, question, text)
            return True
        self._settle(turn, question)
        score = 1 if answer is SurveyAnswer.SATISFIED else 3
        self.bot._survey(turn, ticket, score)
        return True

    def _ask_again(self, turn: Turn, ticket: Ticket, question: PendingQuestion, text: str) -> None:
        unhappy = dialogue.leans_unhappy(text)
        dialogue.ask(turn.session, turn.person.key, turn.chat.key, QuestionKind.SURVEY, now=turn.now,
                     ttl=max(question.expires_at - turn.now, self.expiry), ticket_id=ticket.id,
                     payload={"again": True, "unhappy": unhappy})
        buttons = [[Button(label=self.bot.text(turn, f"button_{SURVEY_BUTTONS[s]}"), data=action_data(SURVEY_BUTTONS[s], pk(ticket)))
                    for s in SURVEY_SCORES]]
        turn.say(self.bot.text(turn, "survey_again", number=ticket.id), f"survey-again:{ticket.id}",
                 ticket_id=ticket.id, buttons=buttons)
        if unhappy:
            tickets.record(turn.session, ticket, turn.person.key, "survey_unclear", text, at=turn.now, data={"unhappy": True})
            turn.replies += self.bot.actions.notify_staff(
                turn.session, ticket, ticket.grid_id, "staff_survey_unclear", f"survey-unclear:{ticket.id}",
                skip=set(), now=turn.now, note=text[:40]).replies  # the worker's staff rooms, never the residents' group

    # -- 和 #N 是同一处吗？ -------------------------------------------------------------------

    def ask_same_place(self, turn: Turn, ticket: Ticket, master: Ticket) -> None:
        dialogue.ask(turn.session, turn.person.key, turn.chat.key, QuestionKind.SAME_PLACE, now=turn.now,
                     ttl=self.expiry, ticket_id=ticket.id, payload={"master": master.id})
        buttons = [[Button(label=self.bot.text(turn, "button_same_yes"), data=action_data("same", pk(ticket), pk(master))),
                    Button(label=self.bot.text(turn, "button_same_no"), data=action_data("notsame", pk(ticket), pk(master)))]]
        values = self.bot.actions.values(turn.session, master)
        turn.say(self.bot.text(turn, "same_place_ask", master=master.id, summary=values["summary"]),
                 f"same-ask:{ticket.id}", ticket_id=ticket.id, buttons=buttons)

    def _same_or_not(self, turn: Turn, question: PendingQuestion, same: bool) -> None:
        self._settle(turn, question)
        ticket = turn.session.get(Ticket, question.ticket_id)
        master = turn.session.get(Ticket, question.payload.get("master"))
        if ticket is None or master is None:
            return
        if not same or not S(master.state).is_open or not S(ticket.state).is_open:
            turn.say(self.bot.text(turn, "same_place_separate", number=ticket.id), f"same-no:{ticket.id}", ticket_id=ticket.id)
            self.maybe_ask_place(turn, ticket, self.bot.classify_once(turn, ticket.text), ticket.text)
            return
        try:
            turn.replies += self.bot.actions.merge_as_reporter(turn.session, ticket, master, turn.person, now=turn.now,
                                                               origin=turn.origin)
        except ActionError as exc:
            turn.refuse(self.bot.text(turn, exc.template, **exc.values), f"same-refused:{ticket.id}", ticket_id=ticket.id)
            return
        turn.say(self.bot.text(turn, "same_place_joined", number=ticket.id, master=master.id), f"same-yes:{ticket.id}",
                 ticket_id=master.id)

    # -- buttons -----------------------------------------------------------------------------

    def press(self, turn: Turn, name: str, number: int, target: int | None) -> bool:
        """The follow-up buttons: file/nofile (number: the question), same/notsame (number: the new
        ticket, target: the older one). True when ``name`` is one of them."""
        if name in ("file", "nofile"):
            question = turn.session.get(PendingQuestion, number)
            if question is None or not dialogue.is_live(question, turn.now) or question.kind != QuestionKind.FILE:
                turn.refuse(self.bot.text(turn, "ask_nothing_pending"), "ask-none")
                return True
            if question.person_key != turn.person.key and not can_manage(turn.session, turn.person, turn.chat.grid_id):
                turn.refuse(self.bot.text(turn, "action_not_allowed"), f"ask-refused:{number}")
                return True
            self._file_or_drop(turn, question, name == "file")
            return True
        if name in ("same", "notsame"):
            question = dialogue.pending(turn.session, turn.person.key, turn.chat.key, turn.now)
            if question is None or question.kind != QuestionKind.SAME_PLACE or question.ticket_id != number:
                turn.refuse(self.bot.text(turn, "ask_nothing_pending"), f"same-none:{number}")
                return True
            self._same_or_not(turn, question, name == "same")
            return True
        return False
