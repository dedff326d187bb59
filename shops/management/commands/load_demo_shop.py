"""A connected demo shop with orders, for ``make run``: a Shopify connection (webhooks only:
there is no real store behind it) and a few orders that arrive as signed ``orders/updated``
webhooks through the same path as real ones. The demo's "track my order" answers become
order answers, so the widget answers "cadê meu pedido?" with a real status and tracking link.
Idempotent: orders only move forward, and the connection is found by name.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets

from django.core.management.base import BaseCommand
from django.utils import timezone

from shops import credentials, services
from shops.models import ShopConnection

NAME = "Demo shop (Shopify)"
#: (number, e-mail, phone, name, status words, carrier, tracking number, days since the order)
ORDERS = [
    (10234, "maria.souza@example.com", "+5511987650001", "Maria Souza", "in_transit", "Correios", "BR104455667BR", 4),
    (10241, "ana.lima@example.com", "", "Ana Lima", "in_transit", "Jadlog", "JD0099887766", 2),
    (10198, "john.miller@example.com", "", "John Miller", "delivered", "UPS", "1Z999AA10123456784", 12),
]
#: The demo's tracking answers, by title, and what they say with the customer's order.
ORDER_ANSWERS = {
    "Rastrear meu pedido": "Oi {{contact.first_name}}! Aqui está o seu pedido:",
    "Rastrear mi pedido": "¡Hola {{contact.first_name}}! Este es tu pedido:",
    "Track my order": "Hi {{contact.first_name}}! Here is your order:",
}


def _order(number: int, email: str, phone: str, name: str, shipment: str, carrier: str, tracking: str,
           days: int, now: dt.datetime) -> dict:
    ordered = now - dt.timedelta(days=days)
    shipped = ordered + dt.timedelta(days=1)
    first, _, last = name.partition(" ")
    return {
        "id": 820000000000 + number, "name": f"#{number}", "order_number": number, "email": email, "phone": phone,
        "created_at": ordered.isoformat(), "updated_at": (shipped + dt.timedelta(hours=days)).isoformat(),
        "cancelled_at": None, "currency": "BRL", "total_price": "189.80", "financial_status": "paid",
        "fulfillment_status": "fulfilled", "customer_locale": "pt-BR",
        "customer": {"email": email, "first_name": first, "last_name": last, "phone": phone or None},
        "shipping_address": {"name": name, "city": "São Paulo", "province_code": "SP", "country_code": "BR"},
        "line_items": [{"title": "Monstera deliciosa", "name": "Monstera deliciosa", "quantity": 1, "price": "149.90"},
                       {"title": "Vaso de terracota 20 cm", "name": "Vaso de terracota 20 cm", "quantity": 1,
                        "price": "39.90"}],
        "fulfillments": [{
            "id": 4500000 + number, "status": "success", "created_at": shipped.isoformat(),
            "updated_at": (shipped + dt.timedelta(hours=days)).isoformat(), "tracking_company": carrier,
            "tracking_number": tracking, "tracking_url": f"https://tracking.example/{tracking}",
            "shipment_status": shipment, "estimated_delivery_at": (now + dt.timedelta(days=3)).isoformat()}],
    }


class Command(BaseCommand):
    help = "Create the demo shop connection and feed it a few orders through its signed webhook."

    def handle(self, *args, **options):
        connection = ShopConnection.objects.filter(name=NAME).first()
        if connection is None:
            connection = services.connection_create(platform="shopify", name=NAME, store_url="https://demo-shop.myshopify.com",
                                                    webhook_secret=secrets.token_urlsafe(24))
        secret = credentials.get_webhook_secret(connection)
        now = timezone.now().replace(microsecond=0)
        for row in ORDERS:
            body = json.dumps(_order(*row, now=now)).encode()
            digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
            headers = {"X-Shopify-Topic": "orders/updated", "X-Shopify-Hmac-Sha256": digest,
                       "X-Shopify-Event-Id": f"demo-{row[0]}-{now:%Y%m%d%H%M}", "Content-Type": "application/json"}
            event, created = services.event_receive(connection=connection, body=body, headers=headers)
            services.event_process(event.pk)  # now, not when the worker starts: the demo needs the orders
        self._order_answers()
        self.stdout.write(f"Demo shop: {connection.name}, webhook URL {services.webhook_url(connection)}")

    def _order_answers(self) -> None:
        try:
            from bot import services as bot_services
            from bot.models import CannedAnswer
        except ImportError:  # the bot is optional
            return
        for answer in CannedAnswer.objects.filter(title__in=ORDER_ANSWERS):
            if answer.kind != CannedAnswer.Kind.ORDER_STATUS or answer.text != ORDER_ANSWERS[answer.title]:
                bot_services.answer_update(answer=answer, kind=CannedAnswer.Kind.ORDER_STATUS,
                                           text=ORDER_ANSWERS[answer.title])
