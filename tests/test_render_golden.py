"""Golden files: fixed posts in, the exact bytes of every format out.

A change in any renderer shows up here as a diff to review. To accept new output on
purpose, regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_render_golden.py`` (every
case then fails, having rewritten its file), read the diff, and run again without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from factories import aggregated, make_ctx, make_feed, sample_feed, sample_posts
from lxml import etree

from feedsvc.model import Feed, FeedKind
from feedsvc.render import RenderContext, render_atom, render_json, render_rss
from feedsvc.render.html import render_index
from feedsvc.render.opml import render_opml

GOLDEN = Path(__file__).parent / "data" / "golden"


def archive_feed() -> Feed:
    """A month's archive in summary mode, with one aggregated post."""
    posts = sample_posts()
    posts[2] = aggregated(posts[2])
    return make_feed(
        posts,
        kind=FeedKind.ARCHIVE,
        path="archive/2022/05",
        title="Freedom Network Blog: May 2022",
        archive=True,
        current="feed",
        prev_archive="archive/2022/04",
        next_archive="archive/2022/06",
    )


def language_feed() -> Feed:
    spanish = sample_posts()[1]
    return make_feed(
        [spanish], kind=FeedKind.LANGUAGE, path="lang/es", lang="es", title="Blog en español"
    )


def feed_list() -> list[Feed]:
    return [archive_feed(), language_feed(), sample_feed()]


Render = Callable[[RenderContext], bytes]

CASES: dict[str, Render] = {
    "site.atom": lambda ctx: render_atom(sample_feed(prev_archive="archive/2022/05"), ctx),
    "site.rss": lambda ctx: render_rss(sample_feed(prev_archive="archive/2022/05"), ctx),
    "site.json": lambda ctx: render_json(sample_feed(prev_archive="archive/2022/05"), ctx),
    "lang-es.atom": lambda ctx: render_atom(language_feed(), ctx),
    "lang-es.rss": lambda ctx: render_rss(language_feed(), ctx),
    "lang-es.json": lambda ctx: render_json(language_feed(), ctx),
    "archive-summary.atom": lambda ctx: render_atom(archive_feed(), make_ctx(content="summary")),
    "archive-summary.rss": lambda ctx: render_rss(archive_feed(), make_ctx(content="summary")),
    "archive-summary.json": lambda ctx: render_json(archive_feed(), make_ctx(content="summary")),
    "feeds.opml": lambda ctx: render_opml(feed_list(), ctx),
    "index.html": lambda ctx: render_index(feed_list(), ctx),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_matches_golden_file(name: str) -> None:
    actual = CASES[name](make_ctx())
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(actual)
        # A rewritten file compared with itself proves nothing: this run never passes.
        pytest.fail(f"rewrote {path}; read the diff, then run again without UPDATE_GOLDEN")
    assert path.exists(), f"missing {path}; run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes()
    # Compare as text first so a failure shows a readable diff, then as bytes.
    assert actual.decode("utf-8") == expected.decode("utf-8")
    assert actual == expected


@pytest.mark.parametrize("name", sorted(n for n in CASES if n.endswith((".atom", ".rss"))))
def test_golden_feeds_parse_cleanly(name: str) -> None:
    data = CASES[name](make_ctx())
    etree.fromstring(data)
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if name.endswith(".atom") else "rss20")
    # Each entry links to its own post, never to a translation.
    posts = {p.id: p.url for p in sample_posts()}
    assert all(e.link == posts[e.id] for e in parsed.entries)
