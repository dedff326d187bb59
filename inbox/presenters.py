"""Plain-dict views of the models for websocket events and the widget.

Text is sent as text: browsers insert it with ``textContent``, never as HTML.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from . import delivery_errors, system_messages
from .models import Attachment, Conversation, Message


def agent_name(user) -> str:
    if user is None:
        return ""
    profile = getattr(user, "agent_profile", None)
    return (profile.display_name if profile and profile.display_name else "") or user.get_full_name() or user.get_username()


def _avatar(user) -> str:
    profile = getattr(user, "agent_profile", None)
    return profile.avatar_url if profile else ""


def attachment_payload(attachment: Attachment, *, for_customer: bool = False) -> dict[str, Any]:
    """Files are served by permission-checked views, never from a public media folder."""
    if not attachment.file:
        url = ""
    elif for_customer:
        try:
            url = reverse("widget-attachment", args=[attachment.pk])
        except NoReverseMatch:  # the widget's URLs are not installed
            url = ""
    else:
        url = reverse("files:attachment", args=[attachment.pk])
    return {
        "id": attachment.pk,
        "kind": attachment.kind,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "status": attachment.status,
        "error": attachment.error if not for_customer else "",
        "url": url,
    }


def _text_for_reader(message: Message, *, for_customer: bool) -> str:
    """System lines in the reader's language: the active one for agents; for the widget the
    customer's, rendered when the line was written (see add_system_message)."""
    if message.sender_kind != Message.SenderKind.SYSTEM or "system" not in (message.metadata or {}):
        return message.text
    if not for_customer:
        return system_messages.text_of(message)
    return message.metadata["system"].get("customer_text") or message.text


def message_payload(message: Message, *, for_customer: bool = False) -> dict[str, Any]:
    data = {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "contact_id": message.conversation.contact_id,
        "direction": message.direction,
        "sender_kind": message.sender_kind,
        "author_name": agent_name(message.author) if message.author_id else "",
        "author_avatar_url": _avatar(message.author) if message.author_id else "",
        "text": _text_for_reader(message, for_customer=for_customer),
        "created_at": message.created_at.isoformat(),
        "attachments": [attachment_payload(a, for_customer=for_customer) for a in message.attachments.all()],
        "quick_replies": message.metadata.get("quick_replies", []),
        "reactions": message.metadata.get("reactions", {}),
        "delivery_state": message.delivery_state,
        "reply_to": {"id": message.reply_to_id, "text": message.reply_to.text} if message.reply_to_id else None,
    }
    if not for_customer:
        data.update({
            "is_private_note": message.is_private_note,
            "html": message.html,
            "channel_kind": message.inbox.channel_kind,
            "delivery_error": message.delivery_error,
            "delivery_error_code": message.delivery_error_code,
            "delivery_error_reason": delivery_errors.reason(channel_kind=message.inbox.channel_kind,
                                                            code=message.delivery_error_code),
            "metadata": {k: v for k, v in message.metadata.items() if k not in {"raw"}},
        })
    return data


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "inbox_id": conversation.inbox_id,
        "channel_kind": conversation.inbox.channel_kind,
        "contact": {"id": conversation.contact_id, "name": str(conversation.contact)},
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "assignee_name": agent_name(conversation.assignee) if conversation.assignee_id else "",
        "priority": conversation.priority,
        "handoff_reason": conversation.handoff_reason,
        "handoff_detail": conversation.handoff_detail,
        "last_activity_at": conversation.last_activity_at.isoformat(),
        "last_message_preview": conversation.last_message_preview,
        "snoozed_until": conversation.snoozed_until.isoformat() if conversation.snoozed_until else None,
    }
