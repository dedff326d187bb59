from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

#: Retention's system lines on conversations (inbox.system_messages renders them per reader).
SYSTEM_MESSAGES = {
    "survey_answer": gettext_noop("Customer rated the conversation %(rating)s/5"),
    "survey_answer_comment": gettext_noop("Customer rated the conversation %(rating)s/5: %(comment)s"),
    "survey_comment": gettext_noop("Survey comment: %(comment)s"),
}


class RetentionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "retention"
    verbose_name = _("Retention: surveys, orders, follow-ups, reports")

    def ready(self):
        from inbox import system_messages

        from . import tasks  # noqa: F401  (registers the Huey tasks)

        for code, msgid in SYSTEM_MESSAGES.items():
            system_messages.register(code, msgid)
