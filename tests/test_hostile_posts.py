"""Hostile posts in a folder source (issue 7): a YAML alias bomb, run through `feedsvc check`,
`feedsvc build` and a live `feedsvc serve` as real processes, each of which must refuse it
quickly and with bounded memory, name its file and line, and publish the other posts.

Memory is read from the process itself (its peak RSS); time is bounded generously (a hang
guard, not a measurement): unfixed, `check` ran for 665 s and reached 17 GB.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import GOOD_POST, site
from live_support import post_text
from live_support import write_site as live_site

from feedsvc.live import Publisher

# Peak RSS of a `check` of a tiny site is ~60 MB; the bomb, expanded, is billions of values.
MAX_RSS_KB = 250 * 1024
# Far above the ~0.5 s these take, far below the minutes the bomb took.
HANG_GUARD = 60


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs" in front matter: 9**(levels+1) strings from levels+4 lines."""
    lines = ["---", "title: Bomb", "date: 2024-05-02", "a0: &a0 [" + ",".join(['"lol"'] * 9) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join([*lines, "---", "Body.", ""])


BOMB_ALIAS_LINE = 5  # the first *a0


# Runs the CLI, then reports the process's own peak RSS (and its children's) on stderr.
_MEASURED = (
    "import resource, sys\n"
    "from feedsvc.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "peak = max(resource.getrusage(who).ru_maxrss\n"
    "           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
    "print(f'peak-rss-kb {peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_measured(args: list[str], cwd: Path) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak RSS in KB) of ``feedsvc ARGS``, in its own session so
    that a hang kills every process it started."""
    process = subprocess.Popen(
        [sys.executable, "-c", _MEASURED, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"feedsvc {' '.join(args)} still running after {HANG_GUARD} s")
    peak = next(
        int(line.split()[1]) for line in err.splitlines() if line.startswith("peak-rss-kb ")
    )
    return process.returncode, out, err, peak


def test_check_refuses_an_alias_bomb_with_its_line_and_bounded_memory(tmp_path):
    site(tmp_path, {"bomb.md": alias_bomb(), "good.md": GOOD_POST})
    code, out, err, peak = run_measured(["check"], tmp_path)
    assert code == 1
    assert out.startswith(f"posts/bomb.md:{BOMB_ALIAS_LINE}: YAML alias *a0 is not allowed"), out
    assert "1 posts ok" in err
    assert peak < MAX_RSS_KB


def test_build_refuses_an_alias_bomb_and_publishes_the_rest(tmp_path):
    site(tmp_path, {"bomb.md": alias_bomb(), "good.md": GOOD_POST})
    code, _, err, peak = run_measured(["build", "--out", str(tmp_path / "out")], tmp_path)
    assert code == 0, err
    assert f"posts/bomb.md:{BOMB_ALIAS_LINE}: YAML alias" in err
    feed = (tmp_path / "out" / "feed.atom").read_text(encoding="utf-8")
    assert "<title>Good</title>" in feed and "Bomb" not in feed
    assert peak < MAX_RSS_KB


# --- a live `feedsvc serve` -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # 127.0.0.1 only
        return response.status, response.read()


def _peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """A real `feedsvc serve` of a one-post site: (base URL, posts folder, pid)."""
    config = site(tmp_path, {"good.md": GOOD_POST})
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(f"{base}/healthz")[0] == 200, "the server to start")
        yield base, tmp_path / "posts", process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while True:
        try:
            if condition():
                return
        except OSError:
            pass  # not listening yet, or busy past the request's own timeout
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {HANG_GUARD} s waiting for {what}")
        time.sleep(0.05)


def _skipped(base: str) -> list[dict[str, object]]:
    return json.loads(_get(f"{base}/status")[1])["skipped"]


def test_a_live_server_refuses_an_alias_bomb_and_keeps_serving(served):
    base, posts, pid = served
    (posts / "bomb.md").write_text(alias_bomb(), encoding="utf-8")
    _wait_for(lambda: _skipped(base), "the bomb to be reported on /status")
    [problem] = _skipped(base)
    assert problem["path"].endswith("posts/bomb.md")
    assert problem["line"] == BOMB_ALIAS_LINE
    assert _get(f"{base}/healthz")[0] == 200
    # Touched again (same bytes, new stamp) and edited: still refused, still serving.
    os.utime(posts / "bomb.md")
    (posts / "bomb.md").write_text(alias_bomb() + "More.\n", encoding="utf-8")
    (posts / "new.md").write_text(GOOD_POST.replace("Good", "New"), encoding="utf-8")
    _wait_for(lambda: b"<title>New</title>" in _get(f"{base}/feed.atom")[1], "the new post")
    assert len(_skipped(base)) == 1
    assert _peak_rss_kb(pid) < MAX_RSS_KB


# --- a large post added and deleted (issue 7, item 3) ----------------------------------------


async def test_a_deleted_large_post_leaves_nothing_behind_in_the_caches(tmp_path):
    """A 5 MB post (under a raised posts.max_file_size) added then deleted, twice: what the
    reader, the normalize cache, the builder and the served snapshot keep of it is gone."""
    site = live_site(tmp_path, extra='watch = "off"')
    with site.config_file.open("a") as config:
        config.write("\n[posts]\nmax_file_size = 10000000\n")
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    await publisher.start(schedule=False)
    try:
        await publisher.rebuild(None, "manual")
        gc.collect()
        tracemalloc.start()
        try:
            for _ in range(2):
                body = ("words of a long report " * 40 + "\n\n") * 5000  # about 5 MB
                site.write_post("en/big.md", post_text("Big", "en", ["Policy"], "2024-03-25", body))
                del body
                await publisher.rebuild(None, "manual")
                assert publisher.status().posts == 6
                (site.posts / "en" / "big.md").unlink()
                await publisher.rebuild(None, "manual")
                assert publisher.status().posts == 5
            gc.collect()
            kept, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        await publisher.stop()
    # Allocated since the start and still held: a few hundred KB of rebuild bookkeeping,
    # not the post's 5 MB of Markdown, its HTML, or its feeds' bytes.
    assert kept < 1024 * 1024, kept


# In a process of its own: a live Publisher over a five-post site; a 5 MB post added and
# deleted four times; the resident size (MB) printed at the start and after each delete.
_ADD_AND_DELETE = """
import asyncio, sys
from pathlib import Path
from live_support import post_text, write_site
from feedsvc.live import Publisher

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

async def main(root):
    site = write_site(root, extra='watch = "off"')
    with site.config_file.open("a") as config:
        config.write("\\n[posts]\\nmax_file_size = 10000000\\n")
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    await publisher.start(schedule=False)
    await publisher.rebuild(None, "manual")
    print(rss_mb())
    for _ in range(4):
        body = ("words of a long report " * 40 + "\\n\\n") * 5000
        site.write_post("en/big.md", post_text("Big", "en", ["Policy"], "2024-03-25", body))
        del body
        await publisher.rebuild(None, "manual")
        (site.posts / "en" / "big.md").unlink()
        await publisher.rebuild(None, "manual")
        print(rss_mb())
    await publisher.stop()

asyncio.run(main(Path(sys.argv[1])))
"""


def test_a_served_large_post_added_and_deleted_gives_its_memory_back(tmp_path):
    """Issue 7: a 5 MB post raised the server by ~70 MB and deleting it gave none back;
    four cycles ratcheted on. Now each delete returns to about where it started."""
    result = subprocess.run(
        [sys.executable, "-c", _ADD_AND_DELETE, str(tmp_path)],
        cwd=Path(__file__).parent,  # live_support
        capture_output=True,
        text=True,
        timeout=HANG_GUARD * 2,
        check=True,
    )
    start, *after_deletes = (int(line) for line in result.stdout.split())
    assert len(after_deletes) == 4
    assert max(after_deletes) - start < 40, (start, after_deletes)
