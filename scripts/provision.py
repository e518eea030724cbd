"""Install the Debian packages the tests need, or stop with the one command that would.

Usage: provision.py [PACKAGE_LIST]   (default: scripts/debian-packages.txt)

A package is needed unless an environment variable says where its part is found
instead (WSAUDIO_CHROMIUM for chromium, TEST_POSTGRES_URL for postgresql). Missing
ones are installed with apt-get when this runs as root, or through sudo when sudo
works without a password; otherwise nothing is changed, and the script prints the
apt-get line to run and exits 1. After installing it checks again, so a failure is
never silent. Without dpkg (not Debian) it installs nothing and says so; the checks
of scripts/require_services.py then name whatever is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

PACKAGE_LIST = Path(__file__).with_name("debian-packages.txt")
# A package whose part the user provides otherwise, named by this variable.
PROVIDED_BY = {"chromium": "WSAUDIO_CHROMIUM", "postgresql": "TEST_POSTGRES_URL"}
APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]


class Plan(NamedTuple):
    commands: list[list[str]]  # run in order; empty when nothing is to be done
    refusal: str | None = None  # why nothing can be done, and what to run instead


def read_packages(path: Path) -> list[str]:
    """The package names of ``path``: one a line, ``#`` starts a comment."""
    lines = (line.partition("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def needed(packages: list[str], env: Mapping[str, str]) -> list[str]:
    return [name for name in packages if not env.get(PROVIDED_BY.get(name, ""))]


def plan(missing: list[str], is_root: bool, sudo_works: bool) -> Plan:
    """What to run to install ``missing``, given who we are."""
    if not missing:
        return Plan([])
    commands = [
        [*APT, "update", "-q"],
        [*APT, "install", "-y", "-q", *missing],
    ]
    if is_root:
        return Plan(commands)
    if sudo_works:
        return Plan([["sudo", *command] for command in commands])
    line = " ".join(["sudo", "apt-get", "install", "-y", *missing])
    return Plan(
        [],
        f"The tests need these Debian packages, which are not installed: "
        f"{', '.join(missing)}.\nInstall them, then run make test again:\n  {line}",
    )


def is_installed(package: str) -> bool:
    status = subprocess.run(
        ["dpkg-query", "--show", "--showformat=${db:Status-Status}", package],
        capture_output=True,
        text=True,
    )
    return status.returncode == 0 and status.stdout == "installed"


def sudo_works() -> bool:
    """sudo is there and asks for no password."""
    if shutil.which("sudo") is None:
        return False
    return subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


def provision(
    packages: list[str],
    installed: Callable[[str], bool] = is_installed,
    run: Callable[[list[str]], int] = subprocess.call,
    is_root: bool | None = None,
    can_sudo: Callable[[], bool] = sudo_works,
) -> int:
    """Install what is missing of ``packages``; 0 once all are installed."""
    missing = [name for name in packages if not installed(name)]
    if is_root is None:
        is_root = os.geteuid() == 0
    steps = plan(missing, is_root, not is_root and bool(missing) and can_sudo())
    if steps.refusal:
        print(steps.refusal, file=sys.stderr)
        return 1
    for command in steps.commands:
        print("+", " ".join(command), file=sys.stderr)
        if run(command) != 0:
            print(f"failed: {' '.join(command)}", file=sys.stderr)
            return 1
    still_missing = [name for name in missing if not installed(name)]
    if still_missing:
        print(f"still not installed: {', '.join(still_missing)}", file=sys.stderr)
        return 1
    return 0


def main(args: list[str]) -> int:
    packages = needed(
        read_packages(Path(args[0]) if args else PACKAGE_LIST), os.environ
    )
    if shutil.which("dpkg-query") is None:
        print(
            "No dpkg here, so nothing is installed: the tests need "
            f"{', '.join(packages)} (or what they provide).",
            file=sys.stderr,
        )
        return 0
    return provision(packages)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
