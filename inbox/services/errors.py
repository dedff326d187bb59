"""Errors the write path raises, with messages fit to show to the person who asked."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused operation, with a message fit to show to the person who asked."""


class AssignmentConflict(ServiceError):
    def __init__(self, current_assignee):
        name = current_assignee.get_username() if current_assignee else "nobody"
        super().__init__(f"This conversation was just assigned to {name}.")
        self.current_assignee = current_assignee


class WindowClosed(ServiceError):
    """A free-form reply outside the channel's customer-service window."""



class MergeRefused(ServiceError):
    """An agent may not merge these contacts (see ``selectors.merge_refusal``)."""
