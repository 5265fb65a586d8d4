"""The OPML subscription list and the HTML index page."""

from __future__ import annotations

from factories import make_ctx, make_feed, make_post, sample_feed
from lxml import etree, html

from feedsvc.model import Feed, FeedKind
from feedsvc.render.html import render_index
from feedsvc.render.opml import render_opml


def feeds() -> list[Feed]:
    post = make_post()
    return [
        make_feed([post], kind=FeedKind.ARCHIVE, path="archive/2022/04", title="April"),
        make_feed([post], kind=FeedKind.ARCHIVE, path="archive/2022/05", title="May"),
        make_feed([post], kind=FeedKind.CATEGORY, path="category/zeta", title="zeta"),
        make_feed([post], kind=FeedKind.CATEGORY, path="category/alpha", title="Alpha"),
        make_feed([post], kind=FeedKind.LANGUAGE, path="lang/es", title="Español", lang="es"),
        make_feed(
            [post],
            kind=FeedKind.LANGUAGE_CATEGORY,
            path="lang/es/category/alpha",
            title="Alpha (es)",
            lang="es",
        ),
        sample_feed(title="Site & <friends>"),
    ]


def test_opml_groups_feeds_as_folders() -> None:
    root = etree.fromstring(render_opml(feeds(), make_ctx()))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Freedom Network Blog: feeds"
    assert root.findtext("head/dateModified") == "Tue, 03 May 2022 16:00:00 +0000"
    groups = root.findall("body/outline")
    assert [g.get("text") for g in groups] == [
        "Whole site",
        "By language",
        "By category",
        "By language and category",
        "Monthly archives",
    ]
    by_group = {g.get("text"): [o.get("text") for o in g] for g in groups}
    assert by_group["By category"] == ["Alpha", "zeta"]
    assert by_group["Monthly archives"] == ["May", "April"]
    site = groups[0][0]
    assert site.get("type") == "rss"
    assert site.get("title") == "Site & <friends>"
    assert site.get("xmlUrl") == "https://feeds.example.org/feed.atom"
    assert site.get("htmlUrl") == "https://example.org/blog/"
    assert groups[1][0].get("language") == "es"


def test_opml_subscribes_to_the_best_published_format() -> None:
    root = etree.fromstring(render_opml(feeds(), make_ctx(formats=("json", "rss"))))
    assert root.find("body/outline/outline").get("xmlUrl") == "https://feeds.example.org/feed.rss"


def test_opml_of_no_feeds() -> None:
    root = etree.fromstring(render_opml([], make_ctx()))
    assert root.find("head/dateModified") is None
    assert len(root.find("body")) == 0


def test_index_has_one_autodiscovery_link_per_feed_and_format() -> None:
    page = html.document_fromstring(render_index(feeds(), make_ctx()))
    alternates = page.findall(".//head/link[@rel='alternate']")
    assert len(alternates) == len(feeds()) * 3
    # The site feed first: readers that take one autodiscovered feed take the first.
    first = alternates[0]
    assert first.get("type") == "application/atom+xml"
    assert first.get("href") == "https://feeds.example.org/feed.atom"
    assert first.get("title") == "Site & <friends> (Atom)"
    types = {link.get("type") for link in alternates}
    assert types == {"application/atom+xml", "application/rss+xml", "application/feed+json"}
    outline = page.find(".//head/link[@rel='outline']")
    assert outline.get("href") == "https://feeds.example.org/feeds.opml"


def test_index_lists_feeds_by_group_with_format_links() -> None:
    data = render_index(feeds(), make_ctx())
    assert data.startswith(b'<!DOCTYPE html>\n<html lang="en">')
    page = html.document_fromstring(data)
    assert [h.text for h in page.iter("h2")] == [
        "Whole site",
        "By language",
        "By category",
        "By language and category",
        "Monthly archives",
    ]
    hrefs = {a.get("href") for a in page.iter("a")}
    assert "https://feeds.example.org/feeds.opml" in hrefs
    assert "https://feeds.example.org/status" in hrefs
    for fmt in ("atom", "rss", "json"):
        assert f"https://feeds.example.org/category/alpha.{fmt}" in hrefs
    assert b"Site &amp; &lt;friends&gt;" in data


def test_index_shows_only_published_formats() -> None:
    page = html.document_fromstring(render_index(feeds(), make_ctx(formats=("rss",))))
    alternates = page.findall(".//head/link[@rel='alternate']")
    assert {link.get("type") for link in alternates} == {"application/rss+xml"}
