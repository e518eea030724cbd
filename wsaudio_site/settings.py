"""Settings for every deployment: each difference comes from an environment variable.

A fresh clone runs with none set (SQLite, in-memory channel layer, a generated
secret key). The README lists every variable.
"""

import logging
import os
from pathlib import Path

import dj_database_url
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or a key generated once into an untracked file."""
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    path = BASE_DIR / ".secret_key"
    log = logging.getLogger("wsaudio.settings")
    if not path.exists():
        # Written aside and linked into place, so that processes starting together
        # agree on one key and none reads a half-written file.
        draft = path.with_name(f".secret_key.{os.getpid()}")
        draft.write_text(get_random_secret_key())
        draft.chmod(0o600)
        try:
            os.link(draft, path)
            log.warning("DJANGO_SECRET_KEY is not set: generated a key into %s", path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    else:
        log.warning("DJANGO_SECRET_KEY is not set: using the key in %s", path)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "daphne",  # runserver serves WebSocket too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "echo",
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

ROOT_URLCONF = "wsaudio_site.urls"
ASGI_APPLICATION = "wsaudio_site.asgi.application"

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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Live-server tests cannot share an in-memory SQLite database across threads.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}

if REDIS_URL := os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    # One process only: sessions in other processes cannot be reached.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "echo": {"level": os.environ.get("WSAUDIO_LOG_LEVEL", "INFO")},
        "wsaudio": {"level": os.environ.get("WSAUDIO_LOG_LEVEL", "INFO")},
        "daphne": {"level": "INFO"},  # "Listening on TCP address ..." and startup
    },
}

# wsaudio's own settings.
WSAUDIO_MIN_RATE = int(os.environ.get("WSAUDIO_MIN_RATE", 8000))
WSAUDIO_MAX_RATE = int(os.environ.get("WSAUDIO_MAX_RATE", 48000))
WSAUDIO_DEFAULT_RATE = int(os.environ.get("WSAUDIO_DEFAULT_RATE", 16384))
WSAUDIO_MAX_FRAME_SECONDS = float(os.environ.get("WSAUDIO_MAX_FRAME_SECONDS", 1.0))
# Processor classes to offer beside the built-ins, as dotted paths (comma-separated
# in the environment): docs/processors.md shows how one is written.
WSAUDIO_PROCESSORS = env_list("WSAUDIO_PROCESSORS", [])
# Session limits (docs/protocol.md, "Limits"); each is announced in ready.limits.
WSAUDIO_MAX_SESSIONS = int(os.environ.get("WSAUDIO_MAX_SESSIONS", 1000))
WSAUDIO_MAX_ERRORS = int(os.environ.get("WSAUDIO_MAX_ERRORS", 50))
WSAUDIO_MAX_MESSAGES_PER_SECOND = int(
    os.environ.get("WSAUDIO_MAX_MESSAGES_PER_SECOND", 500)
)
WSAUDIO_BURST_SECONDS = float(os.environ.get("WSAUDIO_BURST_SECONDS", 2.0))
WSAUDIO_MAX_REALTIME_FACTOR = float(os.environ.get("WSAUDIO_MAX_REALTIME_FACTOR", 4.0))
WSAUDIO_IDLE_TIMEOUT = float(os.environ.get("WSAUDIO_IDLE_TIMEOUT", 60.0))
# Seconds of replies that may wait for a client that stopped reading; enforced where
# the server's send waits for the client (Uvicorn), see docs/protocol.md.
WSAUDIO_MAX_PENDING_SECONDS = float(os.environ.get("WSAUDIO_MAX_PENDING_SECONDS", 5.0))
# Heavy chains (denoise, vad) run on a pool of this many threads per process, admitted
# while their declared costs (CPU-seconds per second of audio) fit in the budget.
WSAUDIO_PROCESSING_THREADS = int(
    os.environ.get("WSAUDIO_PROCESSING_THREADS", len(os.sched_getaffinity(0)))
)
WSAUDIO_PROCESSING_BUDGET = float(
    os.environ.get("WSAUDIO_PROCESSING_BUDGET", 0.8 * WSAUDIO_PROCESSING_THREADS)
)
# Seconds of audio a heavy session's frames may hold waiting for the pool.
WSAUDIO_MAX_PROCESSING_BACKLOG_SECONDS = float(
    os.environ.get("WSAUDIO_MAX_PROCESSING_BACKLOG_SECONDS", 2.0)
)
# Seconds a worker takes on SIGTERM to close its sessions with 4502 and write their
# records before it exits (echo.shutdown).
WSAUDIO_SHUTDOWN_GRACE = float(os.environ.get("WSAUDIO_SHUTDOWN_GRACE", 10.0))
# Host patterns (as in ALLOWED_HOSTS) that browser pages may open sessions from;
# empty means ALLOWED_HOSTS.
WSAUDIO_ALLOWED_ORIGINS = env_list("WSAUDIO_ALLOWED_ORIGINS", [])
WSAUDIO_REQUIRE_ORIGIN = env_bool("WSAUDIO_REQUIRE_ORIGIN", False)
# Session records (echo.models.SessionRecord), written every few seconds off the
# audio path; the stats control message works either way.
WSAUDIO_STORE_METRICS = env_bool("WSAUDIO_STORE_METRICS", True)
WSAUDIO_METRICS_FLUSH_SECONDS = float(
    os.environ.get("WSAUDIO_METRICS_FLUSH_SECONDS", 5.0)
)
WSAUDIO_STORE_CLIENT_IP = env_bool("WSAUDIO_STORE_CLIENT_IP", False)
# Records of sessions that started more than this many days ago are deleted by
# `manage.py prune_sessions`; unset keeps every record.
WSAUDIO_METRICS_RETENTION_DAYS = (
    int(days)
    if (days := os.environ.get("WSAUDIO_METRICS_RETENTION_DAYS", "").strip())
    else None
)
