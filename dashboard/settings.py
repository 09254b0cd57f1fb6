"""Callboard settings: one module, read from the environment and an optional .env
through django-environ. Every variable is documented in .env.example."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# A machine of one's own (make run, make test): a generated key and plain-http cookies.
LOCAL = env.bool("CALLBOARD_LOCAL", default=False)

# A local key is generated once and kept beside the database, so sessions survive a
# restart; outside debug the key must come from the environment.
_local_key_file = BASE_DIR / ".secret_key"
if "SECRET_KEY" in env:
    SECRET_KEY = env.str("SECRET_KEY")
elif DEBUG or LOCAL:
    if not _local_key_file.exists():
        _local_key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _local_key_file.read_text().strip()
else:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example)")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "dashboard",  # before django_tasks_db: its `db_worker` command replaces theirs
    "django_tasks_db",
    "campaigns",
    "livecalls",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the server and the task worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
         "transaction_mode": "IMMEDIATE"}
    )
# Keep connections (the webhook thread, workers) instead of one per request; checked
# before reuse so a restarted database is noticed.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Pub/sub layer: see shared PERFORMANCE-NOTES (shorter tail, no idle-timeout bug).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    # One process: the in-memory layer with its expiry sweep throttled and a larger
    # capacity (dashboard/channel_layers.py; PERFORMANCE-NOTES items 1 and 3).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "dashboard.channel_layers.FanoutInMemoryChannelLayer",
            "CONFIG": {"capacity": 1000},
        }
    }

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # "live" holds the short periodic work that keeps the wall true (reconcile, webhook
        # retries); every worker process serves it on a thread of its own, so it never
        # waits behind a long push or import on the "default" queue.
        "QUEUES": ["default", "live"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Callboard ---------------------------------------------------------------------
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="US")

# The embedded sandbox is mounted under /sandbox in the dashboard's own ASGI app. It is a
# simulated provider, open like one (its control endpoints need no login and show its
# own fake credentials), so a production deployment leaves it out unless asked.
SANDBOX_EMBEDDED = env.bool("SANDBOX_EMBEDDED", default=DEBUG or LOCAL)
SANDBOX_SEED = env.int("SANDBOX_SEED", default=1)
SANDBOX_TIME_SCALE = env.float("SANDBOX_TIME_SCALE", default=0.1)
# The embedded sandbox keeps calls going to the demo agents (make run turns it on).
SANDBOX_DEMO_TRAFFIC = env.bool("SANDBOX_DEMO_TRAFFIC", default=False)
# Where the dashboard reaches the sandbox and where the sandbox sends its webhooks.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")
SANDBOX_URL = env.str("SANDBOX_URL", default=f"{PUBLIC_BASE_URL}/sandbox")

# --- Security ----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not LOCAL)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not LOCAL)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    # HSTS stays off until the deployment is known to be HTTPS-only (see .env.example).
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],  # htmx injects its indicator styles
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],  # same-origin ws: and wss: are covered in current browsers
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},  # its INFO lines print full URLs, secrets included
        "django.channels.server": {"level": "WARNING"},
    },
}
SERVE_STATIC = env.bool("SERVE_STATIC", default=True)  # off behind a proxy that serves STATIC_ROOT
PORT = env.int("PORT", default=8000)
# Task workers inside the server process (default run); 0 when db_worker processes run.
IN_PROCESS_WORKERS = env.int("IN_PROCESS_WORKERS", default=1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the browser tests' server thread shares the test database.
    # One per test process, so two runs on one machine never share it (tests/localenv.py
    # makes the folder).
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-artifacts" / f"test-db-{os.getpid()}.sqlite3")}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"  # never served directly: downloads go through permission-checked views
# Periodic work: dotted path of a function -> seconds between runs. Each only enqueues tasks,
# except the first, which fails the tasks of dead workers so their periodic jobs go on.
PERIODIC_JOBS = {
    "dashboard.tasking.lost_tasks_reap": env.float("LOST_TASKS_REAP_SECONDS", default=1.0),
    "campaigns.tasks.push_resume_tick": env.float("PUSH_RESUME_SECONDS", default=2.0),
    "campaigns.tasks.reports_sync_tick": env.float("REPORT_SYNC_SECONDS", default=5.0),
    "livecalls.tasks.live_reconcile_tick": env.float("LIVE_RECONCILE_SECONDS", default=3.0),
    "livecalls.tasks.webhook_events_retry_tick": env.float("WEBHOOK_RETRY_SECONDS", default=5.0),
}
# In-process scheduler thread (default run); off when `manage.py scheduler` runs separately.
IN_PROCESS_SCHEDULER = env.bool("IN_PROCESS_SCHEDULER", default=True)
# Seconds between reconciliations of live calls from list.calls / the CCAI listing.
LIVE_RECONCILE_SECONDS = env.float("LIVE_RECONCILE_SECONDS", default=3.0)
