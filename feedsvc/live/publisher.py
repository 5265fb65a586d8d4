"""The running service's state: what is served now, and how it is rebuilt
(docs/architecture.md "Live updates").

The Publisher owns the SnapshotRef the web app reads. It builds the first snapshot at
start-up; after that, every change (a file saved, a webhook, a remote source's timer,
SIGHUP, partners' entries) asks for a rebuild. Rebuilds run one at a time, requests that
arrive meanwhile are merged into one more (coalesce.py), and each rebuild:

1. re-reads only the sources it was asked to (a folder re-reads only the files that
   changed, a remote source asks conditionally);
2. normalizes only the posts whose raw form changed (NormalizeCache), and reruns the cheap
   batch step (duplicate ids, translations, order) over every post;
3. re-renders only the feeds whose content changed (``render_site`` compares feeds by value);
4. swaps in a whole new snapshot, so readers see the old feeds or the new ones, never a
   half-built set.

Steps 2–4 run in a thread, beside serving. Whatever fails keeps the last good state serving:
a source that cannot be read keeps its last good posts, a post that turns bad its last good
version, a config that fails validation on reload the old config; every one is reported on
/status and in the log, and the report clears when the problem is fixed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from feedsvc.aggregate.service import Aggregator
from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config, SourceConfig
from feedsvc.configfile import load_config
from feedsvc.errors import FeedsvcError
from feedsvc.live.coalesce import Batch, Coalescer
from feedsvc.live.watch import Watcher
from feedsvc.model import Post, Problem
from feedsvc.normalize.cache import NormalizeCache
from feedsvc.pipeline import (
    LoadResult,
    RenderedSite,
    SourceState,
    all_feeds,
    normalize_sources,
    read_sources,
    render_context,
    render_site,
    run_sync,
    status_of,
)
from feedsvc.sources import LocalReader, SourceResult, open_local, source_type
from feedsvc.sources.folder import FolderReader
from feedsvc.status import ConfigStatus, RebuildStatus, ServiceStatus, SourceStatus
from feedsvc.store import Snapshot, SnapshotRef
from feedsvc.warm.file import Served
from feedsvc.warm.keeper import Capture, SnapshotKeeper
from feedsvc.warm.state import WarmState

log = logging.getLogger(__name__)

# /status lists the paths of at most this many feeds re-rendered by the last rebuild.
LISTED_FEEDS = 20

# Told of every rebuild that swapped in a new snapshot: (the one replaced, the new one).
RebuildListener = Callable[[Snapshot, Snapshot], None]


@dataclass(frozen=True, slots=True)
class _Built:
    """What one rebuild made, handed back from its thread to the event loop."""

    snapshot: Snapshot
    loaded: LoadResult
    rendered: RenderedSite
    normalized: int
    partner_posts: Sequence[Post]


class Publisher:
    """Keeps ``ref.current`` equal to the site's sources and its partners', rendered.

    ``load_config`` reads the config again on ``reload_config`` (SIGHUP); by default the
    file the config came from. ``sleep`` waits between reads of a remote source.
    ``snapshot_file`` is where the snapshot is kept between runs (feedsvc.warm): written
    after every build that changed what is served, read by ``warm_start``; None: nowhere.
    ``aggregate=False`` never runs the aggregator, even when the config enables it.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = system_clock,
        workers: int | None = None,
        aggregator: Aggregator | None = None,
        load_config: Callable[[], Config] | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        snapshot_file: Path | None = None,
        aggregate: bool = True,
    ) -> None:
        self.config = config
        self._clock = clock
        self._workers = workers
        self._sleep = sleep
        self._load_config = load_config or _config_file_loader(config)
        self._states: dict[str, SourceState] = {}
        self._local_readers: dict[str, LocalReader] = {}
        self._normalized = NormalizeCache(workers)
        self._loaded: LoadResult | None = None
        self._rendered: RenderedSite | None = None
        self._ref: SnapshotRef | None = None
        self._coalescer = Coalescer(self._rebuild)
        # Whether what is served lags behind (partners or the config changed, or the last
        # rebuild failed), and whether every feed must be rendered again (a new config).
        self._behind = False
        self._render_all = False
        self._rebuild_error: str | None = None
        self._next_config: Config | None = None
        self._config_error: str | None = None
        self._config_loaded_at = clock()
        self._last_rebuild: RebuildStatus | None = None
        # One background task per source (a watcher or a timer), and what it was made for.
        self._tasks: dict[str, tuple[SourceConfig, asyncio.Task[None]]] = {}
        # Watchers and timers that died of an unexpected error, by source name.
        self._task_errors: dict[str, str] = {}
        self._watchers: dict[str, Watcher] = {}
        self._scheduled = False
        self._background: set[asyncio.Task[Any]] = set()
        self._listeners: list[RebuildListener] = []
        self._keeper = SnapshotKeeper(snapshot_file) if snapshot_file is not None else None
        # A warm start's snapshot file, whose state the first rebuild restores.
        self._served: Served | None = None
        self._partner_posts: Sequence[Post] = ()
        self.aggregator = aggregator
        if aggregate and aggregator is None and config.aggregator.enabled:
            self.aggregator = Aggregator(config, clock=clock, on_change=self.partners_changed)

    @property
    def ref(self) -> SnapshotRef:
        if self._ref is None:
            raise RuntimeError("Publisher.build() has not run")
        return self._ref

    @property
    def loaded(self) -> LoadResult:
        """The posts and problems of what is served now."""
        if self._loaded is None:
            raise RuntimeError("Publisher.build() has not run")
        return self._loaded

    # --- building ---------------------------------------------------------------------------

    def build(self) -> SnapshotRef:
        """Read every source and render every feed: the start-up build (synchronous, with
        ``workers`` processes, before the server's event loop runs)."""
        started = time.perf_counter()
        config = self.config
        self._states = run_sync(
            read_sources(config, clock=self._clock, read_local=self._read_local)
        )
        built = self._assemble(config, self._states, (), full=True, workers=self._workers)
        return self._first(built, started)

    async def build_async(self) -> SnapshotRef:
        """``build`` from inside a running event loop, whose servers the sources may be (in
        tests); the work runs in a thread, in this one process."""
        started = time.perf_counter()
        config = self.config
        self._states = await read_sources(config, clock=self._clock, read_local=self._read_local)
        built = await asyncio.to_thread(
            self._assemble, config, self._states, (), full=True, workers=1
        )
        return self._first(built, started)

    def _first(self, built: _Built, started: float) -> SnapshotRef:
        self._keep(built, "start", started)
        self._ref = SnapshotRef(built.snapshot)
        if self._keeper is not None:
            self._keeper.keep_for_later(self._capture())  # written once serving has begun
        return self._ref

    # --- the snapshot on disk ---------------------------------------------------------------

    def warm_start(self) -> SnapshotRef | None:
        """Serve the snapshot on disk as it is, if there is a usable one (None otherwise, and
        the log says why). The first rebuild then restores its state and reads every source,
        re-rendering only what changed while the service was stopped; ``start`` asks for it."""
        served = self._keeper.open(self.config) if self._keeper is not None else None
        if served is None:
            return None
        self._served = served
        self._ref = SnapshotRef(Snapshot(served.resources, served.status))
        return self._ref

    async def catch_up(self) -> None:
        """After ``warm_start``: restore its state, read every source, re-render what changed,
        and wait for the snapshot file to be written (feedsvc build)."""
        await self.rebuild(None, "start")
        if self._keeper is not None:
            await self._keeper.wait()

    def _restore(self, served: Served) -> bool:
        """Take the warm start's state (in a thread), as if the build that wrote the snapshot
        had just run here; False when it cannot be used (then every feed is rendered again)."""
        assert self._keeper is not None
        restored = self._keeper.restore(served, self.config)
        if restored is None:
            return False
        self._states = restored.states
        self._local_readers = {name: reader for name, reader in restored.folders.items()}
        self._normalized = restored.normalized
        self._loaded, self._rendered = restored.loaded, restored.rendered
        self._partner_posts = restored.partner_posts
        return True

    def _capture(self) -> Capture | None:
        """What is served and remembered now; taken between rebuilds, which replace the dicts
        they remember rather than change them, so it stays as it was while it is written."""
        if self._keeper is None or self._ref is None:
            return None
        state = WarmState(
            states=dict(self._states),
            folders={
                name: reader.memory()
                for name, reader in self._local_readers.items()
                if isinstance(reader, FolderReader)
            },
            normalized=self._normalized.entries(),
            partner_posts=tuple(self._partner_posts),
        )
        return Capture(self.config, self._ref.current, state)

    def save_snapshot(self) -> None:
        """Write what is served now to the snapshot file, at once (feedsvc build)."""
        capture = self._capture()
        if self._keeper is not None and capture is not None:
            self._keeper.keep_for_later(None)
            self._keeper.write(capture)

    def _read_local(self, source: SourceConfig) -> SourceResult:
        """Read a local source (in a thread) through the reader kept for it, which re-reads
        only what changed since the last read (a folder: the files whose stat changed)."""
        reader = self._local_readers.get(source.name)
        if reader is None or reader.source != source:
            reader = self._local_readers[source.name] = open_local(source)
        return reader.read()

    def _assemble(
        self,
        config: Config,
        states: Mapping[str, SourceState],
        partner_posts: Sequence[Post],
        *,
        full: bool,
        workers: int | None,
    ) -> _Built:
        """Normalize, group, render: pure work on the given state (runs in a thread)."""
        self._normalized.workers = workers
        loaded = normalize_sources(states, config, mapper=self._normalized.mapper(config))
        if self._normalized.kept:
            loaded = replace(loaded, problems=(*loaded.problems, *self._normalized.kept))
        feeds = all_feeds(loaded.posts, config, partner_posts)
        previous = None if full else self._rendered
        rendered = render_site(feeds, config, previous, workers)
        status = status_of(loaded, feeds, self._clock())
        snapshot = Snapshot(resources=rendered.resources, status=status)
        return _Built(snapshot, loaded, rendered, self._normalized.normalized, partner_posts)

    def _keep(self, built: _Built, trigger: str, started: float) -> None:
        """Record what a build made (on the event loop, once its thread is done)."""
        self._log_new_problems(built.loaded.problems)
        self._loaded = built.loaded
        self._rendered = built.rendered
        self._partner_posts = built.partner_posts
        rendered = built.rendered.rerendered
        self._last_rebuild = RebuildStatus(
            at=self._clock(),
            trigger=trigger,
            seconds=round(time.perf_counter() - started, 3),
            posts_normalized=built.normalized,
            feeds_rendered=len(rendered),
            rendered=rendered[:LISTED_FEEDS],
        )

    def _log_new_problems(self, problems: Sequence[Problem]) -> None:
        if self._loaded is None:
            return  # the start-up build's problems are logged by the command line
        before = set(self._loaded.problems)
        for problem in problems:
            if problem not in before:
                log.warning("%s: %s", problem, problem.severity.value)

    # --- rebuilding -------------------------------------------------------------------------

    def request_rebuild(self, sources: Collection[str] | None = None, trigger: str = "") -> None:
        """Ask for a rebuild re-reading ``sources`` (None: every source) and return at once;
        requests made while one runs are merged into one more (the webhook calls this)."""
        self._coalescer.request(None if sources is None else frozenset(sources), trigger)

    async def rebuild(self, sources: Collection[str] | None = None, trigger: str = "") -> None:
        """Ask for a rebuild and wait until one that started after the request is done."""
        wanted = None if sources is None else frozenset(sources)
        await self._coalescer.request(wanted, trigger or "manual")

    async def partners_changed(self) -> None:
        """Re-render with the aggregator's current entries; called by the Aggregator."""
        if self.aggregator is None:
            return
        self._behind = True
        await self._coalescer.request(frozenset(), "partners")

    @property
    def rebuilds(self) -> int:
        """How many rebuilds have run since start-up (requests merged into one count once)."""
        return self._coalescer.runs

    async def _rebuild(self, batch: Batch) -> None:
        started = time.perf_counter()
        if self._next_config is not None:
            self._render_all |= self._use_config(self._next_config)
            self._next_config = None
            self._behind = True
        sources = batch.sources
        if self._served is not None:
            # A warm start's first rebuild: its state first, then every source is read.
            served, self._served = self._served, None
            if not await asyncio.to_thread(self._restore, served):
                self._render_all = True
            sources = None
        config = self.config
        previous = self._states
        states = dict(previous)
        if sources is None or sources:
            states = await read_sources(
                config,
                previous,
                only=sources,
                clock=self._clock,
                read_local=self._read_local,
            )
        _log_source_changes(previous, states)
        if not (self._behind or _changed(previous, states)):
            self._states = states  # nothing new; /status shows the fresh read times live
            return
        partner_posts = self.aggregator.posts() if self.aggregator is not None else ()
        self._behind = True
        try:
            built = await asyncio.to_thread(
                self._assemble, config, states, partner_posts, full=self._render_all, workers=1
            )
        except Exception as e:
            # A bug, not bad input (that is reported per post and per source): the last
            # good snapshot keeps serving, and the next rebuild tries again from here.
            self._rebuild_error = f"{type(e).__name__}: {e}"
            log.exception("rebuild (%s) failed; the last good feeds keep serving", batch.trigger)
            return
        self._states = states
        self._behind = self._render_all = False
        self._rebuild_error = None
        self._keep(built, batch.trigger, started)
        replaced, self.ref.current = self.ref.current, built.snapshot
        for listener in self._listeners:
            listener(replaced, built.snapshot)
        if self._keeper is not None:
            self._keeper.save_soon(self._capture())
        log.info(
            "rebuilt (%s): %d feeds re-rendered, %d posts normalized, in %.3f s",
            batch.trigger,
            len(built.rendered.rerendered),
            built.normalized,
            time.perf_counter() - started,
        )

    def add_rebuild_listener(self, listener: RebuildListener) -> None:
        """Call ``listener(old, new)`` after each rebuild that swaps in a new snapshot (the
        WebSub hub distributes the feeds whose bytes changed); it must return at once."""
        self._listeners.append(listener)

    # --- configuration ----------------------------------------------------------------------

    async def reload_config(self) -> bool:
        """Read the config file again and every source with it (SIGHUP). A config that fails
        validation changes nothing: the old one keeps serving, and the error is on /status
        until a reload succeeds. True when the new config was taken."""
        try:
            if self._load_config is None:
                raise FeedsvcError("the config did not come from a file; nothing to reload")
            config = await asyncio.to_thread(self._load_config)
        except FeedsvcError as e:
            self._config_error = str(e)
            log.error("config reload failed, still serving the last good config: %s", e)
            return False
        if self._config_error is not None:
            log.info("config reloaded: the earlier error is fixed")
        self._config_error = None
        self._config_loaded_at = self._clock()
        self._next_config = self._restart_only_kept(config)
        await self._coalescer.request(None, "reload")
        return True

    def request_reload(self) -> None:
        """``reload_config`` in the background: what a SIGHUP handler calls."""
        task = asyncio.get_running_loop().create_task(self.reload_config())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _restart_only_kept(self, new: Config) -> Config:
        """``new`` with the settings that only a restart can change set back to the running
        ones (the listening socket, the aggregator's tasks and store), with a warning."""
        old = self.config
        server = replace(
            new.server,
            host=old.server.host,
            port=old.server.port,
            access_log=old.server.access_log,
            log_level=old.server.log_level,
        )
        kept = replace(new, server=server, aggregator=old.aggregator, partners=old.partners)
        if kept != new:
            log.warning(
                "config reloaded; changes to [aggregator], [[partners]], server.host, "
                "server.port, server.access_log and server.log_level wait for a restart"
            )
        return kept

    def _use_config(self, new: Config) -> bool:
        """Switch to ``new`` (between rebuilds); True when every feed must be re-rendered."""
        old = self.config
        self.config = new
        wanted = {source.name: source for source in new.sources}
        kept_states = {}
        for name, state in self._states.items():
            before = next((s for s in old.sources if s.name == name), None)
            # A source whose definition changed starts over: its old posts are not its own.
            if wanted.get(name) == before:
                kept_states[name] = state
        self._states = kept_states
        self._local_readers = {
            n: r for n, r in self._local_readers.items() if wanted.get(n) == r.source
        }
        if self._scheduled:
            self._start_source_tasks()
        # Feeds equal by value render differently under another site, public URL or format.
        return render_context(old) != render_context(new)

    # --- background work --------------------------------------------------------------------

    def _start_source_tasks(self) -> None:
        """One watcher or timer per source, as the config asks; those whose source changed
        are replaced, those of removed sources stopped."""
        wanted = {source.name: source for source in self.config.sources}
        for name, (source, task) in list(self._tasks.items()):
            if wanted.get(name) != source:
                task.cancel()
                del self._tasks[name]
                self._watchers.pop(name, None)
                self._task_errors.pop(name, None)
        for name, source in wanted.items():
            if name not in self._tasks:
                work = self._source_task(source)
                if work is not None:
                    task = asyncio.get_running_loop().create_task(work, name=f"source-{name}")
                    task.add_done_callback(partial(self._source_task_ended, name))
                    self._tasks[name] = (source, task)

    def _source_task_ended(self, name: str, task: asyncio.Task[None]) -> None:
        """A watcher or timer that dies of an unexpected error says so in the log and on
        /status (the source's last good posts keep serving)."""
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("source %s: watching stopped: %r", name, error, exc_info=error)
        self._task_errors[name] = f"watching stopped: {error!r}"

    def _source_task(self, source: SourceConfig) -> Any:
        interval = remote_interval(source)
        if interval is not None:
            return self._every(source.name, interval)
        watched = watched_path(source)
        if watched is None:
            return None
        folder, only = watched
        on_change = partial(self.request_rebuild, (source.name,), "watch")
        watcher = Watcher(folder, on_change, only=only, polling=source.watch == "poll")
        self._watchers[source.name] = watcher
        return watcher.run()

    async def _every(self, name: str, seconds: float) -> None:
        """Re-read a remote source every ``seconds``, counted from the end of the last read."""
        while True:
            await self._sleep(seconds)
            await self._coalescer.request(frozenset({name}), "interval")

    async def start(self, *, schedule: bool = True) -> None:
        """Start background work: the aggregator, a watcher per local source and a timer per
        remote one. ``schedule=False`` leaves every rebuild to explicit calls (tests)."""
        if self.aggregator is not None:
            await self.aggregator.start(schedule=schedule)
            # What the store kept from before a restart is served at once, whatever the
            # partners answer next (a restart loses nothing).
            await self.partners_changed()
        if schedule:
            self._scheduled = True
            self._start_source_tasks()
        if schedule and self._served is not None:
            # A warm start serves the snapshot as it was: look for what changed since.
            self.request_rebuild(None, "start")
        if self._keeper is not None:
            self._keeper.save_soon()
        # What start-up built (posts, feeds, stored partner entries, modules) lives as long
        # as the process: freeze it out of the cyclic GC, whose full collection would
        # otherwise walk it all (60–80 ms on a 10,000-post site), stalling requests
        # whenever a rebuild or a refresh triggers one.
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        self._scheduled = False
        # The aggregator first: a refresh landing later would ask the stopped coalescer
        # for a rebuild nobody waits for.
        if self.aggregator is not None:
            await self.aggregator.stop()
        tasks = [task for _, task in self._tasks.values()] + list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._watchers.clear()
        await self._coalescer.stop()
        if self._keeper is not None:
            await self._keeper.wait()

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: background work runs while the app serves."""
        await self.start()
        yield
        await self.stop()

    # --- what the web layer asks ------------------------------------------------------------

    def status(self) -> ServiceStatus:
        """/status: the current snapshot's, with the live state of sources, partners, the
        config and the last rebuild."""
        built = self.ref.current.status
        return ServiceStatus(
            posts=built.posts,
            drafts=built.drafts,
            feeds=built.feeds,
            built_at=built.built_at,
            skipped=built.skipped,
            sources=tuple(self._source_status(source) for source in self.config.sources),
            config=ConfigStatus(self.config.file or None, self._config_loaded_at),
            config_error=self._config_error,
            last_rebuild=self._last_rebuild,
            rebuild_error=self._rebuild_error,
            rebuilds=self.rebuilds,
            webhook="enabled" if self.webhook_token() else "disabled",
            partners=self.aggregator.status() if self.aggregator is not None else None,
        )

    def _source_status(self, source: SourceConfig) -> SourceStatus:
        state = self._states.get(source.name) or SourceState(source.name, source.type, None)
        watcher = self._watchers.get(source.name)
        return replace(
            state.status(),
            watch=watcher.mode if watcher is not None else None,
            interval=source.interval.text
            if watcher is None and remote_interval(source) is not None
            else None,
            watch_error=self._task_errors.get(source.name),
        )

    def webhook_token(self) -> str | None:
        """The webhook's bearer token, read from the environment variable the config names;
        None (the webhook is off) when none is named or the variable is empty."""
        name = self.config.server.webhook_token_env
        return (os.environ.get(name) or None) if name else None

    def source_names(self) -> Collection[str]:
        return [source.name for source in self.config.sources]


def _config_file_loader(config: Config) -> Callable[[], Config] | None:
    return partial(load_config, config.file) if config.file else None


def _changed(before: Mapping[str, SourceState], after: Mapping[str, SourceState]) -> bool:
    """Whether any source's posts, problems or error differ (results are compared by
    identity: a reader returns its previous result itself when nothing changed)."""
    if before.keys() != after.keys():
        return True
    return any(
        before[name].result is not state.result or before[name].error != state.error
        for name, state in after.items()
    )


def _log_source_changes(
    before: Mapping[str, SourceState], after: Mapping[str, SourceState]
) -> None:
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
