"""Coalescing rebuild requests: however many arrive while a rebuild runs, one more follows.

Webhooks, file watchers, timers and SIGHUP all ask for rebuilds, sometimes in bursts (a
`git pull` touching 300 posts, a CMS firing a hook per saved field). At most one rebuild
runs and at most one waits; every request made while one runs joins the waiting one, and
the sources it names are merged into it, so no request is lost and none is done twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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
    done: asyncio.Future[None] = field(default_factory=_future)

    def join(self, sources: Sources, trigger: str) -> None:
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
    """Runs ``run(batch)`` for requests, one at a time, merging those that wait."""

    def __init__(self, run: Callable[[Batch], Awaitable[None]]) -> None:
        self._run = run
        self._waiting: Batch | None = None
        self._worker: asyncio.Task[None] | None = None
        self._stopped = False
        self.runs = 0  # rebuilds run so far

    def request(self, sources: Sources, trigger: str) -> asyncio.Future[None]:
        """Ask for a rebuild of ``sources``; the future is done when a rebuild that started
        after this request has finished (it never fails: failures are logged and reported).
        Once stopped, nothing runs and the future is done at once."""
        if self._stopped:
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        if self._waiting is None:
            self._waiting = Batch(sources, [trigger])
        else:
            self._waiting.join(sources, trigger)
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
            batch, self._waiting = self._waiting, None
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
