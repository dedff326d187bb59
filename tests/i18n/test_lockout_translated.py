"""The login-throttling (django-axes) lockout page speaks the visitor's language, on /login/
and on /admin/login/. The English-word check over the page is in test_pages_translated.py."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import make_agent

pytestmark = pytest.mark.django_db

MESSAGES = {
    "pt-br": ("Muitas tentativas de entrar sem sucesso", "Tente de novo em 15 minutos", "Voltar"),
    "es": ("Demasiados intentos fallidos de iniciar sesión", "Inténtalo de nuevo en 15 minutos", "Volver"),
    "en": ("Too many failed logins", "Try again in 15 minutes", "Back to the login page"),
}


@pytest.fixture
def throttled(settings):
    settings.AXES_FAILURE_LIMIT = 2  # few (slow, by design) password hashes
    cache.clear()
    yield
    cache.clear()


def locked_out(client, language: str, url: str = "/login/"):
    make_agent("ana", staff=True)
    headers = {"HTTP_ACCEPT_LANGUAGE": language, "REMOTE_ADDR": "192.0.2.1"}
    for _ in range(2):
        client.post(url, {"username": "ana", "password": "wrong"}, **headers)
    return client.post(url, {"username": "ana", "password": "pw-ana"}, **headers)


@pytest.mark.parametrize("language", ["pt-br", "es", "en"])
@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_lockout_page_in_the_visitors_language(client, throttled, language, url):
    response = locked_out(client, language, url)
    assert response.status_code == 429
    html = response.content.decode()
    for text in MESSAGES[language]:
        assert text in html, text
    assert f'lang="{language}"' in html


def test_one_minute_is_singular(client, throttled, settings):
    import datetime as dt

    settings.AXES_COOLOFF_TIME = dt.timedelta(seconds=30)
    html = locked_out(client, "pt-br").content.decode()
    assert "Tente de novo em 1 minuto " in html


def test_axes_model_names_come_from_our_catalogs():
    """django-axes ships no pt-BR or es catalog: inbox/vendor_strings.py lists its model names
    (exactly its msgids) so ours translate them, e.g. in the admin's permission lists."""
    from axes.models import AccessAttempt, AccessAttemptExpiration, AccessFailureLog, AccessLog
    from django.utils import translation

    from inbox.vendor_strings import AXES

    models = [AccessAttempt, AccessAttemptExpiration, AccessFailureLog, AccessLog]
    with translation.override("en"):
        names = {str(n) for m in models for n in (m._meta.verbose_name, m._meta.verbose_name_plural)}
    assert names == set(AXES)  # the list matches the installed axes
    with translation.override("pt-br"):
        assert str(AccessAttempt._meta.verbose_name_plural) == "tentativas de acesso"
    with translation.override("es"):
        assert str(AccessLog._meta.verbose_name) == "registro de acceso"
