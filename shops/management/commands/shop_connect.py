"""Create a shop connection from a script and print the webhook URL to give the platform.

    python manage.py shop_connect shopify --name "Loja" --webhook-secret S --store-url https://loja.myshopify.com \
        --access-token shpat_...
    python manage.py shop_connect woocommerce --name "Tienda" --webhook-secret S --store-url https://tienda.com \
        --consumer-key ck_... --consumer-secret cs_...
    python manage.py shop_connect nuvemshop --name "Loja" --webhook-secret S --store-id 123456 --access-token ...
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from shops import services
from shops.credentials import CREDENTIAL_FIELDS
from shops.models import Platform


class Command(BaseCommand):
    help = "Connect a shop (Shopify, WooCommerce, Nuvemshop) and print its webhook URL."

    def add_arguments(self, parser):
        parser.add_argument("platform", choices=Platform.values)
        parser.add_argument("--name", required=True)
        parser.add_argument("--webhook-secret", required=True,
                            help="The secret the platform signs webhooks with.")
        parser.add_argument("--store-url", default="", help="https://... (Shopify and WooCommerce).")
        parser.add_argument("--access-token", default="", help="Shopify Admin API or Nuvemshop access token.")
        parser.add_argument("--consumer-key", default="", help="WooCommerce REST API consumer key.")
        parser.add_argument("--consumer-secret", default="", help="WooCommerce REST API consumer secret.")
        parser.add_argument("--store-id", default="", help="Nuvemshop store id (user_id).")
        parser.add_argument("--test", action="store_true", help="Check the credentials with the platform.")

    def handle(self, *args, **options):
        platform = options["platform"]
        given = {name: options[name] for name in CREDENTIAL_FIELDS[platform] if options.get(name)}
        try:
            connection = services.connection_create(platform=platform, name=options["name"],
                                                    webhook_secret=options["webhook_secret"],
                                                    store_url=options["store_url"], credentials_in=given)
        except services.ShopServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Connected {connection} (id {connection.pk}).")
        self.stdout.write(f"Webhook URL: {services.webhook_url(connection)}")
        missing = [name for name in CREDENTIAL_FIELDS[platform] if name not in given]
        if missing:
            self.stdout.write(f"Without {', '.join(missing)} only webhooks work: no import, no reconcile.")
        if options["test"]:
            ok, message = services.connection_test(connection=connection)
            if not ok:
                raise CommandError(message)
            self.stdout.write(message)
