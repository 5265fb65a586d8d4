"""A burst of valid `POST /hooks/rebuild` calls: how many rebuilds it gives, for feedsvc as
it is and, side by side in the same run, without the webhook's spacing (before issue 7).

    .venv/bin/python bench/webhook_burst.py [--calls 200] [--seconds 2.4]

The real app (create_service) on 127.0.0.1 over the five-post test site, the calls spread
evenly over the time given, each answered before the next is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from live_support import write_site

from feedsvc.live.coalesce import Coalescer
from feedsvc.service import PUBLISHER, create_service

TOKEN = "bench-token-0123456789"


async def burst(calls: int, seconds: float, spaced: bool) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as root:
        site = write_site(Path(root), extra='watch = "off"')
        with site.config_file.open("a") as config:
            config.write('\n[server]\nwebhook_token_env = "BENCH_HOOK_TOKEN"\n')
        os.environ["BENCH_HOOK_TOKEN"] = TOKEN
        request = Coalescer.request
        if not spaced:
            Coalescer.request = lambda self, sources, trigger, spacing=0.0: request(  # type: ignore[method-assign]
                self, sources, trigger
            )
        try:
            app = create_service(site.config(), workers=1)
            async with TestClient(TestServer(app)) as client:
                publisher = app[PUBLISHER]
                started = time.perf_counter()
                for n in range(calls):
                    delay = started + n * seconds / calls - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    response = await client.post(
                        "/hooks/rebuild", headers={"Authorization": f"Bearer {TOKEN}"}
                    )
                    assert response.status == 202
                took = time.perf_counter() - started
                coalescer = publisher._coalescer
                while coalescer.busy or coalescer.waiting is not None:
                    await asyncio.sleep(0.05)  # the last waiting rebuild runs
                return publisher.rebuilds, took
        finally:
            Coalescer.request = request  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=2.4)
    args = parser.parse_args()
    for name, spaced in (("feedsvc", True), ("unspaced", False)):
        rebuilds, took = asyncio.run(burst(args.calls, args.seconds, spaced))
        print(f"{name:9} {args.calls} calls in {took:.2f} s: {rebuilds} rebuilds")


if __name__ == "__main__":
    main()
