"""The benchmark's Django side: demo rows for a load run, signed webhook bodies, and the figures
read back from the database (message rows, bot answers, queries per processed message).

Used by ``bench/load.py`` after ``django.setup()`` with the same settings as the servers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import time
import uuid

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "1234567890"  # the number tests/fakes/graph_api.py knows

#: Canned answers and the questions customers ask (each question is one of its answer's
#: variants, so the bot answers every message rather than asking to rephrase).
ANSWERS = [
    ("Prazo de entrega", "Entregamos em 3 a 5 dias úteis.", ["qual o prazo de entrega", "quando chega meu pedido"]),
    ("Trocas", "Você pode trocar em até 30 dias.", ["como faço para trocar um produto", "posso devolver"]),
    ("Pagamento", "Aceitamos Pix, boleto e cartão.", ["quais formas de pagamento vocês aceitam", "aceitam pix"]),
    ("Frete", "O frete é grátis acima de R$ 200.", ["quanto custa o frete", "frete grátis"]),
]
QUESTIONS = [variant for _title, _text, variants in ANSWERS for variant in variants]


def setup(*, graph_base: str, visitors: int, reply_targets: int) -> dict:
    """Create the inboxes, the agent, canned answers and widget visitors. Returns what the
    drivers need (ids, secrets, cookies, tokens)."""
    from rest_framework.authtoken.models import Token

    from bot import services as bot_services
    from channels_adapters.webchat import inbound_from_widget
    from inbox import services
    from widget import auth as widget_auth
    from inbox.models import AgentProfile, Inbox

    config = {"phone_number_id": PHONE_NUMBER_ID, "access_token": "bench-token", "app_secret": APP_SECRET,
              "graph_api_base": graph_base}
    with_bot = Inbox.objects.create(name="WhatsApp (bot on)", channel_kind="whatsapp", channel_config=config)
    without_bot = Inbox.objects.create(name="WhatsApp (bot off)", channel_kind="whatsapp", channel_config=config)
    webchat = Inbox.objects.create(name="Website", channel_kind="webchat")
    bot_services.settings_update(inbox=without_bot, enabled=False)
    bot_services.settings_update(inbox=webchat, enabled=False)
    for title, text, variants in ANSWERS:
        bot_services.answer_create(title=title, text=text, locale="pt", variants=variants)

    agent = get_user_model().objects.create_user("bench-agent", password=uuid.uuid4().hex)
    for inbox in (with_bot, without_bot, webchat):
        inbox.members.add(agent)
    # Auto-assignment would route every new conversation to the (online) agent; the bench
    # measures the unassigned path, which is the one every inbox has.
    AgentProfile.objects.update_or_create(user=agent, defaults={"accepts_auto_assignment": False})
    client = Client()
    client.force_login(agent)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    token = Token.objects.create(user=agent).key

    widget_tokens = []
    for _ in range(visitors):
        widget_tokens.append(widget_auth.issue_token(inbox=webchat, visitor_id=widget_auth.new_visitor_id()))
    targets = []
    for i in range(reply_targets):
        visitor = widget_auth.new_visitor_id()
        result = services.receive_inbound(inbox=webchat, inbound=inbound_from_widget(
            visitor_id=visitor, client_id=f"seed-{i}", text="Olá, preciso de ajuda"))
        targets.append({"conversation_id": result.conversation.pk,
                        "token": widget_auth.issue_token(inbox=webchat, visitor_id=visitor)})
    return {
        "with_bot": with_bot.public_id, "without_bot": without_bot.public_id, "webchat": webchat.public_id,
        "cookie": cookie, "api_token": token, "widget_tokens": widget_tokens, "reply_targets": targets,
    }


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def whatsapp_body(*, wa_id: str, text: str, message_id: str) -> str:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Cliente {wa_id[-4:]}"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": message_id, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}],
        },
    }]}]})


def webhook_requests(*, public_id: str, count: int, customers: int, tag: str) -> list[dict]:
    """``count`` signed WhatsApp text webhooks from ``customers`` customers. Each text ends in a
    unique marker ``[tag-i]`` so the drivers can find it on a socket and in the database."""
    items = []
    for i in range(count):
        wa_id = f"55119{(i % customers):08d}"
        text = f"{QUESTIONS[i % len(QUESTIONS)]} [{tag}-{i}]"
        body = whatsapp_body(wa_id=wa_id, text=text, message_id=f"wamid.{tag}.{i}.{uuid.uuid4().hex[:8]}")
        items.append({"path": f"/webhooks/whatsapp/{public_id}/", "body": body, "name": "webhook",
                      "headers": {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body.encode())}})
    return items


def echo_requests(count: int) -> list[dict]:
    body = whatsapp_body(wa_id="5511900000000", text="baseline", message_id="wamid.baseline")
    return [{"path": "/bench/echo/", "body": body, "name": "echo", "headers": {"Content-Type": "application/json"}}
            for _ in range(count)]


def message_rows(tag: str) -> dict[str, list]:
    """Customer messages whose text carries ``[tag-i]``: marker -> [created_at timestamps]."""
    from inbox.models import Message

    rows: dict[str, list] = {}
    for text, created in Message.objects.filter(text__contains=f"[{tag}-", direction="in").values_list(
            "text", "created_at"):
        marker = text[text.rindex("[") + 1:-1]
        rows.setdefault(marker, []).append(created.timestamp())
    return rows


def bot_replies_since(public_id: str, since: float) -> list[float]:
    """Creation times of the bot's messages in an inbox after ``since`` (a Unix time)."""
    import datetime as dt

    from inbox.models import Message

    start = dt.datetime.fromtimestamp(since, tz=dt.timezone.utc)
    return [c.timestamp() for c in Message.objects.filter(
        inbox__public_id=public_id, sender_kind="bot", created_at__gte=start).values_list("created_at", flat=True)]


def sends_pending(public_id: str) -> int:
    """The bot's replies in an inbox not sent yet (queued or being sent to the Graph API fake)."""
    from inbox.models import Message

    return Message.objects.filter(inbox__public_id=public_id, sender_kind="bot",
                                  delivery_state__in=["queued", "sending"]).count()


def events_left(public_id: str) -> int:
    from inbox.models import WebhookEvent

    return WebhookEvent.objects.filter(inbox__public_id=public_id, status="received").count()


def _data_queries(captured) -> int:
    """Statements that read or write rows (not BEGIN, COMMIT, SAVEPOINT, RELEASE)."""
    return sum(1 for q in captured.captured_queries
               if q["sql"].lstrip().split(" ", 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"))


def inbound_processing_cost(*, public_id: str, count: int) -> dict:
    """Queries and wall time per message of processing stored WhatsApp events the way the pump
    does (``inbound_batch.process_waiting_events``: batches of ``count`` events), then of their
    handler task (``run_inbound_handlers_for_many``: the bot's answers), measured in this
    process. First a batch from new customers, then one from the same customers again
    (returning). Each part runs inside one outer transaction, so the servers' pump and worker
    (which see only committed rows) cannot take these events or messages first; the figures
    are divided by the batch size."""
    from inbox import services
    from inbox.inbound import record_webhook_event
    from inbox.inbound_batch import process_waiting_events
    from inbox.models import Inbox, Message

    from inbox.services import hooks

    hooks.warm_up_handlers()  # as the worker does when it starts: the encoder and indexes are loaded
    inbox = Inbox.objects.get(public_id=public_id)
    run = uuid.uuid4().hex[:6]
    numbers = [f"55319{int(run, 16) % 10000:04d}{i:04d}" for i in range(count)]
    out = {"vendor": connection.vendor, "batch": count}
    bot_rows = []
    for part in ("new", "returning"):
        markers = []
        with transaction.atomic():
            for i, wa_id in enumerate(numbers):
                marker = f"cost-{run}-{part}-{i}"
                markers.append(marker)
                body = whatsapp_body(wa_id=wa_id, text=f"{QUESTIONS[i % len(QUESTIONS)]} [{marker}]",
                                     message_id=f"wamid.cost.{marker}").encode()
                record_webhook_event(inbox=inbox, channel_kind="whatsapp", public_id=public_id, body=body,
                                     headers={"X-Hub-Signature-256": sign(body)})
            with CaptureQueriesContext(connection) as inbound:
                start = time.perf_counter()
                taken = 0
                while taken < count:
                    got = process_waiting_events(limit=count - taken)
                    if not got:
                        break
                    taken += got
                inbound_ms = (time.perf_counter() - start) * 1000
            ids = list(Message.objects.filter(text__contains=f"[cost-{run}-{part}-", direction="in")
                       .values_list("pk", flat=True))
            with CaptureQueriesContext(connection) as handler:
                start = time.perf_counter()
                services.run_inbound_handlers_for_many(ids)
                handler_ms = (time.perf_counter() - start) * 1000
        n = max(1, len(ids))
        out[part] = {"statements": len(inbound.captured_queries) / n, "queries": _data_queries(inbound) / n,
                     "ms": inbound_ms / n, "messages": len(ids)}
        bot_rows.append((len(handler.captured_queries) / n, _data_queries(handler) / n, handler_ms / n))
    out["bot_task"] = {"statements": statistics.mean(r[0] for r in bot_rows),
                       "queries": statistics.mean(r[1] for r in bot_rows), "ms": statistics.mean(r[2] for r in bot_rows)}
    return out
