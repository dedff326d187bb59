from django.apps import AppConfig


class BotConfig(AppConfig):
    name = "bot"
    verbose_name = "FAQ bot"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the Huey tasks)
