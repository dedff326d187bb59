"""The one write path of the retention app: surveys, orders, follow-up sends, opt-outs.

Everything that reaches a customer goes through ``inbox.services.send_reply`` (as the bot, marked
automated). Contacts are created and changed only through ``inbox.services``. Each function
runs in a transaction; opt-out is checked with the contact row locked, inside the transaction
that records a send, so an opt-out racing a send wins (see docs/retention.md).

One module per area, every public name importable from ``retention.services``: ``common``
(opt-out, quiet hours, language, automatic sends), ``surveys``, ``orders`` (customers and
orders), ``shop_orders`` (orders from a shop platform: newer states only), ``followups``, ``config`` (per-inbox settings and rules).
"""

from .common import (
    COMMENT_WINDOW,
    OPT_OUT_WORDS,
    SURVEY_PAYLOAD_PREFIX,
    RetentionError,
    send_quietly,
    contact_opt_out,
    is_opt_out_text,
    next_send_time,
    opt_out_from_message,
    pick_language,
    settings_for,
)
from .config import followup_rule_create, inbox_settings_update
from .followups import (
    followup_conversation,
    followup_new_conversation_inbox,
    followup_send,
    followup_text,
)
from .orders import ORDER_FIELDS, customer_upsert, find_contact, order_upsert
from .shop_orders import order_apply_tracking, order_cancel_from_shop, order_sync_from_shop
from .surveys import survey_add_comment, survey_answer, survey_link, survey_schedule, survey_send

__all__ = [
    "COMMENT_WINDOW", "OPT_OUT_WORDS", "ORDER_FIELDS", "SURVEY_PAYLOAD_PREFIX", "RetentionError", "send_quietly",
    "contact_opt_out", "customer_upsert", "find_contact", "followup_conversation", "followup_new_conversation_inbox",
    "followup_rule_create", "followup_send", "followup_text", "inbox_settings_update", "is_opt_out_text",
    "next_send_time", "opt_out_from_message", "order_apply_tracking", "order_cancel_from_shop", "order_sync_from_shop", "order_upsert", "pick_language", "settings_for", "survey_add_comment",
    "survey_answer", "survey_link", "survey_schedule", "survey_send",
]
