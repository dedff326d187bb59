"""DRF's session authentication with its CSRF refusal in the reader's language: DRF raises
"CSRF Failed: <Django's English reason>"; an agent's page script shows the API's ``detail``."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.authentication import SessionScheme as OpenApiSessionScheme
from rest_framework import authentication, exceptions


class SessionAuthentication(authentication.SessionAuthentication):
    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            # The same sentence the CSRF failure page and its JSON answer use (error_views).
            raise exceptions.PermissionDenied(gettext(
                "The security check of this page (CSRF) failed: reload the page and try again.")) from exc


class SessionScheme(OpenApiSessionScheme):
    """The OpenAPI description of the class above: the same cookie scheme as DRF's."""

    target_class = "inbox.api_authentication.SessionAuthentication"
