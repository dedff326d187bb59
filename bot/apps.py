from django.apps import AppConfig


class BotConfig(AppConfig):
    name = "bot"
    verbose_name = "FAQ bot"
    default_auto_field = "django.db.models.BigAutoField"
