"""Deliver one queued message through its inbox's adapter, with retries and backoff.

The message's delivery state is the source of truth, not the task queue: the state moves to
``sending`` before the network call, so a task that runs twice, or after a crash, can tell
what already happened (see ``services.claim_for_sending`` and ``tasks.sweep``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from channels_adapters.base import (
    OutboundAttachment,
    OutboundMessage,
    PermanentSendError,
    QuickReply,
    SendError,
    TemplateRef,
)
from channels_adapters.registry import adapter_class_for, get_adapter

from . import queue, services
from .locale import customer_language, translated
from .files import signed_url
from .models import ChannelKind, ContactIdentity, Message
from .phones import parse_phone, to_wa_id
from .presenters import agent_name

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int) -> float:
    """Exponential: base, 2×base, 4×base... capped at one hour."""
    return min(settings.OUTBOUND_RETRY_BASE_SECONDS * (2 ** max(attempt - 1, 0)), 3600.0)


def recipient_address(message: Message) -> str:
    identity = (ContactIdentity.objects.filter(contact_id=message.conversation.contact_id,
                                               channel_kind=message.inbox.channel_kind)
                .order_by("-created_at").first())
    if identity:
        return identity.address
    if message.inbox.channel_kind == ChannelKind.EMAIL:
        return message.conversation.contact.email
    if message.inbox.channel_kind == ChannelKind.WHATSAPP:
        # Known only by a number (an order): send to the canonical number; WhatsApp's answer
        # then names the real wa_id (see ``deliver``).
        line = parse_phone(message.conversation.contact.phone).e164
        return to_wa_id(line)
    return ""


def build_outbound(message: Message) -> OutboundMessage:
    conversation = message.conversation
    meta = message.metadata
    attachments = []
    for attachment in message.attachments.all():
        data = b""
        if attachment.file:
            with attachment.file.open("rb") as fh:
                data = fh.read()
        # Providers that fetch media by URL (Instagram always, WhatsApp and Messenger by link) get
        # a signed, expiring link: the files are not public (see files.py).
        url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{signed_url(attachment)}" if attachment.file else ""
        attachments.append(OutboundAttachment(filename=attachment.filename, content_type=attachment.content_type,
                                              data=data, url=url))
    template = None
    if meta.get("template"):
        t = meta["template"]
        template = TemplateRef(name=t["name"], language=t.get("language", "en_US"), parameters=list(t.get("parameters", [])))
    # an e-mail without a subject of its own (a conversation started by an agent) gets one in the
    # customer's language, not the adapter's English fallback
    subject = conversation.subject or translated(gettext_noop("Your message"),
                                                 customer_language(conversation.contact, message.inbox))
    extra = {"subject": subject, "automated": bool(meta.get("automated"))}
    if message.inbox.channel_kind == ChannelKind.EMAIL:
        thread = list(conversation.messages.filter(provider_message_id__isnull=False, is_private_note=False)
                      .exclude(pk=message.pk).order_by("created_at").values_list("provider_message_id", flat=True))
        last_in = (conversation.messages.filter(direction=Message.Direction.INCOMING, provider_message_id__isnull=False)
                   .order_by("-created_at").values_list("provider_message_id", flat=True).first())
        extra.update({"in_reply_to": last_in or (thread[-1] if thread else ""), "references": thread[-20:],
                      "reply_token": conversation.thread_token})
    tag = ""
    adapter_class = adapter_class_for(message.inbox.channel_kind)
    if getattr(adapter_class, "human_agent_window_hours", None):
        # Messenger and Instagram: past the standard window, the HUMAN_AGENT tag (when enabled)
        # covers up to 7 days.
        last_in = conversation.last_incoming_at
        window = dt.timedelta(hours=getattr(adapter_class, "window_hours", 24))
        if (message.inbox.channel_config.get("human_agent_tag") and last_in
                and timezone.now() - last_in > window):
            tag = "HUMAN_AGENT"
    return OutboundMessage(
        recipient_address=recipient_address(message),
        text=message.text,
        attachments=attachments,
        quick_replies=[QuickReply(title=q["title"], payload=q["payload"]) for q in meta.get("quick_replies", [])],
        template=template,
        reply_to_provider_id=message.reply_to.provider_message_id if message.reply_to_id and message.reply_to.provider_message_id else "",
        sender_name=agent_name(message.author) if message.author_id else "",
        messaging_tag=tag,
        local_id=str(message.pk),
        metadata=extra,
    )


def deliver(message_id: int, *, now: dt.datetime | None = None) -> str:
    """Send one message. Returns what happened: skipped / sent / retry / failed."""
    message = services.claim_for_sending(message_id=message_id)
    if message is None:
        return "skipped"
    try:
        outbound = build_outbound(message)
        if not outbound.recipient_address:
            raise PermanentSendError("The contact has no address on this channel.", code="no_address")
        result = get_adapter(message.inbox).send(outbound)
    except PermanentSendError as exc:
        services.record_send_failure(message=message, error=str(exc), code=exc.code)
        return "failed"
    except Exception as exc:  # temporary: network, 5xx, rate limits, and unexpected errors
        if not isinstance(exc, SendError):
            logger.exception("unexpected error sending message %s", message_id)
        code = getattr(exc, "code", "")
        if message.send_attempts >= settings.OUTBOUND_MAX_ATTEMPTS:
            services.record_send_failure(
                message=message, code=code,
                error=f"Gave up after {message.send_attempts} attempts: {exc}")
            return "failed"
        delay = getattr(exc, "retry_after", None) or backoff_seconds(message.send_attempts)
        retry_at = (now or timezone.now()) + dt.timedelta(seconds=delay)
        services.record_send_failure(message=message, error=f"Retrying: {exc}", code=code, retry_at=retry_at)
        queue.enqueue("inbox.deliver_message", message_id, eta=retry_at, after_commit=False)
        return "retry"
    services.record_send_success(message=message, provider_message_id=result.provider_message_id)
    if message.inbox.channel_kind == ChannelKind.WHATSAPP and result.metadata.get("wa_id"):
        services.contact_record_wa_id(contact=message.conversation.contact, wa_id=result.metadata["wa_id"],
                                      sent_to=outbound.recipient_address)
    if message.inbox.channel_kind == ChannelKind.WEBCHAT and message.sender_kind == Message.SenderKind.AGENT:
        queue.enqueue("inbox.email_copy_if_unseen", message_id, delay=settings.WEBCHAT_EMAIL_COPY_DELAY,
                      after_commit=False)
    return "sent"


def email_inbox_for(inbox) -> "Inbox | None":
    """The mailbox that sends copies of a web chat's replies: the one named in the widget
    settings (``email_inbox_id``), else the first enabled e-mail inbox that can send."""
    from .models import Inbox

    candidates = Inbox.objects.filter(channel_kind=ChannelKind.EMAIL, enabled=True).order_by("pk")
    preferred = inbox.widget_settings.get("email_inbox_id")
    if preferred:
        candidates = candidates.filter(pk=preferred)
    return next((c for c in candidates if c.channel_config.get("smtp_host")), None)


def email_copy(message_id: int) -> str:
    """A web-chat visitor who left an e-mail address and has not seen an agent's reply gets it
    by e-mail too (the widget is closed, the customer has gone)."""
    message = Message.objects.select_related("conversation__contact", "conversation__inbox", "inbox", "author").get(pk=message_id)
    contact = message.conversation.contact
    if message.delivery_state == Message.Delivery.READ or message.metadata.get("email_copy"):
        return "seen"
    if not contact.email:
        return "no address"
    mailbox = email_inbox_for(message.inbox)
    if mailbox is None:
        return "no mailbox"
    outbound = OutboundMessage(
        recipient_address=contact.email, text=message.text,
        sender_name=agent_name(message.author) if message.author_id else "",
        local_id=f"webchat-copy-{message.pk}",
        metadata={"subject": translated(gettext_noop("Your conversation with %(shop)s"),
                                        customer_language(contact, message.inbox)) % {"shop": message.inbox.name}},
    )
    try:
        result = get_adapter(mailbox).send(outbound)
    except SendError as exc:
        services.message_record_email_copy(message=message, address=contact.email, error=str(exc))
        return "failed"
    services.message_record_email_copy(message=message, address=contact.email,
                                       provider_message_id=result.provider_message_id)
    return "sent"
