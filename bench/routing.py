"""What routing a request costs: the catch-all route (every feed path) beside a plain route
(/healthz), resolved by the real router of ``create_app`` in one run; then what the CONNECT
check of web/server.py's Runner adds to a whole request handled (routing, the feed
handler), beside the app's handler alone, interleaved.

    .venv/bin/python bench/routing.py [--rounds 200000]

Prints microseconds per ``router.resolve`` and per request handled; figures go in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import make_mocked_request

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feedsvc.status import BuildStatus  # noqa: E402
from feedsvc.store import Caching, Snapshot, SnapshotRef, make_resource  # noqa: E402
from feedsvc.web.app import create_app  # noqa: E402
from feedsvc.web.server import _refusing_connect  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PATHS = ("/feed.atom", "/lang/es/category/children-and-youth.json", "/healthz")


async def per_resolve(path: str, rounds: int) -> float:
    status = BuildStatus(
        posts=0,
        drafts=0,
        scheduled=(),
        feeds=0,
        built_at=EPOCH,
        skipped=(),
        sources=(),
        languages=None,
    )
    app = create_app(SnapshotRef(Snapshot({}, status)))
    app.freeze()
    request = make_mocked_request("GET", path, app=app)
    resolve = app.router.resolve
    for _ in range(1000):  # warm up
        await resolve(request)
    started = time.perf_counter()
    for _ in range(rounds):
        await resolve(request)
    return (time.perf_counter() - started) / rounds * 1e6


async def per_request(rounds: int) -> tuple[float, float]:
    """A whole GET /feed.atom through the app's handler (aiohttp's private ``_handle``, which
    the Runner's server calls), alone and with the CONNECT check in front: the fastest of
    20 interleaved batches of each, the least disturbed by whatever else the machine runs."""
    status = BuildStatus(
        posts=0, drafts=0, scheduled=(), feeds=1, built_at=EPOCH, skipped=(), sources=()
    )
    feed = make_resource(b"<feed/>", "application/atom+xml", EPOCH, Caching(300), cors=True)
    app = create_app(SnapshotRef(Snapshot({"/feed.atom": feed}, status)))
    app.freeze()
    request = make_mocked_request("GET", "/feed.atom", app=app)
    handlers = (app._handle, _refusing_connect(app._handle))
    best = [float("inf"), float("inf")]
    batch = max(1, rounds // 20)
    for _ in range(20):
        for which, handle in enumerate(handlers):
            started = time.perf_counter()
            for _ in range(batch):
                await handle(request)
            best[which] = min(best[which], (time.perf_counter() - started) / batch * 1e6)
    return best[0], best[1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200_000)
    rounds = parser.parse_args().rounds
    for path in PATHS:
        print(f"{path:45} {await per_resolve(path, rounds):.2f} µs per resolve")
    alone, checked = await per_request(rounds)
    print(f"GET /feed.atom handled: {alone:.2f} µs alone, {checked:.2f} µs behind the check")


if __name__ == "__main__":
    asyncio.run(main())
