"""The agent web inbox: the conversation list, one conversation with the contact's history,
and the form actions on it.

Views only parse the request, call ``inbox.services`` and render; reads go through
``inbox.selectors``. Every action is a plain POST form that also answers JSON when the page's
JavaScript sends it with ``Accept: application/json``; without JavaScript it redirects back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from . import bounds, selectors, services
from .models import AgentConnection, Attachment, ChannelKind, Conversation, ConversationRead, Message
from .presenters import agent_name, conversation_payload, message_payload

PAGE_SIZE = 25
#: How many of the contact's latest messages the conversation page shows.
HISTORY_LIMIT = 300
VIEWS = [("mine", gettext_lazy("Mine")), ("unassigned", gettext_lazy("Unassigned")), ("all", gettext_lazy("All"))]


# --- reads used only by these pages ---------------------------------------------------------------


def unread_total(user) -> int:
    """Customer messages in the agent's inboxes that came after the agent last read each
    conversation (the same rule as ``selectors.with_unread_counts``), in one query."""
    last_read = ConversationRead.objects.filter(conversation=OuterRef("conversation_id"), user=user).values("last_read_at")[:1]
    return (
        Message.objects.filter(conversation__in=selectors.conversations_for(user), direction=Message.Direction.INCOMING)
        .annotate(last_read_at=Subquery(last_read))
        .filter(Q(last_read_at__isnull=True) | Q(created_at__gt=F("last_read_at")))
        .count()
    )


def presence_by_user(user_ids) -> dict[int, str]:
    """``online``/``away`` per agent with a live tab (one query); absent means offline."""
    cutoff = timezone.now() - services.PRESENCE_TIMEOUT
    result: dict[int, str] = {}
    for user_id, presence in AgentConnection.objects.filter(user_id__in=list(user_ids), last_seen__gte=cutoff).values_list(
        "user_id", "presence"
    ):
        if result.get(user_id) != "online":
            result[user_id] = presence
    return result


def agents_for_inbox_ids(inbox_ids) -> list:
    User = get_user_model()
    return list(
        User.objects.filter(Q(inboxes__in=list(inbox_ids)) | Q(is_superuser=True), is_active=True)
        .select_related("agent_profile").distinct().order_by("first_name", "username")
    )


# --- helpers --------------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _conversation_or_404(request: HttpRequest, pk: int) -> Conversation:
    """Conversations of other inboxes do not exist for this agent (404, not 403)."""
    return get_object_or_404(
        selectors.conversations_for(request.user).select_related("inbox", "contact", "assignee", "assignee__agent_profile"),
        pk=pk,
    )


def _done(request: HttpRequest, conversation: Conversation | None, *, ok_message: str = "", data: dict | None = None,
          error: str = "", status: int = 400, next_url: str = "") -> HttpResponse:
    """Answer an action: JSON for the page's scripts, otherwise a flash message and a redirect."""
    if _wants_json(request):
        if error:
            return JsonResponse({"ok": False, "error": error}, status=status)
        return JsonResponse({"ok": True, "message": ok_message, **(data or {})})
    if error:
        flash.error(request, error)
    elif ok_message:
        flash.success(request, ok_message)
    if next_url:
        return redirect(next_url)
    if conversation is not None:
        return redirect("inbox:conversation", pk=conversation.pk)
    return redirect("inbox:home")


def _int_or_none(value: Any, name: str = "a number in the request") -> int | None:
    """An int from request input; None for garbage, ``bounds.OutOfRange`` (a 400) for a number
    no column can hold."""
    try:
        return bounds.bounded_int(value, name=name, min_value=-bounds.MAX_ID, max_value=bounds.MAX_ID)
    except (TypeError, ValueError):
        return None


def _list_filters(request: HttpRequest) -> dict[str, Any]:
    get = request.GET
    view = get.get("view", "all")
    if view not in dict(VIEWS):
        view = "all"
    status = get.get("status", "")
    if status not in Conversation.Status.values:
        status = ""
    channel = get.get("channel", "")
    if channel not in ChannelKind.values:
        channel = ""
    return {
        "view": view,
        "status": status,
        "inbox_id": _int_or_none(get.get("inbox"), "inbox"),
        "channel_kind": channel,
        "label": get.get("label", "").strip()[:50],
        "query": get.get("q", "").strip()[:200],
    }


def _list_context(request: HttpRequest) -> dict[str, Any]:
    filters = _list_filters(request)
    conversations = selectors.conversation_list(user=request.user, **filters).prefetch_related("labels")
    page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _with_display_names(page.object_list)
    querystring = {k: v for k, v in {
        "view": filters["view"], "status": filters["status"], "inbox": filters["inbox_id"] or "",
        "channel": filters["channel_kind"], "label": filters["label"], "q": filters["query"],
    }.items() if v}
    inboxes = list(selectors.inboxes_for(request.user).order_by("name"))
    return {
        "page": page,
        "filters": filters,
        "views": VIEWS,
        "statuses": Conversation.Status.choices,
        "channel_kinds": ChannelKind.choices,
        "inboxes": inboxes,
        "all_labels": list(selectors.labels_for(request.user)),
        "querystring": urlencode(querystring),
        "unread_total": unread_total(request.user),
    }


def _with_display_names(conversations) -> list[Conversation]:
    rows = list(conversations)
    for row in rows:
        row.assignee_display = agent_name(row.assignee) if row.assignee_id else ""
    return rows


def _history_items(conversation: Conversation, user) -> list[dict[str, Any]]:
    """The contact's messages on every channel, with a separator where the conversation changes."""
    history = selectors.contact_history(contact=conversation.contact, user=user)
    total = history.count()
    messages = list(history[max(0, total - HISTORY_LIMIT):])
    items: list[dict[str, Any]] = []
    previous = None
    for message in messages:
        if message.conversation_id != previous:
            items.append({"separator": True, "conversation": message.conversation, "inbox": message.inbox,
                          "current": message.conversation_id == conversation.pk})
            previous = message.conversation_id
        items.append({"message": message})
    return items


def _window_context(conversation: Conversation) -> dict[str, Any]:
    window = services.service_window(conversation)
    hours_left = None
    if window["applies"] and window["open"] and window["closes_at"]:
        seconds = (window["closes_at"] - timezone.now()).total_seconds()
        hours_left = max(0, int(seconds // 3600))
        window["minutes_left"] = max(1, int(seconds // 60))
    window["hours_left"] = hours_left
    return window


def _detail_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    contact = conversation.contact
    agents = agents_for_inbox_ids([conversation.inbox_id])
    presence = presence_by_user(a.pk for a in agents)
    for agent in agents:
        agent.display = agent_name(agent)
        agent.presence = presence.get(agent.pk, "offline")
    templates = [t for t in (conversation.inbox.channel_config or {}).get("templates", []) if isinstance(t, dict)]
    return {
        "conversation": conversation,
        "contact": contact,
        "identities": list(contact.identities.order_by("channel_kind")),
        "items": _history_items(conversation, request.user),
        "window": _window_context(conversation),
        "templates": templates,
        "agents": agents,
        "labels": [label.name for label in conversation.labels.all()],
        "duplicates": selectors.duplicate_suggestions(contact=contact, user=request.user),
        "priorities": Conversation.Priority.choices,
        "assignee_name": agent_name(conversation.assignee) if conversation.assignee_id else "",
        "me_name": agent_name(request.user),
    }


# --- pages ----------------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The conversation list (also ``/conversations/``). ``?fragment=list`` answers only the list
    (the live script reloads it after a reconnect)."""
    context = _list_context(request)
    if request.GET.get("fragment") == "list":
        return render(request, "inbox/_list.html", context)
    return render(request, "inbox/inbox.html", context)


@login_required
@require_GET
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One conversation beside the list. ``?fragment=messages`` answers only the history."""
    conversation = _conversation_or_404(request, pk)
    services.mark_read(conversation=conversation, user=request.user)
    fragment = request.GET.get("fragment")
    if fragment == "messages":
        return render(request, "inbox/_history.html", {"items": _history_items(conversation, request.user),
                                                        "conversation": conversation})
    context = _list_context(request)
    context.update(_detail_context(request, conversation))
    if fragment == "panel":
        return render(request, "inbox/_panel.html", context)
    return render(request, "inbox/inbox.html", context)


@login_required
@require_GET
def conversation_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One list row, rendered by the server, for the live script to insert or replace.

    Takes the list's filters: answers 204 when the conversation does not match them (the script
    then removes the row). ``X-Unread-Total`` carries the agent's unread count for the title."""
    conversations = selectors.with_unread_counts(
        selectors.conversations_for(request.user).select_related("inbox", "contact", "assignee", "assignee__agent_profile")
        .prefetch_related("labels"), request.user,
    )
    conversation = _with_display_names([get_object_or_404(conversations, pk=pk)])[0]
    in_view = selectors.conversation_list(user=request.user, **_list_filters(request)).filter(pk=pk).exists()
    if in_view:
        response = render(request, "inbox/_row.html", {"c": conversation, "active_id": _int_or_none(request.GET.get("active"))})
    else:
        response = HttpResponse(status=204)  # the conversation does not belong in the list as filtered
    response["X-Unread-Total"] = str(unread_total(request.user))
    return response


# --- actions --------------------------------------------------------------------------------------


@login_required
@require_POST
def conversation_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """A reply to the customer or (``private=1``) a note for colleagues, with files or a template."""
    conversation = _conversation_or_404(request, pk)
    text = request.POST.get("text", "")
    private = request.POST.get("private") in ("1", "true", "on")
    try:
        if private:
            message = services.add_note(conversation=conversation, author=request.user, text=text)
        else:
            files = request.FILES.getlist("attachments")
            attachments = [(f.name, f.content_type or "application/octet-stream", f.read()) for f in files]
            template = None
            if request.POST.get("template_name"):
                template = {
                    "name": request.POST["template_name"],
                    "language": request.POST.get("template_language", ""),
                    "parameters": [p for p in request.POST.getlist("template_params")],
                }
                text = text or f"[template {template['name']}] " + " · ".join(template["parameters"])
            message = services.send_reply(conversation=conversation, text=text, author=request.user,
                                          attachments=attachments, template=template)
    except services.ServiceError as exc:
        return _done(request, conversation, error=str(exc))
    message = Message.objects.select_related("inbox", "author", "conversation").prefetch_related("attachments").get(pk=message.pk)
    return _done(request, conversation, ok_message=_("Note added.") if private else _("Reply sent."),
                 data={"data": message_payload(message)})


@login_required
@require_POST
def conversation_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign to the chosen agent (empty: unassign). ``expected`` is the assignee the agent saw
    (``none`` for nobody); if someone else changed it meanwhile the agent gets the conflict."""
    conversation = _conversation_or_404(request, pk)
    agent_id = request.POST.get("agent", "")
    if agent_id == "me":
        agent = request.user
    elif agent_id:
        agent = get_user_model().objects.filter(pk=_int_or_none(agent_id)).first()
        if agent is None:
            return _done(request, conversation, error=_("Unknown agent."))
    else:
        agent = None
    kwargs: dict[str, Any] = {}
    expected = request.POST.get("expected")
    if expected is not None:
        kwargs["expected_assignee_id"] = None if expected in ("", "none") else _int_or_none(expected)
    try:
        conversation = services.assign(conversation=conversation, agent=agent, actor=request.user, **kwargs)
    except services.AssignmentConflict as exc:
        return _done(request, conversation, error=str(exc), status=409)
    except services.ServiceError as exc:
        return _done(request, conversation, error=str(exc))
    ok_message = _("Assigned to %(name)s.") % {"name": agent_name(agent)} if agent else _("Unassigned.")
    return _done(request, conversation, ok_message=ok_message, data={"data": conversation_payload(conversation)})


def snooze_until(choice: str, custom: str = "", *, now: dt.datetime | None = None) -> dt.datetime | None:
    """The end of a snooze preset, in the server's time zone: ``1h``, ``tomorrow`` (9:00),
    ``nextweek`` (Monday 9:00) or ``custom`` (a ``datetime-local`` value)."""
    now = timezone.localtime(now or timezone.now())
    nine = {"hour": 9, "minute": 0, "second": 0, "microsecond": 0}
    if choice == "1h":
        return now + dt.timedelta(hours=1)
    if choice == "tomorrow":
        return (now + dt.timedelta(days=1)).replace(**nine)
    if choice == "nextweek":
        return (now + dt.timedelta(days=7 - now.weekday())).replace(**nine)
    if choice == "custom":
        try:
            value = parse_datetime(custom or "")
        except ValueError:
            return None
        if value is None:
            return None
        bounds.bounded_datetime(value, name="The snooze date")
        return timezone.make_aware(value) if timezone.is_naive(value) else value
    return None


@login_required
@require_POST
def conversation_status(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    action = request.POST.get("action", "")
    try:
        if action == "resolve":
            conversation = services.resolve(conversation=conversation, actor=request.user)
            message = _("Resolved.")
        elif action == "reopen":
            conversation = services.reopen(conversation=conversation, actor=request.user)
            message = _("Reopened.")
        elif action == "snooze":
            until = snooze_until(request.POST.get("snooze", ""), request.POST.get("until", ""))
            if until is None:
                return _done(request, conversation, error=_("Pick when the conversation should wake up."))
            conversation = services.snooze(conversation=conversation, until=until, actor=request.user)
            message = _("Snoozed until %(time)s.") % {
                "time": date_format(timezone.localtime(until), "SHORT_DATETIME_FORMAT")}
        else:
            return _done(request, conversation, error=_("Unknown action."))
    except services.ServiceError as exc:
        return _done(request, conversation, error=str(exc))
    return _done(request, conversation, ok_message=message, data={"data": conversation_payload(conversation)})


@login_required
@require_POST
def conversation_labels(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    names = [name for name in request.POST.get("labels", "").split(",")]
    services.set_labels(conversation=conversation, labels=names)
    labels = list(conversation.labels.order_by("name").values_list("name", flat=True))
    return _done(request, conversation, ok_message=_("Labels saved."), data={"labels": labels})


@login_required
@require_POST
def conversation_priority(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    priority = _int_or_none(request.POST.get("priority"))
    try:
        conversation = services.set_priority(conversation=conversation, priority=priority if priority is not None else -1)
    except services.ServiceError as exc:
        return _done(request, conversation, error=str(exc))
    return _done(request, conversation, ok_message=_("Priority saved."))


@login_required
@require_POST
def conversation_read(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    services.mark_read(conversation=conversation, user=request.user)
    return _done(request, conversation)


@login_required
@require_POST
def message_retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.filter(conversation__in=selectors.conversations_for(request.user)), pk=pk)
    try:
        services.retry_send(message=message, actor=request.user)
    except services.ServiceError as exc:
        return _done(request, message.conversation, error=str(exc))
    return _done(request, message.conversation, ok_message=_("Sending again."))


@login_required
@require_POST
def attachment_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """An agent's "Download again" of a customer's file whose download failed."""
    attachment = get_object_or_404(
        Attachment.objects.select_related("message__conversation").filter(
            message__conversation__in=selectors.conversations_for(request.user)), pk=pk)
    try:
        services.attachment_retry_download(attachment=attachment)
    except services.ServiceError as exc:
        return _done(request, attachment.message.conversation, error=str(exc))
    return _done(request, attachment.message.conversation, ok_message="Downloading again.")


@login_required
@require_POST
def contact_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge ``duplicate`` into the contact ``pk``: both must be contacts the agent can see, or
    one of the suggestions; the write path refuses merges the agent may not make (403)."""
    visible = selectors.contacts_for(request.user)
    primary = get_object_or_404(visible, pk=pk)
    duplicate_id = _int_or_none(request.POST.get("duplicate"))
    # A suggested duplicate may have no conversation in the agent's inboxes yet; it is still
    # offered, so accept it when it is one of the suggestions.
    suggested = {c.pk: c for c, _reason in selectors.duplicate_suggestions(contact=primary, user=request.user)}
    duplicate = visible.filter(pk=duplicate_id).first() or suggested.get(duplicate_id)
    if duplicate is None:
        raise Http404(_("No such contact."))
    next_url = request.POST.get("next", "")
    # Only paths on this site: browsers also read "/\host" and "/<tab>/host" as another host.
    if not next_url.startswith("/") or not url_has_allowed_host_and_scheme(next_url, allowed_hosts=set()):
        next_url = reverse("inbox:home")
    try:
        services.merge_contacts(primary=primary, duplicate=duplicate, actor=request.user)
    except services.MergeRefused as exc:
        return _done(request, None, error=str(exc), next_url=next_url, status=403)
    except services.ServiceError as exc:
        return _done(request, None, error=str(exc), next_url=next_url)
    return _done(request, None, ok_message=_("Merged into %(name)s.") % {"name": primary}, next_url=next_url)

