"""Reloading the config (SIGHUP): a broken config keeps the old one and its feeds serving and
is reported; a fixed one is taken and clears the report. Tested on the Publisher's method,
and once end to end with a real SIGHUP to `python -m feedsvc serve`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from live_support import etags, write_site

from feedsvc.live import Publisher

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def publisher(tmp_path):
    site = write_site(tmp_path)
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    await publisher.start(schedule=False)
    try:
        yield publisher, site
    finally:
        await publisher.stop()


def site_title(publisher: Publisher) -> str:
    body = publisher.ref.current.resources["/feed.json"].identity.body
    return json.loads(body)["title"]


async def test_a_broken_config_keeps_serving_the_old_and_is_reported(publisher):
    publisher, site = publisher
    before = etags(publisher)
    site.config_file.write_text(site.config_file.read_text() + "\n[feeds]\nentries = 0\n")

    assert await publisher.reload_config() is False

    error = publisher.status().config_error
    assert "feeds.toml" in error
    assert etags(publisher) == before
    assert publisher.config.site.title == "Live Site"

    site.write_config(title="Renamed Site")
    assert await publisher.reload_config() is True

    assert publisher.status().config_error is None
    assert site_title(publisher) == "Renamed Site"
    # Another site title changes every feed: everything was re-rendered.
    assert publisher.status().last_rebuild.trigger == "reload"
    assert publisher.status().last_rebuild.feeds_rendered == len(
        [p for p in before if p.endswith(".atom")]
    )


@pytest.mark.parametrize(
    "broken",
    [
        "this is not TOML = = =",
        '[site]\ntitle = "No url"\n',
        '[site]\ntitle = "x"\nurl = "https://x.example/"\nid_authority = "x.example,2020"\n'
        '[[sources]]\ntype = "folder"\npath = "missing-folder"\n',
    ],
)
async def test_every_kind_of_invalid_config_is_refused(publisher, broken):
    publisher, site = publisher
    site.config_file.write_text(broken)
    assert await publisher.reload_config() is False
    assert publisher.status().config_error
    assert publisher.config.sources[0].name == "posts"


async def test_a_reload_re_reads_every_source(publisher):
    publisher, site = publisher
    site.write_post("en/z.md", "---\ntitle: Post z\ndate: 2024-03-31\n---\nZ.\n")
    assert await publisher.reload_config() is True
    assert b"Post z" in publisher.ref.current.resources["/feed.atom"].identity.body
    # Same [site] and [feeds]: only the feeds the new post is in were re-rendered.
    assert publisher.status().last_rebuild.feeds_rendered == 3  # feed, en, archive


async def test_a_config_that_adds_a_source_publishes_it(publisher, tmp_path):
    publisher, site = publisher
    more = tmp_path / "more"
    more.mkdir()
    (more / "m.md").write_text("---\ntitle: From more\ndate: 2024-03-31\n---\nM.\n")
    site.write_config(extra='\n[[sources]]\ntype = "folder"\nname = "more"\npath = "more"\n')
    assert await publisher.reload_config() is True
    assert [s.name for s in publisher.status().sources] == ["posts", "more"]
    assert b"From more" in publisher.ref.current.resources["/feed.atom"].identity.body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, dict(response.headers), response.read()


def poll(condition, timeout: float = 30.0, what: str = ""):
    """Poll ``condition`` until truthy (a subprocess is on the real clock); bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_to_a_running_server_reloads_its_config(tmp_path):
    site = write_site(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "feedsvc", "serve", "--config", str(site.config_file)]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        poll(lambda: get(f"{base}/healthz")[0] == 200, what="the server to start")
        _, headers, _ = get(f"{base}/feed.atom")
        etag = headers["ETag"]

        site.config_file.write_text("[site]\ntitle = broken\n")
        server.send_signal(signal.SIGHUP)
        status = poll(
            lambda: json.loads(get(f"{base}/status")[2])["config_error"], what="config_error"
        )
        assert "not valid TOML" in status
        assert get(f"{base}/feed.atom")[1]["ETag"] == etag  # the old feeds still serve

        site.write_config(title="After SIGHUP")
        server.send_signal(signal.SIGHUP)

        def reloaded() -> bool:
            status = json.loads(get(f"{base}/status")[2])
            # The error clears when the file is read; the rebuild with it follows.
            return status["config_error"] is None and "reload" in status["last_rebuild"]["trigger"]

        poll(reloaded, what="the reload")
        assert json.loads(get(f"{base}/feed.json")[2])["title"] == "After SIGHUP"
        # --port from the command line still holds after the reload (it serves here).
    finally:
        server.terminate()
        try:
            _, stderr = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    assert b"config reload failed" in stderr
    # SIGTERM ends the app's lifespan (service.py): background work stopped, exit status 0.
    assert server.returncode == 0, stderr.decode()
