"""The ``json`` source: a JSON Feed, or a JSON array of posts, from a file or a URL
(docs/config.md "json").

    [[sources]]
    type = "json"
    path = "export/posts.json"   # or url = "https://cms.example.org/posts.json"

Two shapes are read:

- a **JSON Feed** 1.0 or 1.1 (an object with ``"version": "https://jsonfeed.org/version/1.1"``),
  mapped exactly as the ``feed`` source maps it (``feedsvc.remote.parse``);
- a **JSON array of posts**, each an object with the front-matter keys of a folder post
  (``title``, ``date``, ``updated``, ``id``, ``slug``, ``url``, ``categories``, ``tags``,
  ``lang``, ``summary``, ``author``/``authors``, ``image``, ``translation_key``, ``draft``)
  plus the body as ``content_html`` or ``content_markdown``.

An item that breaks the rules is a Problem naming its place (``posts.json#item-3``); the
others are still published. A document that is not JSON fails the whole source.
"""

from __future__ import annotations

import json
from typing import Any

from feedsvc.config import SourceConfig
from feedsvc.errors import SourceError
from feedsvc.model import Problem, RawPost
from feedsvc.normalize.fields import describe
from feedsvc.remote.fetch import Fetcher
from feedsvc.sources.base import SourceResult, SourceType
from feedsvc.sources.feed import adapt_entries, parse
from feedsvc.sources.remote import check_path_or_url, item_path, read_document

# The front matter of a folder post (docs/config.md "Post front matter").
FRONT_MATTER_KEYS = (
    "title",
    "date",
    "updated",
    "id",
    "slug",
    "url",
    "categories",
    "tags",
    "lang",
    "summary",
    "author",
    "authors",
    "image",
    "translation_key",
    "draft",
)
BODY_KEYS = {"content_html": "html", "content_markdown": "markdown"}
_KNOWN_KEYS = frozenset(FRONT_MATTER_KEYS) | frozenset(BODY_KEYS)
# Where the permanent id of an array post comes from when it has no ``id``, in this order.
_KEY_FIELDS = ("id", "url", "slug")


async def read_json(
    source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None = None
) -> SourceResult:
    """The posts of the JSON document at ``source.url`` (conditionally) or ``source.path``."""
    document = await read_document(source, fetcher, previous)
    if isinstance(document, SourceResult):
        return document  # 304: unchanged
    try:
        # RFC 8259 §8.1: UTF-8 (a BOM tolerated), or UTF-16/32 detected from the bytes.
        data = json.loads(document.body)
    except (ValueError, RecursionError) as e:
        raise SourceError(source.name, f"{document.location}: invalid JSON: {e}") from e
    if isinstance(data, dict):
        feed = await parse(
            source, document.body, document.base_url, {"content-type": "application/feed+json"}
        )
        posts, problems = adapt_entries(feed, source, document.location)
    elif isinstance(data, list):
        posts, problems = _read_array(data, source, document.location)
    else:
        raise SourceError(
            source.name,
            f"{document.location}: expected a JSON Feed (an object) or an array of posts, "
            f"not {describe(data)}",
        )
    return SourceResult(tuple(posts), tuple(problems), document.validators)


def _read_array(
    items: list[Any], source: SourceConfig, location: str
) -> tuple[list[RawPost], list[Problem]]:
    posts: list[RawPost] = []
    problems: list[Problem] = []
    for index, item in enumerate(items, start=1):
        path = item_path(location, index)
        adapted = array_item_to_raw_post(item, source, path, index)
        if isinstance(adapted, str):
            problems.append(Problem(path, index, adapted))
        else:
            posts.append(adapted)
    return posts, problems


def array_item_to_raw_post(item: Any, source: SourceConfig, path: str, index: int) -> RawPost | str:
    """One object of a JSON array of posts as a RawPost, or why it cannot be one."""
    if not isinstance(item, dict):
        return f"each post must be a JSON object, not {describe(item)}"
    unknown = sorted(set(item) - _KNOWN_KEYS)
    if unknown:
        known = ", ".join(sorted(_KNOWN_KEYS))
        return f"unknown key {unknown[0]!r} (known: {known})"
    bodies = [key for key in BODY_KEYS if item.get(key) is not None]
    if len(bodies) > 1:
        return "give the body as content_html or content_markdown, not both"
    body_key = bodies[0] if bodies else "content_html"
    body = item.get(body_key, "")
    if not isinstance(body, str):
        return f"{body_key} must be text, not {describe(body)}"
    key = _identity(item)
    if key is None:
        # An item's place in the array is no identity: inserting a post would renumber the
        # rest, and every reader would see them again as new (docs/architecture.md "Permanent ids").
        return "needs an id (or a url or slug) from which a permanent id is made"
    return RawPost(
        path=path,
        key=key,
        meta={k: v for k, v in item.items() if k not in BODY_KEYS},
        body=body,
        body_format=BODY_KEYS[body_key],
        line=index,
        source=source.name,
        default_categories=tuple(source.categories),
        default_lang=source.lang or None,
    )


def _identity(item: dict[str, Any]) -> str | None:
    """The first of id, url, slug that is given, as text."""
    for field in _KEY_FIELDS:
        value = item.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


__all__ = ["BODY_KEYS", "FRONT_MATTER_KEYS", "array_item_to_raw_post", "read_json"]


SOURCE_TYPE = SourceType("json", frozenset({"path", "url"}), check_path_or_url, remote=read_json)
