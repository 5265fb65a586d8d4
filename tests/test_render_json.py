"""JSON Feed renderer: JSON Feed 1.1, its schema, key order and extensions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from factories import aggregated, make_ctx, make_feed, make_post, sample_feed, sample_posts
from schemas import JSONFEED_SCHEMA

from feedsvc.model import Feed
from feedsvc.render import FragmentCache, render_json
from feedsvc.render.jsonfeed import _dumps


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(JSONFEED_SCHEMA)


def check(doc: dict[str, Any], validator: jsonschema.Draft7Validator) -> None:
    """The schema, plus the "format" keywords jsonschema cannot check without extras."""
    validator.validate(doc)
    urls = [doc["home_page_url"], doc["feed_url"], doc.get("icon"), doc.get("favicon")]
    for item in doc["items"]:
        urls += [item.get("url"), item.get("image")]
        for key in ("date_published", "date_modified"):
            assert item[key].endswith("+00:00")
            assert datetime.fromisoformat(item[key]).utcoffset() is not None
    for url in filter(None, urls):
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.netloc, url


def render(feed: Feed, **ctx: Any) -> dict[str, Any]:
    data = render_json(feed, make_ctx(**ctx))
    return json.loads(data.decode("utf-8"))


def test_valid_against_the_json_feed_schema(validator: jsonschema.Draft7Validator) -> None:
    posts = sample_posts()
    posts[2] = aggregated(posts[2])
    for feed in (make_feed(posts), make_feed([]), make_feed(posts, lang="en")):
        check(render(feed), validator)
        check(render(feed, content="summary"), validator)


def test_keys_in_a_fixed_order_version_first() -> None:
    doc = render(make_feed(sample_posts(), lang="en"))
    assert list(doc) == [
        "version",
        "title",
        "home_page_url",
        "feed_url",
        "description",
        "icon",
        "favicon",
        "language",
        "authors",
        "_site",
        "items",
    ]
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert list(doc["items"][0]) == [
        "id",
        "url",
        "title",
        "content_html",
        "summary",
        "image",
        "_image",
        "date_published",
        "date_modified",
        "authors",
        "language",
        "tags",
        "_translations",
    ]


def test_items() -> None:
    doc = render(sample_feed())
    assert doc["feed_url"] == "https://feeds.example.org/feed.json"
    assert "language" not in doc  # mixed-language feed
    first = doc["items"][0]
    post = sample_posts()[0]
    assert first["id"] == post.id
    assert first["url"] == post.url
    assert first["content_html"] == post.content_html
    assert first["summary"] == post.summary
    assert first["image"] == "https://example.org/img/lead.jpg"
    assert first["date_published"] == "2022-05-03T14:30:00+00:00"
    assert first["date_modified"] == "2022-05-03T16:00:00+00:00"
    assert first["authors"] == [{"name": "Ana Ruiz", "url": "https://example.org/people/ana/"}]
    assert first["language"] == "en"
    assert first["tags"] == ["Centering Survivors", "Labor Trafficking"]
    assert first["_translations"] == {
        "es": {
            "url": "https://example.org/es/blog/sobrevivientes-lideran/",
            "title": "Las sobrevivientes lideran el camino",
        }
    }
    # Author emails stay out: JSON Feed has no place for them.
    assert doc["items"][2]["authors"] == [{"name": "Sam Lee"}, {"name": "Kim Park"}]


def test_summary_mode_uses_content_text() -> None:
    doc = render(sample_feed(), content="summary")
    for item, post in zip(doc["items"], sample_posts(), strict=True):
        assert "content_html" not in item
        assert item["content_text"] == post.summary


def test_source_extension_for_aggregated_items() -> None:
    doc = render(make_feed([aggregated(make_post())]))
    assert doc["items"][0]["_source"] == {
        "name": "partner-one",
        "title": "Partner One News",
        "feed_url": "https://partner.example.net/feed.xml",
        "home_page_url": "https://partner.example.net/",
    }


def test_utf8_without_escapes_and_same_as_one_json_dumps() -> None:
    feed = sample_feed()
    data = render_json(feed, make_ctx())
    assert "Cómo".encode() in data
    assert b"\\u00f3" not in data
    # Items are serialized one by one and joined; the result is what json.dumps of
    # the whole document gives.
    whole = json.dumps(json.loads(data), ensure_ascii=False, separators=(",", ":"))
    assert data == whole.encode("utf-8")


def test_every_code_point_written_as_json_dumps_writes_it() -> None:
    # Items are encoded with msgspec; the bytes must stay those of the standard library's
    # compact, non-ASCII-escaping json.dumps for any text: controls, quotes, backslashes,
    # U+2028/2029, astral characters.
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    value = {"id": text, "n": [0, 1200, -3], "x": {"b": True, "f": False, "z": None}, "e": ""}
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert _dumps(value) == expected
    # A lone surrogate has no UTF-8: the same error as before, which render_scrubbed handles.
    with pytest.raises(UnicodeEncodeError):
        _dumps({"title": "a\ud800b"})


def test_a_lone_surrogate_is_scrubbed_not_fatal() -> None:
    data = render_json(make_feed([make_post(1, title="broken \udc00 title")]), make_ctx())
    assert json.loads(data)["items"][0]["title"] == "broken  title"


def test_cached_items_give_the_same_bytes() -> None:
    ctx = make_ctx()
    cache = FragmentCache(ctx)
    feed = sample_feed()
    assert render_json(feed, ctx, cache=cache) == render_json(feed, ctx)
    assert render_json(feed, ctx, cache=cache) == render_json(feed, ctx)
