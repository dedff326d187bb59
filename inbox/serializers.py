"""Input and output shapes of the REST API. No business logic here: views hand validated data
to ``inbox.services``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .bounds import MAX_DATE, MAX_ID, MIN_DATE

from .models import ChannelKind, Contact, ContactIdentity, Conversation, Inbox, Message
from .presenters import agent_name


# --- output -----------------------------------------------------------------------------------


class InboxOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Inbox
        fields = ["id", "name", "channel_kind", "enabled"]


class IdentityOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactIdentity
        fields = ["channel_kind", "address"]


class ContactOutputSerializer(serializers.ModelSerializer):
    identities = IdentityOutputSerializer(many=True, read_only=True)
    phone_valid = serializers.BooleanField(read_only=True, help_text=(
        "False when the phone could not be read as a valid number: it is kept as typed and never "
        "used to match contacts."))

    class Meta:
        model = Contact
        fields = ["id", "name", "email", "phone", "phone_valid", "locale", "avatar_url", "attributes", "opted_out",
                  "identities", "created_at", "updated_at"]


class ContactSummarySerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = ["id", "display_name", "name", "email", "phone"]

    def get_display_name(self, contact: Contact) -> str:
        return str(contact)


class ConversationOutputSerializer(serializers.ModelSerializer):
    contact = ContactSummarySerializer(read_only=True)
    inbox = InboxOutputSerializer(read_only=True)
    assignee = serializers.SerializerMethodField()
    labels = serializers.SerializerMethodField()
    unread_count = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = ["id", "inbox", "contact", "status", "assignee", "priority", "labels", "subject", "handoff_reason",
                  "handoff_detail", "snoozed_until", "created_at", "last_activity_at", "last_message_preview",
                  "unread_count"]

    def get_assignee(self, conversation: Conversation) -> dict | None:
        if not conversation.assignee_id:
            return None
        return {"id": conversation.assignee_id, "name": agent_name(conversation.assignee)}

    def get_labels(self, conversation: Conversation) -> list[str]:
        return sorted(label.name for label in conversation.labels.all())

    def get_unread_count(self, conversation: Conversation) -> int | None:
        return getattr(conversation, "unread_count", None)


class AttachmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    url = serializers.CharField()


class MessageOutputSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "conversation_id", "direction", "sender_kind", "author", "text", "is_private_note",
                  "delivery_state", "delivery_error", "attachments", "created_at"]

    def get_author(self, message: Message) -> dict | None:
        if not message.author_id:
            return None
        return {"id": message.author_id, "name": agent_name(message.author)}

    def get_attachments(self, message: Message) -> list[dict]:
        from .presenters import attachment_payload

        return [attachment_payload(a) for a in message.attachments.all()]


# --- input ------------------------------------------------------------------------------------


class ContactFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ContactUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    locale = serializers.CharField(required=False, allow_blank=True, max_length=10)
    attributes = serializers.DictField(required=False)
    opted_out = serializers.BooleanField(required=False)


class ConversationFilterSerializer(serializers.Serializer):
    view = serializers.ChoiceField(choices=["all", "mine", "unassigned"], required=False, default="all")
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    inbox = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    channel = serializers.ChoiceField(choices=ChannelKind.choices, required=False)
    label = serializers.CharField(required=False, max_length=50)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ConversationUpdateInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    snoozed_until = serializers.DateTimeField(required=False)
    assignee = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID,
                                        help_text="A user id, or null to unassign.")
    expected_assignee = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID,
        help_text="The assignee you saw; the change is refused (409) if someone else changed it meanwhile.")
    labels = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    priority = serializers.ChoiceField(choices=Conversation.Priority.choices, required=False)

    def validate_snoozed_until(self, value):
        if not MIN_DATE <= value.date() <= MAX_DATE:
            raise serializers.ValidationError(
                _("Must be between %(first)s and %(last)s.") % {"first": MIN_DATE, "last": MAX_DATE})
        return value

    def validate(self, data):
        if data.get("status") == Conversation.Status.SNOOZED and not data.get("snoozed_until"):
            raise serializers.ValidationError({"snoozed_until": _("Snoozing needs snoozed_until.")})
        return data


class MessageCreateInputSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=False, trim_whitespace=False, max_length=20000)
    private = serializers.BooleanField(required=False, default=False,
                                       help_text="true: a private note for agents; false: a reply to the customer.")
