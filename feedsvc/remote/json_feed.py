"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) in the entry shape of ``parsed.py``.

feedparser 6 does not read JSON Feed, so it is mapped here, field by field, through the same
loose-value helpers as the XML parser.
"""

from __future__ import annotations

import json
from typing import Any

from feedsvc.errors import FeedParseError
from feedsvc.model import Author
from feedsvc.normalize.text import clean_text
from feedsvc.remote.loose import (
    as_str,
    dict_at,
    http_url,
    lang_tag,
    list_at,
    make_author,
    one_line,
    parse_loose_date,
    stripped,
    text_to_html,
    unique,
    value_at,
)
from feedsvc.remote.parsed import ParsedEntry, ParsedFeed

__all__ = ["parse_json_feed"]

# JSON Feed 1.0 and 1.1 name themselves by URL; both versions are read the same way, with
# 1.1's "authors" and "language" preferred where present.
_JSONFEED_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body)  # RFC 8259 §8.1 encodings, BOM included, are detected
    except (ValueError, RecursionError) as e:
        raise FeedParseError(url, f"invalid JSON: {e}") from e
    version = value_at(doc, "version")
    if not isinstance(doc, dict) or not isinstance(version, str):
        raise FeedParseError(url, "JSON document is not a JSON Feed (no version)")
    if not version.strip().lower().startswith(_JSONFEED_VERSION_PREFIXES):
        raise FeedParseError(url, f"JSON document is not a JSON Feed (version {version[:80]!r})")
    items = doc.get("items")
    bozo = None
    if not isinstance(items, list):
        items, bozo = [], "JSON Feed without an items array"
    elif not all(isinstance(item, dict) for item in items):
        bozo = "JSON Feed items that are not objects were skipped"
    lang = lang_tag(doc.get("language"))
    authors = _json_authors(doc, url)
    return ParsedFeed(
        title=one_line(as_str(doc.get("title"))),
        link=http_url(doc.get("home_page_url"), url),
        lang=lang,
        entries=tuple(
            _json_entry(item, url, lang, authors) for item in items if isinstance(item, dict)
        ),
        bozo=bozo,
        format="json",
        hubs=_json_hubs(doc, url),
        self_url=http_url(doc.get("feed_url"), url),
    )


def _json_hubs(doc: dict[str, Any], url: str) -> tuple[str, ...]:
    """JSON Feed 1.1 ``hubs`` of type WebSub (the type is compared without case)."""
    urls = (
        http_url(value_at(hub, "url"), url)
        for hub in list_at(doc, "hubs")
        if as_str(value_at(hub, "type")).lower() == "websub"
    )
    return tuple(dict.fromkeys(hub for hub in urls if hub))


def _json_entry(
    item: dict[str, Any], url: str, feed_lang: str | None, feed_authors: tuple[Author, ...]
) -> ParsedEntry:
    item_id = item.get("id")
    # JSON Feed 1.1: "If an id is presented as a number ... coerce it to a string."
    if isinstance(item_id, int | float) and not isinstance(item_id, bool):
        item_id = str(item_id)
    summary = one_line(as_str(item.get("summary")))
    content_html = as_str(item.get("content_html"))
    if not content_html.strip():
        content_html = text_to_html(as_str(item.get("content_text")))
    if not content_html and summary:
        content_html, summary = text_to_html(summary), ""
    return ParsedEntry(
        entry_id=stripped(item_id),
        link=http_url(item.get("url"), url) or http_url(item.get("external_url"), url),
        title=one_line(as_str(item.get("title"))),  # plain text by the spec
        content_html=clean_text(content_html),
        summary=summary,
        published=parse_loose_date(item.get("date_published")),
        updated=parse_loose_date(item.get("date_modified")),
        # "If not specified in an item, then the top-level authors ... are the authors".
        authors=_json_authors(item, url) or feed_authors,
        categories=unique(one_line(tag) for tag in list_at(item, "tags") if isinstance(tag, str)),
        lang=lang_tag(item.get("language")) or feed_lang,
        image_url=http_url(item.get("image"), url) or http_url(item.get("banner_image"), url),
    )


def _json_authors(thing: dict[str, Any], url: str) -> tuple[Author, ...]:
    # 1.1's "authors" array supersedes 1.0's single "author" object.
    raw = list_at(thing, "authors") or [dict_at(thing, "author")]
    authors = []
    for a in raw:
        link = as_str(value_at(a, "url")).strip()
        if link.lower().startswith("mailto:"):
            authors.append(make_author(value_at(a, "name"), link[7:], None, url))
        else:
            authors.append(make_author(value_at(a, "name"), None, link, url))
    return unique(a for a in authors if a is not None)
