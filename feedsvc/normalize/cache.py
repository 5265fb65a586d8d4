"""Per-post normalization remembered between rebuilds of a running service
(docs/architecture.md "Live updates").

Normalizing a post (Markdown, sanitizing, summaries) is the costly per-post step; the batch
step after it (duplicate ids, translations, order) is cheap. A running service keeps one
``NormalizeCache``: after one file is saved, only that post is normalized again.

A post is found by its location (``RawPost.path``) and reused when its RawPost is the same
object or an equal one, so a reused result is always the one ``normalize_one`` would give.

Last good wins: a post that normalized well and then turns bad (a date that cannot be read,
a title removed) keeps publishing its last good version, and the problem is reported with a
note saying so, until the post is fixed or removed. A post that turns into a draft is
unpublished: that is a decision, not a mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from feedsvc.config import Config
from feedsvc.model import Post, Problem, RawPost
from feedsvc.normalize.batch import Mapper
from feedsvc.normalize.language import load_detector
from feedsvc.parallel import parallel_map


@dataclass(frozen=True, slots=True)
class NormalizedEntry:
    raw: RawPost
    result: Post | Problem | None  # what normalize_one gave for ``raw``
    last_good: Post | None  # the newest Post this location gave, kept while it is bad


class NormalizeCache:
    """Remembers ``normalize_one`` per post location between calls of its mapper.

    Use ``mapper(config)`` as ``normalize_posts``'s mapper; after the call, ``kept`` lists
    the problems of posts whose last good version was published instead. Not thread-safe:
    one normalization at a time.
    """

    def __init__(self, workers: int | None = 1) -> None:
        self.workers = workers
        self._entries: dict[str, NormalizedEntry] = {}
        self._key: object = None
        self.kept: tuple[Problem, ...] = ()
        self.normalized = 0  # how many posts the last call normalized (not reused)
        self._detecting = False  # site.detect_language of the config mapper() was given

    def mapper(self, config: Config) -> Mapper:
        self._detecting = config.site.detect_language
        key = _key_of(config)
        if key != self._key:
            self._entries = {}
            self._key = key
        return self._map

    def entries(self) -> list[NormalizedEntry]:
        """What this cache remembers, one entry per post location."""
        return list(self._entries.values())

    def restore(self, config: Config, entries: Iterable[NormalizedEntry]) -> None:
        """Remember ``entries``, normalized under ``config`` (from the snapshot on disk)."""
        self._key = _key_of(config)
        self._entries = {entry.raw.path: entry for entry in entries}

    def _map(
        self, func: Callable[[RawPost], Post | Problem | None], raws: Sequence[RawPost]
    ) -> list[Post | Problem | None]:
        old = self._entries
        misses = [raw for raw in raws if not _reusable(old.get(raw.path), raw)]
        if misses and self._detecting:
            load_detector()  # before parallel_map forks: its workers share the model
        normalized = parallel_map(func, misses, self.workers)
        fresh = dict(zip(map(id, misses), normalized, strict=True))
        entries: dict[str, NormalizedEntry] = {}
        results: list[Post | Problem | None] = []
        kept: list[Problem] = []
        for raw in raws:
            before = old.get(raw.path)
            if id(raw) in fresh:
                result = fresh[id(raw)]
                last_good = _last_good(before, raw, result)
                entry = NormalizedEntry(raw, result, last_good)
            else:
                assert before is not None
                entry = before
            entries[raw.path] = entry
            if isinstance(entry.result, Problem) and entry.last_good is not None:
                kept.append(entry.result.last_good_kept())
                results.append(entry.last_good)
            else:
                results.append(entry.result)
        self._entries = entries  # locations that are gone are forgotten
        self.kept = tuple(kept)
        self.normalized = len(misses)
        return results


def _key_of(config: Config) -> object:
    # normalize_post reads only [site], [feeds] and [posts]; other changes keep the cache.
    return (config.site, config.feeds, config.posts)


def _reusable(entry: NormalizedEntry | None, raw: RawPost) -> bool:
    return entry is not None and (entry.raw is raw or entry.raw == raw)


def _last_good(
    before: NormalizedEntry | None, raw: RawPost, result: Post | Problem | None
) -> Post | None:
    if isinstance(result, Post):
        return result
    same_post = before is not None and (before.raw.source, before.raw.key) == (raw.source, raw.key)
    if isinstance(result, Problem) and same_post:
        # Only the same post (same key in the same source) keeps its last good version: in a
        # remote document, a location (``#item-3``) may hold another post after an insert.
        return before.last_good  # type: ignore[union-attr]
    return None
