"""RSS renderer: RSS 2.0 channel and items, as the W3C validator wants them."""

from __future__ import annotations

from dataclasses import replace
from email.utils import parsedate_to_datetime

import feedparser
from factories import aggregated, make_ctx, make_feed, make_post, sample_feed, sample_posts
from lxml import etree

from feedsvc.model import Author, FeedKind, Image
from feedsvc.render import render_rss

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
    "fh": "http://purl.org/syndication/history/1.0",
}


def channel(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    return root.find("channel")


def test_channel_metadata() -> None:
    feed = sample_feed()
    ch = channel(render_rss(feed, make_ctx()))
    assert ch.findtext("title") == feed.title
    assert ch.findtext("link") == feed.html_url
    assert ch.findtext("description") == feed.description
    self_link = ch.find("atom:link[@rel='self']", NS)
    assert self_link.get("href") == "https://feeds.example.org/feed.rss"
    assert self_link.get("type") == "application/rss+xml"
    assert ch.findtext("lastBuildDate") == "Tue, 03 May 2022 16:00:00 +0000"
    assert ch.findtext("pubDate") == "Tue, 03 May 2022 16:00:00 +0000"
    assert ch.findtext("generator").startswith("feedsvc ")
    assert ch.findtext("docs") == "https://www.rssboard.org/rss-specification"
    assert ch.find("language") is None  # a mixed-language feed
    assert ch.findtext("image/url") == "https://example.org/icon.png"
    assert ch.findtext("image/link") == feed.html_url


def test_description_never_empty_and_language_when_known() -> None:
    feed = make_feed([sample_posts()[1]], description="", lang="es", path="lang/es")
    ch = channel(render_rss(feed, make_ctx()))
    assert ch.findtext("description") == feed.title
    assert ch.findtext("language") == "es"


def test_items_in_feed_order_with_rfc822_dates() -> None:
    posts = [make_post(n) for n in (9, 5, 1)]
    items = channel(render_rss(make_feed(posts), make_ctx())).findall("item")
    assert [i.findtext("link") for i in items] == [p.url for p in posts]
    for item, post in zip(items, posts, strict=True):
        assert parsedate_to_datetime(item.findtext("pubDate")) == post.published


def test_guid_is_permalink_only_when_id_is_the_url() -> None:
    tag_id = make_post(1)
    url_id = make_post(2, id="https://example.org/en/blog/post-2/")
    items = channel(render_rss(make_feed([tag_id, url_id]), make_ctx())).findall("item")
    assert items[0].find("guid").get("isPermaLink") == "false"
    assert items[0].findtext("guid") == tag_id.id
    assert items[1].find("guid").get("isPermaLink") == "true"


def test_description_is_summary_and_content_encoded_is_full_html() -> None:
    item = channel(render_rss(sample_feed(), make_ctx())).find("item")
    assert item.findtext("description").startswith("How survivor leaders")
    assert item.findtext("content:encoded", namespaces=NS).startswith("<p>Survivor leaders")


def test_summary_mode_has_no_content_encoded() -> None:
    post = make_post(summary="")
    ch = channel(render_rss(make_feed([*sample_posts(), post]), make_ctx(content="summary")))
    for item in ch.findall("item"):
        assert item.find("content:encoded", NS) is None
        assert item.findtext("description")


def test_author_needs_an_email_else_dc_creator_never_both() -> None:
    one_with_email = make_post(1, authors=(Author("Sam Lee", email="sam@example.org"),))
    one_without = make_post(2, authors=(Author("Ana Ruiz"),))
    two = sample_posts()[2]  # Sam Lee (email) and Kim Park
    items = channel(render_rss(make_feed([one_with_email, one_without, two]), make_ctx())).findall(
        "item"
    )
    assert items[0].findtext("author") == "sam@example.org (Sam Lee)"
    assert items[0].find("dc:creator", NS) is None
    assert items[1].find("author") is None
    assert [c.text for c in items[1].findall("dc:creator", NS)] == ["Ana Ruiz"]
    assert items[2].find("author") is None
    assert [c.text for c in items[2].findall("dc:creator", NS)] == ["Sam Lee", "Kim Park"]


def test_categories_use_labels_with_the_category_scheme() -> None:
    item = channel(render_rss(sample_feed(), make_ctx())).find("item")
    cats = [(c.text, c.get("domain")) for c in item.findall("category")]
    assert cats == [
        ("Centering Survivors", "https://feeds.example.org/category/"),
        ("Labor Trafficking", "https://feeds.example.org/category/"),
    ]


def test_enclosure_only_when_the_image_size_is_known() -> None:
    known, unknown, none = channel(render_rss(sample_feed(), make_ctx())).findall("item")
    assert dict(known.find("enclosure").attrib) == {
        "url": "https://example.org/img/lead.jpg",
        "length": "48213",
        "type": "image/jpeg",
    }
    assert unknown.find("enclosure") is None
    assert none.find("enclosure") is None
    assert known.find("media:content", NS).get("fileSize") == "48213"
    assert unknown.find("media:content", NS).get("url") == "https://example.org/img/lead-es.png"
    assert none.find("media:content", NS) is None


def test_enclosure_needs_a_type_too() -> None:
    post = make_post(image=Image(url="https://example.org/img/photo", length=10))
    item = channel(render_rss(make_feed([post]), make_ctx())).find("item")
    assert item.find("enclosure") is None
    assert item.find("media:content", NS).get("type") is None


def test_translations_are_atom_links_and_item_language_is_stated() -> None:
    english, spanish, _ = channel(render_rss(sample_feed(), make_ctx())).findall("item")
    link = english.find("atom:link", NS)
    assert link.get("rel") == "alternate"
    assert link.get("hreflang") == "es"
    assert link.get("href") == "https://example.org/es/blog/sobrevivientes-lideran/"
    assert english.findtext("dc:language", namespaces=NS) == "en"
    assert spanish.findtext("dc:language", namespaces=NS) == "es"


def test_feedparser_keeps_the_post_link_not_the_translation() -> None:
    parsed = feedparser.parse(render_rss(sample_feed(), make_ctx()))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert [e.link for e in parsed.entries] == [p.url for p in sample_posts()]
    assert [e.id for e in parsed.entries] == [p.id for p in sample_posts()]


def test_aggregated_item_names_its_source() -> None:
    item = channel(render_rss(make_feed([aggregated(make_post())]), make_ctx())).find("item")
    source = item.find("source")
    assert source.get("url") == "https://partner.example.net/feed.xml"
    assert source.text == "Partner One News"


def test_archive_feed_markup() -> None:
    feed = make_feed(
        sample_posts(),
        kind=FeedKind.ARCHIVE,
        path="archive/2022/05",
        archive=True,
        current="feed",
        prev_archive="archive/2022/04",
    )
    ch = channel(render_rss(feed, make_ctx()))
    assert ch.find("fh:archive", NS) is not None
    rels = {ln.get("rel"): ln.get("href") for ln in ch.findall("atom:link", NS)}
    assert rels == {
        "self": "https://feeds.example.org/archive/2022/05.rss",
        "current": "https://feeds.example.org/feed.rss",
        "prev-archive": "https://feeds.example.org/archive/2022/04.rss",
    }


def test_managing_editor_only_with_an_email() -> None:
    from factories import make_site

    ctx = make_ctx(site=make_site(author_email="editor@example.org"))
    ch = channel(render_rss(make_feed([make_post()]), ctx))
    assert ch.findtext("managingEditor") == "editor@example.org (Freedom Network)"
    assert channel(render_rss(make_feed([make_post()]), make_ctx())).find("managingEditor") is None


def test_dates_print_in_utc_whatever_the_input_offset() -> None:
    from datetime import timedelta, timezone

    est = timezone(timedelta(hours=-5))
    post = make_post(1)
    local = replace(post, published=post.published.astimezone(est))
    item = channel(render_rss(make_feed([local]), make_ctx())).find("item")
    assert item.findtext("pubDate") == "Sun, 01 May 2022 14:30:00 +0000"
