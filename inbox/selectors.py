"""Reads with permissions built in: agents see only the inboxes they belong to."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import ChannelKind, Contact, ContactIdentity, Conversation, ConversationRead, Inbox, Label, Message
from .phones import equivalent_numbers, to_wa_id


def inboxes_for(user) -> QuerySet[Inbox]:
    if not user.is_authenticated:
        return Inbox.objects.none()
    if user.is_superuser:
        return Inbox.objects.all()
    return Inbox.objects.filter(members=user)


def conversations_for(user) -> QuerySet[Conversation]:
    return Conversation.objects.filter(inbox__in=inboxes_for(user))


def contacts_for(user) -> QuerySet[Contact]:
    if user.is_superuser:
        return Contact.objects.all()
    return Contact.objects.filter(conversations__inbox__in=inboxes_for(user)).distinct()


def can_access_conversation(user, conversation: Conversation) -> bool:
    return inboxes_for(user).filter(pk=conversation.inbox_id).exists()


def with_unread_counts(conversations: QuerySet[Conversation], user) -> QuerySet[Conversation]:
    """Annotate ``unread_count``: the customer's messages after the agent last read it."""
    last_read = ConversationRead.objects.filter(conversation=OuterRef("pk"), user=user).values("last_read_at")[:1]
    return conversations.annotate(
        last_read_at=Subquery(last_read),
    ).annotate(
        unread_count=Count("messages", filter=Q(messages__direction=Message.Direction.INCOMING) & (
            Q(last_read_at__isnull=True) | Q(messages__created_at__gt=Coalesce("last_read_at", "created_at"))
        ), distinct=True),
    )


def conversation_list(*, user, view: str = "all", status: str | None = None, inbox_id: int | None = None,
                      channel_kind: str | None = None, label: str | None = None, query: str = "") -> QuerySet[Conversation]:
    """The inbox list: views *mine*, *unassigned*, *all*, filters, and search by contact and text."""
    qs = conversations_for(user).select_related("inbox", "contact", "assignee", "assignee__agent_profile")
    if view == "mine":
        qs = qs.filter(assignee=user)
    elif view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if status:
        qs = qs.filter(status=status)
    elif view in ("mine", "unassigned"):
        qs = qs.exclude(status=Conversation.Status.RESOLVED)
    if inbox_id:
        qs = qs.filter(inbox_id=inbox_id)
    if channel_kind:
        qs = qs.filter(inbox__channel_kind=channel_kind)
    if label:
        qs = qs.filter(labels__name=label)
    if query:
        matching_messages = Message.objects.filter(text__icontains=query, is_private_note=False).values("conversation_id")
        qs = qs.filter(
            Q(contact__name__icontains=query) | Q(contact__email__icontains=query) | Q(contact__phone__icontains=query)
            | Q(pk__in=matching_messages)
        )
    return with_unread_counts(qs, user).order_by("-last_activity_at", "-pk")


def contact_history(*, contact: Contact, user) -> QuerySet[Message]:
    """Every message of the contact on every channel the agent may see, oldest first."""
    return (Message.objects.filter(conversation__contact=contact, conversation__inbox__in=inboxes_for(user))
            .select_related("inbox", "author", "author__agent_profile", "conversation__contact", "reply_to")
            .prefetch_related("attachments").order_by("created_at", "id"))


def labels_for(user) -> QuerySet[Label]:
    """Labels in use on conversations of the agent's inboxes (names are shared by every inbox,
    but which ones exist elsewhere is not the agent's business)."""
    if user.is_superuser:
        return Label.objects.order_by("name")
    used = Conversation.labels.through.objects.filter(
        label=OuterRef("pk"), conversation__inbox__in=inboxes_for(user))
    return Label.objects.filter(Exists(used)).order_by("name")


# --- merging contacts -----------------------------------------------------------------------------
#
# A merge joins identities: after it, every channel address of both contacts leads to one
# contact and its whole history. Two rules keep that safe (docs/widget.md, "identity"):
# - an unverified web visitor (a widget browser the shop did not sign, whose e-mail or phone was
#   only typed) is never merged: the merge would let that browser read the other's chats;
# - an agent merges only contacts whose every conversation is in inboxes they belong to; other
#   merges need an admin (superuser), because the merged contact shows both sides' data.

def _unverified_visitor(contact_ref) -> Q:
    """Contacts with a widget identity but no shop-verified one (``user:<id>``)."""
    webchat = ContactIdentity.objects.filter(contact=contact_ref, channel_kind=ChannelKind.WEBCHAT)
    return Q(Exists(webchat)) & ~Q(Exists(webchat.filter(address__startswith="user:")))


def _outside_inboxes(contact_ref, user) -> Q:
    return Q(Exists(Conversation.objects.filter(contact=contact_ref).exclude(inbox__in=inboxes_for(user))))


def merge_refusal(*, user, primary: Contact, duplicate: Contact) -> str:
    """Why ``user`` may not merge these two contacts, or "" when they may."""
    if primary.pk == duplicate.pk:
        return "A contact cannot be merged with itself."
    pair = Contact.objects.filter(pk__in=[primary.pk, duplicate.pk])
    if pair.filter(_unverified_visitor(OuterRef("pk"))).exists():
        return ("One of these contacts is a website visitor whose e-mail or phone was typed in the chat, not "
                "verified by the shop. Merging would let that browser read the other contact's conversations.")
    if not user.is_superuser and pair.filter(_outside_inboxes(OuterRef("pk"), user)).exists():
        return ("One of these contacts has conversations in inboxes you are not a member of. "
                "Ask an administrator to merge them.")
    return ""


def contact_ids_on_line(phone: str) -> set[int]:
    """Contacts reachable on the same line as ``phone``: their phone in any equivalent form (see
    ``inbox.phones``), or a WhatsApp identity for one. Two indexed lookups, whatever the number
    of contacts. Empty for a number that is not valid, which never joins contacts."""
    forms = equivalent_numbers(phone)
    if not forms:
        return set()
    by_phone = Contact.objects.filter(phone__in=forms).values_list("pk", flat=True)
    by_identity = ContactIdentity.objects.filter(channel_kind=ChannelKind.WHATSAPP,
                                                 address__in=[to_wa_id(f) for f in forms]).values_list("contact_id", flat=True)
    return set(by_phone) | set(by_identity)


def contacts_on_line(phone: str) -> QuerySet[Contact]:
    ids = contact_ids_on_line(phone)
    return Contact.objects.filter(pk__in=ids).order_by("pk") if ids else Contact.objects.none()


def duplicate_suggestions(*, contact: Contact, user=None) -> list[tuple[Contact, str]]:
    """Other contacts with the same e-mail address or phone line (likely the same person
    arriving on another channel; Brazilian, Argentine and Mexican numbers in either form), each
    with the reason it is suggested. With ``user``, only
    contacts that user may merge (``merge_refusal``); without, every match (admin tools)."""
    conditions = Q()
    if contact.email:
        conditions |= Q(email__iexact=contact.email)
    line = contact_ids_on_line(contact.phone) if contact.phone else set()
    if line:
        conditions |= Q(pk__in=line)
    if not conditions:
        return []
    candidates = Contact.objects.filter(pk__in=Contact.objects.filter(conditions).values("pk")).exclude(pk=contact.pk)
    if user is not None:
        refused = _unverified_visitor(OuterRef("pk"))
        if not user.is_superuser:
            refused |= _outside_inboxes(OuterRef("pk"), user)
        if Contact.objects.filter(pk=contact.pk).filter(refused).exists():
            return []
        candidates = candidates.exclude(refused)
    suggestions = []
    for other in candidates.order_by("pk")[:5]:
        if contact.email and other.email.lower() == contact.email.lower():
            reason = f"Same e-mail address ({other.email})"
        else:
            reason = f"Same phone number ({other.phone or contact.phone})"
        suggestions.append((other, reason))
    return suggestions


def reread_conversation(conversation: Conversation, *related: str, queryset: QuerySet[Conversation] | None = None
                        ) -> Conversation:
    """``conversation`` read again (from ``queryset``, e.g. under a row lock) with ``related``
    loaded. The inbox it already carries is the same row and is kept instead of read (and its
    credentials decrypted) again; otherwise the inbox is loaded with the rest."""
    queryset = Conversation.objects.all() if queryset is None else queryset
    inbox = conversation.inbox if "inbox" in conversation._state.fields_cache else None
    fresh = queryset.select_related(*related, *(() if inbox else ("inbox",))).get(pk=conversation.pk)
    if inbox is not None and inbox.pk == fresh.inbox_id:
        fresh.inbox = inbox
    return fresh
