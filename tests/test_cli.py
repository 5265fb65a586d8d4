"""The commands of README.md ("A short tour"), run as real processes on real files."""

from __future__ import annotations

import calendar
import contextlib
import datetime
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from cli_support import GOOD_POST, site

REPO = Path(__file__).resolve().parents[1]
CLOCK_SHIFTER = Path(__file__).parent / "data" / "clock"


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "feedsvc", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_passes_on_the_example_site():
    result = run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stderr


def test_check_names_file_and_line_and_exits_non_zero(tmp_path):
    config = site(
        tmp_path,
        {
            "good.md": GOOD_POST,
            "no-date.md": "---\ntitle: No date\n---\nBody.\n",
            "bad-date.md": "---\ntitle: Bad\ndate: someday\n---\n",
            "open.md": "---\ntitle: Open\ndate: 2024-05-01\nBody without a closing line.\n",
        },
    )
    result = run("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("posts/bad-date.md:3: ") for line in lines), lines
    assert any(line.startswith("posts/no-date.md:") and "date" in line for line in lines), lines
    assert any(line.startswith("posts/open.md:1: ") for line in lines), lines
    assert "1 posts ok" in result.stderr


def test_a_broken_config_is_reported_with_its_key(tmp_path):
    config = tmp_path / "feeds.toml"
    config.write_text('[site]\ntitle = "T"\nurl = "nope"\nid_authority = "t.example,2020"\n')
    result = run("check", "--config", str(config))
    assert result.returncode == 2
    assert "site.url: must be an absolute http(s) URL" in result.stderr


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_build_writes_every_document_with_compressed_siblings_and_feed_mtimes(tmp_path):
    out = tmp_path / "out"
    result = run("build", "--out", str(out))
    assert result.returncode == 0, result.stderr
    files = tree(out)
    for name in ("index.html", "feeds.opml", "feed.atom", "feed.rss", "feed.json"):
        assert name in files
        assert f"{name}.gz" in files and f"{name}.br" in files
    assert any(name.startswith("category/") for name in files)
    assert any(name.startswith("archive/") for name in files)
    # Each feed's embed fragment, with the default limit, and the component's files.
    for name in ("embed/feed.html", "embed/lang/es.html", "embed.js", "embed.css"):
        assert name in files and f"{name}.br" in files, name
    assert files["embed/feed.html"][1] == files["feed.json"][1]
    assert files["embed/feed.html"][0].count(b"<article ") == 5
    parsed = feedparser.parse(files["feed.atom"][0])
    newest = max(e.updated_parsed for e in parsed.entries)
    assert files["feed.atom"][1] == calendar.timegm(newest) * 10**9
    # A second build over the first swaps the tree in whole: nothing stale is left.
    (out / "stale.txt").write_text("old")
    assert run("build", "--out", str(out)).returncode == 0
    assert not (out / "stale.txt").exists()
    assert tree(out) == files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


@pytest.mark.parametrize("shift_days", [400])
def test_builds_are_byte_identical_across_processes_hash_seeds_and_clocks(tmp_path, shift_days):
    """docs/architecture.md "Determinism": the same posts give the same bytes in any process, at any
    time."""
    first, second = tmp_path / "a", tmp_path / "b"
    assert run("build", "--out", str(first), env={"PYTHONHASHSEED": "1"}).returncode == 0
    moved = {
        "PYTHONHASHSEED": "4242",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(CLOCK_SHIFTER), os.environ.get("PYTHONPATH")])
        ),
        "FEEDSVC_TEST_CLOCK_SHIFT": str(shift_days * 86400),
    }
    result = run("build", "--out", str(second), env=moved)
    assert result.returncode == 0, result.stderr
    a, b = tree(first), tree(second)
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_the_clock_shifter_really_moves_the_clock(tmp_path):
    """Guards the determinism test: without this, it could pass for the wrong reason."""
    code = "import datetime, time; print(datetime.datetime.now().year, int(time.time()))"
    env = {
        **os.environ,
        "PYTHONPATH": str(CLOCK_SHIFTER),
        "FEEDSVC_TEST_CLOCK_SHIFT": str(400 * 86400),
    }
    shifted = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    year, now = map(int, shifted.stdout.split())
    assert now - time.time() > 399 * 86400
    assert year >= datetime.datetime.now().year + 1


# ---- serve's port ----------------------------------------------------------------------


@contextlib.contextmanager
def serving(config: Path, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``feedsvc serve --port 0``: the process and the port it printed; SIGTERM at the end."""
    server = subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "serve", "--config", str(config), "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        # Bounded: a serve that never prints must fail the test, not hang it.
        assert select.select([server.stdout], [], [], 60)[0], "serve printed no port"
        line = server.stdout.readline()
        match = re.fullmatch(r"listening on 127\.0\.0\.1 port (\d+)\n", line)
        assert match, line
        yield server, int(match.group(1))
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_port_0_picks_a_free_port_and_prints_it(tmp_path):
    with serving(site(tmp_path, {"good.md": GOOD_POST}), tmp_path) as (_, port):
        assert port != 0
        # The port is bound before the start-up build: this waits for it, then answers.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/feed.json", timeout=60) as r:
            # The public URL is made with the port picked, not 0.
            assert json.load(r)["feed_url"] == f"http://127.0.0.1:{port}/feed.json"


def test_serve_answers_what_aiohttp_refuses_in_our_shape_and_stops_on_sigterm(tmp_path):
    # web/server.py's Runner is what `serve` runs: tests/test_server_errors.py has each case.
    with serving(site(tmp_path, {"good.md": GOOD_POST}), tmp_path) as (server, port):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60).close()
        answers = []
        connect = b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"
        for request in (connect, b"garbage\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
                conn.sendall(request)
                answers.append(b"".join(iter(lambda c=conn: c.recv(65536), b"")))
        connect, garbage = (answer.partition(b"\r\n\r\n")[2] for answer in answers)
        assert connect.startswith(b"405 Method Not Allowed: CONNECT example.org:443 ")
        assert garbage.startswith(b"400 Bad Request: the request could not be read: ")
    assert server.returncode == 0  # SIGTERM is a graceful stop


def test_serve_on_a_port_in_use_is_a_one_line_error(tmp_path):
    config = site(tmp_path, {"good.md": GOOD_POST})
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run("serve", "--config", str(config), "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr == f"error: cannot listen on 127.0.0.1 port {port}: Address already in use\n"
    )


@pytest.mark.parametrize("value", ["x", "70000", "-1"])
def test_a_bad_port_flag_names_the_flag(tmp_path, value):
    config = site(tmp_path, {"good.md": GOOD_POST})
    result = run("serve", "--config", str(config), "--port", value, cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --port: must be a port number from 0 to 65535" in result.stderr
    assert "feeds.toml" not in result.stderr


def test_check_and_serve_agree_on_a_wrongly_typed_server_port(tmp_path):
    config = site(tmp_path, {"good.md": GOOD_POST})
    config.write_text(config.read_text() + '[server]\nport = "8080"\n')
    expected = "server.port: must be an integer, not string '8080'"
    checked = run("check", "--config", str(config), cwd=tmp_path)
    # --port would hide the file's value; the file is still checked as written.
    # (A port in use: were the file not checked, serve would fail otherwise, not hang.)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        served = run("serve", "--config", str(config), "--port", port, cwd=tmp_path)
    assert checked.returncode == served.returncode == 2
    assert expected in checked.stderr and checked.stderr == served.stderr


# What a site of local folders never needs: the network layer and the aggregator's stores.
NOT_FOR_FOLDERS = ("aiohttp", "feedparser", "psycopg", "feedsvc.remote.fetch", "feedsvc.aggregate")


def modules_loaded(code: str, cwd: Path) -> list[str]:
    """Which of NOT_FOR_FOLDERS a fresh interpreter has imported after running ``code``."""
    report = f"import sys; print([n for n in {NOT_FOR_FOLDERS!r} if n in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1].replace("'", '"'))
    return loaded


def test_a_build_of_local_folders_imports_neither_the_network_layer_nor_the_aggregator(tmp_path):
    """docs/benchmarks.md "The serial start": they were 0.2 s before a build's first worker."""
    config = site(tmp_path, {"good.md": GOOD_POST})
    build = (
        "from feedsvc.__main__ import main\n"
        f"assert main(['build', '--config', {str(config)!r}, '--out', 'out']) == 0"
    )
    assert modules_loaded(build, tmp_path) == []
    assert (tmp_path / "out" / "feed.atom").is_file()
    # The boundary is a source's type: a feed source brings the network layer with it.
    config.write_text(
        config.read_text()
        + '[[sources]]\ntype = "feed"\nname = "news"\nurl = "https://news.example/feed.xml"\n'
    )
    load = f"from feedsvc.configfile import load_config\nload_config({str(config)!r}, {{}})"
    assert modules_loaded(load, tmp_path) == ["aiohttp", "feedparser", "feedsvc.remote.fetch"]
