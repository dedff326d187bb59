"""The agent's language and time zone menu in the header (see inbox.locale)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .locale import agent_preferences_set, valid_time_zone


@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    time_zone = request.POST.get("time_zone", "")
    if language and language not in dict(settings.LANGUAGES):
        language = ""
    if time_zone and not valid_time_zone(time_zone):
        time_zone = ""
    agent_preferences_set(user=request.user, language=language, time_zone=time_zone)
    if language:
        translation.activate(language)
    flash.success(request, _("Preferences saved."))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    # The login page, before anyone is signed in, then speaks the same language.
    if language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
