"""
Companion's one settings module.

Every knob is an environment variable with a working default, so a fresh
checkout runs with SQLite and the in-memory channel layer, and production
switches on PostgreSQL, Redis and an LLM endpoint by setting variables.
"""
import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("COMPANION_PRODUCTION", False):
        raise RuntimeError("SECRET_KEY must be set in production")
    # Development fallback; production sets SECRET_KEY (see README).
    SECRET_KEY = "dev-insecure-companion-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "accounts",
    "events",
    "chat",
    "summaries",
    "moderation",
    "polls",
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

ROOT_URLCONF = "companion.urls"

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

ASGI_APPLICATION = "companion.asgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the replay API read while the live room writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "companion.storage.StaticStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache -------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # One PUBLISH per group message instead of one push per member.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py 8 defaults close idle subscribers after 5 s
                        # and cap the pool at 100 (channels_redis issue 422).
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 1000),
                        "retry_on_timeout": True,
                        "health_check_interval": 30,
                    }
                ],
            },
        }
    }
    CACHES = {
        "default": {
            # Django's RedisCache, sharing one connection pool per process (companion/cache.py).
            "BACKEND": "companion.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "companion",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# --- AI summaries (docs/summaries.md) --------------------------------------------
# An OpenAI-compatible chat-completions endpoint (Qwen on DashScope's compatible
# mode, vLLM, Ollama, llama.cpp's server); unset, the offline writer summarises.
LLM_BASE_URL = os.environ.get("LLM_BASE_URL", "")
LLM_API_KEY = os.environ.get("LLM_API_KEY", "")
LLM_MODEL = os.environ.get("LLM_MODEL", "")
# Seconds one provider call may take; retries are separate calls.
LLM_TIMEOUT = float(os.environ.get("LLM_TIMEOUT", 20))
LLM_TEMPERATURE = float(os.environ.get("LLM_TEMPERATURE", 0.3))
# Extra JSON merged into each request body, e.g. {"enable_thinking": false} for Qwen3.
LLM_EXTRA_BODY = json.loads(os.environ.get("LLM_EXTRA_BODY") or "{}")
# Beat asks for a summary of every live event this often (and nothing new: no call).
SUMMARY_INTERVAL_SECONDS = env_int("SUMMARY_INTERVAL_SECONDS", 60)
# Prompt size (estimated tokens), answer size, and how many recent comments are sampled.
SUMMARY_PROMPT_TOKENS = env_int("SUMMARY_PROMPT_TOKENS", 2000)
SUMMARY_MAX_TOKENS = env_int("SUMMARY_MAX_TOKENS", 300)
SUMMARY_MAX_WORDS = env_int("SUMMARY_MAX_WORDS", 90)
SUMMARY_MAX_CHARS = env_int("SUMMARY_MAX_CHARS", 1500)
SUMMARY_COMMENT_SAMPLE = env_int("SUMMARY_COMMENT_SAMPLE", 400)
# Retries of a failed call: exponential backoff with jitter from BACKOFF up to BACKOFF_MAX.
SUMMARY_MAX_RETRIES = env_int("SUMMARY_MAX_RETRIES", 3)
SUMMARY_RETRY_BACKOFF_SECONDS = float(os.environ.get("SUMMARY_RETRY_BACKOFF_SECONDS", 2))
SUMMARY_RETRY_BACKOFF_MAX_SECONDS = float(os.environ.get("SUMMARY_RETRY_BACKOFF_MAX_SECONDS", 30))
# Circuit breaker, shared by all workers through the cache: FAILURES failed calls
# within WINDOW seconds stop calls for COOLDOWN seconds (viewers are told).
SUMMARY_BREAKER_FAILURES = env_int("SUMMARY_BREAKER_FAILURES", 3)
SUMMARY_BREAKER_WINDOW_SECONDS = env_int("SUMMARY_BREAKER_WINDOW_SECONDS", 120)
SUMMARY_BREAKER_COOLDOWN_SECONDS = env_int("SUMMARY_BREAKER_COOLDOWN_SECONDS", 60)
# Task time limits (soft: the task stops and gives up; hard: the worker kills it),
# and how long an enqueued summary blocks another for the same event and language.
SUMMARY_TASK_SOFT_LIMIT = env_int("SUMMARY_TASK_SOFT_LIMIT", 60)
SUMMARY_TASK_HARD_LIMIT = env_int("SUMMARY_TASK_HARD_LIMIT", 90)
SUMMARY_PENDING_SECONDS = env_int("SUMMARY_PENDING_SECONDS", 300)
# Producers' "summary now" requests per event.
SUMMARY_REQUEST_RATE_COUNT = env_int("SUMMARY_REQUEST_RATE_COUNT", 6)
SUMMARY_REQUEST_RATE_WINDOW = env_int("SUMMARY_REQUEST_RATE_WINDOW", 60)
CELERY_BEAT_SCHEDULE = {
    "summaries-tick": {"task": "summaries.tasks.summaries_tick", "schedule": float(SUMMARY_INTERVAL_SECONDS)},
}
CELERY_TASK_ANNOTATIONS = {
    "summaries.tasks.summary_generate": {
        "soft_time_limit": SUMMARY_TASK_SOFT_LIMIT,
        "time_limit": SUMMARY_TASK_HARD_LIMIT,
    },
}
# Long, late-acknowledged tasks: a worker takes one at a time.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# --- Producers: stats, key moments, polls (docs/producers.md) -------------------
# While votes pour in, each process publishes a poll's tally at most this often.
POLL_TALLY_MS = env_int("POLL_TALLY_MS", 250)
# How often beat sweeps for polls whose time is up (a lost timer task, a restart).
POLL_SWEEP_SECONDS = float(os.environ.get("POLL_SWEEP_SECONDS", 2))
CELERY_BEAT_SCHEDULE["polls-close-due"] = {"task": "polls.tasks.polls_close_due", "schedule": POLL_SWEEP_SECONDS}

# The embedded default's beat: the server process runs the periodic jobs itself
# (polls closing on time, summaries), for the demo without Celery services.
EMBEDDED_BEAT = env_bool("EMBEDDED_BEAT", False)

# --- REST API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "companion.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Companion API",
    "DESCRIPTION": "Live events: danmaku, replay, and (soon) stats, polls and summaries.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- The live room -------------------------------------------------------------
# How often each process flushes a room's pending danmaku to its sockets.
ROOM_TICK_MS = env_int("ROOM_TICK_MS", 100)
# Most danmaku a screen is sent per second per room; above it, a sample is shown
# (everything is still stored and replayed).
ROOM_DISPLAY_CAP_PER_SEC = env_int("ROOM_DISPLAY_CAP_PER_SEC", 80)
# Sockets one server process holds; past it, newcomers are told to retry later.
# About what one process feeds on one core at the display cap (5,000 viewers took
# 0.63 of a core here, docs/benchmarks.md): past it, newcomers are told to retry.
ROOM_MAX_CONNECTIONS = env_int("ROOM_MAX_CONNECTIONS", 8000)
# A client that is behind (bytes still queued for it) gets nothing more until it
# has caught up: the hub keeps its control frames back and, of its danmaku, only
# the newest. Past ROOM_STALLED_CLIENT_BYTES queued and kept back, it is closed
# as stalled (4408). Sockets the hub cannot write directly (TLS in Daphne,
# compression) instead skip danmaku past ROOM_SLOW_CLIENT_BYTES queued.
ROOM_SLOW_CLIENT_BYTES = env_int("ROOM_SLOW_CLIENT_BYTES", 64 * 1024)
ROOM_STALLED_CLIENT_BYTES = env_int("ROOM_STALLED_CLIENT_BYTES", 1024 * 1024)
# The kernel send buffer of each room socket (SO_SNDBUF; 0 = the kernel's
# autotuning, which takes megabytes before the hub can see a client is
# behind). 32 KB holds two seconds of danmaku at the display cap.
ROOM_SOCKET_SEND_BUFFER = env_int("ROOM_SOCKET_SEND_BUFFER", 32 * 1024)
# How often each process tells the others how many viewers it holds.
PRESENCE_INTERVAL_MS = env_int("PRESENCE_INTERVAL_MS", 3000)
# A reconnecting client is sent what it missed within this window.
CATCHUP_SECONDS = env_int("CATCHUP_SECONDS", 60)
CATCHUP_MAX_ITEMS = env_int("CATCHUP_MAX_ITEMS", 200)
# Largest client WebSocket message the app accepts (Daphne's own cap is set on
# its command line, see scripts/).
WS_MAX_MESSAGE_BYTES = env_int("WS_MAX_MESSAGE_BYTES", 4096)

DANMAKU_MAX_LENGTH = env_int("DANMAKU_MAX_LENGTH", 100)
# Posting rate per account: DANMAKU_RATE_COUNT comments per DANMAKU_RATE_WINDOW seconds.
DANMAKU_RATE_COUNT = env_int("DANMAKU_RATE_COUNT", 5)
DANMAKU_RATE_WINDOW = env_int("DANMAKU_RATE_WINDOW", 10)
# How far past the live edge a posted media time may be (clock skew, player lag).
DANMAKU_MEDIA_SKEW_MS = env_int("DANMAKU_MEDIA_SKEW_MS", 15000)

# --- Moderation (docs/moderation.md) --------------------------------------------
# Blocked-term regular expressions: longest pattern, the most one may spend on
# an adversarial comment of DANMAKU_MAX_LENGTH characters, and how long the
# save-time probe may run before the pattern is refused.
MODERATION_PATTERN_MAX_LENGTH = env_int("MODERATION_PATTERN_MAX_LENGTH", 200)
MODERATION_REGEX_BUDGET_MS = env_int("MODERATION_REGEX_BUDGET_MS", 2)
MODERATION_REGEX_PROBE_TIMEOUT_MS = env_int("MODERATION_REGEX_PROBE_TIMEOUT_MS", 3000)
# Each process keeps an event's blocked terms and room settings this long;
# a change anywhere invalidates every process's copy at once (shared cache).
MODERATION_RULES_CACHE_SECONDS = env_int("MODERATION_RULES_CACHE_SECONDS", 30)
# Longest time-out, in minutes (a ban has no end).
MODERATION_MAX_TIMEOUT_MINUTES = env_int("MODERATION_MAX_TIMEOUT_MINUTES", 365 * 24 * 60)
# Comments the live moderation page shows on opening.
MODERATION_LIVE_BACKLOG = env_int("MODERATION_LIVE_BACKLOG", 100)

# Guest accounts created per client address per window.
GUEST_RATE_COUNT = env_int("GUEST_RATE_COUNT", 20)
GUEST_RATE_WINDOW = env_int("GUEST_RATE_WINDOW", 600)

# --- Production hardening (switched on by DEBUG=0 with HTTPS in front) ---------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if env_bool("COMPANION_PRODUCTION", False):
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}
