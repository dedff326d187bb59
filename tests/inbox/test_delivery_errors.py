"""Why a send failed, shown to each agent in their own language (``inbox.delivery_errors``).

The stored ``delivery_error`` stays the provider's technical English text (logs, API); the
reason an agent reads comes from the channel adapter's code table, through the catalogs.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import translation

from inbox import delivery_errors, services
from inbox.consumers import AgentConsumer
from inbox.models import AgentProfile
from inbox.presenters import message_payload

from .conftest import inbound, make_agent, make_inbox

META_TEXT = ("Outside the allowed messaging window (Instagram) (10/2534022): This message is sent outside "
             "of allowed window. [fbtrace_id AbC]")


def reason(kind, code, language):
    with translation.override(language):
        return delivery_errors.reason(channel_kind=kind, code=code)


@pytest.mark.parametrize("kind, code, language, expected", [
    ("instagram", "10/2534022", "pt-br", "Fora da janela permitida para mensagens (Instagram)"),
    ("instagram", "10/2534022", "es", "Fuera de la ventana permitida para mensajes (Instagram)"),
    ("instagram", "10/2534022", "en", "Outside the allowed messaging window (Instagram)"),
    ("instagram", "http_502", "pt-br", "A Meta respondeu com o status HTTP 502"),
    ("instagram", "timeout", "es", "El canal no respondió a tiempo; se volverá a intentar el envío"),
    ("webchat", "uncertain", "pt-br", "O envio foi interrompido: a mensagem pode ter chegado ou não"),
    ("email", "auth", "es", "El servidor de correo rechazó el inicio de sesión de la bandeja: revisa sus credenciales"),
])
def test_reason_in_the_active_language(settings, kind, code, language, expected):
    settings.CHANNEL_ADAPTERS = {}  # the real adapters' code tables
    assert reason(kind, code, language) == expected


def test_email_codes_and_unknown_codes(settings):
    settings.CHANNEL_ADAPTERS = {}
    assert reason("email", "550", "pt-br") == "O servidor de e-mail recusou a mensagem (SMTP 550)"
    assert reason("email", "451", "en").startswith("The mail server put the message off (SMTP 451)")
    assert reason("email", "5.1.1", "es") == "El correo rebotó (estado 5.1.1)"
    assert reason("email", "made-up", "pt-br") == ""  # the stored text is shown instead
    assert reason("webchat", "", "pt-br") == ""
    assert reason("no-such-channel", "timeout", "pt-br") == ""


def _failed_reply(inbox, error=META_TEXT, code="10/2534022"):
    conversation = inbound(inbox, "oi", sender="igsid-1").conversation
    message = services.send_reply(conversation=conversation, text="Olá!")
    return services.record_send_failure(message=message, error=error, code=code)


@pytest.mark.django_db
def test_conversation_page_and_payload_show_the_reason_with_the_raw_text_on_hover(client, settings):
    settings.CHANNEL_ADAPTERS = {}
    inbox = make_inbox("ig", kind="instagram")
    agent = make_agent("ana", inbox)
    AgentProfile.objects.update_or_create(user=agent, defaults={"language": "pt-br"})
    message = _failed_reply(inbox)
    client.force_login(agent)
    html = client.get(f"/conversations/{message.conversation_id}/").content.decode()
    assert "Fora da janela permitida para mensagens (Instagram)" in html
    assert 'title="Outside the allowed messaging window (Instagram) (10/2534022): This message' in html
    with translation.override("es"):
        data = message_payload(message)
    assert data["delivery_error_reason"] == "Fuera de la ventana permitida para mensajes (Instagram)"
    assert data["delivery_error"] == META_TEXT and data["delivery_error_code"] == "10/2534022"


@pytest.mark.django_db
def test_an_unknown_code_shows_the_stored_text(client, settings):
    inbox = make_inbox("chat")
    agent = make_agent("ana", inbox)
    message = _failed_reply(inbox, error="the widget server said no", code="made-up")
    client.force_login(agent)
    html = client.get(f"/conversations/{message.conversation_id}/").content.decode()
    assert "the widget server said no" in html


@pytest.mark.django_db(transaction=True)
def test_each_agent_hears_the_failure_in_their_own_language(settings):
    settings.CHANNEL_ADAPTERS = {}
    inbox = make_inbox("ig", kind="instagram")
    pt_agent, es_agent = make_agent("ana", inbox), make_agent("beto", inbox)

    def communicator(user, language):
        c = WebsocketCommunicator(AgentConsumer.as_asgi(), "/ws/agent/",
                                  headers=[(b"accept-language", language.encode())])
        c.scope["user"] = user
        return c

    async def next_update(c):
        while True:
            frame = await c.receive_json_from(timeout=5)
            if frame["event"] == "message.updated" and frame["data"].get("delivery_state") == "failed":
                return frame["data"]

    async def scenario():
        pt, es = communicator(pt_agent, "pt-BR"), communicator(es_agent, "es")
        assert (await pt.connect())[0] and (await es.connect())[0]
        await database_sync_to_async(_failed_reply)(inbox)
        pt_data, es_data = await next_update(pt), await next_update(es)
        assert pt_data["delivery_error_reason"] == "Fora da janela permitida para mensagens (Instagram)"
        assert es_data["delivery_error_reason"] == "Fuera de la ventana permitida para mensajes (Instagram)"
        assert pt_data["delivery_error"] == es_data["delivery_error"] == META_TEXT
        await pt.disconnect()
        await es.disconnect()

    async_to_sync(scenario)()
