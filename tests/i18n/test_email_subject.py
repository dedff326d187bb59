"""An e-mail the product sends without a subject of its own (an agent starts the conversation)
gets a subject in the customer's language, not the e-mail adapter's English fallback."""

from __future__ import annotations

import pytest

from inbox import services
from inbox.outbound import build_outbound
from inbox.models import Contact, Conversation
from tests.factories import make_agent, make_inbox

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("locale", "subject"), [("pt", "Sua mensagem"), ("es", "Tu mensaje"), ("en", "Your message")])
def test_subjectless_email_speaks_the_customers_language(locale, subject):
    inbox = make_inbox("email", name="Loja", default_language="pt")
    agent = make_agent(inboxes=[inbox])
    contact = Contact.objects.create(name="Cliente", email="cliente@example.com", locale=locale)
    conversation = Conversation.objects.create(inbox=inbox, contact=contact)
    message = services.send_reply(conversation=conversation, text="Olá", author=agent)
    assert build_outbound(message).metadata["subject"] == subject


def test_a_conversation_subject_is_kept():
    inbox = make_inbox("email", name="Loja")
    agent = make_agent(inboxes=[inbox])
    contact = Contact.objects.create(name="Cliente", email="c@example.com", locale="pt")
    conversation = Conversation.objects.create(inbox=inbox, contact=contact, subject="Pedido 10234")
    message = services.send_reply(conversation=conversation, text="Olá", author=agent)
    assert build_outbound(message).metadata["subject"] == "Pedido 10234"
