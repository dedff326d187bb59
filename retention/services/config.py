"""Retention settings per inbox and follow-up rules."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from inbox.models import Inbox

from ..models import FollowUpRule, InboxRetentionSettings
from .common import RetentionError

logger = logging.getLogger(__name__)



# --- settings -------------------------------------------------------------------------------------


@transaction.atomic
def inbox_settings_update(*, inbox: Inbox, **fields: Any) -> InboxRetentionSettings:
    allowed = {"survey_enabled", "survey_delay_minutes", "survey_questions", "survey_template",
               "quiet_start", "quiet_end"}
    unknown = set(fields) - allowed
    if unknown:
        raise RetentionError(_("Cannot change %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    config, _created = InboxRetentionSettings.objects.get_or_create(inbox=inbox)
    for field, value in fields.items():
        setattr(config, field, value)
    config.full_clean()
    config.save()
    return config


@transaction.atomic
def followup_rule_create(**fields: Any) -> FollowUpRule:
    if fields.get("trigger") not in FollowUpRule.Trigger.values:
        raise RetentionError(_("Unknown trigger."))
    rule = FollowUpRule(**fields)
    rule.full_clean()
    rule.save()
    return rule
