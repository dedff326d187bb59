"""Time every retention report on a year of synthetic data.

    .venv/bin/python bench/reports_bench.py [--conversations 50000]

Builds a throwaway database in DATA_DIR (default: a temporary folder, never the app's own var/;
bulk inserts: this is a benchmark fixture, not app
code, so it bypasses the services for speed), then runs each report over the whole year and
over one month, and prints the timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATA_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "reports-bench"))
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from inbox.models import Contact, Conversation, Inbox, Message  # noqa: E402
from retention import reports  # noqa: E402
from retention.models import Order, Survey  # noqa: E402


def build(n: int, seed: int = 7) -> object:
    rng = random.Random(seed)
    call_command("migrate", verbosity=0)
    user_model = get_user_model()
    if Conversation.objects.count() >= n:
        return user_model.objects.get(username="bench-admin")
    admin = user_model.objects.create_superuser("bench-admin", password="x")
    agents = [user_model.objects.create_user(f"agent{i}", password="x") for i in range(8)]
    # Two inboxes with opening hours, so business-hours times are measured for real.
    weekdays = {str(day): [["09:00", "18:00"]] for day in range(5)}
    inboxes = [Inbox.objects.create(name=kind, channel_kind=kind, business_hours=weekdays if kind in ("webchat", "email") else {},
                                    timezone="America/Sao_Paulo") for kind in ("webchat", "whatsapp", "messenger", "email")]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    contacts = Contact.objects.bulk_create([Contact(name=f"C{i}", email=f"c{i}@example.com") for i in range(n // 2)])
    conversations, orders = [], []
    for i in range(n):
        created = start + dt.timedelta(seconds=rng.randrange(365 * 86400))
        bot_only = rng.random() < 0.3
        first = None if bot_only else created + dt.timedelta(minutes=rng.expovariate(1 / 20))
        resolved = created + dt.timedelta(minutes=rng.expovariate(1 / 240)) if rng.random() < 0.8 else None
        conversations.append(Conversation(
            inbox=rng.choice(inboxes), contact=rng.choice(contacts), created_at=created, last_activity_at=created,
            status="resolved" if resolved else "open", resolved_at=resolved, first_response_at=first,
            assignee=None if bot_only else rng.choice(agents)))
    conversations = Conversation.objects.bulk_create(conversations, batch_size=2000)
    messages, surveys = [], []
    for c in conversations:
        messages.append(Message(conversation=c, inbox_id=c.inbox_id, direction="in", sender_kind="contact",
                                text="hi", created_at=c.created_at))
        kind = "agent" if c.assignee_id else "bot"
        messages.append(Message(conversation=c, inbox_id=c.inbox_id, direction="out", sender_kind=kind, text="ok",
                                author_id=c.assignee_id, created_at=c.first_response_at or c.created_at))
        if c.resolved_at and rng.random() < 0.5:
            answered = rng.random() < 0.4
            surveys.append(Survey(conversation=c, inbox_id=c.inbox_id, contact_id=c.contact_id, agent_id=c.assignee_id,
                                  channel_kind="webchat", status="answered" if answered else "sent",
                                  rating=rng.randint(1, 5) if answered else None, scheduled_for=c.resolved_at,
                                  created_at=c.resolved_at))
    Message.objects.bulk_create(messages, batch_size=5000)
    Survey.objects.bulk_create(surveys, batch_size=5000)
    for i in range(n):
        orders.append(Order(contact=rng.choice(contacts), external_id=f"O{i}",
                            ordered_at=start + dt.timedelta(seconds=rng.randrange(365 * 86400)),
                            status=rng.choice(["paid", "delivered", "delivered", "cancelled"]),
                            total=Decimal(rng.randint(10, 500)), currency="BRL"))
    Order.objects.bulk_create(orders, batch_size=5000)
    return admin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=50_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    admin = build(args.conversations)
    print(f"data: {Conversation.objects.count()} conversations, {Message.objects.count()} messages, "
          f"{Order.objects.count()} orders, {Survey.objects.count()} surveys "
          f"(built in {time.perf_counter() - t0:.1f}s)")
    for label, start, end in (("year", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
                              ("month", dt.date(2024, 6, 1), dt.date(2024, 6, 30))):
        period = reports.period_for(user=admin, date_from=start, date_to=end, tz=dt.timezone.utc)
        total = 0.0
        for name in reports.REPORTS:
            t = time.perf_counter()
            table = reports.build(name, period)
            elapsed = time.perf_counter() - t
            total += elapsed
            print(f"{label:5} {name:15} {elapsed * 1000:8.0f} ms  ({len(table.rows)} rows)")
        print(f"{label:5} {'all reports':15} {total * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
