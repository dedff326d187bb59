"""Shop connections in the Django admin: paste the platform's credentials, test them, import
the last N days with a live progress display, and read every raw webhook with its error."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import credentials, services
from .models import Platform, ShopConnection, ShopEvent, ShopSync

SECRET_FIELDS = {
    "webhook_secret": _("Webhook secret (Shopify: the app's client secret or the key under Settings > Notifications; "
                        "WooCommerce: the webhook's Secret; Nuvemshop: the app's client secret)"),
    "access_token": _("Access token (Shopify Admin API, or Nuvemshop)"),
    "consumer_key": _("Consumer key (WooCommerce)"),
    "consumer_secret": _("Consumer secret (WooCommerce)"),
    "store_id": _("Store id (Nuvemshop: the user_id given with the access token)"),
}


class ShopConnectionForm(forms.ModelForm):
    """The secrets are write-only: blank keeps what is stored, and they are never shown again."""

    store_url = forms.URLField(required=False, assume_scheme="https", label=_("store URL"),
                               help_text=_("https://your-shop.myshopify.com, https://your-site.com ..."))
    webhook_secret = forms.CharField(label=SECRET_FIELDS["webhook_secret"], required=False,
                                     widget=forms.PasswordInput(render_value=False))
    access_token = forms.CharField(label=SECRET_FIELDS["access_token"], required=False,
                                   widget=forms.PasswordInput(render_value=False))
    consumer_key = forms.CharField(label=SECRET_FIELDS["consumer_key"], required=False,
                                   widget=forms.PasswordInput(render_value=False))
    consumer_secret = forms.CharField(label=SECRET_FIELDS["consumer_secret"], required=False,
                                      widget=forms.PasswordInput(render_value=False))
    store_id = forms.CharField(label=SECRET_FIELDS["store_id"], required=False)

    class Meta:
        model = ShopConnection
        fields = ["platform", "name", "store_url", "inbox", "enabled", "status_overrides"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = credentials.get_credentials(self.instance) if self.instance.pk else {}
        for name in SECRET_FIELDS:
            present = bool(stored.get(name)) or (name == "webhook_secret" and credentials.get_webhook_secret(self.instance))
            if present and name in self.fields:
                self.fields[name].help_text = _("Stored; leave blank to keep it.")
        if not self.instance.pk and "webhook_secret" in self.fields:
            self.fields["webhook_secret"].required = True

    def clean_status_overrides(self):
        from shop_connectors.base import STATUSES

        value = self.cleaned_data.get("status_overrides") or {}
        if not isinstance(value, dict) or any(not isinstance(k, str) or v not in STATUSES for k, v in value.items()):
            raise forms.ValidationError(f'Map platform statuses to one of {", ".join(STATUSES)}, '
                                        'e.g. {"completed": "delivered"}.')
        return value

    def clean(self):
        data = super().clean()
        platform = data.get("platform")
        if platform in (Platform.SHOPIFY, Platform.WOOCOMMERCE) and not data.get("store_url"):
            self.add_error("store_url", _("This platform needs the store URL."))
        return data


@admin.register(ShopConnection)
class ShopConnectionAdmin(admin.ModelAdmin):
    form = ShopConnectionForm
    list_display = ["name", "platform", "enabled", "webhook_address", "synced_until", "last_test_ok"]
    list_filter = ["platform", "enabled"]
    search_fields = ["name", "store_url", "public_id"]
    readonly_fields = ["webhook_address", "connection_state", "import_progress"]
    change_form_template = "shops/connection_change_form.html"

    def get_fieldsets(self, request, obj=None):
        main = ["platform", "name", "store_url", "inbox", "enabled"]
        secrets = list(SECRET_FIELDS)
        if obj is None:
            return [(None, {"fields": main}), (_("Credentials"), {"fields": secrets})]
        return [(None, {"fields": main}), (_("Webhook"), {"fields": ["webhook_address"]}),
                (_("Credentials"), {"fields": secrets}), (_("State"), {"fields": ["connection_state", "import_progress"]}),
                (_("Advanced"), {"fields": ["status_overrides"], "classes": ["collapse"]})]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        given = {k: data.get(k, "") for k in SECRET_FIELDS if k != "webhook_secret"}
        if change:
            saved = services.connection_update(
                connection=obj, credentials_in=given, webhook_secret=data.get("webhook_secret") or None,
                **{f: data[f] for f in ("platform", "name", "store_url", "inbox", "enabled", "status_overrides")})
        else:
            saved = services.connection_create(
                platform=data["platform"], name=data["name"], store_url=data.get("store_url") or "",
                webhook_secret=data["webhook_secret"], credentials_in=given, inbox=data.get("inbox"),
                status_overrides=data.get("status_overrides") or {})
        obj.pk = saved.pk
        obj.public_id = saved.public_id

    @admin.display(description=_("Webhook URL"))
    def webhook_address(self, obj: ShopConnection) -> str:
        return format_html("<code data-webhook-url>{}</code>", services.webhook_url(obj)) if obj.pk else "—"

    @admin.display(description=_("Connection"))
    def connection_state(self, obj: ShopConnection) -> str:
        if obj.last_test_at is None:
            return gettext("Not tested yet.")
        word = gettext("OK") if obj.last_test_ok else gettext("Failed")
        return format_html("<span data-test-state>{}</span> {}",
                           gettext("%(result)s at %(time)s") % {"result": word, "time": date_format(
                               timezone.localtime(obj.last_test_at), "SHORT_DATETIME_FORMAT")}, obj.last_error)

    @admin.display(description=_("Imports"))
    def import_progress(self, obj: ShopConnection) -> str:
        rows = format_html_join("", "<tr data-sync='{}'><td>{}</td><td data-sync-status>{}</td><td>{}</td>"
                                    "<td data-sync-orders>{}</td><td>{}</td><td>{}</td></tr>",
                                ((s.pk, s.get_kind_display(), s.get_status_display(), s.pages, s.orders_seen,
                                  gettext("%(new)s new, %(updated)s updated, %(skipped)s skipped") % {
                                      "new": s.orders_created, "updated": s.orders_updated, "skipped": s.orders_skipped},
                                  s.error[:300]) for s in obj.syncs.all()[:5]))
        headers = format_html_join("", "<th>{}</th>", ((h,) for h in (
            gettext("Kind"), gettext("Status"), gettext("Pages"), gettext("Orders"), gettext("Result"),
            gettext("Notes"))))
        return format_html("<table data-progress-url='{}'><tr>{}</tr>{}</table>",
                           reverse("admin:shops_shopconnection_progress", args=[obj.pk]), headers, rows)

    def get_urls(self):
        own = [
            path("<int:pk>/test/", self.admin_site.admin_view(self.test_view), name="shops_shopconnection_test"),
            path("<int:pk>/import/", self.admin_site.admin_view(self.import_view), name="shops_shopconnection_import"),
            path("<int:pk>/progress/", self.admin_site.admin_view(self.progress_view),
                 name="shops_shopconnection_progress"),
        ]
        return own + super().get_urls()

    def _connection(self, request, pk: int) -> ShopConnection:
        connection = get_object_or_404(ShopConnection, pk=pk)
        if not self.has_change_permission(request, connection):
            raise PermissionError
        return connection

    def _back(self, pk: int):
        return HttpResponseRedirect(reverse("admin:shops_shopconnection_change", args=[pk]))

    def test_view(self, request, pk: int):
        if request.method != "POST":
            return self._back(pk)
        ok, message = services.connection_test(connection=self._connection(request, pk))
        self.message_user(request, message, messages.SUCCESS if ok else messages.ERROR)
        return self._back(pk)

    def import_view(self, request, pk: int):
        if request.method != "POST":
            return self._back(pk)
        connection = self._connection(request, pk)
        try:
            days = int(request.POST.get("days") or 90)
            sync = services.backfill_start(connection=connection, days=days)
        except (ValueError, services.ShopServiceError) as exc:
            self.message_user(request, str(exc) or gettext("Give a number of days."), messages.ERROR)
        else:
            self.message_user(request, gettext("Import of the last %(days)s days: %(status)s.") % {"days": days, "status": sync.get_status_display().lower()},
                              messages.SUCCESS)
        return self._back(pk)

    def progress_view(self, request, pk: int):
        connection = self._connection(request, pk)
        return JsonResponse({"syncs": [
            {"id": s.pk, "kind": s.kind, "status": s.status, "pages": s.pages, "orders_seen": s.orders_seen,
             "created": s.orders_created, "updated": s.orders_updated, "skipped": s.orders_skipped,
             "error": s.error[:300], "resume_at": s.resume_at.isoformat() if s.resume_at else None}
            for s in connection.syncs.all()[:5]]})


@admin.register(ShopEvent)
class ShopEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "platform", "topic", "connection", "status", "error_short"]
    list_filter = ["status", "platform"]
    search_fields = ["topic", "delivery_id", "connection_public_id", "error"]
    readonly_fields = [f.name for f in ShopEvent._meta.fields if f.name != "body"] + ["body_text"]
    exclude = ["body"]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("Error"))
    def error_short(self, obj: ShopEvent) -> str:
        return obj.error[:80]

    @admin.display(description=_("Body"))
    def body_text(self, obj: ShopEvent) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", bytes(obj.body)[:20000].decode("utf-8", "replace"))

    @admin.action(description=_("Process again (failed events)"))
    def reprocess(self, request, queryset):
        for event in queryset.filter(status=ShopEvent.Status.FAILED):
            services.event_process(event.pk)
        self.message_user(request, gettext("Done; see each event's status."))


@admin.register(ShopSync)
class ShopSyncAdmin(admin.ModelAdmin):
    list_display = ["started_at", "connection", "kind", "status", "pages", "orders_seen", "orders_created",
                    "orders_skipped"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in ShopSync._meta.fields]

    def has_add_permission(self, request):
        return False
