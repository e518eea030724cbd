"""scripts/require_services.py finds Chromium and Node.js, or says what is wrong."""

from pathlib import Path

import pytest

from scripts import require_services
from scripts.private_postgres import server_bin


def executable(path: Path, output: str) -> str:
    """A script at ``path`` that prints ``output``, as a version query would."""
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(0o755)
    return str(path)


def test_chromium_is_the_environments_choice_before_debians(monkeypatch):
    monkeypatch.delenv("WSAUDIO_CHROMIUM", raising=False)
    assert require_services.chromium_executable() == "/usr/bin/chromium"
    monkeypatch.setenv("WSAUDIO_CHROMIUM", "/opt/chrome/chrome")
    assert require_services.chromium_executable() == "/opt/chrome/chrome"


def test_a_chromium_that_runs_passes(tmp_path):
    require_services.check_chromium(executable(tmp_path / "chromium", "Chromium 156"))


def test_a_chromium_that_is_not_executable_fails(tmp_path):
    (tmp_path / "chromium").write_text("")
    with pytest.raises(FileNotFoundError, match="not an executable file"):
        require_services.check_chromium(str(tmp_path / "chromium"))


def test_node_18_passes(tmp_path):
    require_services.check_node(executable(tmp_path / "node", "v18.19.0"))


def test_node_16_fails_naming_the_version(tmp_path):
    with pytest.raises(ValueError, match="v16.20.2"):
        require_services.check_node(executable(tmp_path / "node", "v16.20.2"))


def test_missing_services_are_reported_with_their_hints(tmp_path, capsys):
    missing = tmp_path / "absent"
    assert require_services.main([f"chromium={missing}", f"node={missing}"]) == 1
    report = capsys.readouterr().err
    assert "apt-get install chromium" in report
    assert "apt-get install nodejs" in report


def test_without_postgresql_server_programs_the_hint_says_how_to_get_them(
    monkeypatch, capsys
):
    monkeypatch.setattr("scripts.private_postgres.glob.glob", lambda pattern: [])
    monkeypatch.setenv("PATH", "")
    assert require_services.main(["postgres-server"]) == 1
    report = capsys.readouterr().err
    assert "no PostgreSQL server programs (initdb)" in report
    assert "apt-get install postgresql" in report
    assert "TEST_POSTGRES_URL" in report


def test_the_newest_installed_postgresql_server_is_the_one_used(monkeypatch):
    installed = [
        "/usr/lib/postgresql/9/bin/initdb",
        "/usr/lib/postgresql/17/bin/initdb",
    ]
    monkeypatch.setattr("scripts.private_postgres.glob.glob", lambda pattern: installed)
    assert str(server_bin()) == "/usr/lib/postgresql/17/bin"
