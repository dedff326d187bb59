from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Support inbox"

    def ready(self):
        from . import membership, tasks  # noqa: F401  (registers the signal receiver and the Huey tasks)
