"""Tell an agent's open websockets when their inbox membership changes.

Membership changes in the admin (the inbox's members, the user's inboxes), through the
``Inbox.members`` relation directly, so a signal on that relation is the one place that sees
every change. The event goes to ``agent-<id>``; ``AgentConsumer`` then re-reads the agent's
inboxes and joins or leaves the groups, so a removed agent stops hearing the inbox at once.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from . import events
from .models import Inbox

EVENT = "membership.changed"


def _announce(user_ids) -> None:
    for user_id in set(user_ids):
        events.send_event_on_commit([events.agent_group(user_id)], EVENT, {"user_id": user_id})


@receiver(m2m_changed, sender=Inbox.members.through, dispatch_uid="inbox-membership-changed")
def membership_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if action == "pre_clear":
        # After the clear the members are gone; remember who they were.
        instance._cleared_member_ids = (
            list(instance.members.values_list("pk", flat=True)) if not reverse else [instance.pk])
        return
    if action == "post_clear":
        _announce(getattr(instance, "_cleared_member_ids", []))
        return
    if action not in ("post_add", "post_remove"):
        return
    # Forward: instance is the inbox, pk_set users. Reverse (user.inboxes): instance is the user.
    _announce([instance.pk] if reverse else list(pk_set or ()))
