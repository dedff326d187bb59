"""The project's URLs plus views that fail, for the error-page tests (tests/i18n/test_error_pages.py)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def bad_request(request):
    raise SuspiciousOperation("test: a malformed request")


def denied(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("test: a bug")


urlpatterns = [
    path("test-errors/400/", bad_request),
    path("test-errors/403/", denied),
    path("test-errors/500/", broken),
    *project_urlpatterns,
]
