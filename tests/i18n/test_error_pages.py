"""400, 403, 404, 500 and the CSRF failure page in the reader's language (DEBUG off, as in
production: pytest-django runs with DEBUG=False). The English-word check over these pages is in
test_pages_translated.py."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from inbox.models import AgentProfile
from tests.factories import make_agent

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.i18n.error_urls")]

EXPECTED = {
    "pt-br": {400: "Requisição inválida", 403: "Acesso negado", 404: "Página não encontrada",
              500: "Algo deu errado", "csrf": "Falha na verificação de segurança"},
    "es": {400: "Solicitud incorrecta", 403: "Acceso denegado", 404: "Página no encontrada",
           500: "Algo salió mal", "csrf": "Falló la verificación de seguridad"},
}


def error_page(client: Client, status, language: str):
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    if status == "csrf":
        return client.post("/login/", {"username": "x", "password": "y"}, **headers)
    url = "/no-such-page/" if status == 404 else f"/test-errors/{status}/"
    return client.get(url, **headers)


@pytest.mark.parametrize("language", ["pt-br", "es"])
@pytest.mark.parametrize("status", [400, 403, 404, 500, "csrf"])
def test_error_page_speaks_the_browsers_language(settings, language, status):
    assert settings.DEBUG is False
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    response = error_page(client, status, language)
    assert response.status_code == (403 if status == "csrf" else status)
    html = response.content.decode()
    assert EXPECTED[language][status] in html
    assert f'<html lang="{language}">' in html
    assert 'href="/static/inbox/inbox.css"' in html  # the product's style, not Django's plain page


def test_a_logged_in_agent_reads_errors_in_her_profile_language():
    agent = make_agent("lucia")
    AgentProfile.objects.filter(user=agent).update(language="es")
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="pt-br")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Página no encontrada" in html and "Ir a la bandeja de entrada" in html  # header and way back


def test_english_stays_english():
    client = Client(raise_request_exception=False)
    assert "Page not found" in client.get("/nowhere/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_csrf_failure_answers_the_page_scripts_in_json():
    agent = make_agent("ana")
    AgentProfile.objects.filter(user=agent).update(language="pt-br")
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    response = client.post("/preferences/", {"language": "es"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    data = json.loads(response.content)
    assert data["ok"] is False
    assert data["error"].startswith("A verificação de segurança desta página (CSRF) falhou")
    assert data["reason"]  # Django's technical reason, in English, for whoever debugs it
