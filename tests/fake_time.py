"""Fake time for code that takes a clock and a sleep: sleepers wake only when the test moves
the clock, so nothing waits on the real one.

    time = FakeTime()
    thing = Thing(clock=time, sleep=time.sleep)
    await time.advance_by(1.5)    # runs what is due now, then wakes every sleeper due by then
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import timedelta

from aggregate_support import FakeClock


async def settle() -> None:
    """Let every task that can run do so (a handful of loop iterations)."""
    for _ in range(20):
        await asyncio.sleep(0)


class FakeTime(FakeClock):
    """A FakeClock whose ``sleep`` returns when ``advance`` moves the clock past its end."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self.now
        self._sleepers: list[tuple[object, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def elapsed(self) -> float:
        return (self.now - self.start).total_seconds()

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        end = self.now + timedelta(seconds=seconds)
        heapq.heappush(self._sleepers, (end, next(self._order), wake))
        await wake

    async def advance_by(self, seconds: float) -> None:
        await settle()  # what is due now runs first
        target = self.now + timedelta(seconds=seconds)
        while self._sleepers and self._sleepers[0][0] <= target:
            end, _, wake = heapq.heappop(self._sleepers)
            self.now = max(self.now, end)
            if not wake.done():
                wake.set_result(None)
            await settle()
        self.now = target
        await settle()
