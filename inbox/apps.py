from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = _("Support inbox")

    def ready(self):
        from . import membership, model_labels, tasks  # noqa: F401  (the signal receiver and the Huey tasks)

        model_labels.install()
