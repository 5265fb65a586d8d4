"""Watchers and timers: one background task per source, each asking for rebuilds of it.

A source read from files gets a Watcher (watch.py): a saved file asks for a rebuild at
once. A source read from a URL gets a timer: it asks again ``interval`` after the last read
ended. A task that dies of an unexpected error is logged and its error kept for /status;
the source's last good posts keep serving. ``update`` follows a reloaded config: tasks of
changed sources are replaced, those of removed sources stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any

from feedsvc.config import SourceConfig
from feedsvc.live.watch import Watcher
from feedsvc.sources import source_type

log = logging.getLogger(__name__)

# Asks for a rebuild re-reading the named sources, for a reason ("watch", "interval"), and
# returns at once; the future is done once a rebuild that started after the request has
# finished (a watcher does not wait for it, a timer does).
RequestRebuild = Callable[[frozenset[str], str], "asyncio.Future[None]"]


class SourceTasks:
    """The watchers and timers of a running service's sources.

    ``sleep`` waits between reads of a remote source (tests inject one they release).
    """

    def __init__(
        self,
        request_rebuild: RequestRebuild,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._request_rebuild = request_rebuild
        self._sleep = sleep
        # One task per source that has one, and the definition it was made for.
        self._tasks: dict[str, tuple[SourceConfig, asyncio.Task[None]]] = {}
        self._watchers: dict[str, Watcher] = {}
        self._errors: dict[str, str] = {}  # why a task died, by source name

    def update(self, sources: Sequence[SourceConfig]) -> None:
        """One watcher or timer per source that wants one; those whose source changed are
        replaced, those of removed sources stopped (on the running event loop)."""
        wanted = {source.name: source for source in sources}
        for name, (source, task) in list(self._tasks.items()):
            if wanted.get(name) != source:
                task.cancel()
                del self._tasks[name]
                self._watchers.pop(name, None)
                self._errors.pop(name, None)
        for name, source in wanted.items():
            if name in self._tasks:
                continue
            work = self._work(source)
            if work is not None:
                task = asyncio.get_running_loop().create_task(work, name=f"source-{name}")
                task.add_done_callback(partial(self._ended, name))
                self._tasks[name] = (source, task)

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._watchers.clear()

    def watch_mode(self, name: str) -> str | None:
        """How the source ``name`` is watched now (watch.py's modes); None when it is not."""
        watcher = self._watchers.get(name)
        return watcher.mode if watcher is not None else None

    def error(self, name: str) -> str | None:
        """Why the watcher or timer of ``name`` stopped, if it died of an error."""
        return self._errors.get(name)

    def _work(self, source: SourceConfig) -> Coroutine[Any, Any, None] | None:
        interval = remote_interval(source)
        if interval is not None:
            return self._every(source.name, interval)
        watched = watched_path(source)
        if watched is None:
            return None
        folder, only = watched
        on_change = partial(self._request_rebuild, frozenset({source.name}), "watch")
        watcher = Watcher(folder, on_change, only=only, polling=source.watch == "poll")
        self._watchers[source.name] = watcher
        return watcher.run()

    async def _every(self, name: str, seconds: float) -> None:
        """Re-read a remote source every ``seconds``, counted from the end of the last read."""
        while True:
            await self._sleep(seconds)
            await self._request_rebuild(frozenset({name}), "interval")

    def _ended(self, name: str, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("source %s: watching stopped: %r", name, error, exc_info=error)
        self._errors[name] = f"watching stopped: {error!r}"


def remote_interval(source: SourceConfig) -> float | None:
    """Seconds between reads of a source read from a URL; None for one read from files."""
    return source.interval.seconds if source.url else None


def watched_path(source: SourceConfig) -> tuple[str, str | None] | None:
    """(folder to watch, the one file in it that matters or None for all) for a source read
    from files, unless its ``watch`` is off. A single file is watched through its folder:
    editors save by renaming a new file over the old one, which ends a watch on the file."""
    if source.url or not source.path or source.watch == "off":
        return None
    if source_type(source).path_kind == "folder":
        return source.path, None
    return os.path.dirname(source.path), source.path
