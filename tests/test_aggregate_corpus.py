"""feedparser's own test corpus served as partners: nothing escapes, and the merged feeds
stay valid (docs/architecture.md "Partner documents":
malformed feeds are recovered where possible and flagged).

Every file under wellformed/ and illformed/ of the vendored corpus (tests/data/feedparser-corpus)
is served in turn by a local server, each partner's feed changing on every
refresh; the posts that result are then rendered in every format and read back.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import feedparser
import jsonschema
from aggregate_support import make_config, partner, running
from aiohttp import web
from corpus_support import corpus_files, corpus_headers
from lxml import etree
from schemas import JSONFEED_SCHEMA

from feedsvc.feeds import build_partner_feeds
from feedsvc.render import RENDERERS, RenderContext

FILES = corpus_files("wellformed", "illformed")
# Several partners at once, each serving its share of the files: the worker processes and
# the store thread overlap, and the test stays within a few seconds.
PARTNERS = 8
# Of the headers a corpus document declares, only these are served (others would change
# what the fetcher does with the body, e.g. a Content-Encoding it does not have).
_SERVED_HEADERS = ("content-type", "content-language")


def _headers(body: bytes) -> dict[str, str]:
    return {
        name: value
        for name, value in corpus_headers(body).items()
        if name.lower() in _SERVED_HEADERS
    }


async def test_every_corpus_file_goes_through_and_the_merged_feeds_stay_valid(
    feed_server, tmp_path
):
    current: dict[str, Path] = {}

    async def serve_current(request: web.Request) -> web.Response:
        body = current[request.path].read_bytes()
        headers = _headers(body)
        content_type = headers.pop("Content-Type", "application/xml")
        return web.Response(body=body, headers={"Content-Type": content_type, **headers})

    names = [f"corpus-{i}" for i in range(PARTNERS)]
    for name in names:
        feed_server.handle(f"/{name}", serve_current)
    config = make_config(
        tmp_path,
        [partner(name, feed_server.url(f"/{name}")) for name in names],
        parse_workers=2,
        retention=100_000,
    )
    config = replace(config, feeds=replace(config.feeds, entries=100_000))
    outcomes: dict[str, int] = {}
    async with running(config) as agg:
        for start in range(0, len(FILES), PARTNERS):
            batch = FILES[start : start + PARTNERS]
            for name, path in zip(names, batch, strict=False):
                current[f"/{name}"] = path
            await agg.refresh_all()  # raises if anything escapes
            for status in agg.status()[: len(batch)]:
                assert "internal error" not in (status.last_error or ""), status
                outcomes[status.state] = outcomes.get(status.state, 0) + 1
        posts = agg.posts()
    assert sum(outcomes.values()) == len(FILES)
    assert outcomes.get("ok", 0) > len(FILES) * 0.9, outcomes
    assert len(posts) > 500  # fewer than files: many share ids and links, many have none

    [partners_feed] = build_partner_feeds(
        (), posts, replace(config, aggregator=replace(config.aggregator, merge_site=False))
    )
    ctx = RenderContext(
        site=config.site,
        feeds=config.feeds,
        public_url="https://feeds.site.example/",
        formats=("atom", "rss", "json"),
    )
    validator = jsonschema.Draft7Validator(JSONFEED_SCHEMA)
    for start in range(0, len(posts), 500):
        feed = replace(partners_feed, posts=posts[start : start + 500])
        for fmt in ("atom", "rss"):
            body = RENDERERS[fmt](feed, ctx)
            etree.fromstring(body)  # well-formed XML
            parsed = feedparser.parse(body)
            assert not parsed.bozo, (fmt, parsed.get("bozo_exception"))
            assert len(parsed.entries) == len(feed.posts)
        doc = json.loads(RENDERERS["json"](feed, ctx))
        assert len(doc["items"]) == len(feed.posts)
        validator.validate(doc)
