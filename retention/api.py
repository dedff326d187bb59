"""The shop's API: upsert customers and orders (idempotent), read a customer's metrics.

Token or session auth; staff users, or users with the ``retention.add_order`` permission (a
dedicated shop integration user). One small class per operation (see docs/retention.md).
"""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.api_schema import errors
from inbox.models import Contact

from . import selectors, services
from .serializers import (
    CustomerInSerializer, CustomerMetricsSerializer, CustomerOutSerializer, OrderInSerializer, OrderOutSerializer,
)


class ShopIntegration(permissions.BasePermission):
    message = _("Only staff or users with the retention.add_order permission may use the shop API.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or user.has_perm("retention.add_order")))


def _customer_out(contact: Contact) -> dict:
    return {**CustomerOutSerializer(contact).data,
            "metrics": CustomerMetricsSerializer(selectors.customer_metrics(contact=contact)).data}


class CustomerUpsertApi(APIView):
    """POST {email, phone, name, locale}: find the contact by e-mail, then phone, or create it."""

    permission_classes = [ShopIntegration]

    @extend_schema(request=CustomerInSerializer, responses={200: CustomerOutSerializer, 201: CustomerOutSerializer,
                                                            **errors(400, 403)},
                   summary="Create or update a customer (found by e-mail, then phone)")
    def post(self, request):
        data = CustomerInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            contact, created = services.customer_upsert(**data.validated_data)
        except services.RetentionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(_customer_out(contact), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderUpsertApi(APIView):
    """POST one order, or a list of orders (all or nothing). The same external_id again
    updates that order."""

    permission_classes = [ShopIntegration]

    @extend_schema(request=OrderInSerializer, responses={200: OrderOutSerializer, 201: OrderOutSerializer,
                                                         **errors(400, 403)},
                   summary="Create or update one order, or a list of orders (all or nothing)")
    def post(self, request):
        many = isinstance(request.data, list)
        data = OrderInSerializer(data=request.data, many=many)
        if not data.is_valid():
            return Response(data.errors, status=status.HTTP_400_BAD_REQUEST)
        items = data.validated_data if many else [data.validated_data]
        results = []
        try:
            with transaction.atomic():
                for item in items:
                    item = dict(item)
                    contact, _ = services.customer_upsert(**item.pop("customer"))
                    results.append(services.order_upsert(contact=contact, **item))
        except services.RetentionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        out = [{**OrderOutSerializer(order).data, "created": created} for order, created in results]
        any_created = any(created for _, created in results)
        return Response(out if many else out[0], status=status.HTTP_201_CREATED if any_created else status.HTTP_200_OK)


class CustomerMetricsApi(APIView):
    permission_classes = [ShopIntegration]

    @extend_schema(responses={200: CustomerOutSerializer, **errors(403, 404)}, summary="A customer and their metrics")
    def get(self, request, contact_id: int):
        return Response(_customer_out(get_object_or_404(Contact, pk=contact_id)))
