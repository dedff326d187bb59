"""Why a send failed, in the reader's language.

The stored ``Message.delivery_error`` is the technical text of the failure, in English (the
provider's own words, an fbtrace id, an SMTP reply): right for logs, the API and support
tickets, wrong as the only thing a Portuguese-speaking agent reads. The adapter of the
message's channel names the reason for ``delivery_error_code`` as an English msgid marked for
the catalogs (``BaseAdapter.error_reason``); this module renders it in the active language.
Pages render it for their reader, and the agents' socket renders each live event again in each
agent's language (``inbox.consumers``), as for system lines.
"""

from __future__ import annotations

from django.utils.translation import gettext

from channels_adapters.registry import adapter_class_for


def reason(*, channel_kind: str, code: str) -> str:
    """The reason for a failure ``code`` in the active language, or "" when none is known."""
    if not code:
        return ""
    try:
        found = adapter_class_for(channel_kind).error_reason(code)
    except LookupError:
        return ""
    if found is None:
        return ""
    msgid, params = found
    try:
        return gettext(msgid) % params
    except (KeyError, TypeError, ValueError):
        return msgid % params


def reason_of_payload(data: dict) -> str:
    """``reason`` for a message payload (``presenters.message_payload``) in the active language."""
    return reason(channel_kind=data.get("channel_kind", ""), code=data.get("delivery_error_code", ""))
