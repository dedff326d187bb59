"""The one write path: every contact, conversation and message is created or changed here.

Adapters, websocket consumers, API views, the bot, retention and tasks call these functions;
none of them saves domain rows itself. Each function runs in a transaction and announces what
changed through ``broadcast`` (``events.send_event_on_commit``). One module per area, all
public names importable from ``inbox.services`` (see docs/architecture.md, "Where does X live"):

- ``contacts``: contacts and identities, merging
- ``phone_identity``: canonical phone numbers, one contact per phone line, healing duplicates
- ``receiving``: customer messages coming in and their attachments
- ``message_changes``: reactions, edits, deletions, channel notices (a customer's new number)
- ``downloads``: provider media downloads that failed (retries, the agent's "Download again")
- ``routing``: online agents, auto-assignment, assignment, hand-off
- ``conversations``: status, labels, priority, read marks, typing, business-started conversations
- ``messages``: system lines and private notes
- ``replies``: outgoing messages and the customer-service window
- ``delivery``: delivery states and provider delivery reports
- ``presence``: agents' sockets and presence
- ``channel_state``: an inbox's channel bookkeeping
- ``hooks``: the handlers other apps plug in (``INBOUND_MESSAGE_HANDLERS``, ``CONVERSATION_RESOLVED_HANDLERS``)
"""

from .channel_state import inbox_record_channel_state
from .contacts import (
    contact_add_identity,
    contact_for_identity,
    contact_update,
    merge_contacts,
    normalize_email,
    normalize_phone,
)
from .conversations import (
    conversation_bot_miss,
    conversation_reset_bot_misses,
    mark_read,
    reopen,
    resolve,
    set_labels,
    set_priority,
    set_status,
    snooze,
    start_conversation,
    typing,
    wake_snoozed,
)
from .delivery import (
    apply_status_update,
    claim_for_sending,
    message_record_email_copy,
    record_send_failure,
    record_send_success,
    requeue_uncertain_send,
)
from .downloads import attachment_download_failed, attachment_retry_download
from .errors import AssignmentConflict, MergeRefused, ServiceError, WindowClosed
from .hooks import messages_due_for_handlers, run_inbound_handlers_for, run_inbound_handlers_for_many
from .messages import add_note, add_system_message
from .presence import (
    PRESENCE_TIMEOUT,
    agent_connected,
    agent_disconnected,
    agent_heartbeat,
    agent_presence,
)
from .phone_identity import contact_for_phone, contact_record_wa_id, heal_phone_duplicates
from .receiving import InboundResult, attachment_store_download, receive_inbound
from .replies import retry_send, send_reply, service_window
from .routing import assign, hand_off, online_agent_ids

__all__ = [
    "PRESENCE_TIMEOUT", "AssignmentConflict", "InboundResult", "MergeRefused", "ServiceError", "WindowClosed",
    "add_note", "add_system_message", "agent_connected", "agent_disconnected", "agent_heartbeat",
    "agent_presence", "apply_status_update", "assign", "attachment_download_failed", "attachment_retry_download",
    "attachment_store_download", "claim_for_sending",
    "contact_add_identity", "contact_for_identity", "contact_for_phone", "contact_record_wa_id", "contact_update",
    "conversation_bot_miss", "conversation_reset_bot_misses", "hand_off", "heal_phone_duplicates",
    "inbox_record_channel_state", "mark_read", "merge_contacts",
    "message_record_email_copy", "messages_due_for_handlers", "normalize_email", "normalize_phone", "online_agent_ids", "receive_inbound",
    "record_send_failure", "record_send_success", "reopen", "requeue_uncertain_send", "resolve", "retry_send",
    "run_inbound_handlers_for", "run_inbound_handlers_for_many", "send_reply", "service_window", "set_labels", "set_priority", "set_status", "snooze", "start_conversation",
    "typing", "wake_snoozed",
]
