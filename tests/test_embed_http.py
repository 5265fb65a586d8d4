"""/embed/{feed}.html, /embed.js and /embed.css through the real app (docs/urls.md)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import brotli
import lxml.html
import pytest
from aiohttp.test_utils import make_mocked_request
from factories import aggregated, make_ctx, make_feed, make_post, sample_feed, sample_posts

from feedsvc.configfile import load_config
from feedsvc.model import FeedKind
from feedsvc.pipeline import all_feeds, build_snapshot, render_site
from feedsvc.render import render_json
from feedsvc.render.embed import embed_asset, render_embed
from feedsvc.store import Caching, Snapshot, SnapshotRef, make_resource
from feedsvc.web.app import create_app
from feedsvc.web.embed import EmbedFragments
from feedsvc.web.handlers import Handlers

REPO = Path(__file__).resolve().parents[1]
JSON_TYPE = "application/feed+json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
# docs/urls.md: the component is at most 5 KB gzipped.
EMBED_JS_MAX_GZIPPED = 5 * 1024
# The test client asks for compressed bodies unless told otherwise.
IDENTITY = {"Accept-Encoding": "identity"}


def snapshot_of(feed_json: bytes) -> Snapshot:
    feed = sample_feed()
    resource = make_resource(feed_json, JSON_TYPE, feed.updated, Caching(120), cors=True)
    return Snapshot({"/feed.json": resource}, {})


@pytest.fixture
def feed_json() -> bytes:
    return render_json(sample_feed(), make_ctx())


@pytest.fixture
def ref(feed_json: bytes) -> SnapshotRef:
    return SnapshotRef(snapshot_of(feed_json))


@pytest.fixture
async def client(aiohttp_client, ref):
    return await aiohttp_client(create_app(ref), auto_decompress=False)


async def test_fragment_is_served_like_a_feed(client, feed_json) -> None:
    response = await client.get("/embed/feed.html", headers=IDENTITY)
    assert response.status == 200
    body = await response.read()
    assert body == render_embed(json.loads(feed_json), 5)
    headers = response.headers
    assert headers["Content-Type"] == HTML_TYPE
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cache-Control"] == "public, max-age=120"  # the feed's own
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Last-Modified"] == "Tue, 03 May 2022 16:00:00 GMT"
    assert re.fullmatch(r'"[A-Za-z0-9_-]{22}"', headers["ETag"])


async def test_codings_have_their_own_etags_and_304(client) -> None:
    etags = set()
    identity = await (await client.get("/embed/feed.html", headers=IDENTITY)).read()
    for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        response = await client.get("/embed/feed.html", headers={"Accept-Encoding": coding})
        assert response.headers["Content-Encoding"] == coding
        assert decode(await response.read()) == identity
        etag = response.headers["ETag"]
        etags.add(etag)
        again = await client.get(
            "/embed/feed.html", headers={"Accept-Encoding": coding, "If-None-Match": etag}
        )
        assert again.status == 304
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
    etags.add((await client.get("/embed/feed.html", headers=IDENTITY)).headers["ETag"])
    assert len(etags) == 3


async def test_head_and_options(client) -> None:
    head = await client.head("/embed/feed.html")
    assert head.status == 200 and await head.read() == b""
    options = await client.options("/embed/feed.html")
    assert options.status == 204
    assert options.headers["Access-Control-Allow-Origin"] == "*"
    post = await client.post("/embed/feed.html")
    assert post.status == 405
    assert post.headers["Allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("limit", [1, 2, 50])
async def test_limit(client, limit) -> None:
    body = await (await client.get(f"/embed/feed.html?limit={limit}", headers=IDENTITY)).read()
    articles = lxml.html.fragment_fromstring(body.decode()).findall("article")
    assert len(articles) == min(limit, len(sample_posts()))


async def test_default_limit_is_five(aiohttp_client) -> None:
    feed = make_feed([make_post(n) for n in range(12, 0, -1)])
    ref = SnapshotRef(snapshot_of(render_json(feed, make_ctx())))
    client = await aiohttp_client(create_app(ref))
    body = await (await client.get("/embed/feed.html")).read()
    assert len(lxml.html.fragment_fromstring(body.decode()).findall("article")) == 5
    body = await (await client.get("/embed/feed.html?limit=50")).read()
    assert len(lxml.html.fragment_fromstring(body.decode()).findall("article")) == 12


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("limit=0", "not '0'"),
        ("limit=51", "not '51'"),
        ("limit=-1", "not '-1'"),
        ("limit=abc", "not 'abc'"),
        ("limit=1.5", "not '1.5'"),
        ("limit=", "not ''"),
        ("limit=%205", "not ' 5'"),
        ("limit=%D9%A5", "not '٥'"),  # an Arabic-Indic five: a digit, but not ASCII
        ("limit=1&limit=2", "given once; got 2 values"),
    ],
)
async def test_bad_limit_is_a_400_with_a_reason(client, query, reason) -> None:
    response = await client.get(f"/embed/feed.html?{query}")
    assert response.status == 400
    text = (await response.read()).decode()
    assert text.startswith("400 Bad Request: limit must be a whole number from 1 to 50")
    assert reason in text


async def test_unknown_feed_is_404(client) -> None:
    for path in ("/embed/nope.html", "/embed/category/nope.html", "/embed/feed.json.html"):
        response = await client.get(path, headers={"If-None-Match": "*"})
        assert response.status == 404, path


async def test_a_new_snapshot_gives_a_new_fragment(client, ref) -> None:
    before = await (await client.get("/embed/feed.html", headers=IDENTITY)).read()
    changed = make_feed([make_post(1, title="New")])
    ref.current = snapshot_of(render_json(changed, make_ctx()))
    after = await (await client.get("/embed/feed.html", headers=IDENTITY)).read()
    assert after != before and b">New</a>" in after


def test_fragments_are_cached_up_to_the_bound(ref) -> None:
    handlers = Handlers(ref)
    embeds = EmbedFragments(ref, handlers, cache_size=2)

    def get(limit: int) -> bytes:
        request = make_mocked_request(
            "GET", f"/embed/feed.html?limit={limit}", match_info={"feed": "feed"}
        )
        response = embeds.fragment(request)
        assert response.status == 200
        return response.body

    first = get(1)
    assert len(embeds) == 1
    assert get(1) is first  # the same bytes object: a lookup, not a new rendering
    get(2)
    get(3)
    assert len(embeds) == 2  # the bound
    assert get(1) == first  # rendered again, the same bytes


# ---- every feed of a whole site --------------------------------------------------------


@pytest.fixture(scope="module")
def example_snapshot() -> Snapshot:
    return build_snapshot(load_config(REPO / "feeds.toml"))


async def test_every_feed_of_the_example_site_has_a_fragment(
    aiohttp_client, example_snapshot
) -> None:
    client = await aiohttp_client(create_app(SnapshotRef(example_snapshot)))
    feeds = [p[1:-5] for p in example_snapshot.resources if p.endswith(".json")]
    assert {"feed", "lang/es", "archive/2025/01"} <= set(feeds)
    assert any(p.startswith("category/") for p in feeds)
    assert any(p.startswith("lang/es/category/") for p in feeds)
    for path in feeds:
        document = json.loads(example_snapshot.resources[f"/{path}.json"].identity.body)
        response = await client.get(f"/embed/{path}.html?limit=3")
        assert response.status == 200, path
        section = lxml.html.fragment_fromstring(await response.text())
        titles = [a.find("h3").text_content() for a in section.findall("article")]
        assert titles == [item["title"] for item in document["items"][:3]], path


async def test_partner_and_network_feeds_have_fragments(aiohttp_client) -> None:
    config = load_config(REPO / "feeds.toml")
    config = replace(config, aggregator=replace(config.aggregator, enabled=True))
    site_posts = sample_posts()
    partner_posts = [aggregated(site_posts[2])]
    feeds = all_feeds(site_posts, config, partner_posts)
    assert {FeedKind.PARTNERS, FeedKind.NETWORK} <= {feed.kind for feed in feeds}
    rendered = render_site(feeds, config, workers=1)
    client = await aiohttp_client(create_app(SnapshotRef(Snapshot(rendered.resources, {}))))
    for feed in feeds:
        if feed.kind in (FeedKind.PARTNERS, FeedKind.NETWORK):
            response = await client.get(f"/embed/{feed.path}.html")
            assert response.status == 200, feed.path
            assert "feedsvc-embed" in await response.text()


# ---- the component's files ---------------------------------------------------------


async def test_embed_js_and_css_are_served(aiohttp_client, example_snapshot) -> None:
    client = await aiohttp_client(create_app(SnapshotRef(example_snapshot)))
    for path, content_type in (
        ("/embed.js", "text/javascript; charset=utf-8"),
        ("/embed.css", "text/css; charset=utf-8"),
    ):
        response = await client.get(path, headers=IDENTITY)
        assert response.status == 200
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert await response.read() == embed_asset(path[1:])
        etag = response.headers["ETag"]
        again = await client.get(path, headers={**IDENTITY, "If-None-Match": etag})
        assert again.status == 304


def test_embed_js_is_at_most_5_kb_gzipped(example_snapshot) -> None:
    served = example_snapshot.resources["/embed.js"]
    assert len(served.gzip.body) <= EMBED_JS_MAX_GZIPPED
    assert len(served.br.body) <= EMBED_JS_MAX_GZIPPED
    # The bound is tested: the same file padded past it would fail.
    noise = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(160))  # 5 KiB
    padded = embed_asset("embed.js") + noise
    assert len(gzip.compress(padded, compresslevel=4, mtime=0)) > EMBED_JS_MAX_GZIPPED


def test_embed_js_never_parses_text_as_html() -> None:
    source = embed_asset("embed.js").decode()
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        'setAttribute("style"',
        ".style",
        "createContextualFragment",
        "DOMParser",
    ):
        assert sink not in source, sink
    assert "textContent" in source and "createElement" in source
    assert source.count("import ") == 0  # dependency-free
