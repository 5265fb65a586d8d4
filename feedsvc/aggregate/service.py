"""The Aggregator: fetches every partner in the background and keeps their entries
(docs/config.md "[aggregator]").

Over 400 lines on purpose: one partner's refresh (claim, fetch or push, parse, merge, save)
shares its state and lock across replicas and hubs, and reads best as one sequence; every
decision in it is a pure function of schedule.py, merge.py, published.py or report.py.

One asyncio task per partner waits until the partner is due, then ``refresh``es it:
fetch (fetch.py) → classify (schedule.py) → parse and clean in a worker (workers.py,
clean.py) → merge (merge.py) → save (state.py) → tell ``on_change`` if ``posts()`` changed
(paced by notify.py). Everything that decides something is pure and lives in those modules;
this one only sequences them.

- The event loop never blocks: SQLite runs in one dedicated thread (a commit may fsync),
  parsing and the per-entry cleaning (sanitizing HTML) in worker processes, the network is
  asynchronous. What is left on the loop per changed partner is the merge's bookkeeping and
  its entries' ``Post``s: about a millisecond, so serving stays responsive during a refresh
  of hundreds of partners.
- Every outcome is a reported result: nothing a partner sends, and no bug met while
  handling it, escapes ``refresh``; it becomes the partner's state on ``status()``, with the
  last good entries still in ``posts()``.
- Time comes from the injected clock, and waiting from the injected ``sleep``, so tests drive
  the schedule without sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from feedsvc.aggregate.clean import CleanEntry, CleanFeed, reuse
from feedsvc.aggregate.merge import (
    MergeContext,
    MergeResult,
    StoredEntry,
    merge,
    partner_categories,
)
from feedsvc.aggregate.notify import ChangeNotifier, OnChange
from feedsvc.aggregate.published import PublishedPosts
from feedsvc.aggregate.report import log_transition, partner_status
from feedsvc.aggregate.schedule import (
    Outcome,
    SchedulePolicy,
    State,
    classify,
    next_record,
)
from feedsvc.aggregate.state import Claim, PartnerRecord, postgres
from feedsvc.aggregate.state.records import host_of
from feedsvc.aggregate.state.threaded import HOST_RETRY, ThreadedStore
from feedsvc.aggregate.workers import ParserPool
from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config, PartnerConfig
from feedsvc.errors import FeedsvcError, LeaseLost, StoreError
from feedsvc.metrics import Metrics
from feedsvc.model import Category, Origin, Post
from feedsvc.remote.fetch import Fetcher, FetchPolicy, user_agent
from feedsvc.remote.links import link_targets
from feedsvc.remote.response import FetchResult, Validators
from feedsvc.status import PartnerStatus

__all__ = ["Aggregator", "PushSource", "fetch_policy"]

log = logging.getLogger("feedsvc.aggregate")

# While waiting for a partner, look at the clock at least this often (seconds): a suspended
# machine or a clock step must not leave a partner waiting for a stale deadline.
MAX_NAP = 60.0
# Part of every body fingerprint: a new merge rule makes unchanged bodies be read again.
MERGE_VERSION = b"feedsvc-merge-1\x00"
# While partners' refreshes are in flight, on_change (a re-render of the merged feeds) is
# called at most about once per this many seconds; the last change is published at once
# (notify.py).
REBUILD_INTERVAL = 1.0


def fetch_policy(config: Config) -> FetchPolicy:
    """The fetcher's limits from ``[aggregator]``."""
    agg = config.aggregator
    return FetchPolicy(
        connect_timeout=agg.connect_timeout.seconds,
        total_timeout=agg.timeout.seconds,
        max_body_bytes=agg.max_body,
        allow_private_addresses=agg.allow_private_addresses,
        allowed_networks=agg.allowed_networks,
        user_agent=user_agent(config.site.url),
        per_host_limit=agg.per_host,
    )


class PushSource(Protocol):
    """What the aggregator asks of WebSub's subscriber side (websub/subscriber.py)."""

    def discovered(self, partner: str, hub: str | None, topic: str) -> None:
        """A fetch of ``partner`` named ``hub`` (None: no hub) for ``topic``."""

    def pushed(self, partner: str) -> bool:
        """Whether a hub delivers ``partner``'s changes to us now."""


@dataclass(frozen=True, slots=True)
class _Partner:
    """One [[partners]] table, with what the config gives its entries worked out once."""

    config: PartnerConfig
    lang: str  # for entries whose feed names no language
    categories: tuple[Category, ...]


class Aggregator:
    """Partners fetched in the background; their entries as ``Post``s, newest first.

    ``fetcher``, if given, must not be opened yet: the aggregator opens it in ``start`` and
    closes it in ``stop`` (tests pass one with their own resolver). ``on_change`` is called
    (and awaited if it returns an awaitable) after a fetch changed what ``posts()`` returns,
    and only then; ``refresh`` returns once such a call has finished. Calls are paced
    (notify.py): one at a time, changes made while one runs get one call after it, and while
    other refreshes are in flight at most one per ``rebuild_interval`` seconds.
    ``rng`` draws the jitter; ``sleep`` waits between fetches; ``metrics`` counts fetches
    and lease takeovers.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = system_clock,
        fetcher: Fetcher | None = None,
        on_change: OnChange | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rebuild_interval: float = REBUILD_INTERVAL,
        metrics: Metrics | None = None,
    ) -> None:
        agg = config.aggregator
        self._config = config
        self._clock = clock
        self._metrics = metrics or Metrics()
        self._fetcher = fetcher or Fetcher(fetch_policy(config), clock=clock)
        self._notifier = ChangeNotifier(on_change, rebuild_interval)
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._schedule = SchedulePolicy(
            interval=agg.interval.seconds, max_backoff=agg.max_backoff.seconds
        )
        # A partner whose hub pushes its changes is still polled, rarely, in case one is lost.
        self._pushed_schedule = replace(
            self._schedule, interval=config.websub.backup_interval.seconds
        )
        self._push: PushSource | None = None
        self._parser = ParserPool(
            agg.parse_workers,
            agg.timeout.seconds,
            summary_length=config.feeds.summary_length,
        )
        # Languages come canonical from load_config: a partner's, else the site's.
        self._partners = {
            p.name: _Partner(p, p.lang or config.site.language, partner_categories(p.categories))
            for p in config.partners
        }
        self._records = {name: _fresh(p.config) for name, p in self._partners.items()}
        self._entries: dict[str, Mapping[str, StoredEntry]] = {n: {} for n in self._partners}
        # Each partner's entries as the last merged fetch cleaned them, by digest: what the
        # parser workers need not clean again (clean.py). Memory only: after a restart the
        # first fetch cleans everything.
        self._cleaned: dict[str, dict[str, CleanEntry]] = {n: {} for n in self._partners}
        self._locks = {name: asyncio.Lock() for name in self._partners}
        # Fetches in flight per host from this replica; the store holds the limit across
        # replicas (it refuses a claim when the host is full), this keeps the process's own
        # fetches waiting here instead of asking the store again and again.
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        # When a partner refused to this replica (leased elsewhere, not due in the store,
        # host full) is worth asking for again.
        self._retry_at: dict[str, datetime | None] = {}
        self._published = PublishedPosts(list(self._partners))
        self._store = ThreadedStore(
            agg.store,
            lease=agg.lease.seconds,
            per_host=agg.per_host,
            clock=clock,
        )
        self._started = False
        self._tasks: list[asyncio.Task[None]] = []
        self._following: set[asyncio.Task[None]] = set()

    # --- life cycle -----------------------------------------------------------------------

    async def start(self, *, schedule: bool = True) -> None:
        """Open the store, the fetcher and the parser workers; load what the store holds;
        with ``schedule``, fetch every partner when the store says it is due (a partner
        never fetched, or whose configured URL changed, right away).

        So a restarted process, or a new replica beside others, serves what is stored
        without fetching it again; a partner left ``gone`` stays gone (until its configured
        URL changes), and one that was told to wait (Retry-After) still waits. With a shared
        store, changes other replicas store are followed (LISTEN) from here on.
        """
        if self._started:
            raise RuntimeError("Aggregator already started")
        self._started = True
        try:
            await self._store.open()
            records = await self._store.partners()
            entries = await self._store.entries()
            for name, partner in self._partners.items():
                stored = records.get(name)
                record = self._reconcile(partner, stored)
                if stored is not None and record != stored:
                    await self._store.save(record, (), ())
                self._records[name] = record
                self._entries[name] = entries.get(name, {})
        except BaseException:
            self._started = False
            await self._store.close()
            raise
        self._invalidate()
        await self._fetcher.__aenter__()
        self._parser.start()
        if self._store.shared:
            listener = postgres.listen(self._store.url, self._heard, self._resync)
            self._tasks.append(asyncio.create_task(listener, name="feedsvc-listen"))
        if schedule:
            self._tasks += [
                asyncio.create_task(self._run(name), name=f"feedsvc-partner-{name}")
                for name in self._partners
            ]

    async def stop(self) -> None:
        """Cancel the background tasks; close the fetcher, the parser workers and the store."""
        tasks = [*self._tasks, *self._following]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        await self._notifier.close()
        if not self._started:
            return
        self._started = False
        await self._fetcher.__aexit__(None, None, None)
        await self._parser.close()
        await self._store.close()

    def _reconcile(self, partner: _Partner, stored: PartnerRecord | None) -> PartnerRecord:
        """The stored record, or where to start if there is none or it belongs to an
        earlier configured URL: a new URL starts fetching over, keeping the entries and what
        identifies them, as identity is (partner name, entry id)."""
        if stored is None:
            return _fresh(partner.config, self._now())
        if stored.config_url != partner.config.url:
            return replace(
                _fresh(partner.config, self._now()),
                id_memory=stored.id_memory,
                unstable_ids=stored.unstable_ids,
            )
        return stored

    async def _run(self, name: str) -> None:
        """One partner's schedule: wait until due, try to take it, refresh, until gone."""
        while True:
            due = self._retry_at.get(name, self._records[name].next_fetch)
            if due is None and self._records[name].state == State.GONE:
                return  # gone: fetching stops
            delay = (due - self._now()).total_seconds() if due is not None else 0
            if delay > 0:
                await self._sleep(min(delay, MAX_NAP))
                continue
            try:
                await self._attempt(name, force=False)
            except Exception:
                # refresh reports partners' failures itself; this is a bug in ours.
                log.exception("partner %s: refresh failed", name)
                await self._sleep(self._schedule.interval)

    # --- following the other replicas -------------------------------------------------------

    async def _heard(self, name: str, by: str | None) -> None:
        """Another replica stored ``name``'s fetch (NOTIFY): read it and publish it."""
        if by == self._store.owner or name not in self._partners:
            return
        task = asyncio.create_task(self._follow(name), name=f"feedsvc-follow-{name}")
        self._following.add(task)
        task.add_done_callback(self._following.discard)

    async def _resync(self) -> None:
        """The LISTEN connection is (re)made: notifications sent while it was down are lost,
        so read again every partner whose stored record differs from the one held here."""
        stored = await self._store.partners()
        for name in self._partners:
            if name in stored and stored[name] != self._records[name]:
                await self._heard(name, None)

    async def _follow(self, name: str) -> None:
        with self._notifier.in_flight():
            async with self._locks[name]:
                changed = await self._reload(name)
        if changed:
            await self._notifier.changed()

    async def _reload(self, name: str) -> bool:
        """Take ``name``'s stored record and entries; True if what it publishes changed."""
        try:
            stored, entries = await self._store.partner(name)
        except StoreError as e:
            log.error("partner %s: %s", name, e)
            return False
        partner, before = self._partners[name], self._records[name]
        record = self._reconcile(partner, stored)
        self._records[name] = record
        self._retry_at.pop(name, None)
        if entries == self._entries[name] and self._origin(partner, before) == self._origin(
            partner, record
        ):
            return False
        self._entries[name] = entries
        self._invalidate(name)
        return True

    # --- fetching -------------------------------------------------------------------------

    async def refresh_all(self) -> None:
        """Fetch every partner once, concurrently (the per-host limit applies)."""
        await asyncio.gather(*(self.refresh(name) for name in self._partners))

    async def refresh(self, name: str, *, when_due: bool = False) -> None:
        """Fetch one partner now (a gone one is not fetched; nor one another replica is
        fetching at this moment). With ``when_due``, only if the store says it is due and
        its host has room, as the background loop does. Its failures end up in
        ``status()``, not here; ``on_change`` is called if ``posts()`` changed."""
        if name not in self._partners:
            raise KeyError(f"no partner named {name!r}")
        if not self._started:
            raise RuntimeError("Aggregator.start() first")
        await self._attempt(name, force=not when_due)

    async def push(self, name: str, body: bytes, headers: Mapping[str, str]) -> None:
        """A hub's delivery of partner ``name``'s feed (W3C WebSub §7, content distribution):
        the body goes through exactly the parse, clean and merge of a fetched one."""
        if not self._started:
            raise RuntimeError("Aggregator.start() first")
        pushed = FetchResult(200, "", None, body, dict(headers), Validators(), None, 0.0)
        await self._attempt(name, force=True, pushed=pushed)

    def use_push(self, source: PushSource) -> None:
        """Tell ``source`` of the hub each partner's feed names, and poll the partners it
        says are pushed at ``websub.backup_interval`` only (call before ``start``)."""
        self._push = source

    async def _attempt(self, name: str, *, force: bool, pushed: FetchResult | None = None) -> None:
        """Claim ``name`` in the store, and refresh it if this replica got it. ``force``:
        whether or not it is due (an explicit refresh); the host limit still applies."""
        partner = self._partners[name]
        host = host_of(self._records[name].url)
        slots = self._host_slots.setdefault(
            host, asyncio.Semaphore(self._config.aggregator.per_host)
        )
        changed = False
        with self._notifier.in_flight():
            async with self._locks[name], slots:
                while True:
                    claim = await self._store.claim(
                        _fresh(partner.config, self._now()), force=force
                    )
                    if not (force and claim.host_full):
                        break
                    await self._sleep(HOST_RETRY)  # wait for a slot on another replica
                if not claim.granted:
                    changed = await self._refused(name, claim)
                else:
                    if claim.took_over:
                        log.warning("partner %s: took over a lease that was not released", name)
                        self._metrics.lease_takeover()
                    record = await self._sync(name, claim)
                    changed = await self._refresh(partner, record, pushed)
        if changed:
            await self._notifier.changed()

    async def _refused(self, name: str, claim: Claim) -> bool:
        """Another replica has ``name``, or the store says it is not due yet."""
        changed = claim.record != self._records[name] and await self._reload(name)
        self._retry_at[name] = claim.retry_at
        return changed

    async def _sync(self, name: str, claim: Claim) -> PartnerRecord:
        """The record to fetch with: the stored one. If another replica fetched since this
        one last looked, its entries are read too, as the merge starts from them."""
        self._retry_at.pop(name, None)
        record = self._reconcile(self._partners[name], claim.record)
        held = self._records[name]
        self._records[name] = record
        if record.last_fetch != held.last_fetch or record.fingerprint != held.fingerprint:
            _, self._entries[name] = await self._store.partner(name)
            self._invalidate(name)
        return record

    async def _refresh(
        self, partner: _Partner, record: PartnerRecord, pushed: FetchResult | None = None
    ) -> bool:
        name = partner.config.name
        now = self._now()
        result: FetchResult | None = None
        parsed: CleanFeed | None = None
        merged: MergeResult | None = None
        cleaned: tuple[CleanEntry, ...] = ()
        fingerprint = record.fingerprint
        started = time.perf_counter()
        try:
            validators = Validators(record.etag, record.last_modified)
            if pushed is not None:
                # Kept validators: the next poll still asks conditionally.
                result = replace(pushed, url=record.url, validators=validators)
            else:
                result = await self._fetcher.fetch(record.url, validators)
            outcome = classify(result)
            if outcome.modified:
                fingerprint = self._fingerprint(result.body)
                # An identical body (a server without validators) changes nothing: skip it.
                if fingerprint != record.fingerprint:
                    known = self._cleaned[name]
                    parsed = await self._parser.parse(
                        result.body, result.url, result.headers, known.keys()
                    )
                    cleaned = reuse(parsed.entries, known)
                    merged = self._merge(partner, record, cleaned, now)
        except Exception as e:  # a fetch, parse or merge failure is this partner's state
            if not isinstance(e, FeedsvcError):
                log.exception("partner %s: unexpected error", name)
            outcome = classify(e)
            if result is not None:
                outcome = replace(outcome, status=result.status)
            parsed = merged = None
        if pushed is None and result is not None and outcome.state is State.OK:
            self._discover(name, result, parsed)
        new = self._next_record(record, outcome, result, parsed, merged, fingerprint, now)
        try:
            upserts, deletes = (merged.upserts, merged.deletes) if merged else ((), ())
            await self._store.save(new, upserts, deletes)
        except LeaseLost:
            # This fetch outlived its lease; another replica's replaces it
            # (docs/deploy.md "Replicas").
            log.warning("partner %s: the lease ended before the fetch did; outcome dropped", name)
            self._metrics.fetch("lease_lost", time.perf_counter() - started)
            return await self._reload(name)
        except StoreError as e:
            log.error("partner %s: %s", name, e)
            new = replace(new, last_error=str(e))
        self._records[name] = new
        unchanged = result is not None and result.status == 304 and new.state == State.OK
        outcome_label = "not_modified" if unchanged else new.state
        self._metrics.fetch(outcome_label, time.perf_counter() - started)
        log_transition(name, record, new)
        changed = merged is not None and merged.changed
        if merged is not None:
            self._entries[name] = merged.entries
            self._cleaned[name] = {e.digest: e for e in cleaned}
        if changed or self._origin(partner, record) != self._origin(partner, new):
            self._invalidate(name)
            return True
        return False

    def _discover(self, name: str, result: FetchResult, parsed: CleanFeed | None) -> None:
        """W3C WebSub §4: the hub and topic a partner's response names, from its Link header
        first (it takes precedence), else from the document when it was parsed."""
        if self._push is None:
            return
        link = result.headers.get("link")
        hubs = link_targets(link, "hub", result.url)
        selves = link_targets(link, "self", result.url)
        if not hubs:
            if parsed is None:
                return  # an unchanged body was not parsed again: nothing new to tell
            hubs = parsed.hubs
            selves = (parsed.self_url,) if parsed.self_url else ()
        topic = selves[0] if selves else result.url
        self._push.discovered(name, hubs[0] if hubs else None, topic)

    def _fingerprint(self, body: bytes) -> str:
        """What makes a merge give the same entries: the body and the settings merge uses."""
        settings = (
            f"{self._config.site.id_authority}|{self._config.feeds.summary_length}|"
            f"{self._config.aggregator.retention}|"
        )
        return hashlib.sha256(MERGE_VERSION + settings.encode() + body).hexdigest()

    def _merge(
        self,
        partner: _Partner,
        record: PartnerRecord,
        cleaned: Sequence[CleanEntry],
        now: datetime,
    ) -> MergeResult:
        ctx = MergeContext(
            partner=partner.config.name,
            id_authority=self._config.site.id_authority,
            retention=self._config.aggregator.retention,
            now=now,
        )
        entries = self._entries[partner.config.name]
        return merge(cleaned, entries, record.id_memory, record.unstable_ids, ctx)

    def _next_record(
        self,
        record: PartnerRecord,
        outcome: Outcome,
        result: FetchResult | None,
        parsed: CleanFeed | None,
        merged: MergeResult | None,
        fingerprint: str | None,
        now: datetime,
    ) -> PartnerRecord:
        """The record after this attempt (schedule.next_record); a partner whose hub pushes
        its changes is polled on the long backup schedule."""
        pushed = self._push is not None and self._push.pushed(record.name)
        policy = self._pushed_schedule if pushed else self._schedule
        return next_record(
            record, outcome, result, parsed, merged, fingerprint, now, policy, self._rng
        )

    # --- what is published ----------------------------------------------------------------

    def posts(self) -> tuple[Post, ...]:
        """Every stored partner entry as a Post: published descending, then id ascending.

        An id two partners share (both republishing one entry) is published once.
        """
        return self._published.posts()

    def _origin(self, partner: _Partner, record: PartnerRecord) -> Origin:
        config = partner.config
        home = config.home or record.feed_link or None
        return Origin(name=config.name, title=config.title, feed_url=record.url, home_url=home)

    def _invalidate(self, name: str | None = None) -> None:
        """``name``'s entries or origin changed (None: every partner's): its Posts are made
        now (published.py)."""
        for changed in self._partners if name is None else (name,):
            partner = self._partners[changed]
            self._published.update(
                changed,
                self._origin(partner, self._records[changed]),
                self._entries[changed],
                lang=partner.lang,
                categories=partner.categories,
            )

    def status(self) -> tuple[PartnerStatus, ...]:
        """Each partner's state, in config order, for /status."""
        return tuple(
            partner_status(p.config, self._records[name], len(self._entries[name]))
            for name, p in self._partners.items()
        )

    # --- helpers --------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


def _fresh(partner: PartnerConfig, now: datetime | None = None) -> PartnerRecord:
    """A partner never fetched (from its configured URL): due ``now``."""
    return PartnerRecord(name=partner.name, config_url=partner.url, url=partner.url, next_fetch=now)
