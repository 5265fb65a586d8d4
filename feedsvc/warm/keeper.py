"""The Publisher's side of the snapshot file: open it at start, restore its state, write
captures of what is served, one write at a time in a thread."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from feedsvc.config import Config
from feedsvc.errors import SnapshotError
from feedsvc.model import Feed, Post
from feedsvc.normalize.cache import NormalizeCache
from feedsvc.pipeline import (
    LoadResult,
    RenderedSite,
    SourceState,
    all_feeds,
    hold_scheduled,
    normalize_sources,
)
from feedsvc.sources.folder import FolderReader
from feedsvc.store import Snapshot
from feedsvc.urls import feed_path
from feedsvc.warm import code_version, config_hash
from feedsvc.warm.file import Served, read_served, read_state, write_snapshot
from feedsvc.warm.state import WarmState, decode_state, encode_state, restore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Capture:
    """What one snapshot file holds: taken between rebuilds, written later in a thread."""

    config: Config
    snapshot: Snapshot
    state: WarmState


@dataclass(frozen=True, slots=True)
class Restored:
    """A Publisher's memory as the build that wrote the snapshot left it."""

    states: dict[str, SourceState]
    folders: dict[str, FolderReader]
    normalized: NormalizeCache
    loaded: LoadResult
    rendered: RenderedSite
    partner_posts: Sequence[Post]


class SnapshotKeeper:
    """Reads and writes one snapshot file for a Publisher."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._unsaved: Capture | None = None
        self._saving: asyncio.Task[None] | None = None

    def open(self, config: Config) -> Served | None:
        """The served part of the snapshot, or None (and the log says why)."""
        try:
            served = read_served(self.path, code_version(), config_hash(config))
        except SnapshotError as e:
            level = logging.INFO if e.message == "none yet" else logging.WARNING
            log.log(level, "snapshot not used, building from the sources: %s", e)
            return None
        log.info("serving the snapshot %s; reading the sources for changes", self.path)
        return served

    def restore(self, served: Served, config: Config) -> Restored | None:
        """The state after ``served`` (in a thread: about a second for 10,000 posts), or
        None (and the log says why): then every feed is rendered again."""
        where = str(self.path)
        try:
            with served.file:
                state = decode_state(read_state(served, where), where)
            states, folders, normalized = restore(state, config)
            loaded = normalize_sources(states, config, cache=normalized)
            # As served: what was scheduled then still is, until the first rebuild.
            loaded = hold_scheduled(loaded, served.status.built_at)
            feeds = all_feeds(loaded.posts, config, state.partner_posts)
            _check_served(feeds, config, served.resources, where)
        except (SnapshotError, OSError) as e:
            log.warning("snapshot state not used, rendering every feed again: %s", e)
            return None
        rendered = RenderedSite({f.path: f for f in feeds}, dict(served.resources), ())
        return Restored(states, folders, normalized, loaded, rendered, state.partner_posts)

    def write(self, capture: Capture) -> None:
        """Write ``capture`` now; a failure is logged (the service goes on without it)."""
        started = time.perf_counter()
        try:
            write_snapshot(
                self.path,
                code_version(),
                config_hash(capture.config),
                capture.snapshot.resources,
                capture.snapshot.status,
                encode_state(capture.state),
            )
        except (OSError, SnapshotError, TypeError, ValueError) as e:
            # TypeError, ValueError: a source's raw value that JSON cannot hold.
            log.warning("snapshot not written to %s: %s", self.path, e)
            return
        log.info("snapshot written to %s in %.2f s", self.path, time.perf_counter() - started)

    def save_soon(self, capture: Capture | None = None) -> None:
        """Write ``capture`` (or the one waiting) in a thread, after any write in progress;
        a capture waiting is replaced by a newer one."""
        if capture is not None:
            self._unsaved = capture
        if self._unsaved is not None and (self._saving is None or self._saving.done()):
            self._saving = asyncio.get_running_loop().create_task(self._save_all())

    def keep_for_later(self, capture: Capture | None) -> None:
        """Hold ``capture`` until ``save_soon`` (a build before the event loop runs)."""
        self._unsaved = capture

    async def _save_all(self) -> None:
        while self._unsaved is not None:
            capture, self._unsaved = self._unsaved, None
            await asyncio.to_thread(self.write, capture)

    async def wait(self) -> None:
        """Until no write is in progress (a half-written file is never renamed into place)."""
        if self._saving is not None:
            await self._saving


def _check_served(
    feeds: Sequence[Feed], config: Config, resources: Mapping[str, object], where: str
) -> None:
    for feed in feeds:
        for fmt in config.feeds.formats:
            path = feed_path(feed.path, fmt)
            if path not in resources:
                raise SnapshotError(where, f"damaged: no document for the feed {path}")
