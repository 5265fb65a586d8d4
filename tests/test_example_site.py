"""The example site end to end: README command one serves exactly this.

Every feed the index page lists must re-parse with lxml and feedparser with no
bozo flag, every JSON Feed must pass the JSON Feed 1.1 schema, a request with the
returned ETag gets 304, and a restart gives the same ETags.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from schemas import validate_jsonfeed

from feedsvc.configfile import load_config
from feedsvc.pipeline import build_snapshot
from feedsvc.store import SnapshotRef
from feedsvc.web.app import create_app

REPO = Path(__file__).resolve().parents[1]


class AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and attributes.get("rel") == "alternate":
            self.links.append(attributes)


@pytest.fixture(scope="module")
def example_config():
    return load_config(REPO / "feeds.toml")


@pytest.fixture(scope="module")
def snapshot(example_config):
    return build_snapshot(example_config)


@pytest.fixture
async def client(aiohttp_client, snapshot):
    return await aiohttp_client(create_app(SnapshotRef(snapshot)))


def feed_path(href: str, public_url: str) -> str:
    assert href.startswith(public_url), href
    return "/" + href[len(public_url) :]


async def test_every_listed_feed_is_valid(client, example_config):
    response = await client.get("/")
    assert response.status == 200
    parser = AlternateLinks()
    parser.feed(await response.text())
    links = parser.links
    paths = {feed_path(link["href"], example_config.public_url) for link in links}
    assert {"/feed.atom", "/feed.rss", "/feed.json"} <= paths
    assert any(p.startswith("/category/") for p in paths)
    assert any(p.startswith("/lang/es") for p in paths)
    assert any(p.startswith("/archive/") for p in paths)
    for path in sorted(paths):
        response = await client.get(path)
        assert response.status == 200, path
        body = await response.read()
        if path.endswith(".json"):
            document = json.loads(body)
            assert document["items"], path
            validate_jsonfeed(document)
        else:
            etree.fromstring(body)
            parsed = feedparser.parse(body)
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
            assert parsed.entries, path


async def test_an_etag_gets_304_and_a_restart_keeps_it(client, example_config, aiohttp_client):
    first = await client.get("/feed.atom", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    again = await client.get(
        "/feed.atom", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert again.status == 304
    restarted = await aiohttp_client(create_app(SnapshotRef(build_snapshot(example_config))))
    for path in ("/feed.atom", "/feed.rss", "/feed.json", "/", "/feeds.opml"):
        before = await client.get(path)
        after = await restarted.get(path)
        assert before.headers["ETag"] == after.headers["ETag"], path
        assert await before.read() == await after.read(), path


async def test_feeds_let_caches_in_front_serve_stale_copies(client, example_config):
    feeds = example_config.feeds  # the example leaves the stale-* ones at their defaults
    expected = (
        f"public, max-age={feeds.max_age}, "
        f"stale-while-revalidate={feeds.stale_while_revalidate}, "
        f"stale-if-error={feeds.stale_if_error}"
    )
    assert (feeds.max_age, feeds.stale_while_revalidate, feeds.stale_if_error) == (300, 300, 86400)
    fresh = await client.get("/feed.atom")
    assert fresh.headers["Cache-Control"] == expected
    revalidated = await client.get("/feed.atom", headers={"If-None-Match": fresh.headers["ETag"]})
    assert revalidated.status == 304
    assert revalidated.headers["Cache-Control"] == expected  # RFC 9110 §15.4.5


async def test_the_opml_lists_every_feed(client, snapshot):
    response = await client.get("/feeds.opml")
    outline = etree.fromstring(await response.read())
    urls = {node.get("xmlUrl") for node in outline.iter("outline") if node.get("xmlUrl")}
    feed_paths = [p for p in snapshot.resources if p.endswith((".atom", ".rss", ".json"))]
    assert len(urls) >= len(feed_paths) / 3  # at least one format of every feed
    assert all(url.startswith("http://127.0.0.1:8080/") for url in urls)


async def test_status_reports_the_example_site(client):
    response = await client.get("/status", headers={"Accept": "application/json"})
    status = await response.json()
    assert status["posts"] >= 16
    assert status["skipped"] == []
    assert status["drafts"] >= 1
