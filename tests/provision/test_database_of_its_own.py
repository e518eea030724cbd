"""Each pass of `make test` runs on a database of its own: the checkout's SQLite
file, then the run's private PostgreSQL cluster, whatever else answers on 5432."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.database, pytest.mark.django_db]


def test_the_pass_runs_on_a_database_no_other_run_can_share():
    if connection.vendor == "sqlite":  # the checkout's own test file
        assert connection.settings_dict["NAME"] == str(
            settings.BASE_DIR / "test-db.sqlite3"
        )
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        (data_directory,) = cursor.fetchone()
        cursor.execute("SHOW port")
        (port,) = cursor.fetchone()
    url = os.environ["DATABASE_URL"]
    if url == os.environ.get("TEST_POSTGRES_URL"):
        return  # a server of the user's own choosing, named to make
    # The private cluster of scripts/private_postgres.py, whatever answers on 5432.
    assert data_directory == os.environ["WSAUDIO_PRIVATE_POSTGRES_DIR"]
    assert int(port) == urlsplit(url).port
