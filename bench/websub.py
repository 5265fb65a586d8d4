"""WebSub fan-out benchmark (docs/urls.md "WebSub"), run by hand; figures go to
docs/benchmarks.md.

    python bench/websub.py [--subscribers 500] [--edits 3] [--per-host 4]

Needs wrk (Debian: apt-get install wrk). Copies the example site to a temporary folder with
the built-in hub on, starts `feedsvc serve` on it (a subprocess on 127.0.0.1, pinned to CPU
0 where taskset exists; wrk runs on CPU 1), and in this process one aiohttp server on
127.0.0.1 holding every subscriber's callback (`/cb/{n}`). Then:

1. subscribes `--subscribers` callbacks to /feed.atom (POST /websub, each verified by the
   hub with a GET to its callback), and waits until /status shows them all active;
2. for each of `--edits` edits: starts wrk for `--window` seconds on a mix of feeds, saves an
   edit of the newest post the way editors do (a new file renamed over the old), and takes
   the time until /feed.atom serves it (**save → served**, polled) and until every
   subscriber has received the new document, signature checked (**save → all delivered**);
3. reads wrk's **p99 latency** over the window (it holds the whole fan-out), beside a window
   without an edit, measured in the same run.

Targets: save → all 500 delivered ≤ 2 s; p99 of feed requests during the fan-out ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from live import (  # noqa: E402
    SERVER_CPU,
    WRK_SCRIPT,
    free_port,
    front_matter,
    pinned,
    save_edit,
    start_wrk,
    wait_for,
    wrk_result,
)

SECRET = "bench-secret"
WRK_PATHS = ["/feed.atom", "/feed.json", "/lang/en.atom", "/category/helpline.rss", "/"]


class Subscribers:
    """Every callback, on one server: verification echo, and the time each delivery of a
    document holding ``marker`` arrived (bodies with a bad signature are counted apart)."""

    def __init__(self) -> None:
        self.marker = b"\x00"
        self.arrived: dict[str, float] = {}
        self.bad_signatures = 0
        self.all_arrived = asyncio.Event()
        self.expected = 0

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.Response(text=request.query["hub.challenge"])
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if request.headers.get("X-Hub-Signature") != expected:
            self.bad_signatures += 1
        elif self.marker in body:
            self.arrived.setdefault(request.match_info["n"], time.perf_counter())
            if len(self.arrived) >= self.expected:
                self.all_arrived.set()
        return web.Response(status=204)

    def expect(self, marker: str, count: int) -> None:
        self.marker = marker.encode()
        self.arrived = {}
        self.expected = count
        self.all_arrived = asyncio.Event()


def write_config(site: Path, args: argparse.Namespace) -> None:
    config = site / "feeds.toml"
    text = config.read_text(encoding="utf-8").replace('path = "example/posts"', 'path = "posts"')
    text = text.split("\n[websub]")[0]
    text += (
        "\n[websub]\n"
        'hubs = ["builtin"]\n'
        'allowed_networks = ["127.0.0.1/32"]\n'
        f"per_host = {args.per_host}\n"
        f"max_per_topic = {max(1000, args.subscribers)}\n"
        'store = "websub.sqlite3"\n'
    )
    config.write_text(text, encoding="utf-8")


async def subscribe_all(session: aiohttp.ClientSession, base: str, callbacks: str, n: int) -> None:
    topic = f"{base}/feed.atom"
    for i in range(n):
        form = {
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.callback": f"{callbacks}/cb/{i}",
            "hub.secret": SECRET,
        }
        async with session.post(f"{base}/websub", data=form) as response:
            if response.status != 202:
                raise RuntimeError(f"subscribe {i}: {response.status} {await response.text()}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        async with session.get(f"{base}/status", headers={"Accept": "application/json"}) as r:
            hub = (await r.json())["websub"]["hub"]
        if hub["active"] >= n:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"only {hub['active']} of {n} subscriptions active after 120 s")


async def served(session: aiohttp.ClientSession, url: str, marker: str, saved: float) -> float:
    while time.perf_counter() - saved < 30:
        async with session.get(url) as response:
            if marker.encode() in await response.read():
                return time.perf_counter() - saved
        await asyncio.sleep(0.005)
    raise RuntimeError("the edit was not served after 30 s")


def newest_post(posts: Path) -> Path:
    """The newest published post: it is in /feed.atom, so an edit changes it."""
    dated = []
    for file in posts.rglob("*.md"):
        meta = front_matter(file)
        if not meta.get("draft"):
            dated.append((str(meta["date"]), file))
    return max(dated)[1]


async def measure(base: str, site: Path, subs: Subscribers, args: argparse.Namespace) -> dict:
    script = site.parent / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in WRK_PATHS))
    baseline = await asyncio.to_thread(
        wrk_result, start_wrk(base, script, args.window, args.connections)
    )
    newest = newest_post(site / "posts")
    edits = []
    async with aiohttp.ClientSession() as session:
        for index in range(args.edits):
            await asyncio.sleep(1.0)
            marker = f"websub-bench-{time.time_ns()}-{index}"
            subs.expect(marker, args.subscribers)
            load = start_wrk(base, script, args.window, args.connections)
            await asyncio.sleep(0.1)  # wrk has connected and is sending
            saved = time.perf_counter()
            save_edit(newest, marker)
            served_s = await served(session, f"{base}/feed.atom", marker, saved)
            await asyncio.wait_for(subs.all_arrived.wait(), 60)
            delivered = sorted(t - saved for t in subs.arrived.values())
            latency = await asyncio.to_thread(wrk_result, load)
            edits.append(
                {
                    "served_s": round(served_s, 3),
                    "first_delivered_s": round(delivered[0], 3),
                    "all_delivered_s": round(delivered[-1], 3),
                    "delivered": len(delivered),
                    **latency,
                }
            )
        async with session.get(f"{base}/status", headers={"Accept": "application/json"}) as r:
            hub = (await r.json())["websub"]["hub"]
    return {"baseline": baseline, "edits": edits, "hub": hub, "bad": subs.bad_signatures}


async def run(args: argparse.Namespace) -> dict:
    subs = Subscribers()
    app = web.Application()
    app.router.add_route("*", "/cb/{n}", subs.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    callback_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", callback_port).start()
    try:
        with tempfile.TemporaryDirectory(prefix="feedsvc-websub-") as name:
            tmp = Path(name)
            site = tmp / "site"
            site.mkdir()
            shutil.copytree(ROOT / "example" / "posts", site / "posts")
            shutil.copy(ROOT / "feeds.toml", site / "feeds.toml")
            write_config(site, args)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            command = [sys.executable, "-m", "feedsvc", "serve", "--config", "feeds.toml"]
            with open(tmp / "server.log", "w") as log:
                server = subprocess.Popen(
                    pinned([*command, "--port", str(port)], SERVER_CPU),
                    cwd=site,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
                try:
                    await asyncio.to_thread(wait_for, f"{base}/healthz", 120)
                    async with aiohttp.ClientSession() as session:
                        started = time.perf_counter()
                        await subscribe_all(
                            session, base, f"http://127.0.0.1:{callback_port}", args.subscribers
                        )
                        subscribed_s = time.perf_counter() - started
                    results = await measure(base, site, subs, args)
                    results["subscribed_s"] = round(subscribed_s, 2)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
    finally:
        await runner.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--per-host", type=int, default=4, help="websub.per_host")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=3, help="seconds of wrk per edit")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("needs wrk (Debian: apt-get install wrk)")
    results = asyncio.run(run(args))
    print(f"{args.subscribers} subscriptions verified in {results['subscribed_s']} s")
    print("without an edit:", json.dumps(results["baseline"]))
    for edit in results["edits"]:
        print(json.dumps(edit))
    edits = results["edits"]
    delivered = [e["all_delivered_s"] for e in edits]
    p99 = [e["p99_ms"] for e in edits]
    hub = results["hub"]
    print(
        f"save → all {args.subscribers} delivered: median {statistics.median(delivered):.3f} s, "
        f"max {max(delivered):.3f} s (target ≤ 2 s; save → served median "
        f"{statistics.median(e['served_s'] for e in edits):.3f} s); p99 of feed requests over "
        f"{args.window} s from each save: median {statistics.median(p99):.1f} ms, max "
        f"{max(p99):.1f} ms (target ≤ 50 ms; {results['baseline']['p99_ms']} ms without an "
        f"edit); hub: delivered {hub['delivered']}, retried {hub['retried']}, failed "
        f"{hub['failed']}; bad signatures {results['bad']}"
    )


if __name__ == "__main__":
    main()
