"""The migration to chains keeps every earlier record and describes its chain."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("echo", "0001_session_record")]
AFTER = [("echo", "0002_session_chain")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    """Whatever happens here, the tests after this one find every migration applied."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_record(apps, processor: str):
    return apps.get_model("echo", "SessionRecord").objects.create(
        uuid=uuid.uuid4(),
        started_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
        duration_seconds=1.0,
        rate=16384,
        format="f32",
        processor=processor,
        peak_dbfs=-120.0,
        rms_dbfs=-120.0,
        worker_host="host",
        worker_pid=1,
    )


def test_records_from_before_chains_get_echos_chain_and_room_for_long_chains():
    apps = migrate(BEFORE)
    echo = old_record(apps, "echo")
    other = old_record(apps, "custom")
    apps = migrate(AFTER)
    records = apps.get_model("echo", "SessionRecord").objects
    assert records.get(uuid=echo.uuid).chain == [{"name": "echo", "options": {}}]
    assert records.get(uuid=other.uuid).chain == []
    long_chain = ",".join([chr(ord("a") + i) + "x" * 31 for i in range(8)])
    records.filter(uuid=echo.uuid).update(processor=long_chain)
    assert records.get(uuid=echo.uuid).processor == long_chain
