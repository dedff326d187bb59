from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shops"
    verbose_name = _("Shop connections")

    def ready(self):
        from . import tasks  # noqa: F401  (registers the Huey tasks)
