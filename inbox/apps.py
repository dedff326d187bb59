from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Support inbox"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the Huey tasks)
