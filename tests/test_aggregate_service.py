"""The Aggregator end to end against local partner servers: fetch, classify, merge, store.

Every partner is an aiohttp server on 127.0.0.1; time is a FakeClock; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta

import pytest
from aggregate_support import (
    START,
    FakeClock,
    atom_feed,
    item,
    json_feed,
    make_config,
    partner,
    rss_feed,
    running,
    status_of,
)
from aiohttp import web

from feedsvc.aggregate import clean as clean_module
from feedsvc.aggregate.service import Aggregator
from feedsvc.model import Category, Origin

INTERVAL = 15 * 60  # the default aggregator.interval


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "content_type"),
    [
        (rss_feed, "application/rss+xml"),
        (atom_feed, "application/atom+xml"),
        (json_feed, "application/feed+json"),
    ],
    ids=["rss", "atom", "jsonfeed"],
)
async def test_rss_atom_and_json_feed_partners(feed_server, tmp_path, build, content_type):
    feed_server.serve("/feed", build([item(1), item(2)]), content_type=content_type)
    config = make_config(
        tmp_path,
        [
            partner(
                "p", feed_server.url("/feed"), categories=["Partners"], home="https://p.example/"
            )
        ],
    )
    async with running(config) as agg:
        await agg.refresh("p")
        posts = agg.posts()
        status = status_of(agg, "p")
    assert [p.title for p in posts] == ["Entry 2", "Entry 1"]
    newest = posts[0]
    assert newest.id == "https://partner.example/posts/2"  # an absolute URI id is kept
    assert newest.url == "https://partner.example/posts/2.html"
    assert newest.content_html == "<p>Body of entry 2.</p>"
    assert newest.summary == "Body of entry 2."
    assert newest.published.isoformat() == "2024-04-02T09:00:00+00:00"
    assert newest.lang == "en"  # neither feed nor partner says: the site's
    assert newest.categories == (Category("Partners", "partners"),)
    assert newest.origin == Origin("p", "Partner P", feed_server.url("/feed"), "https://p.example/")
    assert status.state == "ok"
    assert status.last_status == 200
    assert status.entries == 2
    assert status.last_error is None


async def test_status_has_one_entry_per_partner(feed_server, tmp_path):
    feed_server.serve("/feed", rss_feed([item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    clock = FakeClock()
    async with running(config, clock=clock, rng=random.Random(1)) as agg:
        assert status_of(agg, "p").next_fetch == START  # first fetch: now
        await agg.refresh("p")
        [status] = agg.status()
    assert status.name == "p"
    assert status.last_fetch == START
    assert status.bozo is None
    assert status.moved is False
    assert status.unstable_ids is False


# --- conditional requests -----------------------------------------------------------------


async def test_304_is_success_reuses_the_etag_and_changes_nothing(feed_server, tmp_path):
    body = rss_feed([item(1)])

    async def conditional(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    feed_server.handle("/feed", conditional)
    changes = []
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config, on_change=lambda: changes.append(1)) as agg:
        await agg.refresh("p")
        first = agg.posts()
        await agg.refresh("p")
        assert agg.posts() == first
        status = status_of(agg, "p")
    assert changes == [1]
    assert feed_server.requests[1].headers["If-None-Match"] == '"v1"'
    assert status.state == "ok"
    assert status.last_status == 304


async def test_an_identical_body_without_validators_changes_nothing(feed_server, tmp_path):
    feed_server.serve("/feed", rss_feed([item(1), item(2, date=None)]))
    changes = []

    async def on_change() -> None:  # awaited when it is a coroutine function
        changes.append(1)

    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    clock = FakeClock()
    async with running(config, clock=clock, on_change=on_change) as agg:
        await agg.refresh("p")
        first = agg.posts()
        clock.advance(3600)
        await agg.refresh("p")
        assert agg.posts() == first
    assert changes == [1]


# --- redirects ----------------------------------------------------------------------------


def redirect(status: int, target: str):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": target})

    return handler


async def test_301_twice_updates_the_stored_url(feed_server, tmp_path):
    feed_server.handle("/old", redirect(301, "/new"))
    feed_server.serve("/new", rss_feed([item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/old"))])
    async with running(config) as agg:
        await agg.refresh("p")
        once = status_of(agg, "p")
        assert once.url == feed_server.url("/old")  # not after one redirect
        assert "/new" in once.moved_note
        await agg.refresh("p")
        twice = status_of(agg, "p")
        assert agg.posts()[0].origin.feed_url == feed_server.url("/new")
    assert twice.url == feed_server.url("/new")
    assert twice.original_url == feed_server.url("/old")
    assert twice.moved is True
    assert "moved permanently" in twice.moved_note
    # The store remembers: after a restart the new URL is fetched directly.
    async with running(config) as agg:
        assert status_of(agg, "p").url == feed_server.url("/new")
        await agg.refresh("p")
    assert feed_server.hits == {"/old": 2, "/new": 3}


@pytest.mark.parametrize("status", [302, 307])
async def test_temporary_redirects_are_never_persisted(feed_server, tmp_path, status):
    feed_server.handle("/feed", redirect(status, "/elsewhere"))
    feed_server.serve("/elsewhere", rss_feed([item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config) as agg:
        for _ in range(3):
            await agg.refresh("p")
        result = status_of(agg, "p")
        assert len(agg.posts()) == 1
    assert result.url == feed_server.url("/feed")
    assert result.moved is False
    assert result.moved_note is None
    assert feed_server.hits["/feed"] == 3


# --- gone, wait, back off ------------------------------------------------------------------


async def test_410_is_gone_and_fetching_stops(feed_server, tmp_path):
    feed_server.serve("/feed", rss_feed([item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config) as agg:
        await agg.refresh("p")
        feed_server.serve("/feed", status=410)
        await agg.refresh("p")
        gone = status_of(agg, "p")
        await agg.refresh("p")
        await agg.refresh_all()
        assert len(agg.posts()) == 1  # its entries stay published
    assert gone.state == "gone"
    assert gone.last_status == 410
    assert gone.next_fetch is None
    async with running(config) as agg:  # a restart does not revive it
        await agg.refresh_all()
        assert status_of(agg, "p").state == "gone"
    assert feed_server.hits["/feed"] == 2


@pytest.mark.parametrize("status", [429, 503])
async def test_429_and_503_honour_retry_after(feed_server, tmp_path, status):
    feed_server.serve("/feed", status=status, headers={"Retry-After": "7200"})
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config, rng=random.Random(7)) as agg:
        await agg.refresh("p")
        result = status_of(agg, "p")
    assert result.state == "backoff"
    assert result.last_status == status
    wait = _seconds_until(result.next_fetch)
    assert 7200 <= wait <= 7200 * 1.1
    # A restart keeps the wait instead of fetching right away.
    async with running(config) as agg:
        assert status_of(agg, "p").next_fetch == result.next_fetch


async def test_500_backs_off_exponentially_then_recovers(feed_server, tmp_path):
    feed_server.serve("/feed", rss_feed([item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))], max_backoff="1h")
    clock = FakeClock()
    async with running(config, clock=clock, rng=random.Random(3)) as agg:
        await agg.refresh("p")
        feed_server.serve("/feed", b"oops", status=500, content_type="text/plain")
        waits = []
        for _ in range(4):
            await agg.refresh("p")
            status = status_of(agg, "p")
            assert status.state == "error"
            assert "HTTP 500" in status.last_error
            waits.append(_seconds_until(status.next_fetch, clock))
            clock.advance(waits[-1])
        assert len(agg.posts()) == 1  # the last good entries stay
        feed_server.serve("/feed", rss_feed([item(1), item(2)]))
        await agg.refresh("p")
        recovered = status_of(agg, "p")
        assert len(agg.posts()) == 2
    for wait, base in zip(waits, [INTERVAL, 2 * INTERVAL, 3600, 3600], strict=True):
        assert base * 0.9 <= wait <= base * 1.1  # doubling, capped at max_backoff, jittered
    assert recovered.state == "ok"
    assert recovered.failures == 0
    assert recovered.last_error is None
    assert INTERVAL * 0.9 <= _seconds_until(recovered.next_fetch, clock) <= INTERVAL * 1.1


def _seconds_until(moment: datetime | None, clock: FakeClock | None = None) -> float:
    assert moment is not None
    now = clock.now if clock else START
    return (moment - now).total_seconds()


# --- identity -----------------------------------------------------------------------------


async def test_entries_without_ids_are_identified_by_link_then_content(feed_server, tmp_path):
    items = [item(1, id=None), item(2, id=None, link=None), item(3, id="not-a-uri")]
    feed_server.serve("/feed", rss_feed(items))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"), home="https://p.x/")])
    async with running(config) as agg:
        await agg.refresh("p")
        first = agg.posts()
    async with running(config) as agg:  # ids are the same after a restart and a refetch
        await agg.refresh("p")
        feed_server.serve("/feed", rss_feed([*items, item(4)]))
        await agg.refresh("p")
        second = agg.posts()
    assert len(first) == 3
    assert {p.id for p in first} <= {p.id for p in second}
    assert len(second) == 4
    minted = [p for p in first if p.id.startswith("tag:site.example,2020:partner/p/")]
    assert len(minted) == 3  # none of them is an absolute URI
    assert next(p for p in first if p.title == "Entry 2").url == "https://p.x/"  # no link


async def test_duplicate_ids_within_and_across_fetches_are_one_entry(feed_server, tmp_path):
    dup = "https://partner.example/posts/1"
    feed_server.serve("/feed", rss_feed([item(1), item(9, id=dup, title="Copy"), item(2)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config) as agg:
        await agg.refresh("p")
        assert sorted(p.title for p in agg.posts()) == ["Entry 1", "Entry 2"]  # first wins
        feed_server.serve("/feed", rss_feed([item(1, title="Entry 1, edited"), item(3)]))
        await agg.refresh("p")
        posts = agg.posts()
    assert sorted(p.title for p in posts) == ["Entry 1, edited", "Entry 2", "Entry 3"]
    assert len({p.id for p in posts}) == 3


async def test_ids_changing_on_every_fetch_are_flagged_and_deduped_by_link(feed_server, tmp_path):
    fetches = 0

    async def fresh_ids(request: web.Request) -> web.Response:
        nonlocal fetches
        fetches += 1
        items = [item(n, id=f"urn:uuid:{fetches:08d}-0000-0000-0000-{n:012d}") for n in (1, 2)]
        return web.Response(body=rss_feed(items), content_type="application/rss+xml")

    feed_server.handle("/feed", fresh_ids)
    changes = []
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config, on_change=lambda: changes.append(1)) as agg:
        await agg.refresh("p")
        first = agg.posts()
        assert status_of(agg, "p").unstable_ids is False
        for _ in range(3):
            await agg.refresh("p")
        posts = agg.posts()
        status = status_of(agg, "p")
    assert status.unstable_ids is True
    assert [p.id for p in posts] == [p.id for p in first]  # no duplicates, ids unchanged
    assert changes == [1]  # the later fetches changed nothing published


# --- dates --------------------------------------------------------------------------------


async def test_missing_and_future_dates_take_the_first_seen_time(feed_server, tmp_path):
    future = START + timedelta(days=365)
    feed_server.serve(
        "/feed", atom_feed([item(1), item(2, date=None), item(3, date=future, title="Future")])
    )
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    clock = FakeClock()
    async with running(config, clock=clock) as agg:
        await agg.refresh("p")
        clock.advance(86400)
        feed_server.serve(
            "/feed",
            atom_feed([item(1, date=START), item(2, date=None), item(3, date=future, title="F")]),
        )
        await agg.refresh("p")
        posts = {p.title: p for p in agg.posts()}
    assert posts["Entry 2"].published == START  # no date: first seen
    assert posts["F"].published == START  # future: first seen, never on top
    assert posts["F"].updated == START
    entry1 = posts["Entry 1"]
    assert entry1.published.isoformat() == "2024-04-01T09:00:00+00:00"  # first value wins
    assert entry1.updated == START  # updated moved forward
    assert [p.title for p in agg.posts()][-1] == "Entry 1"


# --- content ------------------------------------------------------------------------------

HOSTILE = (
    '<p onclick="steal()" style="color:red">Hello <a href="javascript:alert(1)">x</a>'
    '<a href="/about">rel</a></p><script>alert(1)</script><style>p{}</style>'
    '<iframe src="https://evil.example/"></iframe><svg><script>alert(2)</script></svg>'
    '<img src="data:image/png;base64,AAAA"><img src="https://t.example/p.gif" width="1" '
    'height="1"><img src="/ok.png" alt="ok"><form action="/x"><input name="q"></form>'
)


async def test_hostile_html_is_sanitized_and_titles_are_text(feed_server, tmp_path):
    feed_server.serve(
        "/feed", json_feed([item(1, title="<b>Bold</b> & <i>title</i>", content=HOSTILE)])
    )
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config) as agg:
        await agg.refresh("p")
        [post] = agg.posts()
    html = post.content_html
    for banned in ("script", "onclick", "style", "javascript:", "data:", "iframe", "svg", "form"):
        assert banned not in html, banned
    assert "t.example" not in html  # the 1×1 tracking pixel
    assert 'href="http://127.0.0.1' in html  # relative URLs resolved against the feed URL
    assert f'src="{feed_server.url("/ok.png")}"' in html
    assert post.title == "<b>Bold</b> & <i>title</i>"  # JSON Feed titles are plain text


@pytest.mark.parametrize("build", [rss_feed, atom_feed], ids=["rss", "atom"])
async def test_relative_urls_in_xml_content_resolve_against_the_feed_url(
    feed_server, tmp_path, build
):
    content = '<p><a href="../about">About</a> <img src="img/a.png" alt="a"></p>'
    feed_server.serve("/feeds/all.xml", build([item(1, content=content)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feeds/all.xml"))])
    async with running(config) as agg:
        await agg.refresh("p")
        [post] = agg.posts()
    assert f'href="{feed_server.url("/about")}"' in post.content_html
    assert f'src="{feed_server.url("/feeds/img/a.png")}"' in post.content_html


async def test_a_changed_feed_cleans_and_publishes_only_its_new_entries(
    feed_server, tmp_path, monkeypatch
):
    cleaned: list[str] = []
    real = clean_module.clean_entry

    def counting(entry, *args, **kwargs):
        cleaned.append(entry.title)
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(clean_module, "clean_entry", counting)  # parse_workers=0: a thread
    feed_server.serve("/feed", rss_feed([item(2), item(1)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))], parse_workers=0)
    async with running(config) as agg:
        await agg.refresh("p")
        first = {p.id: p for p in agg.posts()}
        feed_server.serve("/feed", rss_feed([item(3), item(2), item(1)]))
        await agg.refresh("p")
        posts = agg.posts()
    assert cleaned == ["Entry 2", "Entry 1", "Entry 3"]
    assert [p.title for p in posts] == ["Entry 3", "Entry 2", "Entry 1"]
    # The known entries, exactly as before: the same objects, nothing made again.
    assert all(first[p.id] is p for p in posts[1:])


# --- persistence and retention ------------------------------------------------------------


async def test_a_restart_keeps_every_entry(feed_server, tmp_path):
    feed_server.serve("/feed", rss_feed([item(1), item(2, date=None)]))
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config) as agg:
        await agg.refresh("p")
        before = agg.posts()
        etag_status = status_of(agg, "p")
    feed_server.serve("/feed", status=500)
    async with running(config, clock=FakeClock(START + timedelta(days=3))) as agg:
        assert agg.posts() == before  # loaded from the store, before any fetch
        await agg.refresh("p")  # a failing partner after the restart
        assert agg.posts() == before
    assert etag_status.entries == 2


async def test_entries_that_leave_the_feed_stay_up_to_the_retention(feed_server, tmp_path):
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))], retention=3)
    async with running(config) as agg:
        for first in (1, 3, 5):
            feed_server.serve("/feed", rss_feed([item(first), item(first + 1)]))
            await agg.refresh("p")
        titles = [p.title for p in agg.posts()]
        count = status_of(agg, "p").entries
    assert titles == ["Entry 6", "Entry 5", "Entry 4"]  # the oldest were dropped
    assert count == 3
    async with running(config) as agg:  # and the store agrees
        assert [p.title for p in agg.posts()] == titles


# --- one broken partner -------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        {"status": 500, "body": b"down"},
        {"body": b"<html><body>This is a web page, not a feed</body></html>"},
        {"body": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><rss>&a;</rss>'},
    ],
    ids=["500", "not-a-feed", "entity-declaration"],
)
async def test_a_broken_partner_keeps_its_last_good_entries(feed_server, tmp_path, broken):
    feed_server.serve("/a", rss_feed([item(1)]))
    feed_server.serve("/b", rss_feed([item(2, id="urn:b:2")]))
    config = make_config(
        tmp_path, [partner("a", feed_server.url("/a")), partner("b", feed_server.url("/b"))]
    )
    async with running(config) as agg:
        await agg.refresh_all()
        feed_server.serve("/a", broken.get("body", b""), status=broken.get("status", 200))
        feed_server.serve("/b", rss_feed([item(2, id="urn:b:2"), item(3, id="urn:b:3")]))
        await agg.refresh_all()
        titles = sorted(p.title for p in agg.posts())
        a, b = status_of(agg, "a"), status_of(agg, "b")
    assert titles == ["Entry 1", "Entry 2", "Entry 3"]
    assert a.state == "error"
    assert a.last_error
    assert "internal error" not in a.last_error
    assert b.state == "ok"


async def test_a_malformed_but_readable_feed_is_published_and_flagged(feed_server, tmp_path):
    body = rss_feed([item(1)]).replace(b"</channel></rss>", b"</channel>")  # truncated
    feed_server.serve("/feed", body)
    config = make_config(tmp_path, [partner("p", feed_server.url("/feed"))])
    async with running(config) as agg:
        await agg.refresh("p")
        status = status_of(agg, "p")
        assert len(agg.posts()) == 1
    assert status.state == "ok"
    assert status.bozo


# --- address policy -----------------------------------------------------------------------


async def test_a_partner_on_a_refused_address_errors_without_a_request(feed_server, tmp_path):
    feed_server.serve("/feed", rss_feed([item(1)]))
    config = make_config(
        tmp_path, [partner("p", feed_server.url("/feed"))], allow_private_addresses=False
    )
    async with running(config) as agg:
        await agg.refresh("p")
        status = status_of(agg, "p")
        assert agg.posts() == ()
    assert status.state == "error"
    assert status.last_status is None
    assert "refusing to connect to 127.0.0.1" in status.last_error
    assert "allow_private_addresses" in status.last_error
    assert feed_server.hits == {}


# --- the background loop ------------------------------------------------------------------


async def test_the_loop_fetches_right_away_then_every_interval_until_gone(feed_server, tmp_path):
    feed_server.serve("/ok", rss_feed([item(1)]))
    feed_server.serve("/gone", status=410)
    config = make_config(
        tmp_path, [partner("ok", feed_server.url("/ok")), partner("gone", feed_server.url("/gone"))]
    )
    clock = FakeClock()
    naps: list[float] = []
    third = asyncio.Event()

    async def sleep(seconds: float) -> None:  # time passes on the fake clock only
        naps.append(seconds)
        clock.advance(seconds)
        if feed_server.hits.get("/ok", 0) >= 3:
            third.set()
            await asyncio.Event().wait()  # park until stop() cancels us
        await asyncio.sleep(0)

    changes = []
    agg = Aggregator(
        config, clock=clock, rng=random.Random(5), sleep=sleep, on_change=lambda: changes.append(1)
    )
    await agg.start()
    try:
        async with asyncio.timeout(10):
            await third.wait()
    finally:
        await agg.stop()
    assert feed_server.hits == {"/ok": 3, "/gone": 1}
    assert changes == [1]
    # Naps of at most MAX_NAP add up to one jittered interval between fetches (twice), plus
    # the nap that found the third fetch done.
    assert all(0 < nap <= 60 for nap in naps)
    assert 2 * INTERVAL * 0.9 <= sum(naps) <= 2 * INTERVAL * 1.1 + 60


async def test_a_new_configured_url_starts_over_and_keeps_the_entries(feed_server, tmp_path):
    feed_server.serve("/old", rss_feed([item(1)]))
    old = make_config(tmp_path, [partner("p", feed_server.url("/old"))])
    async with running(old) as agg:
        await agg.refresh("p")
        feed_server.serve("/old", status=410)
        await agg.refresh("p")
        assert status_of(agg, "p").state == "gone"
    feed_server.serve("/new", rss_feed([item(1), item(2)]))
    new = make_config(tmp_path, [partner("p", feed_server.url("/new"))])
    async with running(new) as agg:
        assert len(agg.posts()) == 1  # kept from before
        await agg.refresh_all()
        status = status_of(agg, "p")
        assert [p.title for p in agg.posts()] == ["Entry 2", "Entry 1"]
    assert status.state == "ok"
    assert status.url == status.original_url == feed_server.url("/new")


async def test_changes_during_a_slow_on_change_are_coalesced(feed_server, tmp_path):
    names = [f"p{n}" for n in range(5)]
    for n, name in enumerate(names):
        feed_server.serve(f"/{name}", rss_feed([item(n + 1, id=f"urn:{name}")]))
    calls: list[int] = []

    async def rebuild() -> None:
        calls.append(len(agg.posts()))
        # The first rebuild lasts until every partner has changed: the other changes come
        # while it runs.
        while len(agg.posts()) < len(names):
            await asyncio.sleep(0)

    config = make_config(tmp_path, [partner(name, feed_server.url(f"/{name}")) for name in names])
    async with running(config, on_change=rebuild) as agg:
        async with asyncio.timeout(30):
            await agg.refresh_all()
    assert len(calls) <= 2  # not one per partner
    assert calls[-1] == 5  # the last call saw every change
