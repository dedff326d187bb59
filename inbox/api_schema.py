"""OpenAPI helpers for the API views (drf-spectacular): paginated list bodies and the error
answers every operation can give, so the published schema says what the API really returns."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

_PAGINATED: dict[str, type] = {}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


def paginated(serializer_class) -> serializers.Serializer:
    """The body ``PageNumberPagination`` answers: ``count``, ``next``, ``previous``, ``results``."""
    name = "Paginated" + serializer_class.__name__.removesuffix("Serializer") + "List"
    if name not in _PAGINATED:
        _PAGINATED[name] = inline_serializer(name=name, fields={
            "count": serializers.IntegerField(help_text="Items on all pages."),
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last one."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null on the first one."),
            "results": serializer_class(many=True),
        })
    return _PAGINATED[name]


BAD_REQUEST = OpenApiResponse(
    description="Invalid input: `{\"field\": [\"message\", ...]}` for a field, or `{\"detail\": \"message\"}`.")
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="No or invalid credentials; see the WWW-Authenticate header.")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object, or not in one of your inboxes.")
CONFLICT = OpenApiResponse(ErrorSerializer, description="Someone else changed it meanwhile (expected_assignee).")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Authenticated, but not allowed.")


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    table = {400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
    return {code: table[code] for code in (401, *codes)}
