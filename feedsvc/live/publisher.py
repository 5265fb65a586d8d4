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
   half-built set, then tells its listeners what changed (``Rebuilt``).

Steps 2–4 run in a thread, beside serving. Whatever fails keeps the last good state serving:
a source that cannot be read keeps its last good posts, a post that turns bad its last good
version, a config that fails validation on reload the old config; every one is reported on
/status and in the log, and the report clears when the problem is fixed.

The Publisher decides when to build and swaps; the parts are beside it: reading.py reads
the sources, builder.py normalizes and renders, reload.py reloads the config, tasks.py
runs the watchers and timers, listeners.py tells of each swap, status.py assembles
/status. The aiohttp wiring (lifespan, SIGHUP) is feedsvc/service.py's.

Just over 400 lines: what is left is the one state machine of rebuilds (when to build,
the lag it is in, the swap, the warm-start snapshot), which splits no further without
spreading that state over modules.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Callable, Collection
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.live.builder import Built, SiteBuilder
from feedsvc.live.coalesce import Batch, Coalescer
from feedsvc.live.listeners import RebuildListener, RebuildListeners
from feedsvc.live.reading import SourceReads
from feedsvc.live.reload import ConfigReload
from feedsvc.live.scheduled import DueTimer
from feedsvc.live.status import service_status
from feedsvc.live.tasks import SourceTasks
from feedsvc.memory import collector_paused, release_free_memory
from feedsvc.metrics import Metrics
from feedsvc.pipeline import OnRendered, render_context
from feedsvc.status import ServiceStatus
from feedsvc.store import Snapshot, SnapshotRef
from feedsvc.warm.file import Served
from feedsvc.warm.keeper import Capture, SnapshotKeeper
from feedsvc.warm.state import WarmState

if TYPE_CHECKING:
    from feedsvc.aggregate.service import Aggregator

log = logging.getLogger(__name__)


class Lag(IntEnum):
    """How far what is served lags behind, beyond the sources a rebuild re-reads; each level
    includes the ones below.

    NONE: a rebuild renders only when a source it read changed. FEEDS: it renders even if
    none did (the partners' entries or the config changed, or the last rebuild failed).
    ALL_FEEDS: it renders every feed again, not only those that changed (the rendering
    context changed: site, feed settings, public URL).
    """

    NONE = 0
    FEEDS = 1
    ALL_FEEDS = 2


class Publisher:
    """Keeps ``ref.current`` equal to the site's sources and its partners', rendered.

    ``load_config`` reads the config again on ``reload_config`` (SIGHUP); by default the
    file the config came from. ``sleep`` waits between reads of a remote source.
    ``snapshot_file`` is where the snapshot is kept between runs (feedsvc.warm): written
    after every build that changed what is served, read by ``warm_start``; None: nowhere.
    ``aggregate=False`` never runs the aggregator, even when the config enables it.
    ``metrics`` counts builds and rebuilds (and, through the aggregator, fetches).
    Listeners (``add_rebuild_listener``) are told of every swap after start-up.
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
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self._clock = clock
        self._listeners = RebuildListeners()
        self._workers = workers
        # What the sources last gave, and what was made of it.
        self._reads = SourceReads(clock)
        self._builder = SiteBuilder(clock, workers)
        self._ref: SnapshotRef | None = None
        # Rebuilding: one at a time, and how the last one went.
        self._coalescer = Coalescer(self._rebuild)
        self._lag = Lag.NONE
        self._rebuild_error: str | None = None
        self._reload = ConfigReload(config, clock, load_config)
        # Background work: watchers and timers, SIGHUP reloads, the aggregator.
        self._tasks = SourceTasks(self._request, sleep=sleep)
        # Scheduled posts: a rebuild when the next one is due.
        self._due = DueTimer(
            lambda: self._request(frozenset(), "schedule"), clock=clock, sleep=sleep
        )
        self._scheduled = False
        self._background: set[asyncio.Task[Any]] = set()
        # The snapshot on disk, and a warm start's file, whose state the first rebuild restores.
        self._keeper = SnapshotKeeper(snapshot_file) if snapshot_file is not None else None
        self._served: Served | None = None
        self.aggregator = aggregator
        if aggregate and aggregator is None and config.aggregator.enabled:
            # Aggregator mode only: a site without it never loads the aggregator, its
            # stores and psycopg (0.07 s of a build's serial start).
            from feedsvc.aggregate.service import Aggregator

            self.aggregator = Aggregator(
                config, clock=clock, on_change=self.partners_changed, metrics=self.metrics
            )

    @property
    def ref(self) -> SnapshotRef:
        if self._ref is None:
            raise RuntimeError("Publisher.build() has not run")
        return self._ref

    # --- building ---------------------------------------------------------------------------

    def build(self, on_rendered: OnRendered | None = None) -> SnapshotRef:
        """Read every source and render every feed: the start-up build (synchronous, with
        ``workers`` processes, before the server's event loop runs). ``on_rendered`` is told
        of every document, in the worker that rendered it (`feedsvc build` writes it there)."""
        started = time.perf_counter()
        with collector_paused():
            self._reads.read_all(self.config)
            built = self._builder.assemble(
                self.config,
                self._reads.states,
                (),
                full=True,
                workers=self._workers,
                on_rendered=on_rendered,
            )
        return self._first(built, started)

    async def build_async(self) -> SnapshotRef:
        """``build`` from inside a running event loop, whose servers the sources may be (in
        tests); the work runs in a thread, in this one process."""
        started = time.perf_counter()
        await self._reads.read_all_async(self.config)
        built = await asyncio.to_thread(
            self._builder.assemble, self.config, self._reads.states, (), full=True, workers=1
        )
        return self._first(built, started)

    def _keep(self, built: Built, trigger: str, started: float) -> None:
        self._builder.keep(built, trigger, started)
        last = self._builder.last
        if last is not None:
            self.metrics.rebuild(last.seconds, last.feeds_rendered)

    def _first(self, built: Built, started: float) -> SnapshotRef:
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
        self._reads.restore(restored.states, restored.folders)
        self._builder.restore(restored)
        return True

    def _capture(self) -> Capture | None:
        """What is served and remembered now; taken between rebuilds, which replace the dicts
        they remember rather than change them, so it stays as it was while it is written."""
        if self._keeper is None or self._ref is None:
            return None
        state = WarmState(
            states=dict(self._reads.states),
            folders=self._reads.folder_memories(),
            normalized=self._builder.normalized.entries(),
            partner_posts=tuple(self._builder.partner_posts),
        )
        return Capture(self.config, self._ref.current, state)

    def save_snapshot(self) -> None:
        """Write what is served now to the snapshot file, at once (feedsvc build)."""
        capture = self._capture()
        if self._keeper is not None and capture is not None:
            self._keeper.keep_for_later(None)
            self._keeper.write(capture)

    # --- rebuilding -------------------------------------------------------------------------

    def request_rebuild(self, sources: Collection[str] | None = None, trigger: str = "") -> None:
        """Ask for a rebuild re-reading ``sources`` (None: every source) and return at once;
        requests made while one runs are merged into one more, and it starts at least
        ``server.webhook_spacing`` after the previous one started (the webhook calls this)."""
        wanted = None if sources is None else frozenset(sources)
        spacing = self.config.server.webhook_spacing.seconds
        self._coalescer.request(wanted, trigger, spacing)

    async def rebuild(self, sources: Collection[str] | None = None, trigger: str = "") -> None:
        """Ask for a rebuild and wait until one that started after the request is done."""
        wanted = None if sources is None else frozenset(sources)
        await self._request(wanted, trigger or "manual")

    async def partners_changed(self) -> None:
        """Re-render with the aggregator's current entries; called by the Aggregator."""
        if self.aggregator is None:
            return
        self._lag = max(self._lag, Lag.FEEDS)
        await self._request(frozenset(), "partners")

    @property
    def rebuilds(self) -> int:
        """How many rebuilds have run since start-up (requests merged into one count once)."""
        return self._coalescer.runs

    def _request(self, sources: frozenset[str] | None, trigger: str) -> asyncio.Future[None]:
        return self._coalescer.request(sources, trigger)

    async def _rebuild(self, batch: Batch) -> None:
        started = time.perf_counter()
        reloaded = self._reload.take()
        if reloaded is not None:
            rerender_all = self._use_config(reloaded)
            self._lag = max(self._lag, Lag.ALL_FEEDS if rerender_all else Lag.FEEDS)
        sources = batch.sources
        if self._served is not None:
            # A warm start's first rebuild: its state first, then every source is read.
            served, self._served = self._served, None
            if not await asyncio.to_thread(self._restore, served):
                self._lag = Lag.ALL_FEEDS
            sources = None
        config = self.config
        states = await self._reads.read(config, sources)
        due = self._builder.loaded.next_due() if self._builder.loaded is not None else None
        if due is not None and due <= self._clock():
            self._lag = max(self._lag, Lag.FEEDS)  # a scheduled post's time has come
        if self._lag is Lag.NONE and not self._reads.changed(states):
            self._reads.keep(states)  # nothing new; /status shows the fresh read times live
            return
        partner_posts = self.aggregator.posts() if self.aggregator is not None else ()
        # Until this rebuild succeeds, the next one must render whatever its sources say.
        self._lag = max(self._lag, Lag.FEEDS)
        full = self._lag is Lag.ALL_FEEDS
        try:
            built = await asyncio.to_thread(
                self._builder.assemble, config, states, partner_posts, full=full, workers=1
            )
        except Exception as e:
            # A bug, not bad input (that is reported per post and per source): the last
            # good snapshot keeps serving, and the next rebuild tries again from here.
            self._rebuild_error = f"{type(e).__name__}: {e}"
            log.exception("rebuild (%s) failed; the last good feeds keep serving", batch.trigger)
            return
        self._reads.keep(states)
        self._lag = Lag.NONE
        self._rebuild_error = None
        self._keep(built, batch.trigger, started)
        if self._scheduled:
            self._due.arm(built.loaded.next_due())
        previous_snapshot, self.ref.current = self.ref.current, built.snapshot
        log.info(
            "rebuilt (%s): %d feeds re-rendered, %d posts normalized, in %.3f s",
            batch.trigger,
            len(built.rendered.rerendered),
            built.normalized,
            time.perf_counter() - started,
        )
        self._listeners.tell(previous_snapshot, built.snapshot, batch.trigger)
        if self._keeper is not None:
            self._keeper.save_soon(self._capture())
        # What only the old snapshot and this build's work held is free now: give it back.
        del previous_snapshot, built
        await asyncio.to_thread(release_free_memory)

    def add_rebuild_listener(self, listener: RebuildListener) -> None:
        """Call ``listener(rebuilt)`` after each rebuild that swaps in a new snapshot
        (listeners.py: what it is told, and what it must not do)."""
        self._listeners.add(listener)

    # --- configuration ----------------------------------------------------------------------

    async def reload_config(self) -> bool:
        """Read the config file again and every source with it (SIGHUP); reload.py says
        what a failing config does. True when the new config was taken."""
        if not await self._reload.reload(self.config):
            return False
        await self._request(None, "reload")
        return True

    def request_reload(self) -> None:
        """``reload_config`` in the background: what a SIGHUP handler calls."""
        task = asyncio.get_running_loop().create_task(self.reload_config())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _use_config(self, new: Config) -> bool:
        """Switch to ``new`` (between rebuilds); True when every feed must be re-rendered."""
        old = self.config
        self.config = new
        self._reads.follow(old, new)
        if self._scheduled:
            self._tasks.update(new.sources)
        # Feeds equal by value render differently under another site, public URL or format.
        return render_context(old) != render_context(new)

    # --- background work --------------------------------------------------------------------

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
            if self._builder.loaded is not None:
                self._due.arm(self._builder.loaded.next_due())
            self._tasks.update(self.config.sources)
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
        await self._tasks.stop()
        self._due.disarm()
        background = list(self._background)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await self._coalescer.stop()
        if self._keeper is not None:
            await self._keeper.wait()

    # --- what the web layer asks ------------------------------------------------------------

    def status(self) -> ServiceStatus:
        """/status: the current snapshot's, with the live state of sources, partners, the
        config and the last rebuild."""
        return service_status(
            self.ref.current.status,
            self.config,
            self._reads.states,
            self._tasks,
            config_loaded_at=self._reload.loaded_at,
            config_error=self._reload.error,
            last_rebuild=self._builder.last,
            rebuild_error=self._rebuild_error,
            rebuilds=self.rebuilds,
            webhook=self.webhook_token() is not None,
            partners=self.aggregator.status() if self.aggregator is not None else None,
        )

    def webhook_token(self) -> str | None:
        """The webhook's bearer token, read from the environment variable the config names;
        None (the webhook is off) when none is named or the variable is empty."""
        name = self.config.server.webhook_token_env
        return (os.environ.get(name) or None) if name else None

    def source_names(self) -> Collection[str]:
        return [source.name for source in self.config.sources]
