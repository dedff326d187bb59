"""GET /bot/api/quick-replies/: fuzzy search over canned answers for an agent's composer, text
filled for the conversation's contact and the agent; only for conversations the agent sees."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bot import services as bot_services
from bot.management.commands.load_demo_answers import DEMO_ANSWERS
from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import AgentProfile, Inbox

pytestmark = pytest.mark.django_db
URL = reverse("bot:quick-replies")


@pytest.fixture
def inbox(settings):
    settings.CHANNEL_ADAPTERS = {"webchat": "channels_adapters.locmem.LocmemAdapter"}
    return Inbox.objects.create(name="Shop chat", channel_kind="webchat")


@pytest.fixture
def conversation(inbox):
    bot_services.settings_update(inbox=inbox, enabled=False)
    return services.receive_inbound(inbox=inbox, inbound=InboundMessage(
        provider_message_id="m1", sender_address="v1", text="hello", sender_name="John Smith")).conversation


@pytest.fixture
def answers():
    for locale, title, tags, text, variants in DEMO_ANSWERS:
        bot_services.answer_create(title=title, text=text, locale=locale, tags=tags, variants=variants)


@pytest.fixture
def agent(client, django_user_model, inbox):
    user = django_user_model.objects.create_user("ana", password="x", first_name="Ana", last_name="Costa")
    AgentProfile.objects.create(user=user, display_name="Ana C.")
    inbox.members.add(user)
    client.force_login(user)
    return user


def test_search_finds_the_answer_and_fills_contact_and_agent(client, agent, conversation, answers):
    bot_services.answer_create(title="Sign-off", text="Thanks {{contact.name}}, {{agent.name}} here.", locale="en",
                               variants=["signature"])
    results = client.get(URL, {"q": "track", "conversation": conversation.pk}).json()["results"]
    assert results[0]["title"] == "Track my order"
    assert results[0]["text"].startswith("Hi John! You can track your order")
    signed = client.get(URL, {"q": "sign-off", "conversation": conversation.pk}).json()["results"]
    assert signed[0]["text"] == "Thanks John Smith, Ana C. here."


def test_typos_and_variants_are_found(client, agent, conversation, answers):
    results = client.get(URL, {"q": "cupon", "conversation": conversation.pk}).json()["results"]
    assert results[0]["title"] == "Cupom de desconto"
    results = client.get(URL, {"q": "pix", "conversation": conversation.pk}).json()["results"]
    assert results[0]["title"] == "Formas de pagamento"


def test_empty_query_lists_the_most_used_answers(client, agent, conversation, answers):
    from bot.models import CannedAnswer

    CannedAnswer.objects.filter(title="Garantia").update(usage_count=40)
    results = client.get(URL, {"q": "", "conversation": conversation.pk}).json()["results"]
    assert results[0]["title"] == "Garantia" and len(results) == 8


def test_inactive_and_other_inbox_answers_are_not_offered(client, agent, conversation):
    other = Inbox.objects.create(name="Other", channel_kind="webchat")
    bot_services.answer_create(title="Track elsewhere", text="x", locale="en", inboxes=[other])
    bot_services.answer_create(title="Track retired", text="x", locale="en", active=False)
    bot_services.answer_create(title="Track here", text="ok", locale="en", inboxes=[conversation.inbox])
    titles = [r["title"] for r in client.get(URL, {"q": "track", "conversation": conversation.pk}).json()["results"]]
    assert titles == ["Track here"]


def test_agents_outside_the_inbox_get_nothing(client, django_user_model, conversation, answers):
    stranger = django_user_model.objects.create_user("bob", password="x")
    client.force_login(stranger)
    response = client.get(URL, {"q": "track", "conversation": conversation.pk})
    assert response.status_code == 404 and "results" not in response.json()
    assert client.get(URL, {"q": "track", "conversation": "abc"}).status_code == 404


def test_anonymous_gets_401(client, conversation):
    assert client.get(URL, {"q": "track", "conversation": conversation.pk}).status_code == 401

