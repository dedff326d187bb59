import io

import pytest
from django.core.management import CommandError, call_command

from shops import credentials
from shops.models import ShopConnection
from tests.fakes.shop_platforms import SHOPIFY_TOKEN, FakeShopPlatforms

pytestmark = pytest.mark.django_db


def test_shop_connect_creates_the_connection_and_prints_the_webhook_url(settings):
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    out = io.StringIO()
    call_command("shop_connect", "woocommerce", "--name", "Tienda", "--webhook-secret", "s3cret",
                 "--store-url", "https://tienda.example.com", "--consumer-key", "ck", "--consumer-secret", "cs",
                 stdout=out)
    connection = ShopConnection.objects.get()
    assert f"Webhook URL: https://support.example.com/webhooks/shop/woocommerce/{connection.public_id}/" in out.getvalue()
    assert credentials.get_credentials(connection) == {"consumer_key": "ck", "consumer_secret": "cs"}
    assert credentials.get_webhook_secret(connection) == "s3cret"


def test_shop_connect_without_api_credentials_says_what_is_missing():
    out = io.StringIO()
    call_command("shop_connect", "nuvemshop", "--name", "Loja", "--webhook-secret", "s", stdout=out)
    assert "Without store_id, access_token only webhooks work" in out.getvalue()


def test_shop_connect_refuses_a_shopify_shop_without_store_url():
    with pytest.raises(CommandError, match="store URL"):
        call_command("shop_connect", "shopify", "--name", "Loja", "--webhook-secret", "s", stdout=io.StringIO())


def test_shop_connect_test_reports_wrong_credentials():
    with FakeShopPlatforms() as fake:
        out = io.StringIO()
        call_command("shop_connect", "shopify", "--name", "ok", "--webhook-secret", "s", "--store-url", fake.base_url,
                     "--access-token", SHOPIFY_TOKEN, "--test", stdout=out)
        assert "Connected to Loja Fake." in out.getvalue()
        with pytest.raises(CommandError, match="refused the credentials"):
            call_command("shop_connect", "shopify", "--name", "bad", "--webhook-secret", "s", "--store-url",
                         fake.base_url, "--access-token", "nope", "--test", stdout=io.StringIO())


def test_demo_shop_feeds_orders_through_the_webhook_path_and_turns_tracking_answers_into_order_answers():
    from bot.models import CannedAnswer
    from retention.models import Order
    from shops.models import ShopEvent

    call_command("load_demo_answers", verbosity=0)
    call_command("load_demo_shop", stdout=io.StringIO())
    call_command("load_demo_shop", stdout=io.StringIO())  # idempotent
    assert ShopConnection.objects.count() == 1
    assert sorted(Order.objects.values_list("number", flat=True)) == ["#10198", "#10234", "#10241"]
    assert set(ShopEvent.objects.values_list("status", flat=True)) == {ShopEvent.Status.PROCESSED}
    assert Order.objects.get(number="#10198").status == "delivered"
    assert CannedAnswer.objects.get(title="Rastrear meu pedido").kind == CannedAnswer.Kind.ORDER_STATUS


def test_admin_form_refuses_status_overrides_to_unknown_statuses():
    from shops.admin import ShopConnectionForm

    data = {"platform": "woocommerce", "name": "T", "store_url": "https://t.example", "enabled": "on",
            "webhook_secret": "s", "status_overrides": '{"completed": "arrived"}'}
    form = ShopConnectionForm(data=data)
    assert not form.is_valid() and "status_overrides" in form.errors
    form = ShopConnectionForm(data={**data, "status_overrides": '{"completed": "delivered"}'})
    assert form.is_valid(), form.errors
