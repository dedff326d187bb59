"""Settings for the load benchmark's servers: the app's own settings plus one trivial view.

The trivial view (``/bench/echo/``) is the same-run baseline: a Django POST view behind the
same middleware, server and process as the webhook endpoint, doing no work.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
