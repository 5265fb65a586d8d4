"""Telling the publisher that partners' entries changed, without a rebuild storm.

Each ``on_change`` re-renders the merged feeds (a tenth of a second or more of CPU, holding
the GIL against the server). When 200 partners change in one refresh, calling it once per
partner, or back to back while fetches keep landing, keeps the server busy rebuilding for
the whole refresh. So the calls are paced:

- one call at a time; changes made while one runs join the next;
- while other refreshes are still in flight, the next call waits until ``interval``
  seconds after the previous one ended, so the merged feeds are rebuilt at most about once
  per ``interval`` however many partners change, and are never stale for much longer;
- once no refresh is in flight, the waiting call happens at once: the last change of a
  burst, and a lone change, are published without delay;
- ``changed()`` returns only after a call that started after the change has finished, so
  "``refresh`` returned" still means "the change is served".
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

from feedsvc.clock import Clock, system_clock

__all__ = ["ChangeNotifier", "OnChange"]

log = logging.getLogger("feedsvc.aggregate")

OnChange = Callable[[], Awaitable[None] | None]


class ChangeNotifier:
    """Paces calls of ``on_change`` (see the module docstring); ``interval`` in seconds.

    Time comes from ``clock`` and waiting from ``sleep``, so tests pace it on a fake clock.
    """

    def __init__(
        self,
        on_change: OnChange | None,
        interval: float,
        *,
        clock: Clock = system_clock,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._on_change = on_change
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._in_flight = 0
        self._idle = asyncio.Event()  # set whenever _in_flight drops to 0
        self._waiting: asyncio.Future[None] | None = None  # done when the next call is
        self._task: asyncio.Task[None] | None = None
        self._last_end: datetime | None = None  # when the last call ended

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Around a refresh: while any is in flight, calls keep to the interval."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def changed(self) -> None:
        """Note a change; return once a call that started after it has finished."""
        if self._on_change is None:
            return
        if self._waiting is None:
            self._waiting = asyncio.get_running_loop().create_future()
        waiting = self._waiting
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="feedsvc-aggregator-on-change")
        # shield: a refresh cancelled while it waits must not cancel the call for the others.
        await asyncio.shield(waiting)

    async def close(self) -> None:
        """Cancel a running or waiting call (the aggregator is stopping)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.cancel()

    async def _run(self) -> None:
        while self._waiting is not None:
            if self._in_flight:
                await self._until_interval_or_idle()
            waiting, self._waiting = self._waiting, None
            try:
                await self._call(self._on_change)
            except asyncio.CancelledError:
                waiting.cancel()
                raise
            finally:
                self._last_end = self._clock()
            if not waiting.done():
                waiting.set_result(None)

    async def _until_interval_or_idle(self) -> None:
        """Wait until ``interval`` after the last call ended, or until nothing is in flight."""
        if self._last_end is None:
            return
        elapsed = (self._clock() - self._last_end).total_seconds()
        # A clock stepped back gives a negative elapsed time: wait one interval, never more.
        remaining = min(self._interval, self._interval - elapsed)
        if remaining <= 0:
            return
        self._idle.clear()
        idle = asyncio.ensure_future(self._idle.wait())
        nap = asyncio.ensure_future(self._sleep(remaining))
        try:
            await asyncio.wait((idle, nap), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (idle, nap):
                task.cancel()
            await asyncio.gather(idle, nap, return_exceptions=True)

    @staticmethod
    async def _call(on_change: OnChange | None) -> None:
        if on_change is None:
            return
        try:
            result = on_change()
            if inspect.isawaitable(result):
                await result
        except Exception:
            # The publisher reports its own failures; this one is a bug, and must not stop
            # the next change from being published.
            log.exception("aggregator on_change callback failed")
