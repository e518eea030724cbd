"""Run a command against a PostgreSQL of its own: a throwaway cluster, then gone.

Usage: private_postgres.py COMMAND [ARG ...]

The cluster is made with the installed server's initdb in a new temporary folder,
listens on 127.0.0.1 on a free port with trust authentication, and is stopped and
removed when COMMAND ends, however it ends (SIGTERM is passed on to COMMAND).
COMMAND runs with DATABASE_URL naming its database `test` and
WSAUDIO_PRIVATE_POSTGRES_DIR naming the cluster's data folder; its exit status is
this script's. No system configuration is read or changed, so runs on one machine
never share a database. As root, the server runs as the `postgres` user (initdb
refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUPERUSER = "postgres"
DATABASE = "test"
START_SECONDS = 60
STOP_SECONDS = 30  # for the command, once this run is told to stop
# A throwaway cluster needs no durability: commits do not wait for the disk.
SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def server_bin() -> Path:
    """The folder of the newest installed server's programs (Debian's layout first)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if found:
        return Path(found[-1]).parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise FileNotFoundError(
        "no PostgreSQL server programs (initdb): apt-get install postgresql"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def private_cluster() -> Iterator[tuple[str, Path]]:
    """A running cluster for the block: its database URL and data folder."""
    bin_dir = server_bin()
    root = Path(tempfile.mkdtemp(prefix="wsaudio-postgres-"))
    data = root / "data"
    run_as: dict = {}
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, cwd=root, **run_as)

    started = False
    try:
        run(
            str(bin_dir / "initdb"),
            f"--pgdata={data}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        port = free_port()
        options = [f"-p {port}", f"-k {root}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {setting}" for setting in SETTINGS]
        run(
            str(bin_dir / "pg_ctl"),
            f"--pgdata={data}",
            f"--log={root / 'server.log'}",
            f"--options={' '.join(options)}",
            f"--timeout={START_SECONDS}",
            "--wait",
            "start",
        )
        started = True
        host = ["--host=127.0.0.1", f"--port={port}", f"--username={SUPERUSER}"]
        run(str(bin_dir / "createdb"), *host, DATABASE)
        yield f"postgres://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}", data
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), f"--pgdata={data}", "--mode=fast", "stop")
        shutil.rmtree(root, ignore_errors=True)


def run_to_the_end(process: subprocess.Popen) -> int:
    """Its exit status; stopped ourselves (SIGTERM, Ctrl-C), we stop it first."""
    try:
        return process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that the cluster is still cleaned up."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(command: list[str]) -> int:
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    stop_on_sigterm()
    try:
        with private_cluster() as (url, data):
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "WSAUDIO_PRIVATE_POSTGRES_DIR": str(data),
            }
            return run_to_the_end(subprocess.Popen(command, env=env))
    except subprocess.CalledProcessError as error:
        output = (error.stderr or b"").decode(errors="replace").strip()
        print(f"the private PostgreSQL failed: {error}\n{output}", file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(f"the private PostgreSQL failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
