"""Scheduled posts: a timer that rebuilds when the next post dated in the future is due.

A post dated in the future is held back (pipeline.hold_scheduled) and listed on /status as
scheduled; this timer asks for a rebuild when its date comes, so it appears without a
restart or a save. It naps at most ``MAX_NAP`` at a time and looks at the clock again, so
a clock step or a suspended machine never leaves it waiting for a stale deadline, and a
post dated 9999 costs one wake-up an hour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from feedsvc.clock import Clock

MAX_NAP = 3600.0  # seconds


class DueTimer:
    """Calls ``due()`` once the clock reaches the time given to ``arm``; ``due`` returns at
    once (it asks for a rebuild, which arms the timer again for the next post)."""

    def __init__(
        self,
        due: Callable[[], object],
        *,
        clock: Clock,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._due = due
        self._clock = clock
        self._sleep = sleep
        self._at: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def at(self) -> datetime | None:
        """When the timer fires next; None when it is not armed."""
        return self._at if self._task is not None and not self._task.done() else None

    def arm(self, at: datetime | None) -> None:
        """Fire at ``at`` (None: never), replacing the time armed before (on the loop)."""
        if at == self.at:
            return
        self.disarm()
        if at is None:
            return
        self._at = at
        self._task = asyncio.get_running_loop().create_task(self._wait(at), name="feedsvc-due")

    def disarm(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._at = None

    async def _wait(self, at: datetime) -> None:
        while (remaining := (at - self._clock()).total_seconds()) > 0:
            await self._sleep(min(remaining, MAX_NAP))
        self._due()
