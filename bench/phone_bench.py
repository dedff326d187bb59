"""What one-contact-per-phone-line costs.

    .venv/bin/python bench/phone_bench.py [--contacts 20000] [--messages 300]

1. ``inbox.phones.parse_phone`` on typed numbers of every supported shape (numbers per second).
2. Inbound WhatsApp messages from new customers (each runs the line lookup and the healing
   check) against inbound web-chat and Messenger messages from new senders (the same write
   path without phone work), on a throwaway
   SQLite database holding ``--contacts`` contacts with phones: time per message as a ratio to
   the web-chat baseline measured in the same run, and queries per message (which must not
   grow with the number of contacts).

Contacts are bulk-inserted (a benchmark fixture, not app code); the messages go through the
write path (``services.receive_inbound``).
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
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="phone-bench-"))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HUEY_IMMEDIATE", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from channels_adapters.base import InboundMessage  # noqa: E402
from inbox import services  # noqa: E402
from inbox.models import Contact, ContactIdentity, Inbox  # noqa: E402
from inbox.phones import parse_phone  # noqa: E402

TYPED = [("(11) 98765-4321", "BR"), ("+55 11 8765-4321", "BR"), ("011 15-1234-5678", "AR"),
         ("+52 1 55 1234 5678", "MX"), ("00351 912 345 678", "PT"), ("612 34 56 78", "ES"),
         ("(415) 555-2671", "US"), ("ramal 12", "BR")]


def bench_parse(rounds: int = 2000) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for text, region in TYPED:
            parse_phone(text, region)
    return rounds * len(TYPED) / (time.perf_counter() - start)


def build(contacts: int) -> None:
    call_command("migrate", verbosity=0)
    if Contact.objects.count() >= contacts:
        return
    rows = [Contact(name=f"c{i}", phone=f"+551198{i:07d}") for i in range(contacts)]
    Contact.objects.bulk_create(rows, batch_size=2000)
    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True)[:contacts // 2])
    ContactIdentity.objects.bulk_create(
        [ContactIdentity(contact_id=pk, channel_kind="whatsapp", address=f"551198{i:07d}") for i, pk in enumerate(ids)],
        batch_size=2000)


def run(inbox: Inbox, addresses: list[str]) -> tuple[float, float]:
    elapsed, queries = 0.0, 0
    for n, address in enumerate(addresses):
        inbound = InboundMessage(provider_message_id=f"{inbox.channel_kind}-{address}-{n}", sender_address=address,
                                 text="oi")
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            services.receive_inbound(inbox=inbox, auto_reply=False, inbound=inbound)
            elapsed += time.perf_counter() - start
        queries += len(captured)
    return elapsed / len(addresses), queries / len(addresses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    print(f"parse_phone: {bench_parse():,.0f} numbers/s over {len(TYPED)} shapes")
    build(args.contacts)
    whatsapp = Inbox.objects.create(name="bench wa", channel_kind="whatsapp")
    web = Inbox.objects.create(name="bench web", channel_kind="webchat")
    messenger = Inbox.objects.create(name="bench fb", channel_kind="messenger")
    m = args.messages
    # New customers: wa_ids outside the stored range, in the old eight-digit Brazilian form.
    wa_new = [f"5521{70000000 + i}" for i in range(m)]
    # Customers already stored with the ninth digit (from orders, no WhatsApp identity yet)
    # writing from the eight-digit wa_id.
    wa_known = [f"55118{i:07d}" for i in range(args.contacts // 2, args.contacts // 2 + m)]
    run(Inbox.objects.create(name="warm-up", channel_kind="webchat"), [f"warm-{i}" for i in range(50)])
    web_s, web_q = run(web, [f"visitor-{i}" for i in range(m)])
    fb_s, fb_q = run(messenger, [f"psid-{i}" for i in range(m)])
    new_s, new_q = run(whatsapp, wa_new)
    known_s, known_q = run(whatsapp, wa_known)
    print(f"{Contact.objects.count():,} contacts, {m} messages per kind")
    print(f"web chat, new visitor (baseline):      {web_s * 1000:6.2f} ms/message  {web_q:5.1f} queries  ratio 1.00")
    print(f"Messenger, new sender (no phone work): {fb_s * 1000:6.2f} ms/message  {fb_q:5.1f} queries  "
          f"ratio {fb_s / web_s:.2f}")
    print(f"WhatsApp, new number:                  {new_s * 1000:6.2f} ms/message  {new_q:5.1f} queries  "
          f"ratio {new_s / web_s:.2f}")
    print(f"WhatsApp, number known in another form: {known_s * 1000:5.2f} ms/message  {known_q:5.1f} queries  "
          f"ratio {known_s / web_s:.2f}")


if __name__ == "__main__":
    main()
