"""What routing a request costs: the catch-all route (every feed path) beside a plain route
(/healthz), resolved by the real router of ``create_app`` in one run.

    .venv/bin/python bench/routing.py [--rounds 200000]

Prints microseconds per ``router.resolve``; figures go in docs/benchmarks.md.
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
from feedsvc.store import Snapshot, SnapshotRef  # noqa: E402
from feedsvc.web.app import create_app  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PATHS = ("/feed.atom", "/lang/es/category/children-and-youth.json", "/healthz")


async def per_resolve(path: str, rounds: int) -> float:
    status = BuildStatus(posts=0, drafts=0, feeds=0, built_at=EPOCH, skipped=(), sources=())
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200_000)
    rounds = parser.parse_args().rounds
    for path in PATHS:
        print(f"{path:45} {await per_resolve(path, rounds):.2f} µs per resolve")


if __name__ == "__main__":
    asyncio.run(main())
