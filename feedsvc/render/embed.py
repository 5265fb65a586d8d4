"""Embeds for partner sites (docs/urls.md "Embeds for partner sites"): the HTML
fragment, the index page's snippets, and the web component's files.

The fragment is rendered from the feed's JSON Feed document, the very data the web
component (``static/embed.js``) fetches, so both forms show the same items, summaries
and dates by construction: ``<section class="feedsvc-embed" lang>``, a heading linking to
the feed's HTML page, then one ``<article lang>`` per item with a heading linking to the
post, ``<time datetime>``, the plain-text summary and the image. No script, no style:
the host page's CSS styles it.

Dates are printed with Babel's CLDR "long" date format in the item's language
("June 9, 2017", "9 de junio de 2017"). CLDR is also what browsers' ``Intl.DateTimeFormat``
uses for ``dateStyle: "long"``, so the component prints the same words, for every
language CLDR knows, not only the two of the example site; a month table per language
would have to be kept in step with the browser's by hand.

Pure: a JSON Feed document in, bytes out; deterministic (no clock, no I/O but reading
the package's own static files).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from html import escape
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from feedsvc.store import Resource, make_resource
from feedsvc.urls import join_url

DEFAULT_LIMIT = 5
MAX_LIMIT = 50
# What the fragment falls back to when a language is not in CLDR (as embed.js does).
FALLBACK_LOCALE = "en"

CONTENT_TYPE = "text/html; charset=utf-8"
JSON_SUFFIX = ".json"

# The component's files, served at /embed.js and /embed.css (path, media type, file).
EMBED_ASSETS = (
    ("/embed.js", "text/javascript; charset=utf-8", "embed.js"),
    ("/embed.css", "text/css; charset=utf-8", "embed.css"),
)


def embed_asset(name: str) -> bytes:
    """The bytes of one of the component's files, shipped as package data."""
    return files("feedsvc.render").joinpath("static", name).read_bytes()


def embed_path(feed_path: str) -> str:
    """URL path of a feed's fragment: ``category/x`` → ``/embed/category/x.html``."""
    return f"/embed/{feed_path}.html"


@lru_cache(maxsize=256)
def _locale(lang: str) -> Locale:
    for candidate in (lang, lang.split("-", 1)[0]):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(FALLBACK_LOCALE)


def load_locales(langs: Iterable[str]) -> None:
    """Write one date in each of ``langs`` now. Babel reads a locale's data (and parses its
    date pattern) on first use and keeps it: done in the parent before the render workers
    fork, every worker shares it, where each fresh worker writing fragments would read it
    again (0.03 s a worker on the bench site)."""
    for lang in langs:
        format_date(date(2000, 1, 1), format="long", locale=_locale(lang))


def human_date(moment: datetime, lang: str, time_zone: str) -> str:
    """The day of ``moment`` in ``time_zone``, written as ``lang`` writes a long date."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return format_date(moment.astimezone(zone).date(), format="long", locale=_locale(lang))


def web_url(value: Any, base: str) -> str | None:
    """``value`` as an absolute http(s) URL, or None: a ``javascript:`` or ``data:`` link
    from a partner's feed never becomes a link in someone else's page."""
    if not isinstance(value, str) or not value:
        return None
    url = join_url(base, value)
    return url if urlsplit(url).scheme in ("http", "https") else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _heading(tag: str, text: str, href: str | None) -> str:
    if href is None:
        return f"<{tag}>{escape(text)}</{tag}>"
    return f'<{tag}><a href="{escape(href)}">{escape(text)}</a></{tag}>'


def _image(item: Mapping[str, Any], base: str) -> str | None:
    src = web_url(item.get("image"), base)
    if src is None:
        return None
    details = item.get("_image") or {}
    size = ""
    if isinstance(details.get("width"), int) and isinstance(details.get("height"), int):
        size = f' width="{details["width"]}" height="{details["height"]}"'
    # No alt text known: empty alt marks the image decorative (WCAG 2.2 H67), which it
    # is here, the heading beside it saying what the item is.
    alt = _text(details.get("alt"))
    return f'<img src="{escape(src)}" loading="lazy" decoding="async"{size} alt="{escape(alt)}">'


def _article(item: Mapping[str, Any], lang: str, time_zone: str, base: str) -> str:
    item_lang = _text(item.get("language")) or lang
    url = web_url(item.get("url"), base)
    lines = [
        f'<article lang="{escape(item_lang)}">',
        _heading("h3", _text(item.get("title")) or url or "", url),
    ]
    published = _text(item.get("date_published"))
    if published:
        words = human_date(datetime.fromisoformat(published), item_lang, time_zone)
        lines.append(f'<time datetime="{escape(published)}">{escape(words)}</time>')
    summary = _text(item.get("summary"))
    if summary:
        lines.append(f"<p>{escape(summary)}</p>")
    image = _image(item, base)
    if image:
        lines.append(image)
    lines.append("</article>")
    return "\n".join(lines)


def render_embed(document: Mapping[str, Any], limit: int) -> bytes:
    """The fragment of a JSON Feed document (as render/jsonfeed.py writes it): its
    newest ``limit`` items, UTF-8."""
    site = document.get("_site") or {}
    lang = _text(document.get("language")) or _text(site.get("language")) or FALLBACK_LOCALE
    time_zone = _text(site.get("time_zone")) or "UTC"
    base = _text(document.get("feed_url"))
    home = web_url(document.get("home_page_url"), base)
    parts = [
        f'<section class="feedsvc-embed" lang="{escape(lang)}">',
        _heading("h2", _text(document.get("title")) or home or "", home),
    ]
    items = document.get("items") or []
    parts += (_article(item, lang, time_zone, base) for item in items[:limit])
    parts.append("</section>\n")
    return "\n".join(parts).encode("utf-8")


# render/jsonfeed.py writes its items last and compact: '..."items":[{…},{…}]}'. No JSON
# string holds '"items":[' (a quote inside a string is escaped), and no value before the
# items has an "items" key, so its first occurrence opens the document's own items.
_ITEMS_OPEN = '"items":['
_DECODER = json.JSONDecoder()


def newest_items(body: bytes, limit: int) -> dict[str, Any]:
    """A JSON Feed document as render/jsonfeed.py writes it, decoded with its first ``limit``
    items only: what a fragment shows, without decoding every item of a month's archive
    (most of the CPU of a build's fragments). A document without that opening, or whose
    head does not decode on its own, is decoded whole."""
    text = body.decode("utf-8")
    at = text.find(_ITEMS_OPEN)
    try:
        document = json.loads(text[:at] + _ITEMS_OPEN + "]}") if at >= 0 else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        return json.loads(text)
    items = document["items"]
    end = at + len(_ITEMS_OPEN)
    while len(items) < limit and text[end] != "]":
        item, end = _DECODER.raw_decode(text, end)
        items.append(item)
        if text[end] == ",":
            end += 1
    return document


def render_feed_embed(feed_json: bytes, limit: int) -> bytes:
    """The fragment of a JSON Feed's bytes (render_embed of the decoded document)."""
    return render_embed(newest_items(feed_json, limit), limit)


def fragment_resource(feed_json: Resource, limit: int) -> Resource:
    """The fragment of a served JSON Feed, served like it: its Last-Modified, caching and
    CORS, every content coding compressed ahead."""
    return make_resource(
        render_feed_embed(feed_json.identity.body, limit),
        CONTENT_TYPE,
        feed_json.last_modified,
        feed_json.caching,
        cors=True,
    )


def fragment_path(path: str, content_type: str) -> str | None:
    """The URL path of the fragment of the document at ``path``: a JSON Feed's; None for
    any other document."""
    if path.endswith(JSON_SUFFIX) and "json" in content_type:
        return embed_path(path[1 : -len(JSON_SUFFIX)])
    return None


def default_fragments(resources: Mapping[str, Resource]) -> dict[str, Resource]:
    """The fragment, with the default limit, of every JSON Feed among ``resources``: what
    `feedsvc build` writes, a static server having no ``?limit``."""
    fragments = {}
    for path, resource in sorted(resources.items()):
        fragment = fragment_path(path, resource.content_type)
        if fragment is not None:
            fragments[fragment] = fragment_resource(resource, DEFAULT_LIMIT)
    return fragments
