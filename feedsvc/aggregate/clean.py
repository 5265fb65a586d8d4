"""A parsed partner feed with every entry cleaned: the per-entry half of the merge. Pure.

Sanitizing HTML against the feed URL, turning titles, summaries and categories into plain
text and normalizing language tags depend on nothing but the entry, the feed URL and
``feeds.summary_length``. That is nearly all of the CPU a merge costs, so it runs in the
parser worker right after ``parse_feed`` (workers.py), and the server's event loop only
does the bookkeeping that needs the stored entries (merge.py): identity, dedupe, dates.

Content HTML goes through the site's own allowlist (docs/architecture.md "Partner documents"), with
relative URLs resolved against the feed URL (or the xml:base feedparser applied already).

Most entries of a changed feed are the ones it had last time. Each entry has a ``digest`` of
everything its cleaning depends on; the caller passes the digests it cleaned last time as
``known``, and gets those back as ``Unchanged(digest)`` instead of cleaning them again
(``reuse`` puts its own copies back). A feed of 50 entries with one new one costs one
sanitizing pass, not 50.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from feedsvc.lang import normalize_lang
from feedsvc.model import Author
from feedsvc.normalize import (
    clean_text,
    collapse_whitespace,
    sanitize_html,
    truncate_summary,
)
from feedsvc.normalize.slug import unique_labels
from feedsvc.normalize.text import sanitized_html_to_text
from feedsvc.remote.parsed import ParsedEntry, ParsedFeed

__all__ = [
    "CleanEntry",
    "CleanFeed",
    "Unchanged",
    "clean_entry",
    "clean_feed",
    "entry_digest",
    "reuse",
]


@dataclass(frozen=True, slots=True)
class CleanEntry:
    """One partner entry ready to merge: text and HTML final, dates as the feed gave them."""

    entry_id: str | None  # the feed's own id, as parsed (identity, unstable-id detection)
    link: str | None  # absolute http(s), or None
    # sha256 of the entry's title and content as parsed: its identity when it has neither
    # id nor link.
    content_hash: str
    title: str  # plain text
    summary: str  # plain text, at most feeds.summary_length characters
    content_html: str  # sanitized
    published: datetime | None  # aware UTC, as the feed said
    updated: datetime | None  # aware UTC, as the feed said
    lang: str | None  # BCP 47, or None when the feed gave none (or an unreadable one)
    authors: tuple[Author, ...] = ()
    tags: tuple[str, ...] = ()  # the partner's own categories, one per slug
    image_url: str | None = None
    digest: str = ""  # of the parsed entry, feed URL and summary length (module docstring)


@dataclass(frozen=True, slots=True)
class Unchanged:
    """An entry whose digest the caller said it knows: it cleans to what it did then."""

    digest: str


@dataclass(frozen=True, slots=True)
class CleanFeed:
    """``ParsedFeed`` with its entries cleaned (see there for the feed-level fields)."""

    title: str
    link: str | None
    lang: str | None
    entries: tuple[CleanEntry | Unchanged, ...]  # document order, duplicates included
    bozo: str | None
    format: str
    hubs: tuple[str, ...] = ()
    self_url: str | None = None


def clean_feed(
    parsed: ParsedFeed, feed_url: str, summary_length: int, known: Container[str] = ()
) -> CleanFeed:
    """Every entry of ``parsed`` cleaned, but those whose digest is in ``known``;
    ``feed_url`` is the response's URL."""
    entries: list[CleanEntry | Unchanged] = []
    for entry in parsed.entries:
        digest = entry_digest(entry, feed_url, summary_length)
        if digest in known:
            entries.append(Unchanged(digest))
        else:
            entries.append(clean_entry(entry, feed_url, summary_length, digest))
    return CleanFeed(
        title=parsed.title,
        link=parsed.link,
        lang=parsed.lang,
        entries=tuple(entries),
        bozo=parsed.bozo,
        format=parsed.format,
        hubs=parsed.hubs,
        self_url=parsed.self_url,
    )


def reuse(
    entries: Iterable[CleanEntry | Unchanged], known: Mapping[str, CleanEntry]
) -> tuple[CleanEntry, ...]:
    """``entries`` with each ``Unchanged`` replaced by the known entry of its digest, and
    equal author lists made one object (a partner's entries mostly share a few authors;
    every entry lives in memory for long, and each object costs each full GC pass).
    KeyError if one is not known: the digests passed to clean_feed came from ``known``."""
    shared: dict[tuple[Author, ...], tuple[Author, ...]] = {}
    out = []
    for entry in entries:
        if isinstance(entry, Unchanged):
            entry = known[entry.digest]
        authors = shared.setdefault(entry.authors, entry.authors)
        out.append(entry if authors is entry.authors else replace(entry, authors=authors))
    return tuple(out)


def entry_digest(entry: ParsedEntry, feed_url: str, summary_length: int) -> str:
    """What clean_entry's result depends on. The repr of the frozen dataclass holds every
    field (strings escaped, dates with their zone), so equal digests clean equally."""
    return hashlib.sha256(f"{feed_url}\x00{summary_length}\x00{entry!r}".encode()).hexdigest()


def clean_entry(
    entry: ParsedEntry, feed_url: str, summary_length: int, digest: str = ""
) -> CleanEntry:
    content = sanitize_html(entry.content_html, feed_url).strip()
    content_hash = hashlib.sha256(f"{entry.title}\x00{entry.content_html}".encode()).hexdigest()
    return CleanEntry(
        entry_id=entry.entry_id,
        link=entry.link,
        content_hash=content_hash,
        # parse_feed already turned markup into text; a second HTML-to-text pass would eat
        # a literal "<" ("Why x<y matters"), so only the text hygiene runs here.
        title=collapse_whitespace(clean_text(entry.title)),
        summary=_summary(entry.summary, content, summary_length),
        content_html=content,
        published=entry.published,
        updated=entry.updated,
        lang=_lang(entry.lang),
        authors=entry.authors,
        tags=_unique_labels(entry.categories),
        image_url=entry.image_url,
        digest=digest or entry_digest(entry, feed_url, summary_length),
    )


def _summary(given: str, content_html: str, limit: int) -> str:
    """As site posts (normalize.post): the given summary, else the start of the body's text;
    a partner's summary is cut too, as partners often put a whole post there."""
    text = collapse_whitespace(clean_text(given))
    if not text:
        text = collapse_whitespace(clean_text(sanitized_html_to_text(content_html, 2 * limit)))
    return truncate_summary(text, limit)


def _lang(tag: str | None) -> str | None:
    if not tag:
        return None
    try:
        return normalize_lang(tag)
    except ValueError:
        return None  # the partner's or site's default applies (merge.to_post)


def _unique_labels(labels: Iterable[str]) -> tuple[str, ...]:
    # Already text (parse_feed): cleaned, not parsed as HTML again, so "x<y" stays.
    return unique_labels(labels, lambda label: collapse_whitespace(clean_text(label)))
