"""Building the site from its sources' states: normalize, group, render, incrementally.

The SiteBuilder remembers what the last build made (each post as normalized, each feed as
rendered), so the next build normalizes only the posts whose raw form changed and renders
only the feeds that differ by value; everything else is reused, bytes and ETags included.
``assemble`` is pure work on the given state and runs in a thread beside serving; ``keep``
records its result once the Publisher swaps it in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from feedsvc.clock import Clock
from feedsvc.config import Config
from feedsvc.model import Post
from feedsvc.normalize.cache import NormalizeCache
from feedsvc.normalize.language import release_detector
from feedsvc.pipeline import (
    LoadResult,
    OnRendered,
    RenderedSite,
    SourceState,
    all_feeds,
    hold_scheduled,
    normalize_sources,
    render_site,
    status_of,
)
from feedsvc.status import RebuildStatus
from feedsvc.store import Snapshot
from feedsvc.warm.keeper import Restored

log = logging.getLogger(__name__)

# /status lists the paths of at most this many feeds re-rendered by the last rebuild.
LISTED_FEEDS = 20


@dataclass(frozen=True, slots=True)
class Built:
    """What one build made, handed back from its thread to the event loop."""

    snapshot: Snapshot
    loaded: LoadResult
    rendered: RenderedSite
    normalized: int  # posts normalized by this build (not taken from the cache)
    partner_posts: Sequence[Post]


class SiteBuilder:
    """Builds snapshots, each from the last one kept. ``workers`` processes normalize and
    render the start-up build (default: one per core)."""

    def __init__(self, clock: Clock, workers: int | None = None) -> None:
        self._clock = clock
        self.normalized = NormalizeCache(workers)
        self.loaded: LoadResult | None = None
        self.rendered: RenderedSite | None = None
        self.partner_posts: Sequence[Post] = ()
        self.last: RebuildStatus | None = None  # the last build kept, for /status

    def assemble(
        self,
        config: Config,
        states: Mapping[str, SourceState],
        partner_posts: Sequence[Post],
        *,
        full: bool,
        workers: int | None,
        on_rendered: OnRendered | None = None,
    ) -> Built:
        """Normalize, group, render (every feed when ``full``, else those that changed);
        ``on_rendered`` is told of each document rendered (pipeline.render_site)."""
        self.normalized.workers = workers
        now = self._clock()
        loaded = normalize_sources(states, config, cache=self.normalized)
        if full:
            # Rendering every feed, in workers forked from here, is the build's peak of
            # memory: without the language model's 85 MB (docs/benchmarks.md "Language
            # detection"). The next rebuild that detects a post reads it again.
            release_detector()
        if self.normalized.kept:
            loaded = replace(loaded, problems=(*loaded.problems, *self.normalized.kept))
        loaded = hold_scheduled(loaded, now)
        feeds = all_feeds(loaded.posts, config, partner_posts)
        previous = None if full else self.rendered
        rendered = render_site(feeds, config, previous, workers, on_rendered)
        status = status_of(loaded, feeds, now)
        snapshot = Snapshot(resources=rendered.resources, status=status)
        return Built(snapshot, loaded, rendered, self.normalized.normalized, partner_posts)

    def keep(self, built: Built, trigger: str, started: float) -> None:
        """Remember what a build made, the base of the next one (on the event loop, once
        its thread is done); ``started`` is its ``time.perf_counter()`` at the start."""
        self._log_new_problems(built.loaded)
        self.loaded, self.rendered = built.loaded, built.rendered
        self.partner_posts = built.partner_posts
        rendered = built.rendered.rerendered
        self.last = RebuildStatus(
            at=self._clock(),
            trigger=trigger,
            seconds=round(time.perf_counter() - started, 3),
            posts_normalized=built.normalized,
            feeds_rendered=len(rendered),
            rendered=rendered[:LISTED_FEEDS],
        )

    def restore(self, restored: Restored) -> None:
        """Take what a warm start restored as the last build (feedsvc.warm)."""
        self.normalized = restored.normalized
        self.loaded, self.rendered = restored.loaded, restored.rendered
        self.partner_posts = restored.partner_posts

    def _log_new_problems(self, loaded: LoadResult) -> None:
        if self.loaded is None:
            return  # the start-up build's problems are logged by service.py
        before = set(self.loaded.problems)
        for problem in loaded.problems:
            if problem not in before:
                log.warning("%s: %s", problem, problem.severity.value)
