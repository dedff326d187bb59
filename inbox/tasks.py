"""Background work on Huey (see docs/architecture.md for why Huey).

Tasks only call services and the inbound/outbound pipelines. The database, not the queue, is
the record of what is left to do: ``sweep`` runs every minute and re-enqueues anything a lost
task left behind (a worker killed mid-job), so a restart loses no work.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

logger = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(seconds=60)
SENDING_UNCERTAIN_AFTER = dt.timedelta(minutes=5)


@db_task()
def deliver_message(message_id: int) -> str:
    from .outbound import deliver

    return deliver(message_id)


@db_task()
def process_webhook(event_id: int) -> None:
    from .inbound import process_webhook_event

    process_webhook_event(event_id)


@db_task()
def download_attachment(attachment_id: int) -> None:
    from channels_adapters.registry import get_adapter
    from channels_adapters.base import InboundAttachment

    from . import services
    from .models import Attachment

    attachment = Attachment.objects.select_related("message__inbox").filter(pk=attachment_id).first()
    if attachment is None or attachment.status != Attachment.Status.PENDING:
        return
    item = InboundAttachment(kind=attachment.kind, content_type=attachment.content_type, filename=attachment.filename,
                             url=attachment.source_url, provider_media_id=attachment.provider_media_id)
    try:
        fetched = get_adapter(attachment.message.inbox).fetch_media(item)
    except Exception as exc:
        logger.warning("media download for attachment %s failed: %s", attachment_id, exc)
        services.attachment_store_download(attachment=attachment, data=None, error=str(exc))
        return
    if fetched.content_type and not attachment.content_type:
        attachment.content_type = fetched.content_type
    services.attachment_store_download(attachment=attachment, data=fetched.data,
                                       error="" if fetched.data is not None else "no data")


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Finish what lost tasks left: due sends, unprocessed webhook events, stuck sends,
    snoozed conversations whose time came, stale agent connections."""
    from . import services
    from .inbound import process_webhook_event
    from .models import AgentConnection, Message, WebhookEvent

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
            Message.objects.filter(pk=message.pk, delivery_state="sending").update(delivery_state="queued", next_attempt_at=now)
            deliver_message(message.pk)
        else:
            services.record_send_failure(
                message=message, code="uncertain",
                error="The worker stopped during this send, so it may or may not have arrived. "
                      "Check with the customer before sending again.")
        counts["uncertain_sends"] += 1
    events = list(WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lte=now - STALE_AFTER,
                                              attempts__lt=5).values_list("pk", flat=True)[:200])
    for pk in events:
        process_webhook_event(pk)
    counts["reprocessed_events"] = len(events)
    counts["stale_connections"] = AgentConnection.objects.filter(
        last_seen__lt=now - services.PRESENCE_TIMEOUT * 2).delete()[0]
    return counts


@db_periodic_task(crontab(minute="*"))
def sweep_task() -> None:
    counts = sweep()
    if any(counts.values()):
        logger.info("sweep: %s", counts)
