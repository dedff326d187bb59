"""The FAQ bot in a conversation: what it says to a customer's message, and when it hands off.

``inbox.services.receive_inbound`` calls ``bot_enabled_for`` when it opens a conversation and
``handle_incoming`` for each customer message of a conversation in ``bot`` status. Every write
goes through ``inbox.services`` (messages, hand-offs) or ``bot.services`` (logs, counters).

Flow: quick-reply payloads first (a tapped suggestion, "talk to a person", 👍/👎), then
match → ``bot.policy.decide`` → answer / suggest / greet / ask to rephrase / hand off.
See docs/bot.md.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import pgettext_lazy

from bot.intents import guess_language
from bot.policy import Decision, Thresholds, decide

from inbox import services as inbox_services

from . import index_cache, orders
from . import services as bot_services
from .models import LANGUAGE_CODES, BotDecisionLog, BotSettings, CannedAnswer

logger = logging.getLogger(__name__)

PAYLOAD_ANSWER = "bot:answer:"
PAYLOAD_HUMAN = "bot:human"
PAYLOAD_HELPFUL = "bot:helpful:"
PAYLOAD_NOT_HELPFUL = "bot:not_helpful:"
#: Candidates kept in the decision log and passed to the policy.
CANDIDATE_LIMIT = 5

#: Weekday names as they read inside a sentence ("a partir de segunda-feira"), from the catalogs.
_WEEKDAYS = [
    pgettext_lazy("weekday inside a sentence", "Monday"),
    pgettext_lazy("weekday inside a sentence", "Tuesday"),
    pgettext_lazy("weekday inside a sentence", "Wednesday"),
    pgettext_lazy("weekday inside a sentence", "Thursday"),
    pgettext_lazy("weekday inside a sentence", "Friday"),
    pgettext_lazy("weekday inside a sentence", "Saturday"),
    pgettext_lazy("weekday inside a sentence", "Sunday"),
]
_VARIABLE = re.compile(r"[ \t]*\{\{\s*(\w+)\.(\w+)\s*\}\}")


# --- public entry points ----------------------------------------------------------------------


def bot_enabled_for(inbox) -> bool:
    """Whether new conversations of ``inbox`` start with the bot."""
    row = BotSettings.objects.filter(inbox=inbox).values_list("enabled", flat=True).first()
    return True if row is None else bool(row)


def handle_incoming(*, conversation, message, automated: bool) -> None:
    """Answer one customer message of a conversation in ``bot`` status (see module docstring)."""
    from inbox.models import Conversation
    from inbox.selectors import reread_conversation

    # Read again inside the handlers' transaction (an agent may have taken it since the batch
    # was loaded).
    conversation = reread_conversation(conversation, "contact")
    if conversation.status != Conversation.Status.BOT:
        return  # an agent has it: the bot never speaks over a person
    # Read once per inbox and batch by ``BotHandler.prepare_many`` (like the match itself, an
    # edit made since applies from the next batch).
    settings_row = getattr(message, "bot_settings", None)
    if settings_row is None or settings_row.inbox_id != conversation.inbox_id:
        settings_row = bot_services.settings_for(conversation.inbox)
    turn = _Turn(conversation, message, settings_row)
    if automated:
        # Auto-replies and bulk mail: answering could start a loop; agents see it in the list.
        turn.log(BotDecisionLog.Action.IGNORED, "automated")
        return
    if not settings_row.enabled:
        turn.hand_off(Conversation.HandoffReason.BOT_DISABLED)
        return
    if orders.continue_lookup(turn):  # the customer's reply to "send me your order number"
        return
    payload = (message.metadata or {}).get("quick_reply_payload", "") or ""
    if payload.startswith("bot:") and turn.handle_payload(payload):
        return
    turn.handle_question()


# --- text helpers -------------------------------------------------------------------------------


def fill_variables(text: str, *, contact=None, agent=None, inbox=None) -> str:
    """Fill ``{{contact.first_name}}``, ``{{contact.name}}``, ``{{agent.name}}``,
    ``{{inbox.name}}``. An empty value also removes the space before it ("Hi {{contact.name}},"
    → "Hi,"); unknown variables are left as written so the admin sees the typo."""
    from inbox.presenters import agent_name

    values = {
        ("contact", "first_name"): contact.first_name if contact is not None else "",
        ("contact", "name"): (contact.name if contact is not None else "") or "",
        ("agent", "name"): agent_name(agent) if agent is not None else "",
        ("agent", "first_name"): (agent_name(agent).split(" ")[0] if agent is not None else ""),
        ("inbox", "name"): inbox.name if inbox is not None else "",
    }

    def replace(match: re.Match) -> str:
        key = (match.group(1), match.group(2))
        if key not in values:
            return match.group(0)
        value = values[key]
        if not value:
            return ""
        prefix = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip(" \t"))]
        return prefix + value

    return _VARIABLE.sub(replace, text)


def format_opening(when, language: str) -> str:
    """"segunda-feira 09:00" in the customer's language (the inbox's local time, 24-hour clock:
    English's "9 a.m." would end the sentence with two dots)."""
    from inbox.locale import catalog_language

    with translation.override(catalog_language(language)):
        return f"{_WEEKDAYS[when.weekday()]} {when:%H:%M}"


def thresholds_of(settings_row: BotSettings) -> Thresholds:
    suggest = min(settings_row.suggest_threshold, settings_row.answer_threshold)
    return Thresholds(answer=settings_row.answer_threshold, suggest=suggest, margin=settings_row.margin)


def email_mode(settings_row: BotSettings, inbox) -> bool:
    from inbox.models import ChannelKind

    return settings_row.email_mode or inbox.channel_kind == ChannelKind.EMAIL


def prematch(text: str, *, inbox=None, language: str | None = None) -> tuple[Any, str | None, list]:
    """The matcher's candidates for ``text`` (the CPU-heavy part), computed before any
    transaction so the database's write lock is never held while the matcher runs. Pass the
    result to ``evaluate(prematched=...)``; it is used if the language is still the same (with
    the index it was matched against: answers deleted or switched off since are still left out)."""
    index = index_cache.get_index(inbox)
    return index, language, (index.match(text, limit=CANDIDATE_LIMIT, language=language) if index.size else [])


def prematch_many(texts: list[str], *, inbox=None, languages: list[str | None]) -> list[tuple[Any, str | None, list]]:
    """``prematch`` for several questions of one inbox, their sentence vectors encoded in one
    call (a batch of webhook messages: ``bot.handlers.BotHandler.prepare_many``)."""
    index = index_cache.get_index(inbox)
    if not index.size:
        return [(index, language, []) for language in languages]
    vectors = index.question_vectors(list(texts))
    return [(index, language, index.match(text, limit=CANDIDATE_LIMIT, language=language, vector=vector))
            for text, language, vector in zip(texts, languages, vectors)]


def warm_up() -> int:
    """Load the sentence encoder and build the indexes now (a worker starting), not on the
    first customer's question. Returns how many indexes were built."""
    from django.conf import settings

    from inbox.models import Inbox

    from . import encoders

    encoders.get_encoder(settings.BOT_ENCODER, threads=settings.BOT_ENCODER_THREADS)
    guess_language("warm up")  # loads py3langid's model (about 0.4 s), not on the first question
    before = index_cache.builds
    index_cache.get_index(None)
    for inbox in Inbox.objects.filter(enabled=True):
        index_cache.get_index(inbox)
    return index_cache.builds - before


def evaluate(text: str, *, inbox=None, settings_row: BotSettings | None = None, misses_so_far: int = 0,
             language: str | None = None, prematched: tuple[Any, str | None, list] | None = None):
    """Match and decide without writing anything (the test console uses this too).
    ``language``: the customer's; answers in it are preferred (``MatcherIndex.match``).

    Returns ``(decision, candidates, answers)``: candidates are the matcher's, minus answers
    deleted since the index was built; ``answers`` maps id → CannedAnswer.
    """
    settings_row = settings_row or (bot_services.settings_for(inbox) if inbox is not None else BotSettings())
    if prematched is not None and prematched[1] == language:
        # Matched a moment ago, before the handlers' transaction (``prepare``): the index it
        # used is the one to answer with (an edit since then applies from the next message).
        index, raw = prematched[0], prematched[2]
    else:
        index = index_cache.get_index(inbox)
        raw = index.match(text, limit=CANDIDATE_LIMIT, language=language) if index.size else []
    answers = CannedAnswer.objects.in_bulk([c.answer_id for c in raw])
    # The index may predate a deletion or deactivation: skip what is gone.
    candidates = [c for c in raw if c.answer_id in answers and answers[c.answer_id].active]
    decision = decide(text, candidates, thresholds_of(settings_row), misses_so_far=misses_so_far,
                      max_misses=max(1, settings_row.max_misses))
    if decision.action == "handoff" and decision.reason == "no_answers" and index.size:
        # Answers exist, none shares a word with the question: that is a miss, not an empty set.
        reason = "repeated_misses" if misses_so_far + 1 >= max(1, settings_row.max_misses) else "low_confidence"
        decision = Decision("handoff", reason, [])
    return decision, candidates, answers


def candidates_json(candidates, answers) -> list[dict[str, Any]]:
    return [
        {"answer_id": c.answer_id, "title": answers[c.answer_id].title if c.answer_id in answers else "",
         "confidence": round(c.confidence, 4), "score": round(c.score, 4), "matched_text": c.matched_text}
        for c in candidates
    ]


# --- one turn of the conversation ---------------------------------------------------------------


def customer_language(conversation, message) -> str:
    """The language to answer ``message`` in: guessed from its text, else the conversation's
    last one, else the contact's locale, else English."""
    text = (message.text or "").strip()
    contact_locale = (conversation.contact.locale or "")[:2].lower()
    default = contact_locale if contact_locale in LANGUAGE_CODES else ""
    payload = (message.metadata or {}).get("quick_reply_payload", "")
    if payload.startswith("bot:") or not text:
        # A tapped button says nothing about the language: keep the conversation's.
        last = BotDecisionLog.objects.filter(conversation=conversation).exclude(language="").first()
        return last.language if last else (default or "en")
    # The guess depends on the text and the default only: kept on the message, so the matcher's
    # preparation and the answer guess once (py3langid is a good part of the bot's CPU).
    key = (text, default)
    kept = getattr(message, "_bot_language_guess", None)
    if kept is not None and kept[0] == key:
        return kept[1]
    language = guess_language(text, default=default or "en")
    message._bot_language_guess = (key, language)
    return language


class _Turn:
    """The bot's handling of one customer message."""

    def __init__(self, conversation, message, settings_row: BotSettings):
        self.conversation = conversation
        self.inbox = conversation.inbox
        self.message = message
        self.settings = settings_row
        self.text = (message.text or "").strip()
        self.language = self._language()
        self.email = email_mode(settings_row, self.inbox)

    def _language(self) -> str:
        return customer_language(self.conversation, self.message)

    # writes

    def log(self, action: str, reason: str, *, candidates=(), answer_id=None, reply=None) -> BotDecisionLog:
        return bot_services.decision_log(
            conversation=self.conversation, message=self.message, question=self.text, language=self.language,
            action=action, reason=reason, candidates=candidates, answer_id=answer_id, reply=reply)

    def say(self, text: str, quick_replies=()):
        from inbox import services

        return services.send_reply(conversation=self.conversation, text=text, author=None, sender_kind="bot",
                                   quick_replies=[] if self.email else list(quick_replies), automated=True)

    def t(self, key: str, **values: str) -> str:
        text = self.settings.text(key, self.language)
        return text.format(**values) if values else text

    def human_button(self) -> dict[str, str]:
        return {"title": self.t("button_human"), "payload": PAYLOAD_HUMAN}

    def send_answer(self, answer: CannedAnswer, *, reason: str, candidates=(), order_facts=None) -> None:
        text = fill_variables(answer.text, contact=self.conversation.contact, inbox=self.inbox)
        order_reply = None
        if orders.is_order_answer(answer):  # "where is my order?": see bot/orders.py
            order_reply = (orders.reply_for(self, answer, order_facts) if order_facts is not None
                           else orders.prepare_answer(self, answer))
            if order_reply is None:
                return  # asked for the order number instead
            text = order_reply.text
        log = self.log(BotDecisionLog.Action.ANSWER, reason, candidates=candidates, answer_id=answer.pk)
        handing_off = bool(order_reply and order_reply.handoff_detail)
        reply = self.say(text, quick_replies=[] if handing_off else [
            {"title": self.t("button_helpful"), "payload": f"{PAYLOAD_HELPFUL}{log.pk}"},
            {"title": self.t("button_not_helpful"), "payload": f"{PAYLOAD_NOT_HELPFUL}{log.pk}"},
            self.human_button(),
        ])
        bot_services.decision_log_set_reply(log=log, reply=reply)
        bot_services.answer_used(answer_id=answer.pk)
        if self.conversation.bot_misses:
            inbox_services.conversation_reset_bot_misses(conversation=self.conversation)
        if handing_off:
            self.hand_off(orders.HANDOFF_REASON, detail=order_reply.handoff_detail)

    def hand_off(self, reason: str, *, detail: str = "", candidates=()) -> None:
        """Tell the customer what happens next, then move the conversation to the agents."""
        from inbox import hours, services

        now = timezone.now()
        if not hours.is_open(self.inbox.business_hours, self.inbox.timezone, now):
            opening = hours.next_opening(self.inbox.business_hours, self.inbox.timezone, now)
            if opening is not None:
                text = self.t("handoff_offline", next_opening=format_opening(opening, self.language))
            else:
                text = self.t("handoff_no_agents")
        elif services.online_agent_ids(inbox=self.inbox):
            text = self.t("handoff_online")
        else:
            text = self.t("handoff_no_agents")
        reply = self.say(text)
        self.log(BotDecisionLog.Action.HANDOFF, reason, candidates=candidates, reply=reply)
        services.hand_off(conversation=self.conversation, reason=reason, detail=detail)

    # handling

    def handle_payload(self, payload: str) -> bool:
        """Act on a bot button; False when the payload is stale and the text should be read."""
        from inbox.models import Conversation

        if payload == PAYLOAD_HUMAN:
            self.hand_off(Conversation.HandoffReason.ASKED_FOR_HUMAN)
            return True
        kind, _, raw_id = payload.rpartition(":")
        try:
            object_id = int(raw_id)
        except ValueError:
            return False
        if payload.startswith(PAYLOAD_ANSWER):
            answer = index_cache.answers_for(self.inbox).filter(pk=object_id).first()
            if answer is None:
                return False  # deleted since it was suggested: match the button's text instead
            self.send_answer(answer, reason="suggestion_chosen")
            return True
        if payload.startswith(PAYLOAD_HELPFUL) or payload.startswith(PAYLOAD_NOT_HELPFUL):
            helpful = payload.startswith(PAYLOAD_HELPFUL)
            log = bot_services.feedback_record(log_id=object_id, conversation=self.conversation, helpful=helpful)
            if log is None:
                return False
            self.log(BotDecisionLog.Action.FEEDBACK, "helpful" if helpful else "not_helpful", answer_id=log.answer_id)
            if helpful:
                self.say(self.t("helpful_thanks"))
            else:
                if log.question:
                    bot_services.unanswered_record(question=log.question, language=log.language, reason="not_helpful")
                title = log.answer.title if log.answer_id and log.answer else ""
                self.hand_off(Conversation.HandoffReason.NOT_HELPFUL, detail=f"answer: {title}" if title else "")
            return True
        return False

    def handle_question(self) -> None:
        from inbox.models import Conversation

        if not self.text:
            # A picture or a voice note: the bot cannot read it, a person can.
            self.hand_off(Conversation.HandoffReason.LOW_CONFIDENCE, detail="no text to read")
            return
        decision, candidates, answers = evaluate(self.text, inbox=self.inbox, settings_row=self.settings,
                                                 prematched=getattr(self.message, "bot_prematched", None),
                                                 misses_so_far=self.conversation.bot_misses, language=self.language)
        logged = candidates_json(candidates, answers)
        top = candidates[0].confidence if candidates else 0.0
        action = decision.action
        if self.email and action == "suggest":
            action = "low_confidence_email"
        if action == "answer":
            self.send_answer(answers[decision.candidates[0].answer_id], reason=decision.reason, candidates=logged)
        elif action == "suggest":
            buttons = [{"title": answers[c.answer_id].title, "payload": f"{PAYLOAD_ANSWER}{c.answer_id}"}
                       for c in decision.candidates]
            self.log(BotDecisionLog.Action.SUGGEST, decision.reason, candidates=logged)
            self.say(self.t("suggest"), quick_replies=[*buttons, self.human_button()])
        elif action in ("greeting", "thanks"):
            self.log(action, decision.reason)
            self.say(self.t(action))
        elif decision.reason == "asked_for_human":
            self.hand_off(decision.reason, candidates=logged)
        elif decision.reason == "no_answers":
            bot_services.unanswered_record(question=self.text, language=self.language, reason=decision.reason)
            self.hand_off(decision.reason, candidates=logged)
        else:
            self._miss(decision, logged, top)

    def _miss(self, decision: Decision, logged, top: float) -> None:
        """Low confidence: ask to rephrase until ``max_misses``, then hand off. E-mail (and
        ``max_misses`` 1) hands off at once: a second round trip by mail only delays a person."""
        from inbox.models import Conversation

        bot_services.unanswered_record(question=self.text, language=self.language, reason=decision.reason)
        misses = inbox_services.conversation_bot_miss(conversation=self.conversation)
        detail = f"top confidence {top:.2f}"
        if self.email or self.settings.max_misses <= 1:
            self.hand_off(Conversation.HandoffReason.LOW_CONFIDENCE, detail=detail, candidates=logged)
        elif misses >= self.settings.max_misses:
            self.hand_off(Conversation.HandoffReason.REPEATED_MISSES, detail=detail, candidates=logged)
        else:
            reply = self.say(self.t("rephrase"), quick_replies=[self.human_button()])
            self.log(BotDecisionLog.Action.REPHRASE, decision.reason, candidates=logged, reply=reply)
