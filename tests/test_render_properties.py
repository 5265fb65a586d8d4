"""Properties every renderer keeps: determinism, pinned dates, well-formed output for
any text, and feeds that parse (lxml, feedparser without bozo, the JSON schema)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from factories import aggregated, make_ctx, make_feed, make_post, make_site, sample_feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedsvc.config import FORMATS
from feedsvc.model import Author, Category, Feed, Image, Translation
from feedsvc.render import RENDERERS, FragmentCache, RenderContext
from feedsvc.render.html import render_index
from feedsvc.render.opml import render_opml

TESTS = Path(__file__).parent


def test_one_renderer_per_configurable_format() -> None:
    assert set(RENDERERS) == set(FORMATS)


# --- Determinism ------------------------------------------------------------------------

_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {tests!r})
from factories import make_ctx, sample_feed
from feedsvc.render import RENDERERS
for fmt, render in sorted(RENDERERS.items()):
    print(fmt, hashlib.sha256(render(sample_feed(), make_ctx())).hexdigest())
"""


def _digests_in_process() -> str:
    import hashlib

    lines = [
        f"{fmt} {hashlib.sha256(render(sample_feed(), make_ctx())).hexdigest()}"
        for fmt, render in sorted(RENDERERS.items())
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONHASHSEED": "1", "TZ": "UTC"},
        {"PYTHONHASHSEED": "4242", "TZ": "Pacific/Kiritimati", "LC_ALL": "C.UTF-8"},
    ],
)
def test_same_bytes_in_another_process(env: dict[str, str]) -> None:
    script = _SCRIPT.format(tests=str(TESTS))
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=TESTS.parent,
    )
    assert result.stdout == _digests_in_process()


class _AnyDatetime(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, datetime)


def _clock_at(moment: datetime) -> type:
    class FrozenDatetime(datetime, metaclass=_AnyDatetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return moment if tz is None else moment.astimezone(tz)

    return FrozenDatetime


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_dates_are_pinned_whatever_the_clock_says(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """feedgen stamps "now" into feeds and entries unless told otherwise; nothing of
    the clock may reach the output."""
    feed = sample_feed(archive=True, current="feed")
    outputs = []
    for year in (2031, 2047):
        clock = _clock_at(datetime(year, 7, 4, 12, 0, tzinfo=UTC))
        monkeypatch.setattr("feedgen.feed.datetime", clock)
        monkeypatch.setattr("feedgen.entry.datetime", clock)
        data = RENDERERS[fmt](feed, make_ctx())
        assert str(year).encode() not in data
        outputs.append(data)
    monkeypatch.undo()
    outputs.append(RENDERERS[fmt](feed, make_ctx()))
    assert outputs[0] == outputs[1] == outputs[2]
    now = datetime.now(UTC)
    assert now.strftime("%Y-%m-%dT%H").encode() not in outputs[2]
    assert now.strftime("%d %b %Y %H").encode() not in outputs[2]


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_fragment_cache_gives_the_same_bytes(fmt: str) -> None:
    ctx = make_ctx()
    cache = FragmentCache(ctx)
    site = sample_feed()
    # Two feeds holding the same posts, as build_feeds makes them.
    feeds = [site, make_feed(list(site.posts)[1:], lang="es", path="lang/es")]
    for feed in feeds * 2:
        assert RENDERERS[fmt](feed, ctx, cache=cache) == RENDERERS[fmt](feed, ctx)
    assert len(cache) == 3
    # Posts are found by identity: equal posts that are other objects are built again,
    # into the same bytes.
    again = sample_feed()
    assert again.posts == site.posts
    assert RENDERERS[fmt](again, ctx, cache=cache) == RENDERERS[fmt](site, ctx, cache=cache)
    assert len(cache) == 6
    # A cache made for another context is not used for this one.
    summary = make_ctx(content="summary")
    assert RENDERERS[fmt](feeds[0], summary, cache=cache) == RENDERERS[fmt](feeds[0], summary)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_fragment_cache_keeps_at_most_its_size_and_the_same_bytes(fmt: str) -> None:
    ctx = make_ctx()
    cache = FragmentCache(ctx, size=2)
    posts = list(sample_feed().posts)
    assert len(posts) == 3
    feed = sample_feed()
    for _ in range(3):
        assert RENDERERS[fmt](feed, ctx, cache=cache) == RENDERERS[fmt](feed, ctx)
        assert len(cache) == 2  # the two most recently used of three
    with pytest.raises(ValueError, match="at least one"):
        FragmentCache(ctx, size=0)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_a_feed_without_posts(fmt: str) -> None:
    data = RENDERERS[fmt](make_feed([]), make_ctx())
    if fmt == "json":
        assert json.loads(data)["items"] == []
    else:
        etree.fromstring(data)
        parsed = feedparser.parse(data)
        assert not parsed.bozo and parsed.entries == []


def test_list_pages_do_not_depend_on_input_order() -> None:
    feeds = [
        sample_feed(),
        make_feed([make_post()], path="category/b", title="B", kind=sample_feed().kind),
        make_feed([make_post()], path="lang/es", title="Español", lang="es"),
    ]
    ctx = make_ctx()
    assert render_opml(feeds, ctx) == render_opml(feeds[::-1], ctx)
    assert render_index(feeds, ctx) == render_index(feeds[::-1], ctx)


# --- Any text gives well-formed output ------------------------------------------------

# What the normalizer lets through (docs/architecture.md "Normalization"): XML 1.0 characters only,
# i.e. no C0 controls but tab, newline and carriage return, no surrogates, no U+FFFE/U+FFFF.
_C0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
normalized_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=_C0 + "\ufffe\uffff"),
    max_size=40,
)
# Anything at all, for the renderers' own defence (render_scrubbed).
any_text = st.text(st.characters(), max_size=40)


def _feed_with(text: st.SearchStrategy[str]) -> st.SearchStrategy[Feed]:
    return st.builds(
        lambda t: make_feed(
            [
                make_post(
                    2,
                    title=t[0] or "x",
                    summary=t[1],
                    content_html=t[2],
                    categories=(Category(label=t[3] or "c", slug="c"),),
                    authors=(Author(t[4] or "a", email=t[5] or None, url=None),),
                    image=Image(url="https://example.org/i.png", alt=t[6]),
                    translations=(Translation("es", "https://example.org/es/", t[7]),),
                ),
                aggregated(make_post(1, title=t[8] or "y")),
            ],
            title=t[9] or "feed",
            description=t[10],
        ),
        st.tuples(*[text] * 11),
    )


def _site_with(text: st.SearchStrategy[str]) -> st.SearchStrategy[RenderContext]:
    return st.builds(
        lambda title, author: make_ctx(site=make_site(title=title or "s", author=author)),
        text,
        text,
    )


def _assert_well_formed(feed: Feed, ctx: RenderContext) -> None:
    for fmt in ("atom", "rss"):
        data = RENDERERS[fmt](feed, ctx)
        etree.fromstring(data)  # raises if not well-formed
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (fmt, parsed.get("bozo_exception"))
        assert len(parsed.entries) == len(feed.posts)
    doc = json.loads(RENDERERS["json"](feed, ctx).decode("utf-8"))
    assert len(doc["items"]) == len(feed.posts)
    etree.fromstring(render_opml([feed], ctx))
    render_index([feed], ctx).decode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feed=_feed_with(normalized_text), ctx=_site_with(normalized_text))
def test_any_normalized_text_gives_well_formed_feeds(feed: Feed, ctx: RenderContext) -> None:
    _assert_well_formed(feed, ctx)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feed=_feed_with(any_text), ctx=_site_with(any_text))
def test_text_the_normalizer_should_have_removed_still_gives_well_formed_feeds(
    feed: Feed, ctx: RenderContext
) -> None:
    _assert_well_formed(feed, ctx)


def test_forbidden_characters_are_dropped_not_escaped() -> None:
    post = make_post(title="a\x00b\x1bc\ufffed\ud800e")
    data = RENDERERS["atom"](make_feed([post]), make_ctx())
    assert b"<title>abcde</title>" in data
    assert json.loads(RENDERERS["json"](make_feed([post]), make_ctx()))["items"][0]["title"] == (
        "abcde"
    )
