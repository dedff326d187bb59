"""Settings for running the retention tests before the app is wired into ``config``.

``config.settings`` plus the retention app, its URLs and the resolution hook; harmless once the
integrator has added the same lines to ``config/settings.py`` and ``config/urls.py``. Run with
``--ds tests.retention.settings`` (or ``DJANGO_SETTINGS_MODULE=tests.retention.settings``, which
the live server subprocess of the browser tests inherits).
"""

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, INSTALLED_APPS, TEMPLATES

if "retention" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "retention"]
ROOT_URLCONF = "tests.retention.urls"
ON_CONVERSATION_RESOLVED = ["retention.surveys.on_conversation_resolved"]
# A stand-in base.html, used only while templates/base.html does not exist yet.
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "tests" / "retention" / "templates"]
