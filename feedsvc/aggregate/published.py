"""Partners' stored entries as the ``Post``s every renderer knows, kept between refreshes.

A partner's Posts are made when its entries or its origin change, in the step that merged
them (a fraction of a millisecond per partner), so that ``posts()`` after a refresh of
hundreds of partners only sorts, instead of making ten thousand Posts in one step while
requests wait. Posts of entries unchanged since the last time (the same objects: merge
keeps them) are reused rather than made again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from feedsvc.aggregate.merge import StoredEntry, to_post
from feedsvc.model import Category, Origin, Post, newest_first

__all__ = ["PublishedPosts"]


@dataclass(frozen=True, slots=True)
class _Published:
    """One partner's entries as Posts, and the entries they were made from."""

    origin: Origin
    entries: Mapping[str, StoredEntry]
    posts: dict[str, Post]  # by entry key, in the order of ``entries``


class PublishedPosts:
    """Every configured partner's entries as Posts, in feed order. ``names`` are the
    partners in config order, which breaks ties between equal Posts of two partners."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = tuple(names)
        self._by_partner: dict[str, _Published] = {}
        self._all: tuple[Post, ...] | None = None

    def update(
        self,
        name: str,
        origin: Origin,
        entries: Mapping[str, StoredEntry],
        *,
        lang: str,
        categories: tuple[Category, ...],
    ) -> None:
        """``name``'s entries or origin changed: make its Posts now. ``lang`` and
        ``categories`` are what the config gives entries that have none of their own."""
        fallback = origin.home_url or origin.feed_url
        before = self._by_partner.get(name)
        if before is None or before.origin != origin:
            before = _Published(origin, {}, {})
        posts = {}
        for key, entry in entries.items():
            post = before.posts.get(key)
            if post is None or before.entries.get(key) is not entry:
                post = to_post(
                    entry, origin, lang=lang, categories=categories, fallback_url=fallback
                )
            posts[key] = post
        self._by_partner[name] = _Published(origin, entries, posts)
        self._all = None

    def posts(self) -> tuple[Post, ...]:
        """Every partner's Posts: published descending, then id ascending. An id two
        partners share (both republishing one entry) is published once, the newest."""
        if self._all is None:
            every = [
                post
                for name in self._names
                if name in self._by_partner
                for post in self._by_partner[name].posts.values()
            ]
            first: dict[str, Post] = {}
            for post in newest_first(every):
                first.setdefault(post.id, post)
            self._all = tuple(first.values())
        return self._all
