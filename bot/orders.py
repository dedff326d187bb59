"""Order answers: "where is my order?" answered with the customer's real order.

A canned answer of kind ``order_status`` (or any answer whose text uses ``{{order.*}}``)
is filled from the customer's most recent order, through the provider named by
``settings.BOT_ORDER_PROVIDER`` (``retention.orders_for_bot``; imported by name so ``bot``
does not depend on ``retention``). When the contact has no order, the bot asks for the order
number and the e-mail used at checkout, with an "I don't know" button; the provider reveals
an order only when two facts belong together. Late, cancelled and refunded orders are
answered and then handed to a person. See docs/shops.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from importlib import import_module
from typing import Any

from django.conf import settings
from django.utils import timezone


PAYLOAD_UNKNOWN = "bot:order:unknown"
#: How long the bot waits for the order number after asking for it.
ASK_WINDOW = dt.timedelta(minutes=30)
HANDOFF_REASON = "order_issue"

_ORDER_VARIABLE = re.compile(r"[ \t]*\{\{\s*order\.(\w+)\s*\}\}")

STATUS_WORDS = {
    "pending": {"pt": "aguardando pagamento", "es": "pendiente de pago", "en": "awaiting payment"},
    "paid": {"pt": "pago, em preparação", "es": "pagado, en preparación", "en": "paid, being prepared"},
    "shipped": {"pt": "enviado", "es": "enviado", "en": "shipped"},
    "delivered": {"pt": "entregue", "es": "entregado", "en": "delivered"},
    "cancelled": {"pt": "cancelado", "es": "cancelado", "en": "cancelled"},
    "refunded": {"pt": "reembolsado", "es": "reembolsado", "en": "refunded"},
}

TEXTS = {
    "order_ask": {
        "pt": "Para eu encontrar seu pedido, me envie o número do pedido e o e-mail usado na compra.",
        "es": "Para encontrar tu pedido, envíame el número de pedido y el e-mail que usaste en la compra.",
        "en": "To find your order, send me the order number and the e-mail you used at checkout.",
    },
    "order_need_more": {
        "pt": "Preciso também do e-mail usado na compra (ou do número do pedido) para confirmar que o pedido é seu.",
        "es": "Necesito también el e-mail de la compra (o el número de pedido) para confirmar que el pedido es tuyo.",
        "en": "I also need the e-mail used at checkout (or the order number) to confirm the order is yours.",
    },
    "order_no_match": {
        "pt": "Não encontrei um pedido com esses dados. Confira o número e o e-mail e tente de novo.",
        "es": "No encontré un pedido con esos datos. Revisa el número y el e-mail e inténtalo de nuevo.",
        "en": "I couldn't find an order with those details. Check the number and the e-mail and try again.",
    },
    "button_unknown": {"pt": "Não sei", "es": "No lo sé", "en": "I don't know"},
    "summary": {"pt": "Pedido {number}: {status}.", "es": "Pedido {number}: {status}.", "en": "Order {number}: {status}."},
    "carrier": {"pt": "Transportadora: {carrier}.", "es": "Transportista: {carrier}.", "en": "Carrier: {carrier}."},
    "tracking": {"pt": "Rastreio: {url}", "es": "Seguimiento: {url}", "en": "Tracking: {url}"},
    "tracking_number": {"pt": "Código de rastreio: {number}", "es": "Código de seguimiento: {number}",
                        "en": "Tracking number: {number}"},
    "expected": {"pt": "Previsão de entrega: {date}.", "es": "Entrega estimada: {date}.",
                 "en": "Expected delivery: {date}."},
    "late": {"pt": "O prazo de entrega já passou; vou chamar uma pessoa para verificar.",
             "es": "La fecha de entrega ya pasó; voy a pedirle a una persona que lo revise.",
             "en": "The expected delivery date has passed; I'm asking a person to look into it."},
}


def _text(key: str, language: str, settings_row=None) -> str:
    own = ((getattr(settings_row, "texts", None) or {}).get(key) or {}) if settings_row is not None else {}
    if isinstance(own, dict) and own.get(language):
        return own[language]
    table = TEXTS[key]
    return table.get(language) or table["en"]


def provider():
    """The order provider module, or None when order answers are not configured."""
    path = getattr(settings, "BOT_ORDER_PROVIDER", "")
    return import_module(path) if path else None


def is_order_answer(answer) -> bool:
    return getattr(answer, "kind", "") == "order_status" or "{{order." in (answer.text or "").replace(" ", "")


def format_date(day: dt.date | None, language: str) -> str:
    if day is None:
        return ""
    return day.strftime("%d/%m/%Y") if language in ("pt", "es") else day.strftime("%b %d, %Y").replace(" 0", " ")


def order_values(facts, language: str) -> dict[str, str]:
    """The ``{{order.*}}`` variables of one order, in the customer's language."""
    return {
        "number": facts.number,
        "status": STATUS_WORDS.get(facts.status, {}).get(language) or STATUS_WORDS.get(facts.status, {}).get("en", facts.status),
        "tracking_url": facts.tracking_url,
        "tracking_number": facts.tracking_number,
        "carrier": facts.carrier,
        "expected_at": format_date(facts.expected_at, language),
    }


def fill_order_variables(text: str, facts, language: str) -> str:
    """Fill ``{{order.number}}`` and friends; an empty value removes the space before it,
    unknown names stay as written (like ``bot.engine.fill_variables``)."""
    values = order_values(facts, language) if facts is not None else {}

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if facts is not None and name not in values:
            return match.group(0)
        value = values.get(name, "")
        prefix = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip(" \t"))]
        return prefix + value if value else ""

    return _ORDER_VARIABLE.sub(replace, text)


def summary(facts, language: str, settings_row=None) -> str:
    values = order_values(facts, language)
    lines = [_text("summary", language, settings_row).format(number=values["number"], status=values["status"])]
    if values["carrier"]:
        lines.append(_text("carrier", language, settings_row).format(carrier=values["carrier"]))
    if values["tracking_url"]:
        lines.append(_text("tracking", language, settings_row).format(url=values["tracking_url"]))
    elif values["tracking_number"]:
        lines.append(_text("tracking_number", language, settings_row).format(number=values["tracking_number"]))
    if values["expected_at"] and facts.status not in ("delivered", "cancelled", "refunded"):
        lines.append(_text("expected", language, settings_row).format(date=values["expected_at"]))
    return "\n".join(lines)


def render(answer_text: str, facts, language: str, settings_row=None) -> str:
    """The answer for one order: the admin's text with its variables filled, or, when it uses
    none, that text followed by the built-in summary (number, status, carrier, link, date)."""
    if "{{" in answer_text and _ORDER_VARIABLE.search(answer_text):
        return fill_order_variables(answer_text, facts, language).strip()
    return "\n\n".join(part for part in (answer_text.strip(), summary(facts, language, settings_row)) if part)


def needs_person(facts, today: dt.date) -> str:
    """Why this order should go to a person after the answer, or ""."""
    if facts.status in ("cancelled", "refunded"):
        return f"order {facts.number} is {facts.status}"
    if facts.is_late(today):
        return f"order {facts.number} is late (expected {facts.expected_at.isoformat()})"
    return ""


# --- the conversation side (called by bot.engine) --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OrderReply:
    text: str
    handoff_detail: str = ""  # non-empty: hand the conversation to a person after the answer


def reply_for(turn, answer, facts) -> OrderReply:
    text = render(turn_text(turn, answer), facts, turn.language, turn.settings)
    today = timezone.localdate()
    if facts.is_late(today):
        text += "\n\n" + _text("late", turn.language, turn.settings)
    return OrderReply(text, needs_person(facts, today))


def turn_text(turn, answer) -> str:
    from .engine import fill_variables

    return fill_variables(answer.text or "", contact=turn.conversation.contact, inbox=turn.inbox)


def prepare_answer(turn, answer) -> OrderReply | None:
    """For ``_Turn.send_answer``: the reply with the customer's latest order, or None when
    the bot asked for the order number instead (nothing else is to be sent then)."""
    found = provider()
    if found is None:
        return OrderReply(fill_order_variables(turn_text(turn, answer), None, turn.language))
    facts = found.latest_for_contact(turn.conversation.contact_id)
    if facts is not None:
        return reply_for(turn, answer, facts)
    ask(turn, answer, "asked", "order_ask")
    return None


def ask(turn, answer, reason: str, text_key: str) -> None:
    from .models import BotDecisionLog

    log = turn.log(BotDecisionLog.Action.ORDER, reason, answer_id=answer.pk)
    reply = turn.say(_text(text_key, turn.language, turn.settings), quick_replies=[
        {"title": _text("button_unknown", turn.language, turn.settings), "payload": PAYLOAD_UNKNOWN},
        turn.human_button()])
    from . import services as bot_services

    bot_services.decision_log_set_reply(log=log, reply=reply)


def pending_ask(conversation):
    """The bot's open question for an order number in this conversation, or None."""
    from .models import BotDecisionLog

    last = BotDecisionLog.objects.filter(conversation=conversation).select_related("answer").first()
    if (last is None or last.action != BotDecisionLog.Action.ORDER or last.reason not in ("asked", "retry")
            or last.created_at < timezone.now() - ASK_WINDOW or last.answer is None):
        return None
    return last


def continue_lookup(turn) -> bool:
    """For ``bot.engine.handle_incoming``: the customer's reply to "send me your order
    number". True when handled; False lets the message be read as a new question."""
    found = provider()
    pending = pending_ask(turn.conversation) if found is not None else None
    if pending is None:
        return False
    from .models import BotDecisionLog

    guessed, turn.language = turn.language, pending.language or turn.language  # "#2002" has no language

    payload = (turn.message.metadata or {}).get("quick_reply_payload", "") or ""
    if payload == PAYLOAD_UNKNOWN:
        turn.log(BotDecisionLog.Action.ORDER, "unknown", answer_id=pending.answer_id)
        turn.hand_off(HANDOFF_REASON, detail="the customer does not know the order number")
        return True
    if payload.startswith("bot:"):
        turn.language = guessed
        return False
    facts, outcome = found.lookup(text=turn.text, contact_id=turn.conversation.contact_id)
    if outcome == "nothing":
        turn.language = guessed  # a new question: read it as one
        return False
    if facts is None:
        if pending.reason == "retry":
            turn.log(BotDecisionLog.Action.ORDER, outcome, answer_id=pending.answer_id)
            turn.hand_off(HANDOFF_REASON, detail="the order could not be verified")
        else:
            ask(turn, pending.answer, "retry", "order_no_match" if outcome == "no_match" else "order_need_more")
        return True
    turn.send_answer(pending.answer, reason="order_verified", order_facts=facts)
    return True


def latest_order(contact_id: int):
    """The facts of the contact's latest order (``retention.orders_for_bot.OrderFacts``), or None."""
    found = provider()
    return found.latest_for_contact(contact_id) if found is not None else None


def composer_variables(contact_id: int, language: str) -> list[dict[str, Any]]:
    """The ``{{order.*}}`` values of the customer's recent orders, for the agent's composer."""
    found = provider()
    if found is None:
        return []
    return [{"number": facts.number, "values": order_values(facts, language)}
            for facts in found.recent_for_contact(contact_id)]


#: Words an agent may type after "/" to get the customer's orders in the composer.
COMPOSER_WORDS = ("pedido", "order", "orden", "rastreio", "tracking", "seguimiento", "entrega", "delivery")


def composer_items(contact_id: int, language: str, query: str) -> list[dict[str, str]]:
    """The customer's recent orders as quick replies (the built-in summary of each), when the
    agent's query is empty, names an order word, or is part of an order number."""
    found = provider()
    if found is None:
        return []
    query = query.strip().lower().lstrip("#")
    items = []
    for facts in found.recent_for_contact(contact_id, limit=3):
        number = facts.number.lstrip("#").lower()
        if query and not (any(word.startswith(query) for word in COMPOSER_WORDS) or query in number):
            continue
        words = STATUS_WORDS.get(facts.status, {})
        items.append({"id": f"order:{facts.number}", "title": f"{_text('summary', language).split(' ')[0]} "
                      f"{facts.number} · {words.get(language) or words.get('en', facts.status)}",
                      "text": summary(facts, language)})
    return items
