"""scripts/provision.py: what it installs, how, and when it stops instead."""

from __future__ import annotations

from pathlib import Path

from scripts import provision

APT_UPDATE = [*provision.APT, "update", "-q"]


def apt_install(*packages: str) -> list[str]:
    return [*provision.APT, "install", "-y", "-q", *packages]


class Machine:
    """A machine with some packages installed, that records what it was asked to
    run; a successful apt-get install installs what it names."""

    def __init__(self, installed: set[str], apt_fails: bool = False) -> None:
        self.installed = set(installed)
        self.apt_fails = apt_fails
        self.ran: list[list[str]] = []

    def run(self, command: list[str]) -> int:
        self.ran.append(command)
        if self.apt_fails:
            return 100
        if "install" in command:
            self.installed.update(command[command.index("-q") + 1 :])
        return 0


def provision_on(machine: Machine, packages, is_root: bool, can_sudo: bool) -> int:
    return provision.provision(
        packages,
        installed=machine.installed.__contains__,
        run=machine.run,
        is_root=is_root,
        can_sudo=lambda: can_sudo,
    )


def test_nothing_is_run_when_every_package_is_there(capsys):
    machine = Machine({"chromium", "nodejs"})
    assert (
        provision_on(machine, ["chromium", "nodejs"], is_root=False, can_sudo=False)
        == 0
    )
    assert machine.ran == []
    assert capsys.readouterr().err == ""


def test_root_installs_only_what_is_missing():
    machine = Machine({"nodejs"})
    assert (
        provision_on(machine, ["chromium", "nodejs"], is_root=True, can_sudo=False) == 0
    )
    assert machine.ran == [APT_UPDATE, apt_install("chromium")]
    assert "chromium" in machine.installed


def test_a_user_with_passwordless_sudo_installs_through_it():
    machine = Machine(set())
    assert provision_on(machine, ["postgresql"], is_root=False, can_sudo=True) == 0
    assert machine.ran == [["sudo", *APT_UPDATE], ["sudo", *apt_install("postgresql")]]


def test_a_user_without_sudo_gets_the_line_to_run_and_nothing_changes(capsys):
    machine = Machine({"nodejs"})
    packages = ["chromium", "nodejs", "postgresql"]
    assert provision_on(machine, packages, is_root=False, can_sudo=False) == 1
    assert machine.ran == []
    message = capsys.readouterr().err
    assert "chromium, postgresql" in message
    assert "  sudo apt-get install -y chromium postgresql\n" in message + "\n"


def test_a_failing_apt_get_fails_the_run(capsys):
    machine = Machine(set(), apt_fails=True)
    assert provision_on(machine, ["chromium"], is_root=True, can_sudo=False) == 1
    assert machine.ran == [APT_UPDATE]  # it stops at the first failure
    assert "failed: " in capsys.readouterr().err


def test_an_install_that_leaves_a_package_missing_is_not_silent(capsys):
    machine = Machine(set())
    machine.run = lambda command: machine.ran.append(command) or 0  # installs nothing
    assert provision_on(machine, ["chromium"], is_root=True, can_sudo=False) == 1
    assert "still not installed: chromium" in capsys.readouterr().err


def test_a_package_provided_otherwise_is_not_needed():
    packages = ["chromium", "nodejs", "postgresql"]
    assert provision.needed(packages, {}) == packages
    provided = {
        "WSAUDIO_CHROMIUM": "/opt/chrome",
        "TEST_POSTGRES_URL": "postgres://x/y",
    }
    assert provision.needed(packages, provided) == ["nodejs"]


def test_the_repositorys_list_names_the_packages_without_comments(tmp_path: Path):
    assert provision.read_packages(provision.PACKAGE_LIST) == [
        "chromium",
        "espeak-ng",
        "nodejs",
        "postgresql",
    ]
    listing = tmp_path / "packages.txt"
    listing.write_text("# a comment\n\nredis-server  # for the control plane\n")
    assert provision.read_packages(listing) == ["redis-server"]
