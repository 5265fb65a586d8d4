"""The feed source: RSS and Atom from a local server and from files, as the site's own posts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from server_support import SEEN
from source_support import (
    by_title,
    normalize,
    static,
)

from feedsvc.config import SourceConfig
from feedsvc.configfile import parse_config
from feedsvc.errors import ConfigError, SourceError
from feedsvc.model import Severity
from feedsvc.sources import SOURCE_TYPES, read_remote_source
from feedsvc.sources.feed import read_feed

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Old blog</title>
  <link>https://old.example/</link>
  <language>es</language>
  <item>
    <title>Ni&#241;os &amp; ni&#241;as</title>
    <link>https://old.example/2018/04/ninos/</link>
    <guid isPermaLink="true">https://old.example/2018/04/ninos/</guid>
    <pubDate>Mon, 09 Apr 2018 10:00:00 -0400</pubDate>
    <category>Children and Youth</category>
    <category>Noticias</category>
    <author>ana@old.example (Ana)</author>
    <description><![CDATA[<p>Hola <a href="/mas/">más</a></p>]]></description>
    <media:content url="https://old.example/ninos.jpg" medium="image" type="image/jpeg"/>
  </item>
  <item>
    <title>Numbered</title>
    <link>https://old.example/2018/05/numbered/</link>
    <guid isPermaLink="false">42</guid>
    <pubDate>Tue, 01 May 2018 08:00:00 GMT</pubDate>
    <description>Plain</description>
  </item>
  <item>
    <title>Undated</title>
    <link>https://old.example/undated/</link>
    <description>No date at all</description>
  </item>
</channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Reports</title>
  <id>tag:reports.example,2015:feed</id>
  <updated>2019-02-01T00:00:00Z</updated>
  <author><name>Research Team</name></author>
  <link href="https://reports.example/"/>
  <entry>
    <id>tag:reports.example,2015:report-1</id>
    <title type="html">Report &amp;lt;2019&amp;gt;</title>
    <link href="https://reports.example/report-1/"/>
    <updated>2019-02-01T00:00:00Z</updated>
    <published>2019-01-15T12:00:00+01:00</published>
    <category term="Research"/>
    <summary>A short summary.</summary>
    <content type="html">&lt;p&gt;The full report.&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>tag:reports.example,2015:report-2</id>
    <title>Only updated</title>
    <link href="https://reports.example/report-2/"/>
    <updated>2019-03-01T09:30:00Z</updated>
    <content type="html">&lt;p&gt;Second.&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>tag:reports.example,2015:report-3</id>
    <title>No date</title>
    <link href="https://reports.example/report-3/"/>
  </entry>
</feed>
"""


def feed_source(**keys: Any) -> SourceConfig:
    return SourceConfig(type="feed", name="old-blog", **keys)


async def test_rss_from_a_local_server(serve, fetcher, config) -> None:
    server = await serve({"/feed": static(RSS, "application/rss+xml")})
    source = feed_source(url=str(server.make_url("/feed")), categories=("Archive",))

    result = await read_feed(source, fetcher)

    [undated] = result.problems
    assert undated.path == f"{source.url}#item-3" and undated.line == 3
    assert "no date" in undated.message
    normalized = normalize(result, config)
    assert normalized.problems == ()
    titles = by_title(normalized.posts)
    ninos, numbered = titles["Niños & niñas"], titles["Numbered"]
    assert ninos.id == "https://old.example/2018/04/ninos/"
    assert numbered.id == "tag:site.example,2020:42"
    assert ninos.published == datetime(2018, 4, 9, 14, 0, tzinfo=UTC)
    assert ninos.updated == ninos.published
    assert ninos.url == "https://old.example/2018/04/ninos/"
    assert [c.label for c in ninos.categories] == ["Children and Youth", "Noticias", "Archive"]
    assert [(a.name, a.email) for a in ninos.authors] == [("Ana", "ana@old.example")]
    assert ninos.image is not None and ninos.image.url == "https://old.example/ninos.jpg"
    assert ninos.image.mime_type == "image/jpeg"
    assert ninos.lang == "es"
    # feedparser resolved the relative link against the feed's URL.
    assert f'href="{server.make_url("/mas/")}"' in ninos.content_html


async def test_atom_from_a_file(tmp_path, fetcher, config) -> None:
    path = tmp_path / "reports.atom"
    path.write_text(ATOM, encoding="utf-8")

    result = await read_feed(feed_source(path=str(path)), fetcher)

    [undated] = result.problems
    assert undated.path.endswith("reports.atom#item-3")
    normalized = normalize(result, config)
    titles = by_title(normalized.posts)
    report, second = titles["Report <2019>"], titles["Only updated"]
    assert report.id == "tag:reports.example,2015:report-1"
    assert report.published == datetime(2019, 1, 15, 11, 0, tzinfo=UTC)
    assert report.updated == datetime(2019, 2, 1, tzinfo=UTC)
    # Without <published>, <updated> is the date.
    assert second.published == second.updated == datetime(2019, 3, 1, 9, 30, tzinfo=UTC)
    assert report.summary == "A short summary."
    assert report.content_html == "<p>The full report.</p>"
    assert [a.name for a in report.authors] == ["Research Team"]
    assert report.lang == "en"


async def test_a_json_feed_file_is_a_feed_too(tmp_path, fetcher) -> None:
    path = tmp_path / "feed.json"
    path.write_text(
        '{"version": "https://jsonfeed.org/version/1", "title": "J", "items": '
        '[{"id": "urn:uuid:1", "title": "One", "content_text": "x", '
        '"date_published": "2020-01-01T00:00:00Z"}]}',
        encoding="utf-8",
    )
    result = await read_feed(feed_source(path=str(path)), fetcher)
    assert [p.meta["id"] for p in result.posts] == ["urn:uuid:1"]


async def test_a_304_returns_the_previous_result(serve, fetcher) -> None:
    server = await serve({"/feed": static(RSS, "application/rss+xml", etag='"r1"')})
    source = feed_source(url=str(server.make_url("/feed")))
    first = await read_feed(source, fetcher)
    assert first.validators[source.url].etag == '"r1"'
    assert await read_remote_source(source, fetcher, first) is first
    assert server.app[SEEN][1].headers["If-None-Match"] == '"r1"'


async def test_a_malformed_feed_is_read_and_flagged(serve, fetcher) -> None:
    broken = RSS.replace("</channel>", "")  # not well-formed: feedparser recovers
    server = await serve({"/feed": static(broken, "application/rss+xml")})
    result = await read_feed(feed_source(url=str(server.make_url("/feed"))), fetcher)
    assert len(result.posts) == 2
    warning = result.problems[0]
    assert warning.severity is Severity.WARNING and "malformed" in warning.message


@pytest.mark.parametrize(
    ("route", "body", "words"),
    [
        ("/feed", "<!doctype html><title>Home</title><p>Not a feed</p>", "not an RSS, Atom"),
        ("/feed", "", "empty document"),
        ("/other", RSS, "HTTP 404"),
    ],
)
async def test_what_is_not_a_feed_fails_the_source(serve, fetcher, route, body, words) -> None:
    server = await serve({route: static(body, "text/html")})
    source = feed_source(url=str(server.make_url("/feed")))
    with pytest.raises(SourceError) as info:
        await read_feed(source, fetcher)
    assert info.value.source == "old-blog"
    assert words in info.value.message


async def test_an_unreadable_file_fails_the_source(tmp_path, fetcher) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        await read_feed(feed_source(path=str(tmp_path / "gone.xml")), fetcher)


def test_it_is_registered_as_a_remote_reader() -> None:
    assert SOURCE_TYPES["feed"].remote is read_feed


def feed_config(tmp_path: Path, **keys: Any) -> SourceConfig:
    raw = {
        "site": {"title": "T", "url": "https://t.example/", "id_authority": "t.example,2020"},
        "sources": [{"type": "feed", **keys}],
    }
    return parse_config(raw, base_dir=tmp_path).sources[0]


@pytest.mark.parametrize(
    ("keys", "key", "words"),
    [
        ({}, "sources[0].path", "either path or url"),
        ({"path": "feed.xml", "url": "https://x.example/feed"}, "sources[0].path", "either"),
        ({"path": "posts"}, "sources[0].path", "no such file"),
        ({"url": "x.example/feed"}, "sources[0].url", "http(s) URL"),
        ({"url": "https://x.example/feed", "password_env": "P"}, "sources[0].password_env", "not"),
    ],
)
def test_config_errors_name_the_key(tmp_path, keys, key, words) -> None:
    (tmp_path / "feed.xml").write_text(RSS, encoding="utf-8")
    (tmp_path / "posts").mkdir()
    with pytest.raises(ConfigError) as info:
        feed_config(tmp_path, **keys)
    assert info.value.key == key
    assert words in info.value.message


def test_folder_sources_refuse_a_url(tmp_path) -> None:
    (tmp_path / "posts").mkdir()
    raw = {
        "site": {"title": "T", "url": "https://t.example/", "id_authority": "t.example,2020"},
        "sources": [{"type": "folder", "path": "posts", "url": "https://x.example/"}],
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw, base_dir=tmp_path)
    assert info.value.key == "sources[0].url"
    assert "not used by a folder source" in info.value.message
