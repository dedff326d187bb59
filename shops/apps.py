from django.apps import AppConfig


class ShopsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shops"
    verbose_name = "Shop connections"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the Huey tasks)
