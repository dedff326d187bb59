"""The FAQ bot's data: canned answers and their question variants, per-inbox settings, the
log of every decision and the questions it could not answer.

Only ``bot.services`` writes these rows (the admin calls it too); see docs/bot.md.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.utils import timezone

from bot.policy import DEFAULT_THRESHOLDS
from bot.reasons import reason_label

from inbox.locale import customer_language_choices

#: Answer languages: the customer languages of settings.LANGUAGES (inbox.locale).
LOCALES = customer_language_choices()
LANGUAGE_CODES = [code for code, _ in LOCALES]

#: Customer-facing bot texts: English source strings, translated by the catalogs
#: (locale/*/LC_MESSAGES/django.po) into the customer's language. ``{next_opening}`` is filled
#: with e.g. "segunda-feira 09:00". An inbox overrides any of them per language (BotSettings.texts).
DEFAULT_TEXTS: dict[str, str] = {
    "greeting": gettext_noop("Hi! I'm the virtual assistant. How can I help?"),
    "thanks": gettext_noop("You're welcome! If you need anything else, just write."),
    "suggest": gettext_noop("Did you mean…?"),
    "rephrase": gettext_noop("Sorry, I didn't quite get that. Could you put it another way?"),
    "helpful_thanks": gettext_noop("Glad it helped! If you need anything else, just write."),
    "handoff_online": gettext_noop("I'm passing you to an agent. An agent will reply shortly."),
    "handoff_no_agents": gettext_noop("I'm passing you to an agent. We'll reply as soon as we can."),
    "handoff_offline": gettext_noop("We are offline; we'll answer from {next_opening}."),
    "button_helpful": "👍",
    "button_not_helpful": "👎",
    "button_human": gettext_noop("Talk to a person"),
}


class AnswerSetVersion(models.Model):
    """One row whose ``number`` and ``token`` change with every change of answers or
    variants, in the same transaction. Each process compares them with its cached index (one
    cheap query per match) and rebuilds when they differ. The random ``token`` keeps a
    rolled-back bump (tests, failed imports) from ever matching a cache built from other data."""

    number = models.PositiveBigIntegerField(default=0)
    token = models.CharField(max_length=32, default="")
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return _("answer set v%(number)s") % {"number": self.number}


class CannedAnswer(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        ORDER_STATUS = "order_status", _("Order status (the customer's latest order; see docs/shops.md)")

    title = models.CharField(max_length=200, help_text=_("Shown to customers as a suggestion button and to agents."))
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEXT, blank=True)
    text = models.TextField(help_text=_("Variables: {{contact.first_name}}, {{contact.name}}, {{agent.name}}, "
                                        "{{inbox.name}}; order answers also {{order.number}}, {{order.status}}, "
                                        "{{order.tracking_url}}, {{order.carrier}}, {{order.expected_at}}."))
    locale = models.CharField(max_length=5, choices=customer_language_choices, default="pt")
    tags = models.CharField(max_length=255, blank=True, help_text=_("Comma-separated."))
    active = models.BooleanField(default=True)
    inboxes = models.ManyToManyField("inbox.Inbox", blank=True, related_name="canned_answers",
                                     help_text=_("Empty means every inbox."))
    usage_count = models.PositiveIntegerField(default=0, help_text=_("Times the bot sent this answer."))
    helpful_count = models.PositiveIntegerField(default=0)
    not_helpful_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    @property
    def helpful_rate(self) -> float | None:
        """Share of 👍 among the customers' 👍/👎, or None before any feedback."""
        total = self.helpful_count + self.not_helpful_count
        return self.helpful_count / total if total else None


class QuestionVariant(models.Model):
    """One way customers ask for an answer; the matcher indexes these (and the title)."""

    answer = models.ForeignKey(CannedAnswer, on_delete=models.CASCADE, related_name="variants")
    text = models.CharField(max_length=500)
    locale = models.CharField(max_length=5, choices=customer_language_choices, blank=True,
                              help_text=_("Empty means the answer's language."))

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.text


def default_texts() -> dict:
    return {}


class BotSettings(models.Model):
    """The bot's behaviour in one inbox. An inbox without a row uses the defaults."""

    inbox = models.OneToOneField("inbox.Inbox", on_delete=models.CASCADE, related_name="bot_settings")
    enabled = models.BooleanField(default=True)
    answer_threshold = models.FloatField(default=DEFAULT_THRESHOLDS.answer,
                                         help_text=_("Lowest confidence the bot answers outright."))
    suggest_threshold = models.FloatField(default=DEFAULT_THRESHOLDS.suggest,
                                          help_text=_("Lowest confidence offered as a suggestion."))
    margin = models.FloatField(default=DEFAULT_THRESHOLDS.margin,
                               help_text=_("A runner-up this close to the top turns an answer into suggestions."))
    max_misses = models.PositiveSmallIntegerField(
        default=2, help_text=_("Questions the bot may fail to understand before handing off (1 = hand off at once)."))
    email_mode = models.BooleanField(
        default=False, help_text=_("Answer only when confident, never suggest (always on for e-mail inboxes)."))
    texts = models.JSONField(
        default=default_texts, blank=True,
        help_text=format_lazy("{} {}", _('Overrides of the bot texts by language: {"greeting": {"pt": "...", "es": "...", '
                                           '"en": "..."}}. Keys:'), ", ".join(DEFAULT_TEXTS) + "."))

    class Meta:
        verbose_name = _("bot settings")
        verbose_name_plural = _("bot settings")

    def __str__(self) -> str:
        return _("Bot settings of %(inbox)s") % {"inbox": self.inbox}

    def text(self, key: str, language: str) -> str:
        """The text ``key`` in ``language`` (a customer code: pt, es, en): the inbox's override,
        else the catalog's translation of the default."""
        from inbox.locale import catalog_language

        own = (self.texts or {}).get(key) or {}
        if isinstance(own, dict) and own.get(language):
            return own[language]
        with translation.override(catalog_language(language)):
            return gettext(DEFAULT_TEXTS.get(key, ""))


class BotDecisionLog(models.Model):
    """What the bot did with one customer message, and why (tuning and the reports read it)."""

    class Action(models.TextChoices):
        ANSWER = "answer", _("Answered")
        SUGGEST = "suggest", _("Suggested answers")
        HANDOFF = "handoff", _("Handed off")
        GREETING = "greeting", _("Greeting")
        THANKS = "thanks", _("Thanks")
        REPHRASE = "rephrase", _("Asked to rephrase")
        FEEDBACK = "feedback", _("Recorded feedback")
        IGNORED = "ignored", _("Ignored (automated message)")
        ORDER = "order", _("Order question (asked for the number, or could not verify)")

    conversation = models.ForeignKey("inbox.Conversation", on_delete=models.CASCADE, related_name="bot_decisions")
    message = models.ForeignKey("inbox.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="bot_decisions")
    question = models.TextField(blank=True)
    language = models.CharField(max_length=5, blank=True)
    candidates = models.JSONField(default=list, blank=True,
                                  help_text='[{"answer_id", "title", "confidence", "score", "matched_text"}]')
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=40, blank=True)
    answer = models.ForeignKey(CannedAnswer, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="decisions")
    reply = models.ForeignKey("inbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    helpful = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return _("%(action)s (%(reason)s) on conversation %(id)s") % {
            "action": self.get_action_display(), "reason": reason_label(self.reason), "id": self.conversation_id}


class UnansweredQuestion(models.Model):
    """Questions the bot could not answer, one row per normalized text; the curation page
    groups similar rows further with rapidfuzz."""

    key = models.CharField(max_length=500, unique=True, help_text=_("bot.text.normalize of the question."))
    example = models.TextField()
    count = models.PositiveIntegerField(default=1)
    language = models.CharField(max_length=5, blank=True)
    last_reason = models.CharField(max_length=40, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    resolved = models.BooleanField(default=False, db_index=True)
    answer = models.ForeignKey(CannedAnswer, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="resolved_questions")

    class Meta:
        ordering = ["-count", "-last_seen"]

    def __str__(self) -> str:
        return self.example[:80]


def new_token() -> str:
    return uuid.uuid4().hex


class VariantVector(models.Model):
    """The sentence vector of one question text (a variant or an answer title), as one encoder
    version computed it. Keyed by the hash of the normalised text (``bot.matcher.encoder_input``: lowercased, whitespace collapsed), so variants that read the same
    share a row, an edited variant gets a new one, and an encoder upgrade leaves the old rows
    unused until ``manage.py bot_encode --prune``. Written by ``bot.vectors`` in the worker,
    never on a customer's path; the index is built from these rows (docs/bot.md)."""

    encoder = models.CharField(max_length=40)
    encoder_version = models.CharField(max_length=40)
    text_hash = models.CharField(max_length=64, help_text="sha256 of bot.matcher.encoder_input(text).")
    dim = models.PositiveSmallIntegerField()
    vector = models.BinaryField(help_text="float32, little-endian, unit length.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["encoder", "encoder_version", "text_hash"], name="bot_vector_unique_text"),
        ]

    def __str__(self) -> str:
        return f"{self.encoder}@{self.encoder_version} {self.text_hash[:12]}"
