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


def test_instagram_story_reply_and_mention_show_their_link(agent_client, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    inbox = make_inbox("instagram")
    url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x"
    conversation = receive(inbox, "Quanto custa?", sender="1234", metadata={"story": {"type": "reply", "url": url}}).conversation
    receive(inbox, "Mentioned you in their story", sender="1234", metadata={"story": {"type": "mention", "url": url}})
    receive(inbox, "odd", sender="1234", metadata={"story": {"type": "mention", "url": "javascript:alert(1)"}})
    html = agent_client(inbox).get(f"/conversations/{conversation.pk}/").content.decode()
    assert html.count('data-role="story"') == 3
    assert "Reply to a story" in html and html.count("Story mention") == 2
    assert html.count('href="https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&amp;signature=x"') == 2
    assert "javascript:" not in html  # only https links become links


def test_contact_panel_flags_a_number_kept_as_typed(agent_client, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    inbox = make_inbox("webchat")
    conversation = receive(inbox, "oi", sender="visitor-1").conversation
    services.contact_update(contact=conversation.contact, phone="só de manhã")
    client = agent_client(inbox)
    html = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "só de manhã <span class=\"muted\"" in html and "(unverified)" in html
    services.contact_update(contact=conversation.contact, phone="(11) 98765-4321")
    html = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "+5511987654321</dd>" in html and "(unverified)" not in html
