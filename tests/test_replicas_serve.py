"""Replicas as they run: ``feedsvc serve`` processes sharing one PostgreSQL store, one partner
server counting requests (docs/deploy.md "Replicas").

Real processes, so real time: the test waits (bounded) for what the processes report; it
never asserts on how long anything took.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import psycopg
from aggregate_support import item, rss_feed
from aiohttp import web
from aiohttp.test_utils import TestServer
from pg_support import free_port

ROOT = Path(__file__).resolve().parent.parent
PARTNERS = 5
WAIT = 60.0  # seconds: the most any wait below may take before the test fails


def write_config(folder: Path, store: str, partner_base: str) -> Path:
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    (folder / "posts" / "hello.md").write_text("---\ntitle: Hello\ndate: 2024-01-10\n---\nHi\n")
    partners = "".join(
        f'[[partners]]\nname = "{name}"\nurl = "{partner_base}/{name}"\ntitle = "{name}"\n'
        for name in [*(f"p{n}" for n in range(PARTNERS)), "slow"]
    )
    config = folder / "feeds.toml"
    config.write_text(
        '[site]\ntitle = "Replicas"\nurl = "https://site.example/"\n'
        'id_authority = "site.example,2024"\n\n'
        '[[sources]]\ntype = "folder"\npath = "posts"\n\n'
        # Every replica names the same public URL, as behind one load balancer.
        '[server]\npublic_url = "https://feeds.example/"\ncache_dir = ""\n\n'
        f'[aggregator]\nenabled = true\nstore = "{store}"\ninterval = "1h"\n'
        'timeout = "2s"\nlease = "5s"\nallow_private_addresses = true\nparse_workers = 0\n\n'
        + partners
    )
    return config


class Partners:
    """The partners' server: ``/p0``…``/p4`` answer at once; ``/slow`` hangs on its first
    request (the replica fetching it is killed meanwhile) and answers the next ones."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.slow_requested = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.path.strip("/")
        self.hits[name] = self.hits.get(name, 0) + 1
        if name == "slow" and self.hits[name] == 1:
            self.slow_requested.set()
            await asyncio.Event().wait()  # until the client goes away
        n = 9 if name == "slow" else int(name[1:]) + 1
        body = rss_feed([item(n, title=f"Entry of {name}", id=f"urn:{name}:1")])
        return web.Response(body=body, content_type="application/rss+xml")


@asynccontextmanager
async def replica(
    config: Path, folder: Path
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    log = (folder / f"replica-{port}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "feedsvc", "serve", "--config", str(config)),
        *("--port", str(port)),
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def until(what: str, check: Callable[[], object]) -> object:
    """Poll ``check`` (sync or async) until it gives something true; fail after WAIT."""
    try:
        async with asyncio.timeout(WAIT):
            while True:
                try:
                    value = check()
                    if asyncio.iscoroutine(value):
                        value = await value
                except (aiohttp.ClientError, OSError):
                    value = None
                if value:
                    return value
                await asyncio.sleep(0.1)  # another process is working: look again
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def partners_feed(session: aiohttp.ClientSession, base: str) -> tuple[str, bytes] | None:
    async with session.get(f"{base}/partners.atom") as response:
        if response.status != 200:
            return None
        return response.headers["ETag"], await response.read()


async def test_replicas_fetch_each_partner_once_and_serve_the_same_bytes(tmp_path, pg_url):
    partners = Partners()
    server = TestServer(web.Application(), port=0)
    server.app.router.add_get("/{name}", partners.handle)
    await server.start_server()
    config = write_config(tmp_path, pg_url, str(server.make_url("")).rstrip("/"))
    names = [f"p{n}" for n in range(PARTNERS)]
    try:
        async with (
            aiohttp.ClientSession() as session,
            replica(config, tmp_path) as (a, a_process),
            replica(config, tmp_path) as (b, b_process),
        ):

            async def serves_every_partner(base: str) -> bool:
                feed = await partners_feed(session, base)
                return feed is not None and all(f"Entry of {n}".encode() in feed[1] for n in names)

            await until("replica a to serve every partner", lambda: serves_every_partner(a))
            await until("replica b to serve every partner", lambda: serves_every_partner(b))
            assert await partners_feed(session, a) == await partners_feed(session, b)
            await asyncio.wait_for(partners.slow_requested.wait(), WAIT)
            assert partners.hits == {**dict.fromkeys(names, 1), "slow": 1}

            # Kill the replica fetching /slow, mid-fetch: it never releases its lease.
            with psycopg.connect(pg_url) as db:
                (owner,) = db.execute("SELECT lease_owner FROM partners WHERE name = 'slow'")
                owner = owner[0]
            pid = int(owner.split(":")[1])
            assert pid in (a_process.pid, b_process.pid)
            os.kill(pid, signal.SIGKILL)
            survivor = b if pid == a_process.pid else a

            async def serves_slow() -> bool:
                feed = await partners_feed(session, survivor)
                return feed is not None and b"Entry of slow" in feed[1]

            await until("the survivor to fetch /slow once the lease ended", serves_slow)
            assert partners.hits == {**dict.fromkeys(names, 1), "slow": 2}

            # A replica started now serves the same bytes at once, fetching nothing.
            async with replica(config, tmp_path) as (c, _):
                expected = await partners_feed(session, survivor)

                async def same_as_survivor() -> bool:
                    return await partners_feed(session, c) == expected

                await until("the new replica to serve the stored entries", same_as_survivor)
            assert partners.hits == {**dict.fromkeys(names, 1), "slow": 2}
    finally:
        await server.close()
