from django.apps import AppConfig


class RetentionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "retention"
    verbose_name = "Retention: surveys, orders, follow-ups, reports"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the Huey tasks)
