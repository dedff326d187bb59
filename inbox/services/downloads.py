"""Provider media downloads that failed: retried with backoff when the reason is temporary,
otherwise (or after ``MEDIA_DOWNLOAD_MAX_ATTEMPTS``) failed with the reason shown on the
message; an agent can ask for another try."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import queue
from ..models import Attachment, Message
from .broadcast import broadcast_message
from .errors import ServiceError

MAX_RETRY_DELAY = dt.timedelta(hours=1)


def _broadcast(attachment: Attachment) -> None:
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=attachment.message_id)
    broadcast_message(message, event="message.updated")


@transaction.atomic
def attachment_download_failed(*, attachment: Attachment, error: str, temporary: bool) -> Attachment:
    """Record a failed download attempt: a temporary failure stays pending with the next
    attempt scheduled (the sweep picks it up), a permanent one or the last attempt fails."""
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
    if attachment.status != Attachment.Status.PENDING:
        return attachment
    attachment.download_attempts += 1
    attachment.error = error[:255]
    if temporary and attachment.download_attempts < settings.MEDIA_DOWNLOAD_MAX_ATTEMPTS:
        delay = settings.MEDIA_DOWNLOAD_RETRY_BASE_SECONDS * 2 ** (attachment.download_attempts - 1)
        attachment.next_attempt_at = timezone.now() + min(dt.timedelta(seconds=delay), MAX_RETRY_DELAY)
    else:
        attachment.status, attachment.next_attempt_at = Attachment.Status.FAILED, None
    attachment.save(update_fields=["status", "error", "download_attempts", "next_attempt_at"])
    _broadcast(attachment)
    return attachment


@transaction.atomic
def attachment_retry_download(*, attachment: Attachment) -> Attachment:
    """An agent's "Download again" of a failed download: a fresh set of attempts."""
    rows = Attachment.objects.filter(pk=attachment.pk, status=Attachment.Status.FAILED).exclude(
        provider_media_id="", source_url="").update(
        status=Attachment.Status.PENDING, download_attempts=0, next_attempt_at=None)
    if not rows:
        raise ServiceError(_("Only a failed download can be tried again."))
    attachment = Attachment.objects.get(pk=attachment.pk)
    _broadcast(attachment)
    queue.enqueue("inbox.download_attachment", attachment.pk)
    return attachment
