"""A real headless Chromium (Debian's chromium and chromium-driver) driven by Selenium, and
aiohttp servers on 127.0.0.1 run in threads, so that blocking WebDriver calls can wait on
pages those servers answer.

    @pytest.fixture(scope="module")                               # in a test module
    def driver():
        yield from chromium_fixture()

Outside CI a machine without Chromium skips the browser tests; in CI (``CI=true``) they
fail instead, since .ci/run installs the browser first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import struct
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Seconds a page may take to show what a test waits for (a bound on a wait, not a sleep).
PAGE_WAIT = 20

# Chromium as root on a machine whose network is closed: no sandbox (root), no GPU, and
# nothing that phones home (QUIC, component updates, sync, background networking).
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,1600",
    "--lang=en-US",
)


def chromium_fixture(*args: str) -> Iterator[Any]:
    """A Chromium WebDriver for a module's tests, with a fresh profile, closed after;
    ``args`` are more command-line switches."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (.ci/run installs them)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="feedsvc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (*CHROMIUM_ARGS, *args, f"--user-data-dir={profile}"):
        options.add_argument(arg)
    # The console, read by the tests ("no console errors").
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(PAGE_WAIT)
    driver.set_script_timeout(PAGE_WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: Any) -> list[str]:
    """Console messages of level SEVERE since the last call (reading the log empties it)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def free_socket() -> socket.socket:
    """A listening socket on 127.0.0.1 with a port of the system's choosing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


class ThreadedServer:
    """An aiohttp app served on ``sock`` from an event loop in a thread of its own."""

    def __init__(self, app: web.Application, sock: socket.socket) -> None:
        self.app = app
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner = web.AppRunner(app, access_log=None)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(PAGE_WAIT)
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        await web.SockSite(self._runner, self.sock).start()

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` in the server's loop (asyncio objects belong to their loop)."""
        self._loop.call_soon_threadsafe(callback)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(PAGE_WAIT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(PAGE_WAIT)
        self._loop.close()


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (RFC 2083), for the images the test pages show."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
