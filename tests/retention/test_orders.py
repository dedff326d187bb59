import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inbox import services as inbox_services
from inbox.models import Contact, ContactIdentity
from retention import selectors
from retention.models import Order

from .conftest import at

pytestmark = pytest.mark.django_db
URL = "/retention/api/orders/"


@pytest.fixture
def shop():
    user = get_user_model().objects.create_user("shop", password="pw-shop-123")
    user.user_permissions.add(Permission.objects.get(codename="add_order"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def order(**overrides):
    data = {"external_id": "A-100", "customer": {"email": "Ana@Example.com", "name": "Ana Souza"},
            "ordered_at": "2030-01-05T10:00:00Z", "status": "paid", "total": "120.50", "currency": "brl",
            "items": [{"sku": "TSHIRT", "qty": 2}]}
    return {**data, **overrides}


def test_upsert_is_idempotent_and_matches_the_existing_contact(shop):
    existing = inbox_services.contact_for_identity(channel_kind="webchat", address="v-1", email="ana@example.com")
    first = shop.post(URL, order(), format="json")
    assert first.status_code == 201, first.data
    assert first.data["contact_id"] == existing.pk and first.data["currency"] == "BRL"
    again = shop.post(URL, order(status="delivered", delivered_at="2030-01-08T09:00:00Z"), format="json")
    assert again.status_code == 200 and again.data["created"] is False
    assert Order.objects.count() == 1
    stored = Order.objects.get()
    assert stored.status == "delivered" and stored.delivered_at == at("2030-01-08T09:00")
    assert Contact.objects.count() == 1


def test_unknown_customer_is_created_with_an_email_identity(shop):
    response = shop.post(URL, order(customer={"email": "new@example.com", "name": "Bia"}), format="json")
    assert response.status_code == 201
    contact = Contact.objects.get(pk=response.data["contact_id"])
    assert contact.email == "new@example.com" and contact.name == "Bia"
    assert ContactIdentity.objects.filter(contact=contact, channel_kind="email", address="new@example.com").exists()


def test_phone_only_customer_gets_a_whatsapp_identity_and_is_found_again(shop):
    response = shop.post(URL, order(customer={"phone": "+55 (11) 99999-0000"}), format="json")
    contact = Contact.objects.get(pk=response.data["contact_id"])
    assert contact.phone == "+5511999990000"
    assert contact.identities.get().address == "5511999990000"
    later = inbox_services.contact_for_identity(channel_kind="whatsapp", address="5511999990000")
    assert later.pk == contact.pk


@pytest.mark.parametrize("overrides, field, message", [
    ({"total": "-1.00"}, "total", "The total cannot be negative."),
    ({"total": None}, "total", "An order needs a total."),
    ({"currency": "reais"}, "currency", "three-letter"),
    ({"status": "lost"}, "status", "not a valid choice"),
    ({"customer": {"name": "Nobody"}}, "customer", "e-mail address or a phone number"),
    ({"ordered_at": "yesterday"}, "ordered_at", "Datetime has wrong format"),
])
def test_invalid_orders_get_a_clear_400_and_store_nothing(shop, overrides, field, message):
    response = shop.post(URL, order(**overrides), format="json")
    assert response.status_code == 400
    assert message in str(response.data[field])
    assert not Order.objects.exists() and not Contact.objects.exists()


def test_missing_total_is_rejected(shop):
    data = order()
    del data["total"]
    response = shop.post(URL, data, format="json")
    assert response.status_code == 400 and "An order needs a total." in str(response.data["total"])


def test_a_list_is_all_or_nothing(shop):
    response = shop.post(URL, [order(external_id="B-1"), order(external_id="B-2", total="-5")], format="json")
    assert response.status_code == 400 and not Order.objects.exists()
    response = shop.post(URL, [order(external_id="B-1"), order(external_id="B-2")], format="json")
    assert response.status_code == 201 and Order.objects.count() == 2


def test_permissions(client):
    anonymous = APIClient()
    assert anonymous.post(URL, order(), format="json").status_code in (401, 403)
    agent = get_user_model().objects.create_user("agent2", password="pw-agent-123")
    api = APIClient()
    api.force_authenticate(agent)
    assert api.post(URL, order(), format="json").status_code == 403
    staff = get_user_model().objects.create_user("boss", password="pw-boss-123", is_staff=True)
    api.force_authenticate(staff)
    assert api.post(URL, order(), format="json").status_code == 201


def test_customer_upsert_and_metrics_api(shop):
    created = shop.post("/retention/api/customers/", {"email": "c@example.com", "name": "Carla"}, format="json")
    assert created.status_code == 201
    assert shop.post("/retention/api/customers/", {"email": "C@example.com"}, format="json").status_code == 200
    assert shop.post("/retention/api/customers/", {"name": "x"}, format="json").status_code == 400
    shop.post(URL, order(external_id="C-1", customer={"email": "c@example.com"}, total="100", currency="USD"),
              format="json")
    shop.post(URL, order(external_id="C-2", customer={"email": "c@example.com"}, total="50", currency="USD",
                         ordered_at="2030-02-05T10:00:00Z"), format="json")
    shop.post(URL, order(external_id="C-3", customer={"email": "c@example.com"}, total="300", currency="BRL"),
              format="json")
    metrics = shop.get(f"/retention/api/customers/{created.data['id']}/").data["metrics"]
    assert metrics["orders"] == 3 and metrics["returning"] is True
    by_currency = {row["currency"]: row for row in metrics["by_currency"]}
    assert by_currency["USD"]["total_spent"] == "150.00" and by_currency["USD"]["average_order_value"] == "75.00"
    assert by_currency["BRL"]["total_spent"] == "300.00"


def test_metrics_by_database_aggregation():
    contact = inbox_services.contact_for_identity(channel_kind="email", address="m@example.com")
    from retention import services

    for ref, day, total, status in (("M1", 1, "10", "delivered"), ("M2", 11, "30", "paid"),
                                    ("M3", 21, "999", "cancelled")):
        services.order_upsert(external_id=ref, contact=contact, ordered_at=at(f"2030-01-{day:02d}T12:00"),
                              total=Decimal(total), currency="EUR", status=status)
    metrics = selectors.customer_metrics(contact=contact, now=at("2030-03-12T12:00"))
    assert metrics.orders == 2  # the cancelled order does not count
    assert metrics.by_currency[0].total_spent == Decimal("40.00")
    assert metrics.by_currency[0].average_order_value == Decimal("20.00")
    assert metrics.days_since_last_order == 60
    assert metrics.orders_per_month == 0.87  # 2 orders over 70 days (2.3 months)
    assert metrics.returning


def write_csv(tmp_path, text):
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


CSV_HEADER = "external_id,email,phone,name,ordered_at,status,total,currency,delivered_at,items\n"


def test_csv_import_and_reimport(tmp_path, capsys):
    path = write_csv(tmp_path, CSV_HEADER
                     + 'X-1,ana@example.com,,Ana,2030-01-05T10:00:00Z,delivered,99.90,BRL,2030-01-07T10:00:00Z,"[{""sku"": ""A""}]"\n'
                     + "X-2,,+5511988887777,Bruno,2030-01-06T10:00:00Z,paid,10,BRL,,\n")
    call_command("import_orders", path)
    assert "2 order(s) created, 0 updated" in capsys.readouterr().out
    call_command("import_orders", path)
    assert "0 order(s) created, 2 updated" in capsys.readouterr().out
    assert Order.objects.count() == 2
    x1 = Order.objects.get(external_id="X-1")
    assert x1.items == [{"sku": "A"}] and x1.total == Decimal("99.90") and x1.contact.email == "ana@example.com"


def test_csv_with_invalid_rows_imports_nothing_unless_asked(tmp_path, capsys):
    path = write_csv(tmp_path, CSV_HEADER
                     + "Y-1,ana@example.com,,Ana,2030-01-05T10:00:00Z,paid,20,BRL,,\n"
                     + "Y-2,ana@example.com,,Ana,2030-01-05T10:00:00Z,paid,-3,BRL,,\n"
                     + "Y-3,,,Nobody,2030-01-05T10:00:00Z,paid,5,BRL,,\n")
    with pytest.raises(CommandError, match="2 invalid row"):
        call_command("import_orders", path)
    errors = capsys.readouterr().err
    assert "line 3: total: The total cannot be negative." in errors
    assert "line 4: customer:" in errors
    assert not Order.objects.exists()
    call_command("import_orders", path, "--skip-invalid")
    assert list(Order.objects.values_list("external_id", flat=True)) == ["Y-1"]


def test_csv_missing_columns(tmp_path):
    with pytest.raises(CommandError, match="total"):
        call_command("import_orders", write_csv(tmp_path, "external_id,email,ordered_at,currency\n"))
