"""Settings come from environment variables, with embedded defaults that need no services.

Embedded: SQLite (WAL), the in-memory channel layer, a SQLite-backed Huey queue.
Scale-out: ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL`` (channels_redis, shared cache, Huey on
Redis). See docs/deployment.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or os.environ.get("PYTEST_VERSION") or os.environ.get("DJANGO_TESTING"):
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    else:
        raise ImproperlyConfigured("Set the SECRET_KEY environment variable (or DEBUG=1 for development).")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
#: The public base URL of this app, used in links sent to customers and in the widget snippet.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally (no CDN)
    "huey.contrib.djhuey",
    "inbox",
    "bot",
    "channels_adapters",
    "retention",
    "widget",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ------------------------------------------------------------------------------------
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# WAL lets readers and one writer work at once; IMMEDIATE avoids lock upgrades failing under
# concurrent writers (server + worker threads).
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    # Writers of this process queue in arrival order (config/sqlite/base.py); off under tests.
    "SQLITE_WRITE_QUEUE": env_bool("SQLITE_WRITE_QUEUE", not os.environ.get("PYTEST_VERSION")),
}
#: Django's SQLite backend plus the fair write queue.
SQLITE_ENGINE = "config.sqlite"
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DB_POOL", True):
        # A real pool per process (Django 5.2 + psycopg_pool). Persistent connections are kept
        # per thread, and under ASGI every request may run in a thread of its own, so they
        # piled up until PostgreSQL refused clients. Size: DB_POOL_MAX_SIZE per process; the sum
        # over web and worker processes must stay under PostgreSQL's max_connections (or put
        # PgBouncer in front and set DB_POOL=0). See docs/deployment.md.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
            "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "10")),
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "20")),
        }
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        DATABASES["default"]["ENGINE"] = SQLITE_ENGINE
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
else:
    DATABASES = {
        "default": {"ENGINE": SQLITE_ENGINE, "NAME": DATA_DIR / "db.sqlite3", "OPTIONS": SQLITE_OPTIONS}
    }
if os.environ.get("TEST_SQLITE_PATH") and "sqlite" in DATABASES["default"]["ENGINE"]:
    # A file test database, so a server subprocess (browser tests) can share it.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_SQLITE_PATH"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- channel layer, cache, task queue --------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [{
            # Longer than channels_redis's 5 s blocking receive: with redis-py's shorter default,
            # an idle socket's receive timed out and the consumer died (seen in bench/load.py).
            "address": REDIS_URL, "socket_timeout": 30}]}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # In-process and thread-safe; a send costs O(group members), see inbox/channel_layer.py.
    CHANNEL_LAYERS = {"default": {"BACKEND": "inbox.channel_layer.LocalChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tests run tasks inline (deterministic); pytest sets PYTEST_VERSION.
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", bool(os.environ.get("PYTEST_VERSION")))
if REDIS_URL:
    HUEY = {
        # Tasks by priority (webhooks first), BZPOPMIN: no polling.
        "huey_class": "huey.PriorityRedisHuey",
        "name": "inbox",
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "results": False,  # no task's return value is read; storing them cost a write per task
        "consumer": {"workers": int(os.environ.get("WORKER_THREADS", "4")), "worker_type": "thread"},
    }
else:
    HUEY = {
        # SqliteHuey whose enqueue wakes the in-process worker (no polling); inbox/huey_storage.py.
        "huey_class": "inbox.huey_storage.WakingSqliteHuey",
        "name": "inbox",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "results": False,  # no task's return value is read; storing them cost a write per task
        "consumer": {"workers": int(os.environ.get("WORKER_THREADS", "4")), "worker_type": "thread"},
    }
#: Whether the web server process also runs the task consumer (embedded mode: the in-memory
#: channel layer only reaches consumers in the same process). See docs/architecture.md.
WORKER_IN_SERVER = env_bool("WORKER_IN_SERVER", not REDIS_URL)

#: Handlers each new customer message passes through, in order, after it is stored and its
#: broadcast queued; the first that returns True has handled it (inbox.services.hooks).
#: Survey ratings and opt-out words first, then the bot.
INBOUND_MESSAGE_HANDLERS = ["retention.surveys.handle_inbound", "bot.handlers.answer"]
#: Handlers called with a conversation after its resolution commits (satisfaction surveys).
CONVERSATION_RESOLVED_HANDLERS = ["retention.surveys.on_conversation_resolved"]

# --- auth, i18n, static, media -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("pt", "Português"), ("es", "Español")]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from finders; an empty root is fine
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))
MAX_ATTACHMENT_BYTES = int(os.environ.get("MAX_ATTACHMENT_BYTES", str(10 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Support inbox API",
    "DESCRIPTION": "Contacts, conversations and messages of the omnichannel support inbox.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- channels ---------------------------------------------------------------------------------
#: Overrides of channels_adapters.registry.DEFAULT_ADAPTERS (kind -> dotted class path).
CHANNEL_ADAPTERS: dict[str, str] = {}
META_GRAPH_API_BASE = os.environ.get("META_GRAPH_API_BASE", "https://graph.facebook.com/v21.0")
#: Seconds a widget visitor token stays valid (tokens are signed with SECRET_KEY).
WIDGET_TOKEN_MAX_AGE = int(os.environ.get("WIDGET_TOKEN_MAX_AGE", str(60 * 60 * 24 * 180)))
WIDGET_MAX_UPLOAD_BYTES = int(os.environ.get("WIDGET_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))
#: Seconds before an unseen web-chat reply is copied by e-mail to a visitor who left an address.
WEBCHAT_EMAIL_COPY_DELAY = int(os.environ.get("WEBCHAT_EMAIL_COPY_DELAY", "120"))
#: Stored webhook events processed per transaction (inbox/inbound_batch.py).
WEBHOOK_BATCH_SIZE = int(os.environ.get("WEBHOOK_BATCH_SIZE", "10"))
OUTBOUND_MAX_ATTEMPTS = int(os.environ.get("OUTBOUND_MAX_ATTEMPTS", "6"))
OUTBOUND_RETRY_BASE_SECONDS = float(os.environ.get("OUTBOUND_RETRY_BASE_SECONDS", "5"))
MAIL_POLL_SECONDS = int(os.environ.get("MAIL_POLL_SECONDS", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}
