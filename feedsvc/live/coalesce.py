"""Coalescing rebuild requests: however many arrive while a rebuild runs, one more follows.

Webhooks, file watchers, timers and SIGHUP all ask for rebuilds, sometimes in bursts (a
`git pull` touching 300 posts, a CMS firing a hook per saved field). At most one rebuild
runs and at most one waits; every request made while one runs joins the waiting one, and
the sources it names are merged into it, so no request is lost and none is done twice.

A request may also ask for ``spacing``: its rebuild starts no sooner than that many seconds
after the previous one started. The webhook does, as its callers are outside: a CMS firing
200 hooks in 2.4 s, each rebuild over before the next call, would otherwise get ~190
rebuilds; spaced by one second, it gets four. The first call of a burst still rebuilds at
once (leading edge), and nothing is lost: calls during the wait join the waiting rebuild.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedsvc.clock import Clock, system_clock

log = logging.getLogger(__name__)

# Which sources a rebuild re-reads: None means every source; an empty set, none (a
# re-render only, e.g. when partners' entries changed).
Sources = frozenset[str] | None


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class Batch:
    """One rebuild to run: the union of the requests that joined it."""

    sources: Sources
    triggers: list[str]
    spacing: float = 0.0  # seconds after the previous rebuild's start (the largest asked)
    done: asyncio.Future[None] = field(default_factory=_future)

    def join(self, sources: Sources, trigger: str, spacing: float = 0.0) -> None:
        self.spacing = max(self.spacing, spacing)
        if self.sources is None or sources is None:
            self.sources = None
        else:
            self.sources = self.sources | sources
        if trigger not in self.triggers:
            self.triggers.append(trigger)

    @property
    def trigger(self) -> str:
        return "+".join(self.triggers)


class Coalescer:
    """Runs ``run(batch)`` for requests, one at a time, merging those that wait; time comes
    from ``clock`` and waiting (for a batch's spacing) from ``sleep``."""

    def __init__(
        self,
        run: Callable[[Batch], Awaitable[None]],
        *,
        clock: Clock = system_clock,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._run = run
        self._clock = clock
        self._sleep = sleep
        self._last_start: datetime | None = None
        self._waiting: Batch | None = None
        self._worker: asyncio.Task[None] | None = None
        self._stopped = False
        self.runs = 0  # rebuilds run so far

    def request(self, sources: Sources, trigger: str, spacing: float = 0.0) -> asyncio.Future[None]:
        """Ask for a rebuild of ``sources``, starting at least ``spacing`` seconds after the
        previous one started; the future is done when a rebuild that started after this
        request has finished (it never fails: failures are logged and reported). Once
        stopped, nothing runs and the future is done at once."""
        if self._stopped:
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        if self._waiting is None:
            self._waiting = Batch(sources, [trigger], spacing)
        else:
            self._waiting.join(sources, trigger, spacing)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="feedsvc-rebuild")
        return self._waiting.done

    @property
    def waiting(self) -> Batch | None:
        return self._waiting

    @property
    def busy(self) -> bool:
        return self._worker is not None and not self._worker.done()

    async def _drain(self) -> None:
        while self._waiting is not None:
            delay = self._delay(self._waiting.spacing)
            if delay > 0:
                await self._sleep(delay)  # requests made meanwhile join the waiting batch
                if self._waiting is None:
                    break
            batch, self._waiting = self._waiting, None
            self._last_start = self._clock()
            self.runs += 1
            try:
                await self._run(batch)
            except asyncio.CancelledError:
                batch.done.cancel()
                raise
            except Exception:
                # The rebuild's own error handling reports what it can; this is a bug.
                log.exception("rebuild failed (%s)", batch.trigger)
            if not batch.done.done():
                batch.done.set_result(None)

    def _delay(self, spacing: float) -> float:
        """Seconds until ``spacing`` after the last start; a clock stepped back waits one
        ``spacing`` at most."""
        if not spacing or self._last_start is None:
            return 0.0
        elapsed = (self._clock() - self._last_start).total_seconds()
        return min(spacing, spacing - elapsed)

    async def stop(self) -> None:
        """Cancel the running rebuild, forget the waiting one, and refuse new ones."""
        self._stopped = True
        if self._waiting is not None:
            self._waiting.done.cancel()
            self._waiting = None
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
