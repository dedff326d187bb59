"""Admin for the FAQ bot. Answer edits (with their inline variants) bump the answer-set
version in the admin's own transaction, so every process's index follows the edit."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.http import HttpResponse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from . import services
from .import_export import export_csv, export_json
from .models import BotDecisionLog, BotSettings, CannedAnswer, QuestionVariant, UnansweredQuestion
from .reasons import reason_label


def _number(value) -> str:
    return number_format(value, 2) if isinstance(value, (int, float)) else "—"


class QuestionVariantInline(admin.TabularInline):
    model = QuestionVariant
    extra = 3
    fields = ("text", "locale")


class HelpfulFilter(admin.SimpleListFilter):
    title = _("helpful rate")
    parameter_name = "helpful"

    def lookups(self, request, model_admin):
        return [("low", _("Below 50%")), ("none", _("No feedback yet"))]

    def queryset(self, request, queryset):
        from django.db.models import F

        if self.value() == "low":
            return queryset.filter(not_helpful_count__gt=F("helpful_count"))
        if self.value() == "none":
            return queryset.filter(helpful_count=0, not_helpful_count=0)
        return queryset


@admin.register(CannedAnswer)
class CannedAnswerAdmin(admin.ModelAdmin):
    list_display = ("title", "locale", "active", "variant_count", "usage_count", "helpful_rate_display", "updated_at")
    list_filter = ("locale", "active", "inboxes", HelpfulFilter)
    search_fields = ("title", "text", "tags", "variants__text")
    filter_horizontal = ("inboxes",)
    readonly_fields = ("usage_count", "helpful_count", "not_helpful_count", "created_at", "updated_at")
    inlines = [QuestionVariantInline]
    actions = ["export_as_csv", "export_as_json", "deactivate"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_variants=Count("variants", distinct=True))

    @admin.display(description=_("variants"), ordering="_variants")
    def variant_count(self, obj):
        return obj._variants

    @admin.display(description=_("helpful"))
    def helpful_rate_display(self, obj):
        rate = obj.helpful_rate
        if rate is None:
            return "—"
        return format_html("{}% <small>({}/{})</small>", round(rate * 100), obj.helpful_count,
                           obj.helpful_count + obj.not_helpful_count)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.bump_answer_version()

    def delete_model(self, request, obj):
        services.answer_delete(answer=obj)

    def delete_queryset(self, request, queryset):
        queryset.delete()
        services.bump_answer_version()

    @admin.action(description=_("Export selected answers as CSV"))
    def export_as_csv(self, request, queryset):
        response = HttpResponse(export_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="canned-answers.csv"'
        return response

    @admin.action(description=_("Export selected answers as JSON"))
    def export_as_json(self, request, queryset):
        response = HttpResponse(export_json(queryset), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="canned-answers.json"'
        return response

    @admin.action(description=_("Deactivate selected answers"))
    def deactivate(self, request, queryset):
        for answer in queryset:
            services.answer_update(answer=answer, active=False)
        count = queryset.count()
        self.message_user(request, ngettext("Deactivated %(count)s answer.", "Deactivated %(count)s answers.", count)
                          % {"count": count}, messages.SUCCESS)


@admin.register(BotSettings)
class BotSettingsAdmin(admin.ModelAdmin):
    list_display = ("inbox", "enabled", "answer_threshold", "suggest_threshold", "margin", "max_misses", "email_mode")
    list_filter = ("enabled",)


class ReasonFilter(admin.SimpleListFilter):
    """Reason codes by their label in the reader's language."""

    title = _("last reason")
    parameter_name = "last_reason"

    def lookups(self, request, model_admin):
        codes = model_admin.model.objects.order_by().values_list(self.parameter_name, flat=True).distinct()
        return [(code, reason_label(code)) for code in sorted(set(codes)) if code]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class DecisionReasonFilter(ReasonFilter):
    title = _("reason")
    parameter_name = "reason"


@admin.register(BotDecisionLog)
class BotDecisionLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "action", "reason_text", "answer", "language", "helpful", "question")
    list_filter = ("action", DecisionReasonFilter, "language", "helpful")
    search_fields = ("question",)
    date_hierarchy = "created_at"
    list_select_related = ("answer", "conversation__contact")
    #: read-only page: the reason and the candidates as a person reads them, not codes and JSON keys
    fields = ("conversation", "message", "question", "language", "candidates_text", "action", "reason_text",
              "answer", "reply", "helpful", "created_at")
    readonly_fields = ("candidates_text", "reason_text")

    @admin.display(description=_("reason"), ordering="reason")
    def reason_text(self, obj: BotDecisionLog) -> str:
        return reason_label(obj.reason)

    @admin.display(description=_("candidates"))
    def candidates_text(self, obj: BotDecisionLog) -> str:
        rows = [c for c in obj.candidates or [] if isinstance(c, dict)]
        if not rows:
            return "—"
        return format_html_join("", "<div>{}</div>", ((gettext(
            "%(title)s: confidence %(confidence)s, score %(score)s") % {
            "title": c.get("title", c.get("answer_id", "")), "confidence": _number(c.get("confidence")),
            "score": _number(c.get("score"))},) for c in rows))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(admin.ModelAdmin):
    list_display = ("example", "count", "reason", "last_seen", "resolved", "answer")
    list_filter = ("resolved", ReasonFilter, "language")
    search_fields = ("example", "key")
    readonly_fields = ("key", "first_seen", "last_seen")

    @admin.display(description=_("last reason"), ordering="last_reason")
    def reason(self, obj: UnansweredQuestion) -> str:
        return reason_label(obj.last_reason)
