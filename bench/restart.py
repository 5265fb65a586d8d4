"""Restarting `feedsvc serve` with its snapshot on disk, against a cold start; run by hand.

    python bench/gensite.py                     # once: the 10,000-post synthetic site
    python bench/restart.py [--config bench/out/site/feeds.toml] [--rounds 3]

On a copy of the site (the original is never edited), in one run:

1. cold start: no snapshot; process start → first 200 on /feed.atom (every feed read,
   normalized, rendered and compressed); then the snapshot is written and the server stopped;
2. warm restart, ``--rounds`` times: process start → first 200 on /feed.atom, then every
   document the OPML and the index list is asked for (HEAD) and must answer 200;
3. edit while stopped, ``--rounds`` times: one post's title changed while the server is down,
   then process start → its month's archive serves the new title;

with the peak PSS of the serving process (and any child) over each run, summed from
/proc/PID/smaps_rollup. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from pss import PeakPss  # noqa: E402


def get(url: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, headers={"Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def start(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "serve", "--config", str(config), "--port", str(port)],
        cwd=config.parent,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def wait_until(check, timeout: float = 180.0, poll: float = 0.01) -> float:
    """Seconds until ``check()`` is true (polled), or RuntimeError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(poll)
    raise RuntimeError(f"not ready within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # aiohttp's graceful stop: the snapshot write ends first
    process.wait(timeout=120)


def served_paths(base: str) -> list[str]:
    _, opml = get(base + "feeds.opml")
    feeds = set(re.findall(rf'xmlUrl="{re.escape(base)}([^"]+)"', opml.decode()))
    return ["/", "/feeds.opml", *sorted(feeds)]


def run(config: Path, port: int, log: Path, ready, sample_after: float = 0.0):
    """Start the server, time ``ready()``, sample PSS meanwhile (and ``sample_after`` s more)."""
    started = time.monotonic()
    process = start(config, port, log)
    peak = PeakPss(process.pid)
    sampler = threading.Thread(target=peak.run, daemon=True)
    sampler.start()
    try:
        seconds = wait_until(lambda: process.poll() is None and ready())
        seconds = time.monotonic() - started
        time.sleep(sample_after)
    finally:
        peak.stop()
        sampler.join()
    return process, seconds, peak.mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "bench/out/site/feeds.toml")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedsvc-restart-") as tmp:
        site = Path(tmp) / "site"
        shutil.copytree(args.config.parent, site, ignore=shutil.ignore_patterns("var"))
        config = site / args.config.name
        log = Path(tmp) / "serve.log"
        base = f"http://127.0.0.1:{args.port}/"
        snapshot = site / "var" / "cache" / "snapshot.bin"

        def answers() -> bool:
            return get(base + "feed.atom")[0] == 200

        process, cold, cold_pss = run(config, args.port, log, answers)
        wait_until(lambda: snapshot.is_file(), timeout=300)
        time.sleep(1)
        stop(process)
        print(f"cold start: {cold:.2f} s to the first 200, peak PSS {cold_pss:.0f} MB")
        size = snapshot.stat().st_size / 1e6
        print(f"snapshot: {size:.0f} MB")

        warm_times, warm_pss = [], []
        for _ in range(args.rounds):
            process, seconds, pss = run(config, args.port, log, answers, sample_after=3.0)
            paths = served_paths(base)
            failures = [p for p in paths if get(base + p.lstrip("/"), "HEAD")[0] != 200]
            stop(process)
            if failures:
                raise SystemExit(f"{len(failures)} of {len(paths)} not served: {failures[:5]}")
            warm_times.append(seconds)
            warm_pss.append(pss)
            print(f"warm restart: {seconds:.2f} s, {len(paths)} documents, PSS {pss:.0f} MB")

        posts = sorted((site / "posts").rglob("*.md"))
        edit_times = []
        for round_ in range(args.rounds):
            post = posts[len(posts) // 2 + round_ * 7]
            text = post.read_text()
            date = re.search(r"^date: (\d{4})-(\d{2})", text, re.M)
            assert date, post
            marker = f"Edited while stopped {round_} {time.time_ns()}"
            post.write_text(re.sub(r"^title: .*$", f"title: {marker}", text, count=1, flags=re.M))
            archive = f"{base}archive/{date.group(1)}/{date.group(2)}.atom"

            def edited(archive: str = archive, marker: str = marker) -> bool:
                status, body = get(archive)
                return status == 200 and marker.encode() in body

            process, seconds, _ = run(config, args.port, log, edited)
            # Wait for the snapshot holding the edit before stopping, as a deploy would not.
            time.sleep(2)
            stop(process)
            edit_times.append(seconds)
            print(f"edit while stopped: {post.name} served {seconds:.2f} s after start")

        print()
        print("| | measured | target |")
        print("|---|---|---|")
        print(f"| cold start, no snapshot: start → first 200 | {cold:.2f} s | – |")
        print(
            f"| warm restart: start → first 200, every feed servable | median "
            f"{statistics.median(warm_times):.2f} s, max {max(warm_times):.2f} s | ≤ 2 s |"
        )
        print(
            f"| edit while stopped: start → the post's new content served | median "
            f"{statistics.median(edit_times):.2f} s, max {max(edit_times):.2f} s | ≤ 3 s |"
        )
        print(
            f"| peak PSS of the serving process | cold {cold_pss:.0f} MB, warm "
            f"{max(warm_pss):.0f} MB | ≤ 400 MB |"
        )


if __name__ == "__main__":
    main()
