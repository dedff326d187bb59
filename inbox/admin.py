"""The Django admin, for admins who are not developers: filters, search, inlines, and the raw
webhook events with their errors.

Staff who are not superusers see only the inboxes they belong to, and what belongs to them;
actions that change something (resolve, reopen, retry, merge, process again, test connection)
need the model's change permission; channel secrets are write-only (``admin_forms``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.utils.html import format_html

from . import admin_auth, selectors, services, system_messages
from .admin_forms import InboxAdminForm
from .inbound import process_webhook_event
from .models import (
    AgentConnection,
    AgentProfile,
    Attachment,
    Contact,
    ContactIdentity,
    Conversation,
    FailedWebhookEvent,
    Inbox,
    Label,
    Message,
    Team,
    WebhookEvent,
)


class ChangePermissionActions:
    """``@admin.action(permissions=["act"])``: allowed with the model's change permission, also on
    read-only admins (whose ``has_change_permission`` is False so nobody edits rows directly)."""

    def has_act_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class ScopedToInboxes:
    """Non-superusers see only rows of inboxes they are a member of."""

    inbox_path = "inbox"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.inbox_path}__in": selectors.inboxes_for(request.user)}).distinct()


INBOX_FILTER = ("inbox", admin.RelatedOnlyFieldListFilter)


@admin.register(Inbox)
class InboxAdmin(ChangePermissionActions, ScopedToInboxes, admin.ModelAdmin):
    form = InboxAdminForm
    inbox_path = "pk"
    list_display = ["name", "channel_kind", "enabled", "auto_assign", "public_id", "last_error_short"]
    list_filter = ["channel_kind", "enabled"]
    search_fields = ["name", "public_id"]
    filter_horizontal = ["members"]
    readonly_fields = ["public_id", "setup_instructions", "last_error", "last_error_at", "channel_state"]
    fieldsets = [
        (None, {"fields": ["name", "channel_kind", "enabled", "members", "auto_assign", "reopen_window_hours",
                           "phone_region"]}),
        (_("Connection"), {"fields": ["setup_instructions", "channel_config", "webhook_verify_token", "public_id",
                                   "last_error", "last_error_at", "channel_state"]}),
        (_("Customer-facing"), {"fields": ["greeting", "default_language", "currency", "timezone", "business_hours",
                                        "out_of_hours_message"]}),
        (_("Web chat"), {"fields": ["allowed_origins", "widget_settings", "widget_secret"], "classes": ["collapse"]}),
    ]

    actions = ["test_connection"]

    @admin.action(description=_("Test connection (checks the credentials with the provider)"), permissions=["act"])
    def test_connection(self, request, queryset):
        from channels_adapters.registry import get_adapter

        for inbox in queryset:
            try:
                result = get_adapter(inbox).test_connection()
            except Exception as exc:
                services.inbox_record_channel_state(inbox=inbox, error=_("Connection test failed: %(error)s") % {"error": exc})
                self.message_user(request, f"{inbox.name}: {exc}", messages.ERROR)
            else:
                services.inbox_record_channel_state(inbox=inbox, error="")
                self.message_user(request, f"{inbox.name}: OK — {result}", messages.SUCCESS)

    @admin.display(description=_("Last error"))
    def last_error_short(self, obj: Inbox) -> str:
        return obj.last_error[:80]

    @admin.display(description=_("Setup"))
    def setup_instructions(self, obj: Inbox) -> str:
        if not obj.pk:
            return _("Save the inbox first.")
        from django.conf import settings

        base = settings.PUBLIC_BASE_URL
        if obj.channel_kind == "webchat":
            return format_html(
                _("Paste into your site's HTML:") + "<br>"
                "<code>&lt;script src=\"{}/widget.js\" data-inbox=\"{}\" async&gt;&lt;/script&gt;</code>",
                base, obj.public_id)
        if obj.channel_kind in ("whatsapp", "messenger", "instagram"):
            hook = format_html(_("Callback URL: <code>{}/webhooks/{}/{}/</code><br>Verify token: <code>{}</code>"),
                               base, obj.channel_kind, obj.public_id, obj.webhook_verify_token)
            if obj.channel_kind != "instagram":
                return hook
            return format_html(
                _("{}<br>Channel config: <code>{{\"instagram_account_id\": \"…\", \"access_token\": \"…\", "
                  "\"app_secret\": \"…\"}}</code> (optional <code>\"human_agent_tag\": true</code>).<br>"
                  "Webhook fields: <code>messages</code>, <code>messaging_postbacks</code>, <code>messaging_seen</code>, "
                  "<code>message_reactions</code>, <code>message_edit</code>. Then use “Test connection”."), hook)
        return format_html(_("Inbound webhook (raw MIME): <code>{}/webhooks/email/{}/</code>"), base, obj.public_id)


class ContactIdentityInline(admin.TabularInline):
    model = ContactIdentity
    extra = 0
    readonly_fields = ["channel_kind", "address", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(ChangePermissionActions, admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "locale", "opted_out", "created_at"]
    list_filter = ["opted_out", "locale", "identities__channel_kind"]
    search_fields = ["name", "email", "phone", "identities__address"]
    inlines = [ContactIdentityInline]
    actions = ["merge_selected"]
    fields = ["name", "email", "phone", "locale", "avatar_url", "attributes", "opted_out"]

    def has_add_permission(self, request):
        return False  # contacts arrive from channels, the API and order imports

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=selectors.contacts_for(request.user).values("pk"))

    def save_model(self, request, obj, form, change):
        """Edits go through the write path like every other change of a contact."""
        original = Contact.objects.get(pk=obj.pk)
        services.contact_update(contact=original, **{field: form.cleaned_data[field] for field in form.changed_data})

    @admin.action(description=_("Merge selected contacts into the oldest one"), permissions=["act"])
    def merge_selected(self, request, queryset):
        contacts = list(queryset.order_by("created_at", "pk"))
        if len(contacts) < 2:
            self.message_user(request, _("Select at least two contacts."), messages.WARNING)
            return
        primary = contacts[0]
        merged = 0
        for duplicate in contacts[1:]:
            try:
                primary = services.merge_contacts(primary=primary, duplicate=duplicate, actor=request.user)
                merged += 1
            except services.ServiceError as exc:
                self.message_user(request, _("%(contact)s was not merged: %(error)s") % {"contact": duplicate, "error": exc},
                                  messages.ERROR)
        self.message_user(request, ngettext("Merged %(count)s contact into %(name)s.", "Merged %(count)s contacts into %(name)s.",
                                            merged) % {"count": merged, "name": primary})


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["created_at", "direction", "sender_kind", "author", "shown_text", "is_private_note", "delivery_state",
              "delivery_error"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    @admin.display(description=_("Text"))
    def shown_text(self, obj: Message) -> str:
        return system_messages.text_of(obj)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(ChangePermissionActions, ScopedToInboxes, admin.ModelAdmin):
    list_display = ["id", "contact", "inbox", "status", "assignee", "priority", "handoff_reason", "last_activity_at"]
    list_filter = ["status", INBOX_FILTER, "inbox__channel_kind", "priority", "handoff_reason", "labels", "assignee"]
    search_fields = ["contact__name", "contact__email", "contact__phone", "subject"]
    raw_id_fields = ["contact"]
    date_hierarchy = "last_activity_at"
    inlines = [MessageInline]
    list_select_related = ["contact", "inbox", "assignee"]
    actions = ["resolve_selected", "reopen_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only: a direct save would skip the write path and the agents' live pages.
        return False

    @admin.action(description=_("Resolve selected conversations"), permissions=["act"])
    def resolve_selected(self, request, queryset):
        for conversation in queryset:
            services.resolve(conversation=conversation, actor=request.user)
        count = queryset.count()
        self.message_user(request, ngettext("Resolved %(count)s conversation.", "Resolved %(count)s conversations.", count)
                          % {"count": count})

    @admin.action(description=_("Reopen selected conversations"), permissions=["act"])
    def reopen_selected(self, request, queryset):
        for conversation in queryset:
            services.reopen(conversation=conversation, actor=request.user)
        count = queryset.count()
        self.message_user(request, ngettext("Reopened %(count)s conversation.", "Reopened %(count)s conversations.", count)
                          % {"count": count})


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0


@admin.register(Message)
class MessageAdmin(ChangePermissionActions, ScopedToInboxes, admin.ModelAdmin):
    list_display = ["id", "conversation", "direction", "sender_kind", "short_text", "delivery_state", "created_at"]
    list_filter = ["direction", "sender_kind", "delivery_state", "is_private_note", INBOX_FILTER]
    search_fields = ["text", "provider_message_id"]
    raw_id_fields = ["conversation", "reply_to"]
    inlines = [AttachmentInline]
    list_select_related = ["conversation__contact"]
    actions = ["retry_failed"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # messages change only through the write path

    @admin.display(description=_("Text"))
    def short_text(self, obj: Message) -> str:
        return system_messages.text_of(obj)[:80]

    @admin.action(description=_("Retry failed sends"), permissions=["act"])
    def retry_failed(self, request, queryset):
        count = 0
        for message in queryset.filter(delivery_state="failed"):
            services.retry_send(message=message, actor=request.user)
            count += 1
        self.message_user(request, ngettext("Queued %(count)s message again.", "Queued %(count)s messages again.", count)
                          % {"count": count})


@admin.register(WebhookEvent)
class WebhookEventAdmin(ChangePermissionActions, ScopedToInboxes, admin.ModelAdmin):
    list_display = ["id", "channel_kind", "inbox", "status", "error_short", "attempts", "received_at"]
    list_filter = ["status", "channel_kind", INBOX_FILTER]
    search_fields = ["error", "inbox_public_id"]
    readonly_fields = ["inbox", "channel_kind", "inbox_public_id", "headers", "body_text", "status", "error",
                       "failures", "summary", "attempts", "next_attempt_at", "received_at", "processed_at"]
    exclude = ["body"]
    actions = ["reprocess"]

    @admin.display(description=_("Error"))
    def error_short(self, obj: WebhookEvent) -> str:
        return obj.error[:100]

    @admin.display(description=_("Body"))
    def body_text(self, obj: WebhookEvent) -> str:
        return format_html("<pre style='white-space:pre-wrap;max-height:30em;overflow:auto'>{}</pre>",
                           bytes(obj.body)[:100_000].decode("utf-8", "replace"))

    @admin.action(description=_("Process again"), permissions=["act"])
    def reprocess(self, request, queryset):
        for event in queryset.exclude(status=WebhookEvent.Status.REJECTED):
            WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED)
            process_webhook_event(event.pk)
        self.message_user(request, _("Processed again; see each event's status."))

    def has_add_permission(self, request):
        return False


@admin.register(FailedWebhookEvent)
class FailedWebhookEventAdmin(WebhookEventAdmin):
    """Events that could not be (fully) processed: which item failed and why, when the next
    automatic attempt is (none once ``WEBHOOK_MAX_ATTEMPTS`` are used up), and "Process again"."""

    list_display = ["id", "channel_kind", "inbox", "failed_items", "attempts", "next_attempt_at", "received_at"]
    list_filter = ["channel_kind", INBOX_FILTER]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=WebhookEvent.Status.FAILED)

    @admin.display(description=_("What failed"))
    def failed_items(self, obj: WebhookEvent) -> str:
        if obj.failures:
            return "; ".join(f"{f.get('item')}: {str(f.get('error', ''))[:80]}" for f in obj.failures[:3])
        return obj.error[:100]


admin.site.register(Team, filter_horizontal=["members"])
admin.site.register(Label, list_display=["name", "color"], search_fields=["name"])
admin.site.register(AgentProfile, list_display=["user", "display_name", "max_open_conversations", "accepts_auto_assignment"])
admin.site.register(AgentConnection, list_display=["user", "presence", "connected_at", "last_seen"])
admin.site.site_header = _("Support inbox administration")
admin_auth.install()  # users and groups: permission names in the reader's language
