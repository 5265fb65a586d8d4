"""WebSub discovery as the remote readers see it (W3C WebSub §4): Link headers (RFC 8288)
and the hubs and self link named inside Atom, RSS and JSON Feed documents."""

from __future__ import annotations

import json

import pytest

from feedsvc.remote.links import link_targets
from feedsvc.remote.parse import parse_feed

BASE = "https://partner.example/feed"


@pytest.mark.parametrize(
    ("header", "rel", "expected"),
    [
        ('<https://hub.example/>; rel="hub"', "hub", ("https://hub.example/",)),
        ("<https://hub.example/>; rel=hub", "hub", ("https://hub.example/",)),
        ('</feed.atom>; rel="self"', "self", ("https://partner.example/feed.atom",)),
        ('<https://a.example/>; rel="hub self"', "self", ("https://a.example/",)),
        ('<https://a.example/x,y>; title="a, b"; rel="hub"', "hub", ("https://a.example/x,y",)),
        (
            '<https://a.example/>; rel="hub", <https://b.example/>; REL="HUB"',
            "hub",
            ("https://a.example/", "https://b.example/"),
        ),
        (
            '<https://a.example/>; rel="hub", <https://a.example/>; rel="hub"',
            "hub",
            ("https://a.example/",),
        ),
        ('<javascript:alert(1)>; rel="hub"', "hub", ()),
        ('<https://a.example/>; rel="alternate"', "hub", ()),
        ("", "hub", ()),
        (None, "hub", ()),
        ("garbage without brackets", "hub", ()),
    ],
)
def test_link_targets(header, rel, expected):
    assert link_targets(header, rel, BASE) == expected


RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>P</title><link>https://partner.example/</link><description>d</description>
<atom:link rel="hub" href="https://hub.example/"/>
<atom:link rel="hub" href="javascript:x"/>
<atom:link rel="self" href="https://partner.example/feed.rss" type="application/rss+xml"/>
<item><title>T</title><link>https://partner.example/1</link></item>
</channel></rss>"""


def test_rss_names_its_hubs():
    parsed = parse_feed(RSS, BASE, {"content-type": "application/rss+xml"})
    assert parsed.hubs == ("https://hub.example/",)
    assert parsed.self_url == "https://partner.example/feed.rss"


def test_json_feed_names_its_hubs():
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "P",
        "feed_url": "https://partner.example/feed.json",
        "hubs": [
            {"type": "rssCloud", "url": "https://cloud.example/"},
            {"type": "WebSub", "url": "https://hub.example/"},
            "not an object",
        ],
        "items": [{"id": "1", "content_text": "x"}],
    }
    parsed = parse_feed(json.dumps(doc).encode(), BASE, {"content-type": "application/feed+json"})
    assert parsed.hubs == ("https://hub.example/",)
    assert parsed.self_url == "https://partner.example/feed.json"


def test_a_feed_without_hubs():
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "P", "items": []}
    parsed = parse_feed(json.dumps(doc).encode(), BASE, {"content-type": "application/feed+json"})
    assert (parsed.hubs, parsed.self_url) == ((), None)
