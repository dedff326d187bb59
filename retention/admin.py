"""Admin for settings and rules (configuration); orders, surveys and sends are read-only here,
because only ``retention.services`` writes them."""

from django.contrib import admin

from .models import FollowUpRule, FollowUpSend, InboxRetentionSettings, Order, Survey


@admin.register(InboxRetentionSettings)
class InboxRetentionSettingsAdmin(admin.ModelAdmin):
    list_display = ["inbox", "survey_enabled", "survey_delay_minutes", "quiet_start", "quiet_end"]


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "delay_hours", "active"]
    list_filter = ["trigger", "active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "contact", "ordered_at", "status", "total", "currency"]
    list_filter = ["status", "currency"]
    search_fields = ["external_id", "contact__email", "contact__phone"]


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    list_display = ["conversation", "contact", "agent", "status", "rating", "skip_reason", "answered_at"]
    list_filter = ["status", "rating", "channel_kind"]


@admin.register(FollowUpSend)
class FollowUpSendAdmin(ReadOnlyAdmin):
    list_display = ["rule", "contact", "trigger_key", "status", "reason", "created_at", "sent_at"]
    list_filter = ["status", "rule"]
