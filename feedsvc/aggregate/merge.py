"""A partner's parsed feed merged into what we already hold of it. Pure: no I/O, no clock.

``merge`` takes one fetch's entries (parsed and cleaned in a parser worker: clean.py),
the partner's stored entries and the time of the fetch, and returns the partner's entries
after it: which to write, which to drop. It runs on the server's event loop, so it only
does bookkeeping (identity, dedupe, dates); what costs CPU per entry is in clean.py.
``to_post`` turns a stored entry into the ``Post`` every renderer knows, adding what comes
from the config (language default, categories, source), so a config change applies without
refetching.

Rules (docs/config.md "Partners' entries"), as reader's ``_update.Decider`` keeps them in one pure
place:

- identity is (partner, entry id), else the link, else a hash of title and content;
  duplicates within one fetch are one entry (the first in document order wins);
- ids that change on every fetch while the links stay are noticed (``unstable_ids``), and
  such a partner's entries are matched by link from then on: reader's ``entry_dedupe``
  plugin answers the same problem the same way;
- published is set once: from the feed, else first-seen; a date in the future is replaced
  by first-seen, so a partner cannot pin an entry to the top; updated only moves forward;
- content HTML goes through the site's own allowlist; titles and summaries are plain text
  (clean.py, before the merge).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from feedsvc.aggregate.clean import CleanEntry
from feedsvc.model import Author, Category, Image, Origin, Post, newest_first
from feedsvc.normalize import plain_text, post_id
from feedsvc.normalize.ids import is_absolute_uri
from feedsvc.normalize.slug import categories_of

__all__ = [
    "MergeContext",
    "MergeResult",
    "StoredEntry",
    "merge",
    "partner_categories",
    "to_post",
]

# Longer "ids" are not ids (a partner pasting content into <guid>); they are hashed instead.
_MAX_OWN_ID = 512


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One partner entry as the store keeps it: cleaned, with its dates settled."""

    key: str  # identity within the partner: "id:…", "link:…" or "hash:…"
    id: str  # the published entry id, fixed when first seen
    link: str | None  # absolute http(s), or None
    title: str  # plain text
    summary: str  # plain text, at most feeds.summary_length characters
    content_html: str  # sanitized
    published: datetime  # aware UTC, fixed when first seen
    updated: datetime  # aware UTC, >= published, only moves forward
    first_seen: datetime
    lang: str | None  # BCP 47 from the feed (entry, then feed); None when it gave none
    authors: tuple[Author, ...] = ()
    tags: tuple[str, ...] = ()  # the partner's own categories: kept, never site categories
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class MergeContext:
    partner: str  # the partner's name
    id_authority: str  # site.id_authority, for minted ids
    retention: int
    now: datetime  # when the fetch happened


@dataclass(frozen=True, slots=True)
class MergeResult:
    entries: Mapping[str, StoredEntry]  # every entry of the partner after this fetch, by key
    upserts: tuple[StoredEntry, ...]  # new or changed
    deletes: tuple[str, ...]  # keys dropped by retention
    id_memory: tuple[tuple[str, str], ...]  # (link, the partner's id) of this fetch
    unstable_ids: bool

    @property
    def changed(self) -> bool:
        return bool(self.upserts or self.deletes)


def merge(
    entries: Sequence[CleanEntry],
    stored: Mapping[str, StoredEntry],
    id_memory: Iterable[tuple[str, str]],
    unstable_ids: bool,
    ctx: MergeContext,
) -> MergeResult:
    """The partner's entries after one successful fetch, parse and clean; ``entries`` in
    document order."""
    links = Counter(e.link for e in entries if e.link)
    unique_links = {link for link, n in links.items() if n == 1}
    memory = {e.link: e.entry_id for e in entries if e.link in unique_links and e.entry_id}
    unstable = unstable_ids or ids_changed(dict(id_memory), memory)
    by_link = _stored_by_link(stored) if unstable else {}

    fetched: dict[str, StoredEntry] = {}
    for entry in entries:
        by_own_link = unstable and entry.link in unique_links
        key = by_link.get(entry.link) if by_own_link and entry.link else None
        key = key or identity(entry, by_link=by_own_link)
        if key in fetched:
            continue  # a duplicate within this fetch: the first one stands
        old = stored.get(key)
        new = _entry(entry, key, old, unstable, ctx)
        # An unchanged entry keeps its object: what is built from it (its Post) can be kept
        # too, and a refresh does not turn every entry of the partner into new garbage.
        fetched[key] = old if new == old and old is not None else new

    merged = {**stored, **fetched}
    kept = _retain(merged, set(fetched), ctx.retention)
    return MergeResult(
        entries=kept,
        upserts=tuple(e for k, e in fetched.items() if stored.get(k) is not e),
        deletes=tuple(sorted(k for k in stored if k not in kept)),
        id_memory=tuple(sorted(memory.items())),
        unstable_ids=unstable,
    )


def identity(entry: CleanEntry, *, by_link: bool = False) -> str:
    """The entry's key within its partner: its id, else its link, else a content hash."""
    if entry.entry_id and not by_link:
        return f"id:{entry.entry_id}"
    if entry.link:
        return f"link:{entry.link}"
    if entry.entry_id:
        return f"id:{entry.entry_id}"
    return f"hash:{entry.content_hash}"


def ids_changed(before: Mapping[str, str], now: Mapping[str, str]) -> bool:
    """True when every link seen in both fetches came with a different id this time.

    Feeds that mint a fresh guid per request (a timestamp, a session) would otherwise make
    every fetch a batch of "new" entries, and every bot reading our feeds re-post them.
    """
    common = before.keys() & now.keys()
    return bool(common) and all(before[link] != now[link] for link in common)


def _stored_by_link(stored: Mapping[str, StoredEntry]) -> dict[str, str]:
    """Stored keys by link; of several entries with one link, the first-seen wins."""
    by_link: dict[str, str] = {}
    for entry in sorted(stored.values(), key=lambda e: (e.first_seen, e.key)):
        if entry.link:
            by_link.setdefault(entry.link, entry.key)
    return by_link


def _entry(
    entry: CleanEntry, key: str, old: StoredEntry | None, unstable: bool, ctx: MergeContext
) -> StoredEntry:
    now = ctx.now
    first_seen = old.first_seen if old else now
    if old is not None:
        published = old.published  # the first value wins: no re-dating, no re-posting
    else:
        given = entry.published or entry.updated
        published = given if given is not None and given <= now else first_seen
    candidate = entry.updated or entry.published
    if candidate is None or candidate > now:
        candidate = None  # a future updated would move on every fetch as "now" does
    updated = max(d for d in (published, old.updated if old else None, candidate) if d)
    return StoredEntry(
        key=key,
        id=old.id if old else _published_id(entry, key, unstable, ctx),
        link=entry.link,
        title=entry.title,
        summary=entry.summary,
        content_html=entry.content_html,
        published=published,
        updated=updated,
        first_seen=first_seen,
        lang=entry.lang,
        authors=entry.authors,
        tags=entry.tags,
        image_url=entry.image_url,
    )


def _published_id(entry: CleanEntry, key: str, unstable: bool, ctx: MergeContext) -> str:
    """The partner's own id when it is an absolute URI, else a tag: URI (RFC 4151) minted
    from the identity key, so the same entry gets the same id on every fetch and restart."""
    own = entry.entry_id
    if own and not unstable and len(own) <= _MAX_OWN_ID and is_absolute_uri(own):
        return own
    digest = hashlib.sha256(key.encode()).hexdigest()
    return post_id(None, f"partner/{ctx.partner}/{digest}", ctx.id_authority)


def _retain(
    entries: Mapping[str, StoredEntry], in_feed: set[str], retention: int
) -> dict[str, StoredEntry]:
    """At most ``retention`` entries, the newest; entries still in the feed always stay."""
    if len(entries) <= retention:
        return dict(entries)
    room = max(retention - len(in_feed), 0)
    others = newest_first(e for k, e in entries.items() if k not in in_feed)
    keep = in_feed | {e.key for e in others[:room]}
    return {k: e for k, e in entries.items() if k in keep}


def to_post(
    entry: StoredEntry,
    origin: Origin,
    *,
    lang: str,
    categories: Sequence[Category],
    fallback_url: str,
) -> Post:
    """The Post of a stored entry. ``lang`` is the default when the feed gave none (the
    partner's ``lang``, else the site's); ``categories`` are the partner's configured ones;
    ``fallback_url`` is where an entry without a link points (the partner's home or feed)."""
    return Post(
        id=entry.id,
        url=entry.link or fallback_url,
        title=entry.title,
        published=entry.published,
        updated=entry.updated,
        lang=entry.lang or lang,
        summary=entry.summary,
        content_html=entry.content_html,
        categories=tuple(categories),
        tags=entry.tags,
        authors=entry.authors,
        image=Image(entry.image_url) if entry.image_url else None,
        origin=origin,
        source_path=f"partners/{origin.name}",
    )


def partner_categories(labels: Iterable[str]) -> tuple[Category, ...]:
    """A partner's configured category labels as Categories, one per slug
    (docs/architecture.md "Normalization")."""
    return categories_of(labels, plain_text)
