"""The CSRF failure view (``CSRF_FAILURE_VIEW``): the 403_csrf.html page in the reader's
language, or for the page scripts (``Accept: application/json``) the ``{"ok": false, "error"}``
answer they show. Django's English reason stays as the technical detail. The other error pages
(400, 403, 404, 500) are Django's handlers with our templates (templates/4xx.html, 500.html).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"ok": False, "error": gettext(
            "The security check of this page (CSRF) failed: reload the page and try again."),
            "reason": reason}, status=403)
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
