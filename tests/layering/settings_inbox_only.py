"""The project's settings without the bot, retention, the widget and the shops: the write path must work alone."""

from config.settings import *  # noqa: F401,F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in ("bot", "retention", "widget", "shops")]
BOT_ORDER_PROVIDER = ""
INBOUND_MESSAGE_HANDLERS = []
CONVERSATION_RESOLVED_HANDLERS = []
ROOT_URLCONF = "tests.layering.urls_inbox_only"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
