"""Who handles a conversation: online agents, round-robin auto-assignment, manual
assignment with conflict detection, and hand-off from the bot to the agents' queue."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events
from ..models import AgentConnection, AgentProfile, Conversation, Inbox
from .broadcast import broadcast_conversation, display_name
from .errors import AssignmentConflict, ServiceError
from .messages import add_system_message
from .presence import PRESENCE_TIMEOUT

Status = Conversation.Status


def online_agent_ids(*, inbox: Inbox) -> list[int]:
    cutoff = timezone.now() - PRESENCE_TIMEOUT
    return list(
        AgentConnection.objects.filter(
            user__inboxes=inbox, user__is_active=True, last_seen__gte=cutoff,
            presence=AgentConnection.Presence.ONLINE,
        ).values_list("user_id", flat=True).distinct()
    )


def route_to_agents(conversation: Conversation) -> None:
    """Auto-assign to an online agent of the inbox, round-robin, within each agent's maximum;
    otherwise the conversation waits in *unassigned*. Agents are notified either way."""
    inbox = conversation.inbox
    if inbox.auto_assign and conversation.assignee_id is None:
        agent = _pick_agent(inbox)
        if agent is not None:
            _set_assignee(conversation, agent)
            AgentProfile.objects.filter(user=agent).update(last_assigned_at=timezone.now())
            add_system_message(conversation=conversation, code="agent_joined", params={"agent": display_name(agent)},
                               metadata={"event": "agent_joined", "agent_name": display_name(agent)})
    events.send_event_on_commit(
        [events.inbox_group(inbox.pk)], "conversation.needs_agent",
        {"id": conversation.pk, "reason": conversation.handoff_reason, "assignee_id": conversation.assignee_id,
         "contact_name": str(conversation.contact)},
    )


def _pick_agent(inbox: Inbox):
    online = online_agent_ids(inbox=inbox)
    if not online:
        return None
    candidates = (
        get_user_model().objects.filter(pk__in=online)
        .select_related("agent_profile")
        .annotate(open_count=Count("assigned_conversations", filter=Q(
            assigned_conversations__status__in=[Status.OPEN, Status.PENDING])))
        .order_by(F("agent_profile__last_assigned_at").asc(nulls_first=True), "pk")
    )
    for user in candidates:
        profile = getattr(user, "agent_profile", None)
        limit = profile.max_open_conversations if profile else 10
        accepts = profile.accepts_auto_assignment if profile else True
        if accepts and user.open_count < limit:
            return user
    return None


def _set_assignee(conversation: Conversation, agent) -> None:
    conversation.assignee = agent
    if conversation.status in (Status.PENDING, Status.BOT):
        conversation.status = Status.OPEN
    conversation.save(update_fields=["assignee", "status"])
    broadcast_conversation(conversation)
    if agent is not None:
        events.send_event_on_commit([events.agent_group(agent.pk)], "conversation.assigned_to_you",
                                    {"id": conversation.pk, "contact_name": str(conversation.contact)})


_UNSET = object()


@transaction.atomic
def assign(*, conversation: Conversation, agent, actor=None, expected_assignee_id: Any = _UNSET) -> Conversation:
    """Assign (or unassign with ``agent=None``). With ``expected_assignee_id`` the change only
    happens if nobody changed the assignee meanwhile, so two agents claiming the same
    conversation at once end with one clear owner and a clear error for the other."""
    if agent is not None and not agent.is_superuser and not conversation.inbox.members.filter(pk=agent.pk).exists():
        raise ServiceError(_("%(agent)s is not a member of %(inbox)s.") % {"agent": agent.get_username(), "inbox": conversation.inbox.name})
    updates: dict[str, Any] = {"assignee": agent}
    rows = Conversation.objects.filter(pk=conversation.pk)
    if expected_assignee_id is not _UNSET:
        rows = rows.filter(assignee_id=expected_assignee_id)
    if agent is not None:
        rows_bot_pending = rows.filter(status__in=[Status.PENDING, Status.BOT])
        changed = rows_bot_pending.update(assignee=agent, status=Status.OPEN) or rows.update(**updates)
    else:
        changed = rows.update(**updates)
    conversation = Conversation.objects.select_related("inbox", "contact", "assignee").get(pk=conversation.pk)
    if not changed:
        raise AssignmentConflict(conversation.assignee)
    broadcast_conversation(conversation)
    if agent is not None:
        if actor is None or actor.pk != agent.pk:
            events.send_event_on_commit([events.agent_group(agent.pk)], "conversation.assigned_to_you",
                                        {"id": conversation.pk, "contact_name": str(conversation.contact)})
        add_system_message(conversation=conversation, code="agent_joined", params={"agent": display_name(agent)},
                           metadata={"event": "agent_joined", "agent_name": display_name(agent)})
    return conversation


@transaction.atomic
def hand_off(*, conversation: Conversation, reason: str, detail: str = "") -> Conversation:
    """Move a conversation from the bot to the agents' queue, recording why."""
    conversation = Conversation.objects.select_for_update(of=("self",)).select_related("inbox", "contact").get(pk=conversation.pk)
    if conversation.status not in (Status.BOT, Status.RESOLVED, Status.SNOOZED):
        return conversation
    conversation.status = Status.OPEN if conversation.assignee_id else Status.PENDING
    conversation.handoff_reason = reason
    conversation.handoff_detail = detail[:255]
    conversation.save(update_fields=["status", "handoff_reason", "handoff_detail"])
    add_system_message(conversation=conversation, code="handoff_detail" if detail else "handoff",
                       params={"reason": reason, "detail": detail} if detail else {"reason": reason},
                       metadata={"event": "handoff", "reason": reason}, private=True)
    broadcast_conversation(conversation)
    route_to_agents(conversation)
    return conversation

