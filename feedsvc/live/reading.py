"""What each source last gave a running service, and reading it again.

A local source is read through a reader kept for it (a folder's remembers each file, so a
re-read opens only the files that changed); a remote source is asked conditionally against
its last result.
A read never replaces a source's last good posts with nothing: a source that fails keeps
them, with its error (pipeline.SourceState).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from feedsvc.clock import Clock
from feedsvc.config import Config, PostsConfig, SourceConfig
from feedsvc.pipeline import SourceState, read_sources, run_sync
from feedsvc.sources import LocalReader, SourceResult, open_local
from feedsvc.sources.folder import FolderMemory, FolderReader

log = logging.getLogger(__name__)


class SourceReads:
    """Every source's last read (``states``), and the readers that remember between reads."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.states: dict[str, SourceState] = {}
        self._local_readers: dict[str, LocalReader] = {}

    def read_all(self, config: Config) -> None:
        """Read every source and keep the result (synchronous: the start-up build)."""
        self.states = run_sync(self._read(config))

    async def read_all_async(self, config: Config) -> None:
        """``read_all`` inside a running event loop (whose servers the sources may be)."""
        self.states = await self._read(config)

    async def read(
        self, config: Config, only: Collection[str] | None = None
    ) -> dict[str, SourceState]:
        """Every source's state after re-reading those in ``only`` (None: all), the others
        as last kept, without keeping it: ``keep`` it once it is served."""
        if only is not None and not only:
            return dict(self.states)
        states = await self._read(config, only)
        _log_changes(self.states, states)
        return states

    async def _read(
        self, config: Config, only: Collection[str] | None = None
    ) -> dict[str, SourceState]:
        return await read_sources(
            config, self.states, only=only, clock=self._clock, read_local=self._read_local
        )

    def keep(self, states: dict[str, SourceState]) -> None:
        self.states = states

    def changed(self, states: Mapping[str, SourceState]) -> bool:
        """Whether any source's posts, problems or error differ from those kept (results are
        compared by identity: a reader returns its previous result itself when nothing
        changed)."""
        before = self.states
        if before.keys() != states.keys():
            return True
        return any(
            before[name].result is not state.result or before[name].error != state.error
            for name, state in states.items()
        )

    def follow(self, old: Config, new: Config) -> None:
        """Keep only what still belongs to ``new``'s sources: a source whose definition
        changed starts over, as its old posts are not its own."""
        wanted = {source.name: source for source in new.sources}
        before = {source.name: source for source in old.sources}
        self.states = {
            name: state
            for name, state in self.states.items()
            if name in wanted and wanted[name] == before.get(name)
        }
        self._local_readers = {
            n: r for n, r in self._local_readers.items() if wanted.get(n) == r.source
        }

    def restore(self, states: dict[str, SourceState], readers: Mapping[str, LocalReader]) -> None:
        """Take the states and readers a warm start restored (feedsvc.warm)."""
        self.states = states
        self._local_readers = dict(readers)

    def folder_memories(self) -> dict[str, FolderMemory]:
        """What each folder's reader remembers, to keep on disk (feedsvc.warm)."""
        return {
            name: reader.memory()
            for name, reader in self._local_readers.items()
            if isinstance(reader, FolderReader)
        }

    def _read_local(self, source: SourceConfig, limits: PostsConfig) -> SourceResult:
        """Read a local source (in a thread) through the reader kept for it, which re-reads
        only what changed since the last read (a folder: the files whose stat changed)."""
        reader = self._local_readers.get(source.name)
        if reader is None or (reader.source, reader.limits) != (source, limits):
            reader = self._local_readers[source.name] = open_local(source, limits)
        return reader.read()


def _log_changes(before: Mapping[str, SourceState], after: Mapping[str, SourceState]) -> None:
    for name, state in after.items():
        old = before.get(name)
        old_error = old.error if old is not None else None
        if state.error is not None and state.error != old_error:
            kept = len(state.result.posts) if state.result is not None else 0
            log.warning(
                "source %s: %s (its last good %d posts are still published)",
                name,
                state.error,
                kept,
            )
        elif state.error is None and old_error is not None:
            log.info("source %s: read again without error", name)
