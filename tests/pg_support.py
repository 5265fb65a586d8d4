"""A throwaway PostgreSQL cluster for the test session (Debian's server binaries).

``initdb`` into a temporary folder and ``postgres`` on a free port of 127.0.0.1, with its
unix socket in that folder too, run as ``nobody`` when the tests run as root (PostgreSQL
refuses to run as root). Each test gets its own database. Without the binaries the tests
skip on a developer machine and fail in CI (``CI=true``): ``.ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

STARTUP_LIMIT = 30.0  # seconds for the server to accept connections


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running server; ``database()`` makes a new empty database and returns its URL."""

    def __init__(self, bindir: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="feedsvc-pg-"))
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
            self._as = ["runuser", "-u", "nobody", "--"]
        data = self.folder / "data"
        subprocess.run(
            [
                *self._as,
                *(str(bindir / "initdb"), "-D", str(data), "-U", "feedsvc"),
                *("--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"),
            ],
            check=True,
            capture_output=True,
        )
        self._server = subprocess.Popen(
            [
                *self._as,
                *(str(bindir / "postgres"), "-D", str(data), "-p", str(self.port)),
                *("-k", str(self.folder), "-c", "listen_addresses=127.0.0.1"),
                *("-c", "fsync=off", "-c", "max_connections=200"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "server.log").open("wb"),
        )
        self.url = f"postgresql://feedsvc@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self._server.poll() is not None:
                    log = (self.folder / "server.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.1)  # waiting for a process we started, not timing a test

    def database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")  # type: ignore[call-overload]
        return f"postgresql://feedsvc@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self._server.poll() is None:
            self._server.terminate()  # SIGTERM: smart shutdown
            try:
                self._server.wait(10)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    bindir = server_binaries()
    if bindir is None:
        message = "PostgreSQL server binaries missing (Debian package postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; .ci/run installs them", pytrace=False)
        pytest.skip(message)
    running = Cluster(bindir)
    try:
        yield running
    finally:
        running.stop()
