"""Support and retention reports, computed by the database.

Each report takes a ``Period`` (dates, the inboxes the viewer may see) and returns a ``Table``
(columns and rows), which the page draws as a chart and exports as CSV unchanged.

Percentiles (median, 90th) use the nearest rank. On PostgreSQL they are computed in the database;
on SQLite from a ``values_list`` of timestamps in Python (see ``percentiles`` for why).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from django.db.models import (
    Avg, Count, DurationField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.hours import business_duration
from inbox.models import Conversation, Inbox, Message
from inbox.selectors import inboxes_for
from inbox.presenters import agent_name

from .models import Order, Survey

REPORTS = ("conversations", "bot_share", "response_times", "satisfaction", "agent_load", "retention")


@dataclasses.dataclass
class Period:
    start: dt.datetime  # inclusive
    end: dt.datetime  # exclusive
    inbox_ids: list[int]
    tz: dt.tzinfo

    @property
    def days(self) -> list[dt.date]:
        first, last = self.start.astimezone(self.tz).date(), (self.end - dt.timedelta(microseconds=1)).astimezone(self.tz).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@dataclasses.dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""


def period_for(*, user, date_from: dt.date, date_to: dt.date, inbox_id: int | None = None,
               tz: dt.tzinfo | None = None) -> Period:
    """The days ``date_from``..``date_to`` (inclusive, in ``tz``) over the inboxes ``user`` may
    see, or only ``inbox_id`` among them."""
    tz = tz or timezone.get_current_timezone()
    if date_to < date_from:
        date_from, date_to = date_to, date_from
    inboxes = inboxes_for(user)
    if inbox_id:
        inboxes = inboxes.filter(pk=inbox_id)
    start = dt.datetime.combine(date_from, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return Period(start=start, end=end, inbox_ids=list(inboxes.values_list("pk", flat=True)), tz=tz)


def _conversations(period: Period) -> QuerySet[Conversation]:
    return Conversation.objects.filter(inbox_id__in=period.inbox_ids, created_at__gte=period.start,
                                       created_at__lt=period.end)


def conversations_by_channel_day(period: Period) -> Table:
    rows = (_conversations(period).annotate(day=TruncDate("created_at", tzinfo=period.tz))
            .values("day", "inbox__channel_kind").annotate(n=Count("pk")).order_by("day", "inbox__channel_kind"))
    return Table(_("Conversations by channel and day"), [_("day"), _("channel"), _("conversations")],
                 [[row["day"].isoformat(), row["inbox__channel_kind"], row["n"]] for row in rows])


def bot_share(period: Period) -> Table:
    """Conversations the bot answered with no agent reply at all."""
    agent_reply = Message.objects.filter(conversation=OuterRef("pk"), sender_kind=Message.SenderKind.AGENT,
                                         is_private_note=False)
    bot_reply = (Message.objects.filter(conversation=OuterRef("pk"), sender_kind=Message.SenderKind.BOT)
                 .exclude(metadata__has_key="retention"))  # surveys and follow-ups are not answers
    data = _conversations(period).annotate(agent=Exists(agent_reply), bot=Exists(bot_reply)).aggregate(
        total=Count("pk"), bot_only=Count("pk", filter=Q(bot=True, agent=False)),
        bot_answered=Count("pk", filter=Q(bot=True)))
    share = round(100 * data["bot_only"] / data["total"], 1) if data["total"] else None
    return Table(_("Answered by the bot without an agent"),
                 [_("conversations"), _("bot answered"), _("bot only (no agent)"), _("bot only %")],
                 [[data["total"], data["bot_answered"], data["bot_only"], share]])


def percentiles(queryset: QuerySet, start_field: str, end_field: str,
                points=(0.5, 0.9)) -> tuple[int, list[dt.timedelta | None]]:
    """Nearest-rank percentiles of ``end_field - start_field``.

    PostgreSQL: in the database (count, then ``ORDER BY duration OFFSET k LIMIT 1`` per point).
    SQLite has no native interval arithmetic (Django computes each difference in a Python
    function, which made a year of data take seconds), so there the two timestamps are read
    with ``values_list`` and sorted in Python: one pass, a few hundred ms for 40k rows."""
    if connection.vendor == "postgresql":
        ordered = (queryset.annotate(_d=ExpressionWrapper(F(end_field) - F(start_field), output_field=DurationField()))
                   .filter(_d__isnull=False).order_by("_d").values_list("_d", flat=True))
        count = ordered.count()
        if not count:
            return 0, [None for _ in points]
        return count, [ordered[max(math.ceil(p * count) - 1, 0)] for p in points]
    durations = sorted(end - start for start, end in queryset.filter(
        **{f"{start_field}__isnull": False, f"{end_field}__isnull": False}).values_list(start_field, end_field))
    if not durations:
        return 0, [None for _ in points]
    return len(durations), [durations[max(math.ceil(p * len(durations)) - 1, 0)] for p in points]


def _minutes(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)


def business_percentiles(queryset: QuerySet, start_field: str, end_field: str,
                         points=(0.5, 0.9)) -> tuple[int, list[dt.timedelta | None]]:
    """Like ``percentiles``, counting only time inside each inbox's opening hours. The overlap
    with opening hours is not expressible in SQL portably, so the two timestamps are read with
    ``values_list`` (one query) and measured in Python."""
    inbox_hours = {pk: (hours, tz) for pk, hours, tz in Inbox.objects.values_list("pk", "business_hours", "timezone")}
    rows = queryset.filter(**{f"{start_field}__isnull": False, f"{end_field}__isnull": False}).values_list(
        "inbox_id", start_field, end_field)
    durations = sorted(business_duration(*inbox_hours.get(inbox_id, ({}, "UTC")), start, end)
                       for inbox_id, start, end in rows)
    if not durations:
        return 0, [None for _ in points]
    return len(durations), [durations[max(math.ceil(p * len(durations)) - 1, 0)] for p in points]


def response_times(period: Period) -> Table:
    conversations = _conversations(period)
    rows = []
    measures = (
        (_("first response"), conversations, "first_response_at"),
        (_("resolution"), conversations.filter(status=Conversation.Status.RESOLVED), "resolved_at"),
    )
    for label, qs, expression in measures:
        count, (median, p90) = percentiles(qs, "created_at", expression)
        rows.append([label, count, _minutes(median), _minutes(p90)])
    for label, qs, expression in measures:
        count, (median, p90) = business_percentiles(qs, "created_at", expression)
        rows.append([_("%(metric)s (business hours)") % {"metric": label}, count, _minutes(median), _minutes(p90)])
    return Table(_("First response and resolution times (minutes)"),
                 [_("metric"), _("conversations"), _("median minutes"), _("90th percentile minutes")], rows,
                 note=_("Business hours: only time inside each inbox's opening hours counts "
                        "(inboxes without opening hours count every minute)."))


def satisfaction(period: Period) -> Table:
    surveys = Survey.objects.filter(inbox_id__in=period.inbox_ids, created_at__gte=period.start,
                                    created_at__lt=period.end)
    summary = surveys.aggregate(
        sent=Count("pk", filter=Q(status__in=[Survey.Status.SENT, Survey.Status.ANSWERED])),
        answered=Count("pk", filter=Q(status=Survey.Status.ANSWERED)),
        satisfied=Count("pk", filter=Q(status=Survey.Status.ANSWERED, rating__gte=4)),
        average=Avg("rating", filter=Q(status=Survey.Status.ANSWERED)))
    by_rating = dict(surveys.filter(status=Survey.Status.ANSWERED).values_list("rating").annotate(n=Count("pk")))
    csat = round(100 * summary["satisfied"] / summary["answered"], 1) if summary["answered"] else None
    average = round(summary["average"], 2) if summary["average"] is not None else None
    note = _("Surveys sent: %(sent)s, answered: %(answered)s, average: %(average)s, CSAT (4-5 stars): %(csat)s%%") % {
        "sent": summary["sent"], "answered": summary["answered"],
        "average": average if average is not None else "—", "csat": csat if csat is not None else "—"}
    return Table(_("Satisfaction"), [_("rating"), _("answers")], [[n, by_rating.get(n, 0)] for n in range(1, 6)], note=note)


def agent_load(period: Period) -> Table:
    conversations = (_conversations(period).filter(assignee__isnull=False).values("assignee")
                     .annotate(n=Count("pk"), resolved=Count("pk", filter=Q(status=Conversation.Status.RESOLVED))))
    replies = dict(Message.objects.filter(inbox_id__in=period.inbox_ids, sender_kind=Message.SenderKind.AGENT,
                                          is_private_note=False, author__isnull=False,
                                          created_at__gte=period.start, created_at__lt=period.end)
                   .values_list("author").annotate(n=Count("pk")))
    ratings = dict(Survey.objects.filter(inbox_id__in=period.inbox_ids, status=Survey.Status.ANSWERED,
                                         agent__isnull=False, created_at__gte=period.start, created_at__lt=period.end)
                   .values_list("agent").annotate(a=Avg("rating")))
    per_agent = {row["assignee"]: row for row in conversations}
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(pk__in=set(per_agent) | set(replies)).select_related("agent_profile")
    rows = []
    for user in sorted(users, key=lambda u: -(per_agent.get(u.pk, {}).get("n", 0))):
        row = per_agent.get(user.pk, {})
        rating = ratings.get(user.pk)
        rows.append([agent_name(user), row.get("n", 0), row.get("resolved", 0), replies.get(user.pk, 0),
                     round(rating, 2) if rating is not None else None])
    return Table(_("Agents' load"), [_("agent"), _("conversations"), _("resolved"), _("replies"), _("average rating")], rows)


def _order_count(**filters) -> Coalesce:
    orders = (Order.objects.filter(contact=OuterRef("pk"), status__in=Order.COUNTED, **filters).order_by()
              .values("contact").annotate(c=Count("pk")).values("c")[:1])
    return Coalesce(Subquery(orders, output_field=IntegerField()), Value(0))


def retention(period: Period) -> Table:
    """Customers who ordered in the period, split by whether they talked to support in it.
    Returning: they had ordered before the period. Repeat purchase: two or more orders so far."""
    from inbox.models import Contact

    talked = Conversation.objects.filter(contact=OuterRef("pk"), inbox_id__in=period.inbox_ids,
                                         created_at__gte=period.start, created_at__lt=period.end)
    data = (Contact.objects
            .annotate(in_period=_order_count(ordered_at__gte=period.start, ordered_at__lt=period.end),
                      before=_order_count(ordered_at__lt=period.start),
                      so_far=_order_count(ordered_at__lt=period.end), talked=Exists(talked))
            .filter(in_period__gte=1)
            .aggregate(
                with_support=Count("pk", filter=Q(talked=True)),
                with_support_returning=Count("pk", filter=Q(talked=True, before__gte=1)),
                with_support_repeat=Count("pk", filter=Q(talked=True, so_far__gte=2)),
                without=Count("pk", filter=Q(talked=False)),
                without_returning=Count("pk", filter=Q(talked=False, before__gte=1)),
                without_repeat=Count("pk", filter=Q(talked=False, so_far__gte=2))))

    def pct(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    rows = []
    for label, key in ((_("talked to support"), "with_support"), (_("did not talk to support"), "without")):
        customers, returning, repeat = data[key], data[f"{key}_returning"], data[f"{key}_repeat"]
        rows.append([label, customers, returning, pct(returning, customers), repeat, pct(repeat, customers)])
    return Table(_("Returning customers and repeat purchases"),
                 [_("group"), _("customers"), _("returning"), _("returning %"), _("repeat buyers"), _("repeat purchase %")],
                 rows,
                 note=_("Customers with an order in the period; returning = ordered before the period too; "
                        "repeat = two or more orders up to the period's end. Cancelled and refunded orders do not count."))


BUILDERS = {
    "conversations": conversations_by_channel_day,
    "bot_share": bot_share,
    "response_times": response_times,
    "satisfaction": satisfaction,
    "agent_load": agent_load,
    "retention": retention,
}


def build(name: str, period: Period) -> Table:
    return BUILDERS[name](period)
