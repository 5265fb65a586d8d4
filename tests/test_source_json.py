"""The json source: a JSON Feed or a JSON array of posts, from a file or a local server."""

from __future__ import annotations

import json
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
from feedsvc.sources import SOURCE_TYPES
from feedsvc.sources.jsonfile import read_json

JSON_FEED: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Old blog",
    "home_page_url": "https://old.example/",
    "language": "es",
    "items": [
        {
            "id": "https://old.example/?p=1",
            "url": "https://old.example/2019/05/uno/",
            "title": "Uno &amp; dos",  # plain text by the spec: stays as written, then decoded
            "content_html": '<p>Primero. <a href="/otro/">Otro</a></p>',
            "summary": "El primero",
            "image": "https://old.example/uno.jpg",
            "date_published": "2019-05-01T10:00:00-03:00",
            "date_modified": "2019-05-02T10:00:00-03:00",
            "authors": [{"name": "Ana", "url": "https://old.example/ana/"}],
            "tags": ["Noticias", "Niñez"],
        },
        {
            "id": "2",  # not a URI: minted into a tag: id
            "url": "https://old.example/2019/06/dos/",
            "title": "Dos",
            "content_text": "Segundo.",
            "date_published": "2019-06-01T10:00:00Z",
            "language": "en",
        },
        {"id": "3", "title": "Sin fecha", "content_text": "Undated."},
    ],
}


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def file_source(path: Path, **extra: Any) -> SourceConfig:
    return SourceConfig(type="json", name="json", path=str(path), **extra)


async def test_a_json_feed_file(tmp_path, fetcher, config) -> None:
    path = write(tmp_path, "feed.json", JSON_FEED)

    result = await read_json(file_source(path), fetcher)

    [no_date] = result.problems
    assert no_date.path.endswith("feed.json#item-3") and no_date.line == 3
    assert "no date" in no_date.message
    normalized = normalize(result, config)
    assert normalized.problems == ()
    titles = by_title(normalized.posts)
    uno, dos = titles["Uno & dos"], titles["Dos"]
    assert uno.id == "https://old.example/?p=1"
    assert dos.id == "tag:site.example,2020:2"
    assert uno.published == datetime(2019, 5, 1, 13, 0, tzinfo=UTC)
    assert uno.updated == datetime(2019, 5, 2, 13, 0, tzinfo=UTC)
    assert uno.url == "https://old.example/2019/05/uno/"
    assert uno.summary == "El primero"
    assert [c.label for c in uno.categories] == ["Noticias", "Niñez"]
    assert uno.image is not None and uno.image.url == "https://old.example/uno.jpg"
    assert [(a.name, a.url) for a in uno.authors] == [("Ana", "https://old.example/ana/")]
    assert (uno.lang, dos.lang) == ("es", "en")
    assert dos.content_html == "<p>Segundo.</p>"


async def test_a_json_feed_url_is_read_conditionally(serve, fetcher, config) -> None:
    body = json.dumps(JSON_FEED)
    server = await serve({"/feed.json": static(body, "application/feed+json", etag='"j1"')})
    source = SourceConfig(type="json", name="remote", url=str(server.make_url("/feed.json")))

    first = await read_json(source, fetcher)
    second = await read_json(source, fetcher, first)

    assert len(first.posts) == 2
    assert first.posts[0].path == f"{source.url}#item-1"
    # Relative links in content resolve against the item's own URL.
    uno = by_title(normalize(first, config).posts)["Uno & dos"]
    assert 'href="https://old.example/otro/"' in uno.content_html
    assert second is first
    assert server.app[SEEN][1].headers["If-None-Match"] == '"j1"'


async def test_a_json_array_of_posts_with_markdown_and_html(tmp_path, fetcher, config) -> None:
    posts = [
        {
            "id": "post-1",
            "title": "Markdown post",
            "date": "2021-03-04",  # naive: the site's zone, New York
            "categories": ["Children and Youth"],
            "tags": ["a"],
            "lang": "es",
            "author": {"name": "Ana", "email": "ana@site.example"},
            "image": {"url": "/img/a.png", "width": 640, "height": 480, "alt": "A"},
            "content_markdown": "Hello *world*.",
            "translation_key": "hello",
        },
        {
            "url": "/2021/03/html-post/",
            "title": "HTML post",
            "date": "2021-03-05T09:00:00Z",
            "content_html": "<p>Hi <b>there</b></p>",
            "translation_key": "hello",
        },
        {"slug": "a-draft", "title": "Draft", "date": "2021-03-06", "draft": True},
    ]
    path = write(tmp_path, "posts.json", posts)

    result = await read_json(file_source(path, categories=("Imported",)), fetcher)

    assert result.problems == ()
    assert [p.body_format for p in result.posts] == ["markdown", "html", "html"]
    assert [p.key for p in result.posts] == ["post-1", "/2021/03/html-post/", "a-draft"]
    normalized = normalize(result, config)
    assert normalized.problems == () and normalized.drafts == 1
    titles = by_title(normalized.posts)
    md, html = titles["Markdown post"], titles["HTML post"]
    assert md.content_html == "<p>Hello <em>world</em>.</p>"
    assert html.content_html == "<p>Hi <b>there</b></p>"
    assert md.id == "tag:site.example,2020:post-1"
    assert md.published == datetime(2021, 3, 4, 5, 0, tzinfo=UTC)
    assert [c.label for c in md.categories] == ["Children and Youth", "Imported"]
    assert md.image is not None and md.image.url == "https://site.example/img/a.png"
    assert md.authors[0].email == "ana@site.example"
    assert html.url == "https://site.example/2021/03/html-post/"
    assert [t.url for t in md.translations] == [html.url]


async def test_a_bad_item_is_reported_with_its_index_and_the_others_pass(
    tmp_path, fetcher, config
) -> None:
    good = {"id": "g", "title": "Good", "date": "2021-01-01", "content_html": "<p>x</p>"}
    posts = [
        good,
        {"id": "b", "title": "Bad", "date": "2021-01-01", "colour": "red"},
        "not an object",
        {
            "id": "c",
            "title": "Both",
            "date": "2021-01-01",
            "content_html": "",
            "content_markdown": "",
        },
        {"title": "No identity", "date": "2021-01-01"},
        {"id": "d", "title": "Bad date", "date": "someday"},
        {**good, "id": "e", "title": "Also good"},
    ]
    path = write(tmp_path, "posts.json", posts)

    result = await read_json(file_source(path), fetcher)

    problems = {p.line: p for p in result.problems}
    assert sorted(problems) == [2, 3, 4, 5]
    assert problems[2].path.endswith("posts.json#item-2")
    assert "unknown key 'colour'" in problems[2].message
    assert "must be a JSON object" in problems[3].message
    assert "not both" in problems[4].message
    assert "needs an id" in problems[5].message
    normalized = normalize(result, config)
    assert sorted(p.title for p in normalized.posts) == ["Also good", "Good"]
    [bad_date] = normalized.problems
    assert bad_date.path.endswith("#item-6") and bad_date.line == 6


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "invalid JSON"),
        ('"a string"', "expected a JSON Feed"),
        ('{"title": "no version"}', "not a JSON Feed"),
    ],
)
async def test_a_document_that_is_not_usable_fails_the_source(
    tmp_path, fetcher, text, words
) -> None:
    path = write(tmp_path, "posts.json", text)
    with pytest.raises(SourceError) as info:
        await read_json(file_source(path), fetcher)
    assert info.value.source == "json"
    assert words in info.value.message


async def test_a_missing_file_or_failing_url_fails_the_source(tmp_path, serve, fetcher) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        await read_json(file_source(tmp_path / "gone.json"), fetcher)
    server = await serve({})
    source = SourceConfig(type="json", name="remote", url=str(server.make_url("/x.json")))
    with pytest.raises(SourceError, match="HTTP 404"):
        await read_json(source, fetcher)


def test_it_is_registered_as_a_remote_reader() -> None:
    assert SOURCE_TYPES["json"].remote is read_json


def json_config(tmp_path: Path, **keys: Any) -> SourceConfig:
    raw = {
        "site": {"title": "T", "url": "https://t.example/", "id_authority": "t.example,2020"},
        "sources": [{"type": "json", **keys}],
    }
    return parse_config(raw, base_dir=tmp_path).sources[0]


def test_config_resolves_the_path_against_the_config_folder(tmp_path) -> None:
    write(tmp_path, "posts.json", [])
    assert json_config(tmp_path, path="posts.json").path == str(tmp_path / "posts.json")


@pytest.mark.parametrize(
    ("keys", "key", "words"),
    [
        ({}, "sources[0].path", "either path or url"),
        ({"path": "posts.json", "url": "https://x.example/p.json"}, "sources[0].path", "either"),
        ({"path": "absent.json"}, "sources[0].path", "no such file"),
        ({"url": "ftp://x.example/p.json"}, "sources[0].url", "http(s) URL"),
        ({"url": "https://x.example/p.json", "username": "u"}, "sources[0].username", "not used"),
    ],
)
def test_config_errors_name_the_key(tmp_path, keys, key, words) -> None:
    write(tmp_path, "posts.json", [])
    with pytest.raises(ConfigError) as info:
        json_config(tmp_path, **keys)
    assert info.value.key == key
    assert words in info.value.message
