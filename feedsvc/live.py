"""The running service's state: what is served now, and how it is rebuilt.

The Publisher owns the SnapshotRef the web app reads. It builds the first snapshot
at start-up; after that, whenever partners change (aggregator mode), it rebuilds
off the event loop and swaps in a whole new snapshot, so readers see the old feeds
or the new ones, never a half-built set (SPEC §9). Only feeds whose content changed
are re-rendered; every other feed keeps its bytes and ETag.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from feedsvc.aggregate.service import Aggregator
from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.model import Post
from feedsvc.pipeline import (
    LoadResult,
    RenderedSite,
    all_feeds,
    load_posts,
    render_site,
    status_of,
)
from feedsvc.store import Snapshot, SnapshotRef

log = logging.getLogger(__name__)


class Publisher:
    """Keeps ``ref.current`` equal to the site's posts and its partners', rendered."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = system_clock,
        workers: int | None = None,
        aggregator: Aggregator | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._workers = workers
        self._loaded: LoadResult | None = None
        self._rendered: RenderedSite | None = None
        self._ref: SnapshotRef | None = None
        self._rebuilding: asyncio.Lock | None = None
        self.aggregator = aggregator
        if aggregator is None and config.aggregator.enabled:
            self.aggregator = Aggregator(config, clock=clock, on_change=self.partners_changed)

    @property
    def ref(self) -> SnapshotRef:
        if self._ref is None:
            raise RuntimeError("Publisher.build() has not run")
        return self._ref

    def build(self) -> SnapshotRef:
        """Load every post and render every feed: the start-up build (synchronous)."""
        self._loaded = load_posts(self.config, self._workers)
        self._ref = SnapshotRef(self._render(()))
        return self._ref

    def _render(self, partner_posts: Sequence[Post]) -> Snapshot:
        assert self._loaded is not None
        feeds = all_feeds(self._loaded.posts, self.config, partner_posts)
        # Re-renders run beside serving, in one process: forking a running loop is unsafe.
        workers = self._workers if self._rendered is None else 1
        self._rendered = render_site(feeds, self.config, self._rendered, workers)
        if self._rendered.rerendered:
            log.info("rendered %d feeds", len(self._rendered.rerendered))
        status = status_of(self._loaded, feeds, self._clock())
        return Snapshot(resources=self._rendered.resources, status=status)

    async def partners_changed(self) -> None:
        """Rebuild with the aggregator's current posts; called by the Aggregator."""
        if self.aggregator is None:
            return
        if self._rebuilding is None:
            self._rebuilding = asyncio.Lock()
        async with self._rebuilding:
            posts = self.aggregator.posts()  # read on the loop, where the aggregator lives
            snapshot = await asyncio.to_thread(self._render, posts)
            self.ref.current = snapshot

    def status(self) -> dict[str, Any]:
        """/status: the current snapshot's, with every partner's live state."""
        status = dict(self.ref.current.status)
        if self.aggregator is not None:
            status["partners"] = self.aggregator.status()
        return status

    async def start(self, *, schedule: bool = True) -> None:
        """Start background work; ``schedule=False`` leaves fetching to explicit refreshes."""
        if self.aggregator is not None:
            await self.aggregator.start(schedule=schedule)
            # What the store kept from before a restart is served at once, whatever the
            # partners answer next (a restart loses nothing).
            await self.partners_changed()

    async def stop(self) -> None:
        if self.aggregator is not None:
            await self.aggregator.stop()

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: background work runs while the app serves."""
        await self.start()
        yield
        await self.stop()
