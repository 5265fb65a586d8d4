"""Aggregator mode through HTTP: partners fetched from local servers, published merged.

The real Publisher, Aggregator, SQLite store and web app; partner feeds come from a
local aiohttp server on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from aggregate_support import SITE, atom_feed, item, json_feed, rss_feed
from lxml import etree
from schemas import validate_jsonfeed

from feedsvc.configfile import parse_config
from feedsvc.live import Publisher
from feedsvc.web.app import create_app

ATOM = "{http://www.w3.org/2005/Atom}"


def site_config(tmp_path: Path, partners: list[dict], **aggregator):
    posts = tmp_path / "posts"
    posts.mkdir(exist_ok=True)
    (posts / "hello.md").write_text(
        "---\ntitle: Our own post\ndate: 2024-04-20\ncategories: [News]\n---\nHello.\n"
    )
    return parse_config(
        {
            "site": SITE,
            "sources": [{"type": "folder", "path": "posts"}],
            "aggregator": {
                "enabled": True,
                "allow_private_addresses": True,
                "store": "var/agg.sqlite3",
                "parse_workers": 1,
                **aggregator,
            },
            "partners": partners,
        },
        base_dir=tmp_path,
    )


@pytest.fixture
async def service(tmp_path, feed_server, aiohttp_client):
    feed_server.serve("/a.rss", rss_feed([item(1), item(2)]))
    feed_server.serve("/b.atom", atom_feed([item(3)]), content_type="application/atom+xml")
    feed_server.serve(
        "/c.json",
        json_feed([item(4, id="https://c.example/4")]),
        content_type="application/feed+json",
    )
    partners = [
        {
            "name": "a",
            "url": feed_server.url("/a.rss"),
            "title": "Partner A",
            "categories": ["News"],
        },
        {"name": "b", "url": feed_server.url("/b.atom"), "title": "Partner B"},
        {"name": "c", "url": feed_server.url("/c.json"), "title": "Partner C"},
    ]
    publisher = Publisher(site_config(tmp_path, partners), workers=1)
    ref = publisher.build()
    client = await aiohttp_client(create_app(ref, status=publisher.status))
    await publisher.start(schedule=False)
    try:
        yield publisher, client, feed_server
    finally:
        await publisher.stop()


async def test_partners_are_published_merged_with_their_sources_named(service):
    publisher, client, _ = service
    before = await client.get("/partners.atom")  # nothing fetched yet: an empty, valid feed
    assert feedparser.parse(await before.read()).entries == []
    await publisher.aggregator.refresh_all()

    atom = await client.get("/partners.atom")
    assert atom.status == 200
    body = await atom.read()
    assert feedparser.parse(body).bozo == 0
    root = etree.fromstring(body)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 4
    sources = [e.find(f"{ATOM}source/{ATOM}title").text for e in entries]
    assert sorted(sources) == ["Partner A", "Partner A", "Partner B", "Partner C"]

    rss = etree.fromstring(await (await client.get("/partners.rss")).read())
    assert {s.text for s in rss.iter("source")} == {"Partner A", "Partner B", "Partner C"}
    document = json.loads(await (await client.get("/partners.json")).read())
    assert {i["_source"]["title"] for i in document["items"]} == {
        "Partner A",
        "Partner B",
        "Partner C",
    }
    validate_jsonfeed(document)

    network = feedparser.parse(await (await client.get("/network.atom")).read())
    assert "Our own post" in [e.title for e in network.entries]
    assert len(network.entries) == 5
    # Partner A maps its entries to "News", so they join the site's News feed.
    news = feedparser.parse(await (await client.get("/category/news.atom")).read())
    assert sorted(e.title for e in news.entries) == ["Entry 1", "Entry 2", "Our own post"]
    index = await (await client.get("/")).text()
    assert "/partners.atom" in index and "/network.json" in index


async def test_the_merged_feed_keeps_its_etag_until_its_content_changes(service):
    publisher, client, server = service
    await publisher.aggregator.refresh_all()
    first = await client.get("/partners.atom", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    site_etag = (await client.get("/feed.atom")).headers["ETag"]

    await publisher.aggregator.refresh_all()  # same documents again
    again = await client.get(
        "/partners.atom", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert again.status == 304

    server.serve("/a.rss", rss_feed([item(1), item(2), item(5)]))
    await publisher.aggregator.refresh("a")
    changed = await client.get("/partners.atom", headers={"Accept-Encoding": "gzip"})
    assert changed.headers["ETag"] != etag
    assert "Entry 5" in [e.title for e in feedparser.parse(await changed.read()).entries]
    # The site's own feed did not change, so it kept its bytes and ETag.
    assert (await client.get("/feed.atom")).headers["ETag"] == site_etag


async def test_a_broken_partner_keeps_its_last_good_entries_and_shows_on_status(service):
    publisher, client, server = service
    await publisher.aggregator.refresh_all()
    server.serve("/a.rss", b"<html>down for maintenance</html>", status=500)
    server.serve("/b.atom", b"this is not a feed", content_type="text/plain")
    await publisher.aggregator.refresh_all()

    titles = [
        e.title for e in feedparser.parse(await (await client.get("/partners.atom")).read()).entries
    ]
    assert sorted(titles) == ["Entry 1", "Entry 2", "Entry 3", "Entry 4"]
    status = await (await client.get("/status", headers={"Accept": "application/json"})).json()
    by_name = {p["name"]: p for p in status["partners"]}
    assert by_name["a"]["state"] in ("error", "backoff")
    assert by_name["a"]["last_status"] == 500
    assert by_name["a"]["entries"] == 2
    assert by_name["b"]["state"] == "error"
    assert by_name["b"]["entries"] == 1
    assert by_name["c"]["state"] == "ok"
    html = await (await client.get("/status", headers={"Accept": "text/html"})).text()
    assert "Partner A" in html or "a.rss" in html


async def test_a_restart_keeps_partner_entries(service, tmp_path, aiohttp_client):
    publisher, _, server = service
    await publisher.aggregator.refresh_all()
    await publisher.stop()
    for path in ("/a.rss", "/b.atom", "/c.json"):
        server.serve(path, b"", status=503, headers={"Retry-After": "3600"})
    restarted = Publisher(publisher.config, workers=1)
    ref = restarted.build()
    client = await aiohttp_client(create_app(ref, status=restarted.status))
    await restarted.start(schedule=False)
    try:
        await restarted.aggregator.refresh_all()
        entries = feedparser.parse(await (await client.get("/partners.atom")).read()).entries
        assert len(entries) == 4
    finally:
        await restarted.stop()
