"""The embed fragment (docs/urls.md), rendered from real JSON Feed output of fixed posts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from factories import make_ctx, make_feed, make_post, make_site, sample_feed, sample_posts

from feedsvc.model import Feed, Image
from feedsvc.render import render_json
from feedsvc.render.embed import (
    DEFAULT_LIMIT,
    EMBED_ASSETS,
    default_fragments,
    embed_asset,
    embed_path,
    human_date,
    newest_items,
    render_embed,
    render_feed_embed,
    web_url,
)
from feedsvc.store import Caching, make_resource


def json_doc(feed: Feed, **ctx: Any) -> dict[str, Any]:
    return json.loads(render_json(feed, make_ctx(**ctx)))


def fragment(feed: Feed, limit: int = 5, **ctx: Any) -> lxml.html.HtmlElement:
    body = render_embed(json_doc(feed, **ctx), limit)
    return lxml.html.fragment_fromstring(body.decode("utf-8"))


def test_markup_of_spec_6_1() -> None:
    section = fragment(sample_feed())
    assert section.tag == "section"
    assert section.get("class") == "feedsvc-embed"
    assert section.get("lang") == "en"  # mixed-language feed: the site's language
    heading = section[0]
    assert heading.tag == "h2"
    assert heading.find("a").get("href") == "https://example.org/blog/"
    assert heading.text_content() == "Freedom Network Blog"
    articles = section.findall("article")
    assert [a.get("lang") for a in articles] == ["en", "es", "en"]
    first = articles[0]
    assert [child.tag for child in first] == ["h3", "time", "p", "img"]
    link = first.find("h3/a")
    assert link.get("href") == "https://example.org/en/blog/survivors-lead/"
    assert link.text_content() == "Survivors lead the way & <others> follow"
    assert first.find("time").get("datetime") == "2022-05-03T14:30:00+00:00"
    assert first.find("p").text_content().startswith("How survivor leaders")
    image = first.find("img")
    assert dict(image.attrib) == {
        "src": "https://example.org/img/lead.jpg",
        "loading": "lazy",
        "decoding": "async",
        "width": "1200",
        "height": "630",
        "alt": "Survivor leaders at a meeting",
    }


def test_image_without_alt_or_size_is_decorative() -> None:
    spanish = fragment(sample_feed()).findall("article")[1]
    image = spanish.find("img")
    assert image.get("alt") == ""
    assert image.get("width") is None and image.get("height") is None
    older = fragment(sample_feed()).findall("article")[2]
    assert older.find("img") is None


def test_spanish_items_get_spanish_month_names() -> None:
    spanish = fragment(sample_feed()).findall("article")[1]
    # Published 2022-05-02T14:30Z, shown in the site's time zone (America/New_York).
    assert spanish.find("time").text == "2 de mayo de 2022"
    english = fragment(sample_feed()).findall("article")[0]
    assert english.find("time").text == "May 3, 2022"


def test_date_is_the_day_in_the_sites_time_zone() -> None:
    late = make_post(1, published=datetime(2022, 5, 2, 2, 0, tzinfo=UTC))  # May 1, 22:00 EDT
    assert fragment(make_feed([late])).find("article/time").text == "May 1, 2022"
    tokyo = make_site(timezone=ZoneInfo("Asia/Tokyo"))
    assert fragment(make_feed([late]), site=tokyo).find("article/time").text == "May 2, 2022"


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "June 9, 2017"),
        ("es", "9 de junio de 2017"),
        ("pt-BR", "9 de junho de 2017"),
        ("es-419", "9 de junio de 2017"),
        ("fr", "9 juin 2017"),
        ("x-unknown", "June 9, 2017"),  # not in CLDR: English, as embed.js falls back to
        ("zz", "June 9, 2017"),
    ],
)
def test_human_date(lang: str, words: str) -> None:
    moment = datetime(2017, 6, 9, 15, 0, tzinfo=UTC)
    assert human_date(moment, lang, "America/New_York") == words


def test_summary_is_the_json_feeds_plain_text() -> None:
    doc = json_doc(sample_feed())
    section = lxml.html.fragment_fromstring(render_embed(doc, 5).decode())
    shown = [a.find("p").text_content() for a in section.findall("article")]
    assert shown == [item["summary"] for item in doc["items"]]


def test_summary_mode_keeps_summaries() -> None:
    doc = json_doc(sample_feed(), content="summary")
    assert all(item["summary"] for item in doc["items"])
    section = lxml.html.fragment_fromstring(render_embed(doc, 5).decode())
    assert [a.find("p").text for a in section.findall("article")] == [
        item["summary"] for item in doc["items"]
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_limit_takes_the_newest(limit: int) -> None:
    posts = [make_post(n) for n in range(28, 0, -1)]
    titles = [
        a.find("h3").text_content() for a in fragment(make_feed(posts), limit).iter("article")
    ]
    assert titles == [p.title for p in posts[:limit]]


@pytest.mark.parametrize("limit", [0, 1, 2, 27, 28, 50])
def test_fragment_of_the_bytes_decodes_only_the_items_it_shows(limit: int) -> None:
    # Titles, summaries and bodies that hold what the partial decode looks for.
    posts = [
        make_post(n, title='"items":[ ]}', summary='{"items":[1]}', content_html="<p>]</p>")
        for n in range(28, 0, -1)
    ]
    feed = make_feed(posts, title='Feed "items":[', description='"items":[{"a":1}]}')
    body = render_json(feed, make_ctx())
    whole = json.loads(body)
    partial = newest_items(body, limit)
    assert partial == {**whole, "items": whole["items"][:limit]}
    assert render_feed_embed(body, limit) == render_embed(whole, limit)


def test_other_layouts_are_decoded_whole() -> None:
    # Spaced (json.dumps's default separators) or without items: not render_json's layout.
    spaced = json.dumps(json_doc(sample_feed())).encode()
    no_items = b'{"version":"https://jsonfeed.org/version/1.1","title":"Feed"}'
    for body in (spaced, no_items):
        assert newest_items(body, 1) == json.loads(body)
    assert len(newest_items(spaced, 1)["items"]) == 3


def test_text_is_never_markup() -> None:
    hostile = make_post(
        1,
        title='<img src=x onerror="alert(1)"><script>alert(2)</script>',
        summary="<script>alert(3)</script> & <b>bold</b>",
        image=Image(url="https://example.org/a.png", alt='"><script>alert(4)</script>'),
    )
    body = render_embed(json_doc(make_feed([hostile])), 5).decode()
    assert "<script" not in body and "<img src=x" not in body and "<b>" not in body
    section = lxml.html.fragment_fromstring(body)
    assert section.find("article/h3").text_content() == hostile.title
    assert section.find("article/p").text_content() == hostile.summary
    assert section.find("article/img").get("alt") == hostile.image.alt


def test_no_links_but_web_links() -> None:
    doc = json_doc(sample_feed())
    doc["home_page_url"] = "javascript:alert(1)"
    doc["items"][0]["url"] = "javascript:alert(2)"
    doc["items"][1]["image"] = "data:image/png;base64,AAAA"
    section = lxml.html.fragment_fromstring(render_embed(doc, 5).decode())
    assert section.find("h2/a") is None and section.find("h2").text == doc["title"]
    assert section.findall("article")[0].find("h3/a") is None
    assert section.findall("article")[1].find("img") is None
    assert "javascript:" not in lxml.html.tostring(section).decode()


def test_web_url() -> None:
    base = "https://feeds.example.org/category/x.json"
    assert web_url("/a", base) == "https://feeds.example.org/a"
    assert web_url("http://b.example/", base) == "http://b.example/"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:,x", "", None, 3):
        assert web_url(bad, base) is None


def test_no_script_or_style() -> None:
    body = render_embed(json_doc(sample_feed()), 50).decode()
    tree = lxml.html.fragment_fromstring(body)
    assert not tree.xpath("//script|//style|//@style|//@*[starts-with(name(), 'on')]")


def test_deterministic_and_language_feed_has_its_language() -> None:
    spanish = sample_posts()[1]
    feed = make_feed([spanish], path="lang/es", lang="es", title="Blog en español")
    first = render_embed(json_doc(feed), 5)
    assert first == render_embed(json_doc(feed), 5)
    assert lxml.html.fragment_fromstring(first.decode()).get("lang") == "es"


def test_empty_feed_has_its_heading() -> None:
    section = fragment(make_feed([]))
    assert section.find("h2").text_content() == "Freedom Network Blog"
    assert section.findall("article") == []


def test_embed_path() -> None:
    assert embed_path("category/helpline") == "/embed/category/helpline.html"
    assert embed_path("feed") == "/embed/feed.html"


def test_default_fragments_of_every_json_feed() -> None:
    feed = sample_feed()
    spanish = make_feed([sample_posts()[1]], path="lang/es", lang="es")
    resources = {
        f"/{f.path}{suffix}": make_resource(body, content_type, f.updated, Caching(60), cors=True)
        for f in (feed, spanish)
        for suffix, body, content_type in (
            (".json", render_json(f, make_ctx()), "application/feed+json; charset=utf-8"),
            (".atom", b"<feed/>", "application/atom+xml; charset=utf-8"),
        )
    }
    fragments = default_fragments(resources)
    assert sorted(fragments) == ["/embed/feed.html", "/embed/lang/es.html"]
    made = fragments["/embed/feed.html"]
    assert made.identity.body == render_embed(json_doc(feed), DEFAULT_LIMIT)
    assert made.content_type == "text/html; charset=utf-8"
    assert (made.last_modified, made.caching, made.cors) == (feed.updated, Caching(60), True)


def test_assets_ship_with_the_package() -> None:
    for _path, _type, name in EMBED_ASSETS:
        assert embed_asset(name)


def test_locales_loaded_ahead_need_no_more_reading(monkeypatch):
    """What load_locales read stays in memory, so workers forked after it read nothing."""
    from babel import localedata

    from feedsvc.render import embed

    embed._locale.cache_clear()
    monkeypatch.delitem(localedata._cache, "fi", raising=False)  # babel's store of what it read
    embed.load_locales(["fi", "zz-not-a-language"])  # an unknown one falls back, never fails

    def no_reading(name: str, merge_inherited: bool = True) -> object:
        raise AssertionError(f"locale data read again: {name}")

    monkeypatch.setattr(localedata, "load", no_reading)
    assert embed.human_date(datetime(2026, 3, 5, tzinfo=UTC), "fi", "UTC") == "5. maaliskuuta 2026"
