"""Pages: the contact panel beside a conversation, the survey link, reports and their CSV,
and the follow-up dry run. Charts are inline SVG drawn here from the report tables."""

from __future__ import annotations

import csv
import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from inbox.locale import catalog_language
from inbox.models import ChannelKind
from inbox import bounds
from inbox.selectors import contacts_for, inboxes_for

from . import followups, reports, selectors, services
from .models import Survey
from .survey_tokens import survey_for_signed_token

CHANNEL_COLORS = {"webchat": "#2563eb", "whatsapp": "#16a34a", "messenger": "#9333ea",
                  "instagram": "#d62976", "email": "#ea580c"}


# --- contact panel --------------------------------------------------------------------------------


@require_GET
def contact_panel(request, contact_id: int):
    """An HTML fragment for the inbox sidebar: orders, metrics, satisfaction. Agents only, and
    only for contacts of inboxes they belong to (404 otherwise, so ids reveal nothing)."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden(_("Log in to see customer details."))
    contact = get_object_or_404(contacts_for(request.user), pk=contact_id)
    context = {
        "contact": contact,
        "metrics": selectors.customer_metrics(contact=contact),
        "orders": selectors.recent_orders(contact=contact),
        "surveys": selectors.satisfaction_history(contact=contact, limit=5),
        "satisfaction": selectors.satisfaction_summary(contact=contact),
    }
    return render(request, "retention/contact_panel.html", context)


# --- survey link (e-mail) -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def survey_link(request, signed: str):
    """The e-mail survey. GET shows the five ratings (the clicked one selected) and a comment
    box; only POST records, because mail scanners open every link in a message."""
    try:
        survey = survey_for_signed_token(signed)
    except signing.BadSignature:
        return HttpResponseBadRequest(_("This survey link is not valid."))
    except Survey.DoesNotExist:
        raise Http404(_("This survey no longer exists.")) from None
    # The customer's page speaks the survey's language, not the browser's.
    translation.activate(catalog_language(survey.language))
    error = ""
    saved = False
    selected = request.GET.get("r", "")
    if request.method == "POST":
        selected = request.POST.get("rating", "")
        try:
            services.survey_answer(survey=survey, rating=selected, comment=request.POST.get("comment", ""),
                                   source="link")
            saved = True
            survey.refresh_from_db()
        except services.RetentionError as exc:
            error = str(exc)
    context = {"survey": survey, "selected": str(selected), "saved": saved, "error": error,
               "ratings": [5, 4, 3, 2, 1], "question": services.settings_for(survey.inbox).survey_questions.get(
                   survey.language) or _("How did we do?")}
    return render(request, "retention/survey.html", context, status=400 if error else 200)


# --- reports --------------------------------------------------------------------------------------


def _parse_date(value: str | None, default: dt.date, name: str) -> dt.date:
    """A YYYY-MM-DD date; garbage gives ``default``, a date out of range a 400 (OutOfRange)."""
    try:
        date = dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default
    return bounds.bounded_date(date, name=name)


def _period(request) -> tuple[reports.Period, dict]:
    today = timezone.localdate()
    date_to = _parse_date(request.GET.get("to"), today, "to")
    date_from = _parse_date(request.GET.get("from"), max(date_to - dt.timedelta(days=29), bounds.MIN_DATE), "from")
    inbox_id = bounds.optional_id(request.GET.get("inbox"), name="inbox")
    period = reports.period_for(user=request.user, date_from=date_from, date_to=date_to, inbox_id=inbox_id)
    return period, {"from": min(date_from, date_to).isoformat(), "to": max(date_from, date_to).isoformat(),
                    "inbox": inbox_id}


def _hbars(items: list[tuple[str, float | None]], *, unit: str = "", color: str = "#2563eb", width: int = 460):
    """Horizontal bars: label, bar, value."""
    row_height, label_width = 26, 150
    peak = max([value or 0 for _, value in items] + [0]) or 1
    bars = []
    for index, (label, value) in enumerate(items):
        length = (width - label_width - 70) * (value or 0) / peak
        bars.append({"label": str(label), "y": index * row_height + 4, "text_y": index * row_height + 18,
                     "x": label_width, "w": round(length, 1), "value_x": label_width + round(length, 1) + 6,
                     "value": "—" if value is None else f"{value:g}{unit}", "color": color})
    return {"width": width, "height": max(len(items), 1) * row_height + 8, "bars": bars,
            "label_width": label_width - 6}


def _stacked_columns(table: reports.Table, days: list[dt.date], width: int = 640, height: int = 220):
    counts: dict[str, dict[str, int]] = {}
    for day, channel, n in table.rows:
        counts.setdefault(day, {})[channel] = n
    channels = sorted({row[1] for row in table.rows})
    names = dict(ChannelKind.choices)
    peak = max([sum(c.values()) for c in counts.values()] + [1])
    plot_height, left = height - 30, 36
    step = (width - left) / max(len(days), 1)
    columns = []
    for index, day in enumerate(days):
        y = plot_height
        for channel in channels:
            n = counts.get(day.isoformat(), {}).get(channel, 0)
            if not n:
                continue
            h = plot_height * n / peak
            y -= h
            columns.append({"x": round(left + index * step + 1, 1), "y": round(y, 1), "w": round(max(step - 2, 1), 1),
                            "h": round(h, 1), "color": CHANNEL_COLORS.get(channel, "#64748b"),
                            "title": f"{day.isoformat()} {names.get(channel, channel)}: {n}"})
    labels = [{"x": round(left + i * step + step / 2, 1), "text": day.strftime("%d/%m")}
              for i, day in enumerate(days) if len(days) <= 14 or i % max(len(days) // 10, 1) == 0]
    legend = [{"name": names.get(c, c), "color": CHANNEL_COLORS.get(c, "#64748b"), "x": left + i * 110} for i, c in enumerate(channels)]
    return {"width": width, "height": height + 20, "plot_height": plot_height, "columns": columns, "labels": labels,
            "legend": legend, "peak": peak, "left": left, "axis_y": plot_height, "label_y": plot_height + 14,
            "legend_y": height + 10}


def _short_group(index: int) -> str:
    """Short chart label of the retention table's row ``index`` (0: talked to support)."""
    return _("support") if index == 0 else _("no support")


@login_required
@require_GET
def reports_page(request):
    period, params = _period(request)
    tables = {name: reports.build(name, period) for name in reports.REPORTS}
    response_rows = tables["response_times"].rows
    retention_rows = tables["retention"].rows
    bot = tables["bot_share"].rows[0]
    charts = {
        "conversations": _stacked_columns(tables["conversations"], period.days),
        "bot_share": _hbars([(_("bot only"), bot[3]), (_("needed an agent"), None if bot[3] is None else round(100 - bot[3], 1))],
                            unit="%", color="#0891b2"),
        "response_times": _hbars([(_("%(metric)s median") % {"metric": r[0]}, r[2]) for r in response_rows]
                                 + [(_("%(metric)s p90") % {"metric": r[0]}, r[3]) for r in response_rows],
                                 unit=" min", color="#7c3aed"),
        "satisfaction": _hbars([("★" * r[0], r[1]) for r in reversed(tables["satisfaction"].rows)], color="#f59e0b"),
        "agent_load": _hbars([(r[0], r[1]) for r in tables["agent_load"].rows], color="#2563eb"),
        "retention": _hbars([(_("%(group)s: returning") % {"group": _short_group(i)}, r[3])
                             for i, r in enumerate(retention_rows)]
                            + [(_("%(group)s: repeat") % {"group": _short_group(i)}, r[5])
                               for i, r in enumerate(retention_rows)], unit="%",
                            color="#16a34a"),
    }
    sections = [{"name": name, "table": tables[name], "chart": charts[name]} for name in reports.REPORTS]
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return render(request, "retention/reports.html", {
        "sections": sections, "params": params, "query": query,
        "inboxes": inboxes_for(request.user).order_by("name"),
    })


@login_required
@require_GET
def report_csv(request, name: str):
    if name not in reports.REPORTS:
        raise Http404(_("No such report."))
    period, params = _period(request)
    table = reports.build(name, period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}_{params["from"]}_{params["to"]}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if value is None else value for value in row])
    return response


# --- follow-ups -----------------------------------------------------------------------------------


@login_required
@require_GET
def followup_preview(request):
    """Dry run of the follow-up rules: who would receive what now. Staff only (it lists
    customers of every inbox)."""
    if not request.user.is_staff:
        return HttpResponseForbidden(_("Only staff can preview follow-ups."))
    return render(request, "retention/followup_preview.html", {"rows": followups.preview(), "now": timezone.now()})
