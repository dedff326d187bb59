"""Bounded parsing of numbers and dates that come from a request.

A query like ``?inbox=99999999999999999999`` or ``?to=9999-12-31`` used to reach the database
(SQLite: "Python int too large to convert to SQLite INTEGER") or date arithmetic ("date value
out of range") and answer 500. Entry points parse ids, page numbers and dates with these
helpers; ``OutOfRangeMiddleware`` turns ``OutOfRange`` (and, as a safety net for any entry point
not converted yet, ``OverflowError``) into a 400 with a clear message.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse, JsonResponse

#: Ids are 64-bit signed integers on SQLite and PostgreSQL (BigAutoField).
MAX_ID = 2**63 - 1
#: Dates a report or a filter can ask for; far enough for any shop, near enough that adding a
#: day or a time zone never overflows.
MIN_DATE = dt.date(1970, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)


class OutOfRange(Exception):
    """A number or date in the request is outside what the application can store or compute."""


def bounded_int(value, *, name: str, min_value: int = 1, max_value: int = MAX_ID) -> int:
    """``int(value)`` within ``min_value..max_value``. Garbage raises ``ValueError`` as ``int``
    does (callers keep their own handling of it); a number out of range raises ``OutOfRange``."""
    number = int(str(value).strip())
    if not min_value <= number <= max_value:
        raise OutOfRange(f"{name} must be a whole number from {min_value} to {max_value}.")
    return number


def optional_id(value, *, name: str) -> int | None:
    """An id from a query parameter: None when absent or not a number, ``OutOfRange`` when a
    number no database row can have."""
    if value in (None, ""):
        return None
    try:
        return bounded_int(value, name=name)
    except ValueError:
        return None


def id_list(value: str, *, name: str) -> list[int]:
    """Comma-separated ids (``"3,5,8"``): non-numbers are skipped, out-of-range numbers raise."""
    return [bounded_int(part, name=name) for part in (value or "").split(",") if part.strip().isdigit()]


def bounded_date(value: dt.date, *, name: str) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise OutOfRange(f"{name} must be a date from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}.")
    return value


def bounded_datetime(value: dt.datetime, *, name: str) -> dt.datetime:
    bounded_date(value.date(), name=name)
    return value


def _wants_json(request: HttpRequest) -> bool:
    return ("/api/" in request.path or request.content_type == "application/json"
            or "application/json" in request.headers.get("Accept", ""))


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": message, "error": message}, status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class OutOfRangeMiddleware:
    """400 instead of 500 for numbers and dates out of range, on every page and API view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OutOfRange):
            return bad_request(request, str(exception))
        if isinstance(exception, OverflowError):
            return bad_request(request, "A number or date in the request is out of range.")
        return None
