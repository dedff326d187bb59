"""Retention data: per-inbox survey and quiet-hour settings, satisfaction surveys, the shop's
orders, follow-up rules and the log of follow-up sends.

Only ``retention.services`` creates or changes these rows (see docs/retention.md).
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from inbox.locale import translations

#: The survey question (translated by the catalogs into each customer language).
DEFAULT_QUESTION = gettext_noop("How did we do? Tap a rating from 1 (bad) to 5 (great).")


def default_questions() -> dict[str, str]:
    """A new inbox's editable questions: the catalog's translation in every language."""
    return translations(DEFAULT_QUESTION)


def new_token() -> str:
    return secrets.token_urlsafe(16)


class InboxRetentionSettings(models.Model):
    """Survey switch, delay and wording, and quiet hours, for one inbox. An inbox without a row
    sends no surveys and uses the default quiet hours (21:00-08:00 in its timezone)."""

    inbox = models.OneToOneField("inbox.Inbox", on_delete=models.CASCADE, related_name="retention_settings")
    survey_enabled = models.BooleanField(default=False)
    survey_delay_minutes = models.PositiveIntegerField(default=5, help_text=_("Wait this long after the resolution."))
    survey_questions = models.JSONField(default=default_questions, blank=True,
                                        help_text=_('Question per language: {"en": "How did we do?", "pt": "..."}.'))
    survey_template = models.JSONField(
        default=dict, blank=True,
        help_text=_('WhatsApp template for surveys outside the 24-hour window: {"name": "...", "language": "en"}. '
                  "Empty: such surveys are skipped."))
    quiet_start = models.TimeField(default=dt.time(21, 0), help_text=_("No automatic sends from this local time..."))
    quiet_end = models.TimeField(default=dt.time(8, 0), help_text=_("...until this local time."))

    class Meta:
        verbose_name = _("retention settings")
        verbose_name_plural = _("retention settings")

    def __str__(self) -> str:
        return _("Retention settings of %(inbox)s") % {"inbox": self.inbox}


class Survey(models.Model):
    """The satisfaction survey of one resolved conversation, and its answer (one per survey:
    a later answer replaces the rating, so a reused link never counts twice)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        SKIPPED = "skipped", _("Skipped")

    conversation = models.OneToOneField("inbox.Conversation", on_delete=models.CASCADE, related_name="survey")
    inbox = models.ForeignKey("inbox.Inbox", on_delete=models.CASCADE, related_name="surveys")
    contact = models.ForeignKey("inbox.Contact", on_delete=models.CASCADE, related_name="surveys")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="surveys")
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    channel_kind = models.CharField(max_length=20)
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    skip_reason = models.CharField(max_length=100, blank=True)
    scheduled_for = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey("inbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rating = models.PositiveSmallIntegerField(null=True, blank=True,
                                              validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True, db_index=True)
    answer_source = models.CharField(max_length=20, blank=True, help_text=_("quick_reply | link"))
    awaiting_comment_until = models.DateTimeField(
        null=True, blank=True, help_text=_("Chat channels: the customer's next text until then is the comment."))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="survey_rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return _("Survey of conversation %(id)s (%(status)s)") % {"id": self.conversation_id, "status": self.get_status_display()}


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    #: Orders that count as purchases in metrics (cancelled and refunded ones do not).
    COUNTED = (Status.PENDING, Status.PAID, Status.SHIPPED, Status.DELIVERED)

    contact = models.ForeignKey("inbox.Contact", on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=100, unique=True, help_text=_("The shop's order number."))
    ordered_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PAID)
    total = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD")
    items = models.JSONField(default=list, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # What shop platforms add (docs/shops.md); empty for orders from the API or a CSV file.
    number = models.CharField(max_length=50, blank=True, help_text=_("The number the customer sees (#1001)."))
    source = models.CharField(max_length=80, blank=True, db_index=True,
                              help_text=_("platform:connection: for orders from a shop connection."))
    platform_status = models.CharField(max_length=100, blank=True, help_text=_("The platform's own status words."))
    source_updated_at = models.DateTimeField(
        null=True, blank=True, help_text=_("The platform's last change of this order; an older update is ignored."))
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    expected_at = models.DateField(null=True, blank=True, help_text=_("Expected delivery date, where the shop has one."))
    shipping_city = models.CharField(max_length=100, blank=True)
    shipping_state = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative")]
        indexes = [models.Index(fields=["contact", "-ordered_at"], name="order_contact_date")]

    def __str__(self) -> str:
        return _("Order %(number)s") % {"number": self.display_number}

    @property
    def display_number(self) -> str:
        return self.number or self.external_id


class FollowUpRule(models.Model):
    class Trigger(models.TextChoices):
        ORDER_DELIVERED = "order_delivered", _("An order was delivered")
        CONVERSATION_RESOLVED = "conversation_resolved", _("A conversation was resolved")
        NO_ORDER_FOR = "no_order_for", _("No order for the delay (counted from the last order)")

    name = models.CharField(max_length=100)
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    delay_hours = models.PositiveIntegerField(default=72, help_text=_("After the trigger (order delivered, "
                                                                    "resolution, last order)."))
    channel_preference = models.JSONField(
        default=list, blank=True,
        help_text=_('Channel kinds to try in order, e.g. ["whatsapp", "email"]. Empty: the channel of the '
                  "customer's most recent conversation."))
    messages = models.JSONField(default=dict, blank=True,
                                help_text=_('Text per language: {"en": "Hi {first_name}, ...", "pt": "..."}. '
                                          "Placeholders: {first_name}, {order_id}."))
    template = models.JSONField(default=dict, blank=True,
                                help_text=_('WhatsApp template outside the 24-hour window: {"name", "language"}; '
                                          "the first name is its parameter."))
    max_age_days = models.PositiveIntegerField(
        default=14, help_text=_("Triggers older than the delay plus this are ignored, so a new rule does not "
                              "write to every customer of the past."))
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class FollowUpSend(models.Model):
    """One follow-up for one contact and one trigger occurrence, recorded before sending so a
    re-run never sends it twice (unique per rule, contact and trigger key)."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")
        DEFERRED = "deferred", _("Deferred to the morning")
        FAILED = "failed", _("Failed")

    rule = models.ForeignKey(FollowUpRule, on_delete=models.CASCADE, related_name="sends")
    contact = models.ForeignKey("inbox.Contact", on_delete=models.CASCADE, related_name="followup_sends")
    trigger_key = models.CharField(max_length=100, help_text=_("order:<id>, conversation:<id> or last-order:<id>."))
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    due_at = models.DateTimeField(help_text=_("When the trigger plus delay came due."))
    send_after = models.DateTimeField(null=True, blank=True, help_text=_("Deferred sends: the morning."))
    conversation = models.ForeignKey("inbox.Conversation", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    message = models.ForeignKey("inbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "contact", "trigger_key"], name="unique_followup_send")]

    def __str__(self) -> str:
        return f"{self.rule} → {self.contact} ({self.trigger_key}, {self.get_status_display()})"
