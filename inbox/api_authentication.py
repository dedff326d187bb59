"""DRF's session authentication with its CSRF refusal in the reader's language: DRF raises
"CSRF Failed: <Django's English reason>"; an agent's page script shows the API's ``detail``."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from django.utils.translation import gettext


class SessionAuthentication(authentication.SessionAuthentication):
    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            # The same sentence the CSRF failure page and its JSON answer use (error_views).
            raise exceptions.PermissionDenied(gettext(
                "The security check of this page (CSRF) failed: reload the page and try again.")) from exc
