"""How messages show to agents: quoted e-mail text one click away, reactions, replies, escaping."""

from __future__ import annotations

import pytest

from inbox import services
from inbox.presenters import message_payload
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client):
    def login(inbox):
        agent = make_agent(inboxes=[inbox])
        client.force_login(agent)
        return client
    return login


def test_email_shows_new_text_with_the_quote_folded(agent_client, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    inbox = make_inbox("email")
    full = "Thanks, that worked!\n\nOn Mon, Ana wrote:\n> Try restarting <the app>"
    conversation = receive(inbox, "Thanks, that worked!", sender="c@example.com",
                           metadata={"full_text": full}).conversation
    html = agent_client(inbox).get(f"/conversations/{conversation.pk}/").content.decode()
    assert '<details class="msg-quoted"><summary>Show quoted text</summary>' in html
    assert "&gt; Try restarting &lt;the app&gt;" in html  # escaped, never markup


def test_reaction_and_reply_context_show_on_the_message(agent_client, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    inbox = make_inbox("whatsapp")
    first = receive(inbox, "Is it in stock?", sender="5511", provider_id="wamid.Q")
    receive(inbox, "❤", sender="5511", provider_id="wamid.R", reaction_to_provider_id="wamid.Q")
    reply = receive(inbox, "size 42 please", sender="5511", provider_id="wamid.C", reply_to_provider_id="wamid.Q")
    html = agent_client(inbox).get(f"/conversations/{first.conversation.pk}/").content.decode()
    assert '<div class="msg-reactions" data-role="reactions"><span>❤</span></div>' in html
    assert "↩ Is it in stock?" in html
    assert message_payload(reply.message)["reply_to"] == {"id": first.message.pk, "text": "Is it in stock?"}


def test_conversation_page_queries_do_not_grow_with_the_history(agent_client, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    inbox = make_inbox("whatsapp")
    client = agent_client(inbox)

    def queries_for(n_messages: int) -> int:
        conversation = receive(inbox, "first", sender=f"55{n_messages}").conversation
        for i in range(n_messages):
            receive(inbox, f"msg {i}", sender=f"55{n_messages}", provider_id=f"w-{n_messages}-{i}")
            services.send_reply(conversation=conversation, text=f"reply {i}")
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/conversations/{conversation.pk}/").status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(20)
