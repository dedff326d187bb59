"""Errors the write path raises, with messages fit to show to the person who asked."""

from __future__ import annotations

from django.utils.translation import gettext as _


class ServiceError(Exception):
    """A refused operation, with a message fit to show to the person who asked."""


class AssignmentConflict(ServiceError):
    def __init__(self, current_assignee):
        if current_assignee is None:
            super().__init__(_("Someone just unassigned this conversation."))
        else:
            super().__init__(_("This conversation was just assigned to %(name)s.") % {"name": current_assignee.get_username()})
        self.current_assignee = current_assignee


class WindowClosed(ServiceError):
    """A free-form reply outside the channel's customer-service window."""



class MergeRefused(ServiceError):
    """An agent may not merge these contacts (see ``selectors.merge_refusal``)."""
