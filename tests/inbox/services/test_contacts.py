"""Write path: contacts, identities and merging (``inbox.services.contacts``)"""

from __future__ import annotations


import pytest

from inbox import services
from inbox.models import ChannelKind, Contact, Message
from inbox.selectors import duplicate_suggestions
from tests.factories import make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_merge_moves_conversations_and_identities_without_losing_messages():
    email_inbox, wa_inbox = make_inbox("email"), make_inbox("whatsapp")
    a = receive(email_inbox, "by mail", sender="maria@example.com", contact_email="maria@example.com").conversation.contact
    b = receive(wa_inbox, "by whatsapp", sender="5511988887777", contact_phone="5511988887777").conversation.contact
    services.contact_update(contact=b, email="Maria@Example.com")
    assert duplicate_suggestions(contact=a) == [(b, "Same e-mail address (maria@example.com)")]
    merged = services.merge_contacts(primary=a, duplicate=b)
    assert Contact.objects.count() == 1
    assert merged.phone == "+5511988887777"
    assert set(merged.identities.values_list("channel_kind", flat=True)) == {"email", "whatsapp"}
    assert Message.objects.filter(conversation__contact=merged).count() == 2
    # The next WhatsApp message finds the merged contact.
    assert receive(wa_inbox, "again", sender="5511988887777").conversation.contact == merged


def test_merge_with_itself_is_refused():
    contact = Contact.objects.create(name="X")
    with pytest.raises(services.ServiceError):
        services.merge_contacts(primary=contact, duplicate=contact)


def test_one_contact_across_channels_after_identity_is_added():
    email_inbox, wa_inbox = make_inbox("email"), make_inbox("whatsapp")
    contact = receive(wa_inbox, "hi", sender="5511").conversation.contact
    services.contact_add_identity(contact=contact, channel_kind=ChannelKind.EMAIL, address="x@example.com")
    assert receive(email_inbox, "mail", sender="x@example.com").conversation.contact == contact
