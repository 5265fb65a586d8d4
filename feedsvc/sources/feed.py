"""The ``feed`` source: an RSS, Atom or JSON Feed republished as the site's own posts
(docs/config.md "feed").

    [[sources]]
    type = "feed"
    url = "https://blog.example.org/feed/"   # or path = "export/feed.xml"

The document is parsed by the shared remote parser (``feedsvc.remote.parse``: feedparser
for RSS/Atom, with entity declarations refused; JSON Feed mapped into the same shape), and
each entry becomes a RawPost with front-matter keys, so the shared normalizer applies the
site's rules to it exactly as to a folder post. ``adapt_entries`` is shared with the ``json``
source, which reads JSON Feeds the same way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from feedsvc.config import SourceConfig
from feedsvc.errors import FeedParseError, SourceError
from feedsvc.model import Problem, RawPost, Severity
from feedsvc.remote.fetch import Fetcher
from feedsvc.remote.parse import parse_feed
from feedsvc.remote.parsed import ParsedEntry, ParsedFeed
from feedsvc.sources.base import SourceResult, SourceType
from feedsvc.sources.remote import check_path_or_url, item_path, read_document

# What a file's name says about its format, for parse_feed's sniffing (which also looks
# at the first byte, so a mislabelled file is still read).
_FILE_TYPES = {".json": "application/feed+json", ".xml": "application/xml"}


async def read_feed(
    source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None = None
) -> SourceResult:
    """Every entry of the feed at ``source.url`` (conditionally) or in ``source.path``."""
    document = await read_document(source, fetcher, previous)
    if isinstance(document, SourceResult):
        return document  # 304: unchanged
    headers = document.headers
    if not source.url:
        headers = {"content-type": _FILE_TYPES.get(Path(source.path).suffix.lower(), "")}
    feed = await parse(source, document.body, document.base_url, headers)
    posts, problems = adapt_entries(feed, source, document.location)
    return SourceResult(tuple(posts), tuple(problems), document.validators)


async def parse(source: SourceConfig, body: bytes, url: str, headers: dict[str, str]) -> ParsedFeed:
    """``parse_feed`` in a thread (feedparser is CPU-bound), errors as SourceError."""
    try:
        return await asyncio.to_thread(parse_feed, body, url, headers)
    except FeedParseError as e:
        raise SourceError(source.name, e.message) from e


def adapt_entries(
    feed: ParsedFeed, source: SourceConfig, location: str
) -> tuple[list[RawPost], list[Problem]]:
    """Each entry as a RawPost, or a Problem naming the entry's place in the document."""
    posts: list[RawPost] = []
    problems: list[Problem] = []
    if feed.bozo:
        message = f"malformed feed, read what could be recovered: {feed.bozo}"
        problems.append(Problem(location, 1, message, Severity.WARNING))
    for index, entry in enumerate(feed.entries, start=1):
        path = item_path(location, index)
        adapted = entry_to_raw_post(entry, source, path, index, feed.lang)
        if isinstance(adapted, str):
            problems.append(Problem(path, index, adapted))
        else:
            posts.append(adapted)
    return posts, problems


def entry_to_raw_post(
    entry: ParsedEntry, source: SourceConfig, path: str, index: int, feed_lang: str | None = None
) -> RawPost | str:
    """The RawPost of one entry, or why it cannot be one.

    The entry's id, when it is an absolute URI, is the post's id as is (readers that followed
    the original feed see no duplicates); the normalizer mints a ``tag:`` id from any other
    id, else from the link (the key). A date is required, as for every post
    (docs/config.md "Post front matter").
    """
    published = entry.published or entry.updated
    if published is None:
        return "no date: the entry has no published or updated date that can be read"
    key = entry.entry_id or entry.link
    if not key:
        return "no id and no link: a permanent id cannot be given to this entry"
    meta: dict[str, Any] = {
        "title": entry.title,
        "date": published,
        "categories": list(entry.categories),
    }
    optional = {
        "id": entry.entry_id,
        "updated": entry.updated,
        "url": entry.link,
        "summary": entry.summary,
        "lang": entry.lang,
        "image": entry.image_url,
        "authors": _authors(entry) or None,
    }
    meta.update({k: v for k, v in optional.items() if v})
    return RawPost(
        path=path,
        key=key,
        meta=meta,
        body=entry.content_html,
        body_format="html",
        line=index,
        source=source.name,
        default_categories=tuple(source.categories),
        default_lang=source.lang or None,
        # feedparser hands every entry the feed's language; one that says the same cannot
        # be told from one that says nothing.
        lang_from_feed=entry.lang is not None and entry.lang == feed_lang,
        untitled_allowed=True,
    )


def _authors(entry: ParsedEntry) -> list[dict[str, str]]:
    return [_drop_empty(name=a.name, email=a.email, url=a.url) for a in entry.authors if a.name]


def _drop_empty(**fields: str | None) -> dict[str, str]:
    return {k: v for k, v in fields.items() if v}


__all__ = ["adapt_entries", "entry_to_raw_post", "parse", "read_feed"]


SOURCE_TYPE = SourceType("feed", frozenset({"path", "url"}), check_path_or_url, remote=read_feed)
