"""Aggregators sharing one PostgreSQL store (docs/deploy.md "Replicas"), in one process:
leases, the per-host limit across replicas, following each other's saves. Partners are
aiohttp servers on 127.0.0.1; time is one FakeClock (the replicas' clocks agree); nothing
sleeps.

The same with real processes (``feedsvc serve`` twice): test_replicas_serve.py.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import psycopg
from aggregate_support import FakeClock, item, make_config, partner, rss_feed
from aiohttp import web

from feedsvc.aggregate.service import Aggregator
from feedsvc.aggregate.state import PartnerRecord, open_store

INTERVAL = 15 * 60
LEASE = 120  # the default aggregator.lease, in seconds


@asynccontextmanager
async def replicas(config, clock, count=2):
    """``count`` started Aggregators on one store, and an Event per replica set after each
    of its on_change calls."""
    async with AsyncExitStack() as stack:
        started = []
        for _ in range(count):
            changed = asyncio.Event()
            agg = Aggregator(config, clock=clock, on_change=changed.set)
            await agg.start(schedule=False)
            stack.push_async_callback(agg.stop)
            started.append((agg, changed))
        yield started


async def test_one_replica_fetches_and_the_other_serves_it_without_fetching(
    feed_server, tmp_path, pg_url
):
    feed_server.serve("/p", rss_feed([item(1), item(2)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/p"))], store=pg_url)
    clock = FakeClock()
    async with replicas(config, clock) as [(a, _), (b, b_changed)]:
        await a.refresh("p", when_due=True)
        await b.refresh("p", when_due=True)  # not due any more: a fetched it
        assert feed_server.hits == {"/p": 1}
        await asyncio.wait_for(b_changed.wait(), 10)  # b heard a's NOTIFY
        assert b.posts() == a.posts()
        assert [p.title for p in b.posts()] == ["Entry 2", "Entry 1"]
        clock.advance(INTERVAL * 1.1)  # the interval (with the largest jitter) has passed
        await b.refresh("p", when_due=True)
        await a.refresh("p", when_due=True)
        assert feed_server.hits == {"/p": 2}
        # a replica started now serves the same entries at once, and fetches nothing
        async with replicas(config, clock, count=1) as [(c, _)]:
            assert c.posts() == a.posts()
            await c.refresh("p", when_due=True)
        assert feed_server.hits == {"/p": 2}


async def test_a_replica_that_died_holding_a_lease_loses_it_when_it_ends(
    feed_server, tmp_path, pg_url
):
    feed_server.serve("/p", rss_feed([item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/p"))], store=pg_url)
    clock = FakeClock()
    async with replicas(config, clock, count=1) as [(b, _)]:
        dead = open_store(pg_url)  # a replica that claims p, then dies mid-fetch
        url = feed_server.url("/p")
        lease = dead.claim(
            PartnerRecord("p", url, url),
            owner="dead",
            now=clock(),
            lease_until=clock() + timedelta(seconds=LEASE),
            per_host=2,
            host_retry=clock(),
        )
        dead.close()
        assert lease.granted
        await b.refresh("p", when_due=True)
        assert feed_server.hits == {}  # leased: left alone
        clock.advance(LEASE + 1)
        await b.refresh("p", when_due=True)
        assert feed_server.hits == {"/p": 1}
        assert [p.title for p in b.posts()] == ["Entry 1"]


async def test_the_per_host_limit_holds_across_replicas(feed_server, tmp_path, pg_url):
    release = asyncio.Event()
    both_in = asyncio.Event()
    in_flight = 0
    most = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if in_flight == 2:
            both_in.set()
        await release.wait()
        in_flight -= 1
        return web.Response(body=rss_feed([item(1)]), content_type="application/rss+xml")

    for path in ("/1", "/2", "/3"):
        feed_server.handlers[path] = slow
    partners = [partner(f"p{n}", feed_server.url(f"/{n}")) for n in (1, 2, 3)]
    config = make_config(tmp_path, partners, store=pg_url, per_host=2)
    clock = FakeClock()
    async with replicas(config, clock) as [(a, _), (b, _)]:
        first = asyncio.create_task(a.refresh("p1", when_due=True))
        second = asyncio.create_task(b.refresh("p2", when_due=True))
        await asyncio.wait_for(both_in.wait(), 10)  # both requests reached the server
        await b.refresh("p3", when_due=True)  # the host has 2 fetches in flight: refused
        await a.refresh("p3", when_due=True)
        assert most == 2
        release.set()
        await asyncio.gather(first, second)
        clock.advance(2)  # past the refused claims' retry time
        await b.refresh("p3", when_due=True)
    assert feed_server.hits == {"/1": 1, "/2": 1, "/3": 1}
    assert most == 2


async def test_a_replica_whose_listen_connection_dropped_reads_what_it_missed(
    feed_server, tmp_path, pg_url
):
    feed_server.serve("/p", rss_feed([item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/p"))], store=pg_url)
    clock = FakeClock()
    async with replicas(config, clock) as [(a, _), (b, b_changed)]:
        await a.refresh("p")
        await asyncio.wait_for(b_changed.wait(), 10)
        b_changed.clear()
        with psycopg.connect(pg_url, autocommit=True) as db:  # the network drops them
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %%' AND pid <> pg_backend_pid()"
            )
        feed_server.serve("/p", rss_feed([item(1), item(2)]))
        await a.refresh("p")  # its NOTIFY reaches nobody listening
        await asyncio.wait_for(b_changed.wait(), 10)  # b reconnected and read p again
        assert [p.title for p in b.posts()] == ["Entry 2", "Entry 1"]
        assert b.posts() == a.posts()
