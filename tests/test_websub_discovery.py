"""WebSub discovery (W3C WebSub §4) on every feed variant and format: Link headers on 200,
304 and HEAD, and the hubs named inside each document, which stays valid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from schemas import validate_jsonfeed

from feedsvc.clock import system_clock
from feedsvc.configfile import parse_config
from feedsvc.model import Origin, Post
from feedsvc.pipeline import all_feeds, load_posts, render_site
from feedsvc.store import Snapshot, SnapshotRef
from feedsvc.web.app import create_app

REPO = Path(__file__).resolve().parents[1]
PUBLIC = "https://feeds.example/"
EXTERNAL = "https://hub.example/publish"
HUBS = [PUBLIC + "websub", EXTERNAL]
FEED_SUFFIXES = (".atom", ".rss", ".json")
SITE = {"title": "Site", "url": "https://site.example/", "id_authority": "site.example,2020"}


def partner_post() -> Post:
    when = datetime(2024, 1, 5, tzinfo=UTC)
    return Post(
        id="urn:partner:1",
        url="https://partner.example/1",
        title="Partner news",
        published=when,
        updated=when,
        lang="en",
        summary="s",
        content_html="<p>c</p>",
        origin=Origin("partner", "Partner", "https://partner.example/feed", None),
    )


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    raw = {
        "site": SITE,
        "sources": [{"type": "folder", "name": "posts", "path": str(REPO / "example/posts")}],
        "aggregator": {"enabled": True},
        "partners": [{"name": "partner", "url": "https://partner.example/feed", "title": "P"}],
        "websub": {"hubs": ["builtin", EXTERNAL]},
        "server": {"public_url": PUBLIC},
    }
    config = parse_config(raw, base_dir=REPO)
    loaded = load_posts(config, system_clock(), workers=1)
    feeds = all_feeds(loaded.posts, config, [partner_post()])
    return Snapshot(render_site(feeds, config, workers=1).resources, {})


@pytest.fixture
async def client(aiohttp_client, snapshot):
    return await aiohttp_client(create_app(SnapshotRef(snapshot)))


def feed_paths(snapshot: Snapshot) -> list[str]:
    return sorted(p for p in snapshot.resources if p.endswith(FEED_SUFFIXES))


def test_every_variant_is_covered(snapshot):
    prefixes = {p.split("/")[1].split(".")[0] for p in feed_paths(snapshot)}
    assert {"feed", "category", "lang", "archive", "partners", "network"} <= prefixes
    assert any(p.startswith("/lang/") and "/category/" in p for p in feed_paths(snapshot))


def expected_links(path: str) -> list[str]:
    return [f'<{hub}>; rel="hub"' for hub in HUBS] + [f'<{PUBLIC}{path[1:]}>; rel="self"']


async def test_link_headers_on_200_304_and_head(client, snapshot):
    for path in feed_paths(snapshot):
        response = await client.get(path)
        assert response.status == 200
        assert response.headers.getall("Link") == expected_links(path), path
        etag = response.headers["ETag"]
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status == 304
        assert again.headers.getall("Link") == expected_links(path), path
        head = await client.head(path, headers={"Accept-Encoding": "br"})
        assert head.status == 200
        assert head.headers.getall("Link") == expected_links(path), path


async def test_pages_name_no_hub(client):
    for path in ("/", "/feeds.opml"):
        response = await client.get(path)
        assert "Link" not in response.headers


async def test_documents_name_the_hubs_and_stay_valid(client, snapshot):
    for path in feed_paths(snapshot):
        body = await (await client.get(path)).read()
        url = PUBLIC + path[1:]
        if path.endswith(".json"):
            document = json.loads(body)
            validate_jsonfeed(document)
            assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in HUBS]
            assert document["feed_url"] == url
            continue
        etree.fromstring(body)
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        links = parsed.feed.links
        assert [link.href for link in links if link.rel == "hub"] == HUBS, path
        assert url in [link.href for link in links if link.rel == "self"], path


def test_no_hub_no_discovery(tmp_path):
    raw = {
        "site": SITE,
        "sources": [{"type": "folder", "name": "posts", "path": str(REPO / "example/posts")}],
    }
    config = parse_config(raw, base_dir=tmp_path)
    loaded = load_posts(config, system_clock(), workers=1)
    resources = render_site(all_feeds(loaded.posts, config), config, workers=1).resources
    assert all(not r.links for r in resources.values())
    assert b"hub" not in resources["/feed.atom"].identity.body
    assert b'"hubs"' not in resources["/feed.json"].identity.body
