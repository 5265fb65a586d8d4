"""The one entry shape every partner feed is parsed into, whatever its format.

What the merger can rely on, whatever the feed said: every text field is a ``str`` holding
only XML 1.0 characters; titles, summaries and categories are plain text; links and image
URLs are absolute http(s) or None; dates are aware UTC or None. What is left to the caller:
content HTML comes as the feed gave it (relative URLs resolved) and must be sanitized with
the site's allowlist (docs/architecture.md "Partner documents"); entry identity falls back to link
or a content hash there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feedsvc.model import Author

__all__ = ["ParsedEntry", "ParsedFeed"]


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One partner entry, before normalization. See the module docstring for the guarantees."""

    entry_id: str | None  # the feed's own id/guid, stripped; None when absent
    link: str | None  # the alternate link, absolute http(s)
    title: str  # plain text
    content_html: str  # the best content as HTML, NOT sanitized (see caller_resolves)
    summary: str  # plain text when the feed has a summary besides the content, else ""
    published: datetime | None  # aware UTC
    updated: datetime | None  # aware UTC
    authors: tuple[Author, ...] = ()
    categories: tuple[str, ...] = ()
    lang: str | None = None  # the entry's, else the feed's xml:lang / language
    image_url: str | None = None  # absolute http(s)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None  # the home page, absolute http(s)
    lang: str | None
    entries: tuple[ParsedEntry, ...]  # document order
    # A short reason when the document was malformed but something was recovered (for the
    # status page); None when clean.
    bozo: str | None
    format: str  # "atom", "rss", "rdf", "cdf", "json"; "unknown" for recovered tag soup
    # W3C WebSub §4 discovery in the document: its hubs and its own URL (rel="self"),
    # absolute http(s).
    hubs: tuple[str, ...] = ()
    self_url: str | None = None
