"""Replicas sharing one PostgreSQL (docs/deploy.md "Replicas"), run by hand; figures go to
docs/benchmarks.md.

    python bench/replicas.py [--partners 1000] [--replicas 3] [--interval 30] [--changes 3]

Everything runs on this machine: a throwaway PostgreSQL cluster (the tests' one,
tests/pg_support.py), one partner server on 127.0.0.1 (in this process) serving
``--partners`` RSS feeds of 10 entries with ETags (a 304 when unchanged), and ``feedsvc
serve`` processes. Measured in one run:

1. full refresh: from the moment the processes are started on an empty database until every
   partner has been fetched once — one replica alone (the baseline), then ``--replicas``
   replicas on a new empty database;
2. requests per partner per interval, while the replicas run on for ``--windows``
   intervals after the full refresh (target: exactly 1); and the number of pairs of
   requests to one partner closer together than half an interval (target: 0 — two
   replicas fetching the same partner in one interval would show here);
3. change propagation: one partner's feed gets a new entry; the time until every replica
   serves /partners.atom with one new ETag, the same on all (target: ≤ 2 s + the interval,
   as the partner is only fetched when due), ``--changes`` times, on different partners.

All partners are on one host (127.0.0.1), so ``aggregator.per_host`` (enforced across the
replicas through the database) is raised to 16 here; with the default of 2, every replica
together would keep to 2 requests at a time to the one host, by design.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' throwaway cluster
from pg_support import cluster, free_port  # noqa: E402

WAIT = 600.0  # seconds: the most any wait may take before the bench gives up


class Partners:
    """``/p{n}``: RSS with 10 entries; a changed partner gets one more, newer than any other
    partner's. Records when each partner was requested."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.version = dict.fromkeys(range(count), 0)
        self.requests: dict[int, list[float]] = {n: [] for n in range(count)}

    def body(self, n: int) -> bytes:
        newest = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=n)
        # A change adds an entry newer than every partner's: it tops the merged feeds.
        dated = [
            (f"update {v}", newest + timedelta(days=60 * v)) for v in range(1, 1 + self.version[n])
        ]
        dated += [(f"entry {i}", newest - timedelta(days=i)) for i in range(10)]
        items = []
        for key, date in dated:
            when = date.strftime("%a, %d %b %Y %H:%M:%S +0000")
            items.append(
                f"<item><title>Partner {n} {key}</title>"
                f"<link>https://p{n}.example/{key}</link><guid>urn:p{n}:{key}</guid>"
                f"<pubDate>{when}</pubDate>"
                f"<description>{html.escape(f'<p>Body of {key}, partner {n}.</p>')}</description>"
                "</item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Partner {n}</title><link>https://p{n}.example/</link>"
            f"<description>d</description>{''.join(items)}</channel></rss>"
        ).encode()

    async def handle(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        self.requests[n].append(time.monotonic())
        etag = f'"v{self.version[n]}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=self.body(n), content_type="application/rss+xml", headers={"ETag": etag}
        )

    def fetched(self) -> int:
        return sum(1 for times in self.requests.values() if times)


def write_config(folder: Path, store: str, base: str, partners: int, interval: int) -> Path:
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    (folder / "posts" / "hello.md").write_text("---\ntitle: Hello\ndate: 2024-01-10\n---\nHi\n")
    config = folder / "feeds.toml"
    config.write_text(
        '[site]\ntitle = "Bench"\nurl = "https://site.example/"\n'
        'id_authority = "site.example,2024"\n\n'
        '[[sources]]\ntype = "folder"\npath = "posts"\n\n'
        '[server]\npublic_url = "https://feeds.example/"\ncache_dir = ""\n'
        'log_level = "warning"\n\n'
        f'[aggregator]\nenabled = true\nstore = "{store}"\ninterval = "{interval}s"\n'
        "allow_private_addresses = true\nparse_workers = 1\nper_host = 16\n\n"
        + "".join(
            f'[[partners]]\nname = "p{n}"\nurl = "{base}/p{n}"\ntitle = "Partner {n}"\n'
            for n in range(partners)
        )
    )
    return config


@contextlib.asynccontextmanager
async def replicas(config: Path, count: int) -> AsyncIterator[list[str]]:
    processes, bases = [], []
    try:
        for _ in range(count):
            port = free_port()
            processes.append(
                await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "feedsvc", "serve", "--config", str(config)),
                    *("--port", str(port)),
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        yield bases
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def until(what: str, check, period: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, OSError):
            value = await check()
            if value:
                return value
        await asyncio.sleep(period)
    raise SystemExit(f"gave up waiting for {what}")


async def etag(session: aiohttp.ClientSession, base: str) -> str | None:
    async with session.get(f"{base}/partners.atom") as response:
        return response.headers.get("ETag") if response.status == 200 else None


async def measure(args: argparse.Namespace) -> None:
    partners = Partners(args.partners)
    app = web.Application()
    app.router.add_get("/p{n:\\d+}", partners.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.partners} partners, interval {args.interval} s, {args.replicas} replicas\n")
    with cluster() as pg, tempfile.TemporaryDirectory() as tmp:
        async with aiohttp.ClientSession() as session:
            # 1. full refresh: one replica alone, then N replicas, each on an empty database
            results = {}
            for count in (1, args.replicas):
                partners.requests = {n: [] for n in range(args.partners)}
                folder = Path(tmp) / f"r{count}"
                config = write_config(folder, pg.database(), base, args.partners, args.interval)
                started = time.monotonic()
                async with replicas(config, count) as bases:

                    async def all_fetched() -> bool:
                        return partners.fetched() == args.partners

                    await until("every partner fetched", all_fetched)
                    results[count] = time.monotonic() - started
                    if count == args.replicas:
                        await steady(args, partners, bases, session)
            print("1. full refresh, from start on an empty database to every partner fetched")
            for count, seconds in results.items():
                print(f"   {count} replica{'s' if count > 1 else ''}: {seconds:.1f} s")
    await runner.cleanup()


async def steady(
    args: argparse.Namespace,
    partners: Partners,
    bases: list[str],
    session: aiohttp.ClientSession,
) -> None:
    """Measurements 2 and 3, on the running replicas."""
    interval = args.interval
    await asyncio.sleep(args.windows * interval)  # the replicas work; we only watch
    # Per partner, from the gaps between its requests: interval / mean gap is how many
    # requests it got per interval (the schedule's ±10% jitter spreads single gaps).
    rates, gaps = [], []
    for times in partners.requests.values():
        between = [b - a for a, b in itertools.pairwise(times)]
        gaps += between
        if between:
            rates.append(interval / statistics.mean(between))
    close = sum(1 for gap in gaps if gap < interval / 2)
    total = sum(len(times) for times in partners.requests.values())
    print(f"2. requests per partner per interval, over {args.windows} intervals")
    print(
        f"   {total} requests; per partner: mean {statistics.mean(rates):.3f}, "
        f"min {min(rates):.3f}, max {max(rates):.3f} ({len(rates)} partners); "
        f"gaps < interval/2: {close} of {len(gaps)}"
    )
    print(f"3. a partner changes → all {len(bases)} replicas serve the same new ETag")
    waits = []
    for k in range(args.changes):
        n = (k * 7919) % args.partners
        before = {await etag(session, b) for b in bases}
        if len(before) != 1:
            print(f"   replicas disagree before change {k}: {before}")
        partners.version[n] += 1
        changed = time.monotonic()

        async def agreed(before: set[str | None] = before) -> bool:
            tags = {await etag(session, b) for b in bases}
            return len(tags) == 1 and tags != before and None not in tags

        await until("the replicas to agree on the new ETag", agreed, period=0.02)
        seconds = time.monotonic() - changed
        fetched = [t for t in partners.requests[n] if t >= changed]
        lag = seconds - (fetched[0] - changed) if fetched else float("nan")
        waits.append((seconds, lag))
        print(
            f"   p{n}: {seconds:.2f} s after the change (≤ {interval * 1.1 + 2:.0f} s), "
            f"of which {lag:.2f} s after its fetch"
        )
    print(
        f"   worst {max(w for w, _ in waits):.2f} s; "
        f"after the fetch: worst {max(lag for _, lag in waits):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--interval", type=int, default=30, help="aggregator.interval, s")
    parser.add_argument("--windows", type=int, default=2, help="intervals watched for 2.")
    parser.add_argument("--changes", type=int, default=3)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
