"""Input and output shapes of the retention API. Validation only; writes are in services."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Order


class CustomerInSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    locale = serializers.CharField(required=False, allow_blank=True, default="", max_length=10)

    def validate(self, data):
        if not data.get("email") and not data.get("phone"):
            raise serializers.ValidationError(_("A customer needs an e-mail address or a phone number."))
        return data


class OrderInSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    customer = CustomerInSerializer()
    ordered_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Order.Status.choices, default=Order.Status.PAID)
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"),
        error_messages={"required": _("An order needs a total."), "null": _("An order needs a total."),
                        "min_value": _("The total cannot be negative.")})
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", error_messages={
        "invalid": _("The currency must be a three-letter ISO code such as USD or BRL.")})
    items = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CurrencyMetricsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    orders = serializers.IntegerField()
    total_spent = serializers.DecimalField(max_digits=14, decimal_places=2)
    average_order_value = serializers.DecimalField(max_digits=14, decimal_places=2)


class CustomerMetricsSerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    by_currency = CurrencyMetricsSerializer(many=True)
    first_order_at = serializers.DateTimeField(allow_null=True)
    last_order_at = serializers.DateTimeField(allow_null=True)
    days_since_last_order = serializers.IntegerField(allow_null=True)
    orders_per_month = serializers.FloatField(allow_null=True)
    returning = serializers.BooleanField()


class CustomerOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    opted_out = serializers.BooleanField()


class OrderOutSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField()

    class Meta:
        model = Order
        fields = ["id", "external_id", "contact_id", "ordered_at", "status", "total", "currency", "items",
                  "delivered_at"]
