"""The inbox's data: contacts and their channel identities, inboxes, conversations, messages.

Only ``inbox.services`` creates or changes these rows (see docs/architecture.md).
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .encryption import EncryptedJSONField, EncryptedTextField


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def validate_agent_language(value: str) -> None:
    if value and value not in dict(settings.LANGUAGES):
        raise ValidationError(_("Choose one of the installed languages."))


def validate_customer_language(value: str) -> None:
    from .locale import CUSTOMER_LANGUAGES

    if value and value not in CUSTOMER_LANGUAGES:
        raise ValidationError(_("Choose one of: %(codes)s.") % {"codes": ", ".join(CUSTOMER_LANGUAGES)})


def validate_time_zone(value: str) -> None:
    from .locale import valid_time_zone

    if value and not valid_time_zone(value):
        raise ValidationError(_("Unknown time zone (use a name like America/Sao_Paulo)."))


def validate_currency(value: str) -> None:
    from babel.numbers import get_currency_name

    if value and (len(value) != 3 or get_currency_name(value.upper(), locale="en") == value.upper()):
        raise ValidationError(_("Unknown currency: use an ISO 4217 code such as BRL or USD."))


class ChannelKind(models.TextChoices):
    WEBCHAT = "webchat", _("Web chat")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MESSENGER = "messenger", _("Messenger")
    INSTAGRAM = "instagram", _("Instagram")
    EMAIL = "email", _("E-mail")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """Per-agent settings that Django's user model does not have."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    display_name = models.CharField(max_length=100, blank=True)
    avatar_url = models.URLField(blank=True)
    max_open_conversations = models.PositiveIntegerField(
        default=10, help_text=_("Auto-assignment skips the agent at this many open conversations.")
    )
    accepts_auto_assignment = models.BooleanField(default=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True, help_text=_("Round-robin order."))
    language = models.CharField(
        _("language"), max_length=10, blank=True, validators=[validate_agent_language],
        help_text=_("The language of every page. Empty: the browser's language."))
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone],
        help_text=_("Times are shown in this zone. Empty: the zone of the agent's inbox."))

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class AgentConnection(models.Model):
    """One open agent tab (websocket). Presence is derived from these rows, so every server
    process sees the same presence; stale rows (a crashed process) expire by ``last_seen``."""

    class Presence(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.ONLINE)
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_presence_display()})"


class Inbox(models.Model):
    """One configured channel account: a website chat, a WhatsApp number, a Facebook page or a
    mailbox. ``channel_config`` holds the provider settings and credentials the adapter needs."""

    name = models.CharField(max_length=100)
    channel_kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False,
                                 help_text=_("Used in the widget snippet and the webhook URL."))
    enabled = models.BooleanField(default=True)
    channel_config = EncryptedJSONField(default=dict, blank=True,
                                        help_text=_("Provider settings and credentials (see docs/channels.md); "
                                                    "stored encrypted."))
    channel_state = models.JSONField(default=dict, blank=True, editable=False,
                                     help_text=_("Adapter bookkeeping, e.g. the last IMAP UID seen."))
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    webhook_verify_token = models.CharField(max_length=64, default=new_secret)
    widget_secret = EncryptedTextField(default=new_secret,
                                       help_text=_("HMAC key for identity verification from the shop's site; "
                                                   "stored encrypted."))
    allowed_origins = models.TextField(
        blank=True, help_text=_("Web chat: one origin per line (https://shop.example.com). Empty allows any."))
    widget_settings = models.JSONField(default=dict, blank=True,
                                       help_text=_("Web chat look: color, title, position, avatar_url, pre_chat_form."))
    greeting = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    default_language = models.CharField(
        _("default language"), max_length=5, blank=True, validators=[validate_customer_language],
        help_text=_("Customers whose language is unknown are answered in this one. Empty: the installation's."))
    currency = models.CharField(
        _("currency"), max_length=3, blank=True, validators=[validate_currency],
        help_text=_("ISO 4217 code of the shop's prices (BRL, USD, ARS...). Empty: the installation's default."))
    business_hours = models.JSONField(
        default=dict, blank=True,
        help_text=_('Opening hours by weekday 0=Monday: {"0": [["09:00", "18:00"]], ...}. Empty means always open.'))
    out_of_hours_message = models.TextField(blank=True)
    auto_assign = models.BooleanField(default=True, help_text=_("Give handed-off conversations to an online agent."))
    phone_region = models.CharField(
        max_length=2, blank=True,
        help_text=_("Country (ISO code, e.g. BR, AR, MX) of phone numbers typed here without a country code. "
                    "Empty uses the installation's PHONE_DEFAULT_REGION."))
    reopen_window_hours = models.PositiveIntegerField(
        default=72, help_text=_("A customer's message within this time after resolution reopens the conversation; "
                              "later ones start a new conversation."))
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="inboxes", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inbox")
        verbose_name_plural = _("inboxes")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_kind_display()})"

    def clean(self) -> None:
        super().clean()
        if self.phone_region:
            import phonenumbers
            from django.core.exceptions import ValidationError

            self.phone_region = self.phone_region.upper()
            if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValidationError({"phone_region": f"{self.phone_region!r} is not a country code such as BR, AR or MX."})

    @property
    def currency_code(self) -> str:
        return (self.currency or settings.DEFAULT_CURRENCY).upper()

    @property
    def language_code(self) -> str:
        """Short customer code of the language customers of this inbox are answered in when
        theirs is unknown."""
        from .locale import customer_code

        return self.default_language or customer_code(settings.LANGUAGE_CODE)

    @property
    def default_phone_region(self) -> str:
        return (self.phone_region or getattr(settings, "PHONE_DEFAULT_REGION", "") or "BR").upper()

    def origin_allowed(self, origin: str) -> bool:
        allowed = [line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()]
        return not allowed or origin.rstrip("/") in allowed


class Contact(models.Model):
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True, db_index=True,
                             help_text=_("E.164, e.g. +5511999990000; a number that is not valid is kept as typed."))
    locale = models.CharField(max_length=10, blank=True)
    avatar_url = models.URLField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    opted_out = models.BooleanField(default=False, help_text=_("Never send automatic messages (surveys, follow-ups)."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name or self.email or self.phone or _("Contact #%(id)s") % {"id": self.pk}

    @property
    def phone_valid(self) -> bool:
        """False for a number kept as typed because it could not be read (never merged on)."""
        from .phones import parse_phone

        return bool(self.phone) and parse_phone(self.phone).e164 == self.phone

    @property
    def first_name(self) -> str:
        return (self.name or "").split(" ")[0]


class ContactIdentity(models.Model):
    """How one contact is addressed on one channel: a WhatsApp number, a page-scoped Messenger
    id, an e-mail address or a widget visitor id. Unique per channel kind, so the same person
    arriving again finds the same contact."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    channel_kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    address = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel_kind", "address"], name="unique_identity")]
        verbose_name = _("contact identity")
        verbose_name_plural = _("contact identities")

    def __str__(self) -> str:
        return f"{self.channel_kind}:{self.address}"


class Label(models.Model):
    name = models.CharField(max_length=50, unique=True)
    color = models.CharField(max_length=7, default="#64748b")

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot", _("Bot")
        PENDING = "pending", _("Waiting for an agent")
        OPEN = "open", _("Open")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")

    class Priority(models.IntegerChoices):
        NONE = 0, _("None")
        LOW = 1, _("Low")
        MEDIUM = 2, _("Medium")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class HandoffReason(models.TextChoices):
        NONE = "", "—"
        LOW_CONFIDENCE = "low_confidence", _("The bot was not confident")
        ASKED_FOR_HUMAN = "asked_for_human", _("The customer asked for a person")
        REPEATED_MISSES = "repeated_misses", _("The bot missed several times")
        NOT_HELPFUL = "not_helpful", _("The customer said the answer did not help")
        NO_ANSWERS = "no_answers", _("No canned answers for this inbox")
        BOT_DISABLED = "bot_disabled", _("The bot is off for this inbox")
        BOT_ERROR = "bot_error", _("The bot failed")
        ORDER_ISSUE = "order_issue", _("An order needs a person (late, cancelled, refunded, not found)")

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOT)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_conversations")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NONE)
    labels = models.ManyToManyField(Label, blank=True, related_name="conversations")
    subject = models.CharField(max_length=255, blank=True)
    thread_token = models.CharField(max_length=32, default=new_public_id, unique=True, editable=False,
                                    help_text=_("Carried in e-mail reply addresses (support+TOKEN@...)."))
    snoozed_until = models.DateTimeField(null=True, blank=True)
    handoff_reason = models.CharField(max_length=20, choices=HandoffReason.choices, blank=True, default="")
    handoff_detail = models.CharField(max_length=255, blank=True)
    bot_misses = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    last_incoming_at = models.DateTimeField(null=True, blank=True,
                                            help_text=_("Starts the 24-hour customer service window."))
    last_message_preview = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["inbox", "status", "-last_activity_at"], name="conv_inbox_status_activity"),
            models.Index(fields=["assignee", "status", "-last_activity_at"], name="conv_assignee_status_activity"),
            models.Index(fields=["status", "-last_activity_at"], name="conv_status_activity"),
            models.Index(fields=["contact", "-last_activity_at"], name="conv_contact_activity"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.contact} ({self.get_status_display()})"


class Message(models.Model):
    class Direction(models.TextChoices):
        INCOMING = "in", _("Incoming")
        OUTGOING = "out", _("Outgoing")

    class SenderKind(models.TextChoices):
        CONTACT = "contact", _("Contact")
        AGENT = "agent", _("Agent")
        BOT = "bot", _("Bot")
        SYSTEM = "system", _("System")

    class Delivery(models.TextChoices):
        NONE = "", "—"  # incoming messages, notes, system events
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")

    #: Delivery states only move forward along this order ("read stays read").
    DELIVERY_ORDER = {"": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5}

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="messages",
                              help_text=_("Denormalized so provider ids are unique per inbox."))
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sender_kind = models.CharField(max_length=10, choices=SenderKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="messages")
    text = models.TextField(blank=True)
    html = models.TextField(blank=True, help_text=_("Sanitized HTML, for channels that have it (e-mail)."))
    is_private_note = models.BooleanField(default=False)
    provider_message_id = models.CharField(max_length=255, null=True, blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    delivery_state = models.CharField(max_length=10, choices=Delivery.choices, blank=True, default="")
    delivery_error = models.TextField(blank=True)
    delivery_error_code = models.CharField(max_length=40, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text=_("When a queued send is due."))
    claimed_at = models.DateTimeField(null=True, blank=True, help_text=_("When a worker started the last send."))
    handled_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("When the inbound handlers (surveys, the bot) ran for this customer message; empty while due."))
    metadata = models.JSONField(default=dict, blank=True,
                                help_text=_("Channel extras: quick replies, reactions, location, e-mail headers."))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text=_("When the provider says it was sent."))

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["inbox", "provider_message_id"], name="unique_provider_message",
                                    condition=Q(provider_message_id__isnull=False)),
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="msg_conversation_created")]

    def __str__(self) -> str:
        from .system_messages import text_of

        return f"{self.get_sender_kind_display()}: {text_of(self)[:50]}"

    @property
    def delivery_error_reason(self) -> str:
        """Why the send failed, in the active language ("" when the code names no reason)."""
        from .delivery_errors import reason

        return reason(channel_kind=self.inbox.channel_kind, code=self.delivery_error_code)


def attachment_path(instance: "Attachment", filename: str) -> str:
    """A generated storage name: the sender's file name is never part of a path (it may hold
    ``../``, NUL or a 300-character name). Only a short alphanumeric extension is kept, so the
    file stays recognisable on disk; ``Attachment.filename`` keeps the name for display and
    download."""
    extension = re.search(r"\.([A-Za-z0-9]{1,10})$", filename or "")
    suffix = "." + extension.group(1).lower() if extension else ""
    return f"attachments/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{suffix}"


class Attachment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for download")
        STORED = "stored", _("Stored")
        TOO_LARGE = "too_large", _("Too large")
        FAILED = "failed", _("Download failed")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=20, default="file")  # image | audio | video | file | sticker
    file = models.FileField(upload_to=attachment_path, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STORED)
    provider_media_id = models.CharField(max_length=255, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    error = models.CharField(max_length=255, blank=True)
    download_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                           help_text=_("When a download that failed for a temporary reason is tried again."))

    def __str__(self) -> str:
        return self.filename or _("attachment %(id)s") % {"id": self.pk}


class ConversationRead(models.Model):
    """How far one agent has read one conversation; the unread count is what came after."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversation_reads")
    last_read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="unique_conversation_read")]


class WebhookEvent(models.Model):
    """A provider request exactly as received, stored before anything is parsed so no message is
    lost when processing fails or the process dies; the admin shows the error of each."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received, not processed yet")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")

    inbox = models.ForeignKey(Inbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events")
    channel_kind = models.CharField(max_length=20, blank=True)
    inbox_public_id = models.CharField(max_length=64, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True)
    summary = models.TextField(blank=True, help_text=_("What processing did: messages, statuses, skipped items."))
    failures = models.JSONField(default=list, blank=True,
                                help_text=_("The items that could not be stored: [{item, provider_id, error}]."))
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                           help_text=_("When a failed event is processed again automatically."))
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return _("%(channel)s event %(id)s (%(status)s)") % {
            "channel": self.channel_kind, "id": self.pk, "status": self.get_status_display()}


class FailedWebhookEvent(WebhookEvent):
    """The admin's list of events that could not be processed (fully), to look into and retry."""

    class Meta:
        proxy = True
        verbose_name = _("failed webhook event")
        verbose_name_plural = _("failed webhook events")
