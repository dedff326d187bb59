"""Bookkeeping of an inbox's channel (IMAP UIDs, last error), shown in the admin."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import Inbox


@transaction.atomic
def inbox_record_channel_state(*, inbox: Inbox, state: dict[str, Any] | None = None, error: str | None = None) -> Inbox:
    """Save an adapter's bookkeeping (e.g. IMAP UIDs) and its last error, shown in the admin.
    ``error=""`` clears the error."""
    inbox = Inbox.objects.select_for_update().get(pk=inbox.pk)
    fields = []
    if state is not None:
        inbox.channel_state = state
        fields.append("channel_state")
    if error is not None:
        inbox.last_error = error[:2000]
        inbox.last_error_at = timezone.now() if error else None
        fields += ["last_error", "last_error_at"]
    if fields:
        inbox.save(update_fields=fields)
    return inbox

