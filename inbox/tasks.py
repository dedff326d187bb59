"""Background work on Huey (see docs/architecture.md for why Huey).

Tasks only call services and the inbound/outbound pipelines; nothing imports this module but
the app's ``ready()``, so its imports run one way. Each task is registered with ``queue.register``
under the name the write path enqueues it by. The database, not the queue, is
the record of what is left to do: ``sweep`` runs every minute and re-enqueues anything a lost
task left behind (a worker killed mid-job), so a restart loses no work.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from channels_adapters.base import InboundAttachment
from channels_adapters.registry import get_adapter

from . import inbound_pump, queue, services, webhook_events
from .inbound import process_webhook_event
from .inbound_batch import process_waiting_events
from .mail_polling import due_inboxes, poll_inbox, poll_interval
from .models import AgentConnection, Attachment, Contact, Conversation, Inbox, Message, WebhookEvent
from .outbound import deliver, email_copy, recipient_address

logger = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(seconds=60)
SENDING_UNCERTAIN_AFTER = dt.timedelta(minutes=5)


@queue.register("inbox.deliver_message")
@db_task(priority=5)
def deliver_message(message_id: int) -> str:
    return deliver(message_id)


@queue.register("inbox.process_webhook")
@db_task(priority=10)
def process_webhook(event_id: int) -> None:
    """Kept for tasks queued before the pump existed: the webhook request enqueues nothing now
    (``inbox.inbound_pump``)."""
    process_waiting_events(event_id)


@HUEY.on_startup("webhook-pump")
def start_webhook_pump() -> None:
    """Called in each worker thread as it starts. Every worker process (``serve``'s in-process
    worker, ``run_huey``) runs one pump thread that processes stored webhook events in batches.
    Worker threads write in the background lane of the embedded SQLite write queue: a webhook
    request's INSERT goes before their long transactions (``config/sqlite/base.py``)."""
    threading.current_thread().background_writer = True
    inbound_pump.start()


@HUEY.on_shutdown("webhook-pump")
def stop_webhook_pump() -> None:
    inbound_pump.stop()


@queue.register("inbox.run_inbound_handlers")
@db_task(priority=5)
def run_inbound_handlers(message_id: int, auto_reply: bool = True) -> None:
    services.run_inbound_handlers_for(message_id, auto_reply=auto_reply)


@queue.register("inbox.run_inbound_handlers_batch")
@db_task(priority=5)
def run_inbound_handlers_batch(message_ids: list[int], auto_reply: bool = True) -> None:
    """The handlers of one pump batch's customer messages (the bot encodes their questions together)."""
    services.run_inbound_handlers_for_many(message_ids, auto_reply=auto_reply)


@queue.register("inbox.download_attachment")
@db_task()
def download_attachment(attachment_id: int) -> None:
    attachment = Attachment.objects.select_related("message__inbox").filter(pk=attachment_id).first()
    if attachment is None or attachment.status != Attachment.Status.PENDING:
        return
    item = InboundAttachment(kind=attachment.kind, content_type=attachment.content_type, filename=attachment.filename,
                             url=attachment.source_url, provider_media_id=attachment.provider_media_id)
    try:
        fetched = get_adapter(attachment.message.inbox).fetch_media(item)
    except Exception as exc:
        logger.warning("media download for attachment %s failed: %s", attachment_id, exc)
        # Provider errors say whether trying again can help; anything else (a network
        # failure, a bug) is treated as temporary and retried a bounded number of times.
        services.attachment_download_failed(attachment=attachment, error=str(exc) or type(exc).__name__,
                                            temporary=not getattr(exc, "permanent", False))
        return
    services.attachment_store_download(attachment=attachment, data=fetched.data, content_type=fetched.content_type,
                                       error="" if fetched.data is not None else "no data")


def sweep(*, now: dt.datetime | None = None, purge: bool = True) -> dict[str, int]:
    """Finish what lost tasks left: due sends, unprocessed webhook events, customer messages
    whose handlers (the bot) never ran, stuck sends, snoozed conversations whose time came,
    stale agent connections; retry failed events and media downloads that are due; delete raw
    events past their retention (``purge``)."""
    now = now or timezone.now()
    counts = {"woken": services.wake_snoozed(now=now)}
    due = list(Message.objects.filter(delivery_state="queued", next_attempt_at__lte=now - STALE_AFTER)
               .values_list("pk", flat=True)[:500])
    for pk in due:
        deliver_message(pk)
    counts["requeued_sends"] = len(due)
    stuck = Message.objects.filter(delivery_state="sending", claimed_at__lte=now - SENDING_UNCERTAIN_AFTER)
    counts["uncertain_sends"] = 0
    for message in stuck.select_related("conversation", "inbox"):
        if message.inbox.channel_kind in ("email", "webchat"):
            # Idempotent channels: e-mail reuses the same Message-ID, the widget dedupes by id.
            if services.requeue_uncertain_send(message=message, now=now):
                deliver_message(message.pk)
        else:
            services.record_send_failure(
                message=message, code="uncertain",
                error="The worker stopped during this send, so it may or may not have arrived. "
                      "Check with the customer before sending again.")
        counts["uncertain_sends"] += 1
    events = list(WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lte=now - STALE_AFTER,
                                              attempts__lt=settings.WEBHOOK_MAX_ATTEMPTS).values_list("pk", flat=True)[:200])
    for pk in events:
        process_webhook_event(pk)
    counts["reprocessed_events"] = len(events)
    retries = webhook_events.due_retries(now=now)
    for pk in retries:
        process_webhook_event(pk)
    counts["retried_events"] = len(retries)
    downloads = list(Attachment.objects.filter(status=Attachment.Status.PENDING, next_attempt_at__lte=now)
                     .values_list("pk", flat=True)[:200])
    for pk in downloads:
        download_attachment(pk)
    counts["retried_downloads"] = len(downloads)
    counts["purged_events"] = webhook_events.purge_old_events(now=now) if purge else 0
    due = services.messages_due_for_handlers(older_than=now - STALE_AFTER)
    for pk in due:
        run_inbound_handlers(pk)
    counts["handlers_rerun"] = len(due)
    counts["stale_connections"] = AgentConnection.objects.filter(
        last_seen__lt=now - services.PRESENCE_TIMEOUT * 2).delete()[0]
    return counts


@db_periodic_task(crontab(minute="*"))
def sweep_task() -> None:
    counts = sweep(purge=False)
    if any(counts.values()):
        logger.info("sweep: %s", counts)


@db_periodic_task(crontab(minute="17"))
def purge_webhook_events_task() -> None:
    """Hourly: raw events past ``WEBHOOK_EVENT_RETENTION_DAYS`` (processed and rejected ones)."""
    deleted = webhook_events.purge_old_events()
    if deleted:
        logger.info("deleted %s raw webhook events past their retention", deleted)


@queue.register("inbox.poll_mailbox")
@db_task()
def poll_mailbox(inbox_id: int) -> None:
    inbox = Inbox.objects.filter(pk=inbox_id, enabled=True).first()
    if inbox is None:
        return
    with HUEY.lock_task(f"poll-mailbox-{inbox_id}"):
        poll_inbox(inbox)


@db_periodic_task(crontab(minute="*"))
def poll_mailboxes_task() -> None:
    """Every minute: poll the mailboxes that are due; intervals under a minute get extra polls
    spread over the minute."""
    now = timezone.now()
    for inbox in due_inboxes(now=now):
        poll_mailbox(inbox.pk)
        interval = poll_interval(inbox)
        for offset in range(interval, 60, max(interval, 5)):
            poll_mailbox.schedule(args=(inbox.pk,), delay=offset)


@queue.register("inbox.send_channel_action")
@db_task()
def send_channel_action(conversation_id: int, action: str) -> None:
    """Sender actions: ``typing_on`` (Messenger) and ``mark_seen`` (Messenger ``mark_seen``,
    WhatsApp read receipt of the latest customer message). Best effort: never retried."""
    conversation = Conversation.objects.select_related("inbox").filter(pk=conversation_id).first()
    if conversation is None:
        return
    adapter = get_adapter(conversation.inbox)
    last_in = conversation.messages.filter(direction=Message.Direction.INCOMING).order_by("-created_at").first()
    try:
        if conversation.inbox.channel_kind == "whatsapp":
            if action == "mark_seen" and last_in and last_in.provider_message_id:
                adapter.mark_read(last_in.provider_message_id)
        elif last_in is not None:
            adapter.send_action(recipient_address(last_in), action)
    except Exception as exc:
        logger.info("sender action %s for conversation %s failed: %s", action, conversation_id, exc)


@queue.register("inbox.fetch_contact_profile")
@db_task()
def fetch_contact_profile(inbox_id: int, contact_id: int, address: str) -> None:
    """Messenger and Instagram give only an id; the name (and Instagram's @username) come from
    the profile API, once, after the customer's first message."""
    inbox, contact = Inbox.objects.filter(pk=inbox_id).first(), Contact.objects.filter(pk=contact_id).first()
    if inbox is None or contact is None or contact.name:
        return
    try:
        profile = get_adapter(inbox).fetch_profile(address)
    except Exception as exc:
        logger.info("profile lookup for %s failed: %s", address, exc)
        return
    fields = {"name": profile.get("name", "")}
    if profile.get("profile_pic"):
        fields["avatar_url"] = profile["profile_pic"][:200]
    if profile.get("username"):
        fields["attributes"] = {**contact.attributes, f"{inbox.channel_kind}_username": profile["username"]}
    if fields["name"]:
        services.contact_update(contact=contact, **fields)


@queue.register("inbox.email_copy_if_unseen")
@db_task()
def email_copy_if_unseen(message_id: int) -> str:
    return email_copy(message_id)
