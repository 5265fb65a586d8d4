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
        'timeout = "2s"\nlease = "5s"\nallow_private_addresses = true\nparse_workers = 0\n'
        # One request at a time to the partners' host, across replicas: whoever fetches
        # /slow has saved every earlier fetch and holds no other lease.
        "per_host = 1\n\n" + partners
    )
    return config


class Partners:
    """The partners' server: ``/p0``…``/p4`` answer at once. ``/slow``'s first request kills
    the replica making it, from inside the handler, and never answers; later ones answer.

    The kill happens here, while that replica waits on this response, because later its
    ``timeout`` would end the fetch and release the lease: the test once read the lease
    after that and found no owner (on a loaded machine, serving took longer than 2 s)."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.hits: dict[str, int] = {}
        self.replicas: set[int] = set()  # the pids the handler may kill: only ours
        self.killed: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.path.strip("/")
        self.hits[name] = self.hits.get(name, 0) + 1
        if name == "slow" and self.hits[name] == 1:
            await self.kill_lease_owner()
            await asyncio.Event().wait()  # until the client goes away
        n = 9 if name == "slow" else int(name[1:]) + 1
        body = rss_feed([item(n, title=f"Entry of {name}", id=f"urn:{name}:1")])
        return web.Response(body=body, content_type="application/rss+xml")

    async def kill_lease_owner(self) -> None:
        """SIGKILL the replica holding ``/slow``'s lease (the claim is committed before the
        request is sent): it dies mid-fetch and never releases the lease."""
        async with await psycopg.AsyncConnection.connect(self.store_url) as db:
            cursor = await db.execute("SELECT lease_owner FROM partners WHERE name = 'slow'")
            (owner,) = await cursor.fetchone() or (None,)
        pid = int(owner.split(":")[1]) if owner else None
        if pid not in self.replicas:
            failure = AssertionError(f"/slow was requested; its lease owner: {owner!r}")
            self.killed.set_exception(failure)
            return
        os.kill(pid, signal.SIGKILL)
        self.killed.set_result(pid)


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
    partners = Partners(pg_url)
    server = TestServer(web.Application(), port=0)
    server.app.router.add_get("/{name}", partners.handle)
    await server.start_server()
    config = write_config(tmp_path, pg_url, str(server.make_url("")).rstrip("/"))
    names = [f"p{n}" for n in range(PARTNERS)]
    every = [*names, "slow"]
    try:
        async with (
            aiohttp.ClientSession() as session,
            replica(config, tmp_path) as (a, a_process),
            replica(config, tmp_path) as (b, b_process),
        ):
            partners.replicas |= {a_process.pid, b_process.pid}

            async def serves(base: str, wanted: list[str]) -> bool:
                feed = await partners_feed(session, base)
                return feed is not None and all(f"Entry of {n}".encode() in feed[1] for n in wanted)

            # The replica that asked for /slow is killed holding its lease (Partners.handle).
            pid = await asyncio.wait_for(partners.killed, WAIT)
            survivor = b if pid == a_process.pid else a

            # A replica started now shares the work with the survivor; once the dead
            # replica's lease ends, one of them fetches /slow again.
            async with replica(config, tmp_path) as (c, c_process):
                partners.replicas.add(c_process.pid)
                await until("the survivor to serve every partner", lambda: serves(survivor, every))
                await until("replica c to serve every partner", lambda: serves(c, every))
                assert await partners_feed(session, survivor) == await partners_feed(session, c)
            assert partners.hits == {**dict.fromkeys(names, 1), "slow": 2}

            # A replica started now serves the same bytes at once, fetching nothing.
            async with replica(config, tmp_path) as (d, _):
                expected = await partners_feed(session, survivor)

                async def same_as_survivor() -> bool:
                    return await partners_feed(session, d) == expected

                await until("the new replica to serve the stored entries", same_as_survivor)
            assert partners.hits == {**dict.fromkeys(names, 1), "slow": 2}
    finally:
        await server.close()
