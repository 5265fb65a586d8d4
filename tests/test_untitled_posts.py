"""Untitled posts (docs/architecture.md "Normalization"): a remote source's untitled post
(a WordPress aside or status post, an RSS item without a title) is published, as WordPress's
own feeds publish it; a folder post without a title is still a reported mistake
(tests/test_normalize_post.py). Each format
says what stands for the title: Atom the post's URL (RFC 4287 §4.1.2 requires a title), RSS no
``<title>`` (RSS 2.0 needs a title or a description), JSON Feed no ``title`` (optional)."""

from __future__ import annotations

import json

import feedparser
from factories import make_ctx, make_feed
from lxml import etree
from schemas import validate_jsonfeed
from source_support import normalize
from wp_support import FakeWordPress, source_for, start, wp_post

from feedsvc.render import render_atom, render_json, render_rss
from feedsvc.sources.wordpress import read_wordpress


def _aside(wp_id: int) -> dict:
    body = "<p>Back from the rally, tired and happy.</p>"
    post = wp_post(wp_id, content=body, excerpt=body, format="aside")
    post["title"] = {"rendered": ""}
    return post


async def test_an_untitled_wordpress_post_is_published_in_every_format(serve, fetcher, config):
    server = await start(serve, FakeWordPress([wp_post(1), _aside(2)]))
    normalized = normalize(await read_wordpress(source_for(server), fetcher), config)
    assert normalized.problems == ()
    (aside,) = [p for p in normalized.posts if p.url.endswith("post-2/")]
    assert aside.title == ""
    feed = make_feed(normalized.posts)
    ctx = make_ctx()

    atom = feedparser.parse(render_atom(feed, ctx))
    assert atom.bozo == 0
    (entry,) = [e for e in atom.entries if e.link == aside.url]
    assert entry.title == aside.url

    rss_bytes = render_rss(feed, ctx)
    etree.fromstring(rss_bytes)
    rss = feedparser.parse(rss_bytes)
    assert rss.bozo == 0
    (item,) = [e for e in rss.entries if e.link == aside.url]
    assert "title" not in item
    assert item.summary.startswith("Back from the rally")

    document = json.loads(render_json(feed, ctx))
    validate_jsonfeed(document)
    (json_item,) = [i for i in document["items"] if i["url"] == aside.url]
    assert "title" not in json_item
    titled = [i for i in document["items"] if i["url"] != aside.url]
    assert [i["title"] for i in titled] == ["Post 1"]
