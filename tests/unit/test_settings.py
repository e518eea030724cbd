"""Settings a fresh clone runs with, and the secret key it makes for itself."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_value(expression: str, **env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter and print ``expression`` of them."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WSAUDIO_"))
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            f"from wsaudio_site.settings import *; print({expression})",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )


def test_without_a_secret_key_one_is_kept_in_an_untracked_file_and_reused():
    first = settings_value("SECRET_KEY")
    second = settings_value("SECRET_KEY")
    key_file = ROOT / ".secret_key"
    assert first.stdout == second.stdout
    assert first.stdout.strip() == key_file.read_text().strip()
    assert len(first.stdout.strip()) >= 50
    assert key_file.stat().st_mode & 0o077 == 0
    assert "DJANGO_SECRET_KEY is not set" in second.stderr
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(key_file)], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


def test_a_secret_key_from_the_environment_is_used_as_is():
    result = settings_value("SECRET_KEY", DJANGO_SECRET_KEY="from-the-environment")
    assert result.stdout.strip() == "from-the-environment"
    assert "DJANGO_SECRET_KEY" not in result.stderr


def test_debug_is_off_and_sqlite_is_the_default_database():
    assert settings_value("DEBUG").stdout.strip() == "False"
    engine = settings_value("DATABASES['default']['ENGINE']").stdout.strip()
    assert engine == "django.db.backends.sqlite3"


def test_database_url_and_redis_url_switch_the_backends():
    result = settings_value(
        "DATABASES['default']['ENGINE'], CHANNEL_LAYERS['default']['BACKEND']",
        DATABASE_URL="postgres://wsaudio@db.internal:5432/wsaudio",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    assert result.stdout.strip() == (
        "django.db.backends.postgresql channels_redis.core.RedisChannelLayer"
    )


def test_allowed_hosts_come_from_a_comma_separated_list():
    result = settings_value(
        "ALLOWED_HOSTS", DJANGO_ALLOWED_HOSTS="a.example, .b.example"
    )
    assert result.stdout.strip() == "['a.example', '.b.example']"


def test_session_records_are_on_every_5_s_without_client_addresses_by_default():
    names = "WSAUDIO_STORE_METRICS, WSAUDIO_METRICS_FLUSH_SECONDS, "
    names += "WSAUDIO_STORE_CLIENT_IP"
    assert settings_value(names).stdout.strip() == "True 5.0 False"
    changed = settings_value(
        names,
        WSAUDIO_STORE_METRICS="off",
        WSAUDIO_METRICS_FLUSH_SECONDS="0.5",
        WSAUDIO_STORE_CLIENT_IP="1",
    )
    assert changed.stdout.strip() == "False 0.5 True"


def test_records_are_kept_forever_unless_a_retention_in_days_is_set():
    assert settings_value("WSAUDIO_METRICS_RETENTION_DAYS").stdout.strip() == "None"
    for unset in ("", "  "):
        kept = settings_value(
            "WSAUDIO_METRICS_RETENTION_DAYS", WSAUDIO_METRICS_RETENTION_DAYS=unset
        )
        assert kept.stdout.strip() == "None"
    days = settings_value(
        "WSAUDIO_METRICS_RETENTION_DAYS", WSAUDIO_METRICS_RETENTION_DAYS="90"
    )
    assert days.stdout.strip() == "90"
