"""notify.py: on_change calls paced while refreshes are in flight, never late at the end.

Time is a fake clock whose sleepers wake only when the test moves it: nothing here waits on
the real clock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fake_time import FakeTime, settle

from feedsvc.aggregate.notify import ChangeNotifier


class Calls:
    """An on_change that records the fake time of each call; while ``hold`` is clear, each
    call waits for it (a rebuild that takes a while)."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.times: list[float] = []
        self.hold = asyncio.Event()
        self.hold.set()

    async def __call__(self) -> None:
        self.times.append(self.time.elapsed)
        await self.hold.wait()


def notifier_on(time: FakeTime, calls: Calls, interval: float) -> ChangeNotifier:
    return ChangeNotifier(calls, interval, clock=time, sleep=time.sleep)


async def test_a_lone_change_is_published_at_once_whatever_the_interval():
    time = FakeTime()
    calls = Calls(time)
    notifier = notifier_on(time, calls, interval=3600)
    async with asyncio.timeout(5):
        for _ in range(3):
            with notifier.in_flight():
                pass  # a refresh that changed something, with no other in flight
            await notifier.changed()
    assert calls.times == [0, 0, 0]


async def test_changes_while_refreshes_are_in_flight_are_paced_and_the_last_is_not_late():
    interval = 1.0
    time = FakeTime()
    calls = Calls(time)
    notifier = notifier_on(time, calls, interval)
    waiters = []
    with notifier.in_flight():  # a slow partner, still being fetched
        for _ in range(19):  # other partners change every 0.25 s for 4.75 s
            with notifier.in_flight():
                pass
            waiters.append(asyncio.create_task(notifier.changed()))
            await time.advance_by(0.25)
        during = list(calls.times)
        ended = time.elapsed
    async with asyncio.timeout(5):
        await asyncio.gather(*waiters)  # every change's call has finished
    # The first change is published at once, then one call per interval (not 20).
    assert during == [0.0, 1.0, 2.0, 3.0, 4.0]
    # The last refresh ending publishes the waiting change at once, not an interval later.
    assert calls.times == [*during, ended] == [*during, 4.75]


async def test_changes_during_a_call_get_exactly_one_more_call_after_it():
    time = FakeTime()
    calls = Calls(time)
    calls.hold.clear()
    notifier = notifier_on(time, calls, interval=0)
    first = asyncio.create_task(notifier.changed())
    await settle()  # the first call is running, and waits
    assert len(calls.times) == 1
    later = [asyncio.create_task(notifier.changed()) for _ in range(5)]
    await settle()
    calls.hold.set()
    async with asyncio.timeout(5):
        await asyncio.gather(first, *later)
    assert len(calls.times) == 2


async def test_a_clock_stepped_back_delays_a_call_by_one_interval_at_most():
    time = FakeTime()
    calls = Calls(time)
    notifier = notifier_on(time, calls, interval=1.0)
    with notifier.in_flight():
        await notifier.changed()  # the first call: at once
        time.now -= timedelta(hours=1)  # the system clock is stepped back
        waiting = asyncio.create_task(notifier.changed())
        await time.advance_by(0.75)
        assert len(calls.times) == 1
        await time.advance_by(0.25)
        assert len(calls.times) == 2
        await waiting


async def test_a_failing_on_change_is_logged_and_the_next_change_is_still_published(caplog):
    results = iter([RuntimeError("boom"), None])

    def on_change() -> None:
        result = next(results)
        if result is not None:
            raise result

    notifier = ChangeNotifier(on_change, interval=0)
    await notifier.changed()
    await notifier.changed()
    assert "on_change callback failed" in caplog.text
    assert next(results, "done") == "done"


async def test_close_cancels_a_waiting_change():
    time = FakeTime()
    notifier = notifier_on(time, Calls(time), interval=3600)
    with notifier.in_flight():
        await notifier.changed()  # the first call: at once
        waiting = asyncio.create_task(notifier.changed())  # waits for the interval
        await settle()
        await notifier.close()
        with pytest.raises(asyncio.CancelledError):
            await waiting


async def test_without_on_change_nothing_waits():
    notifier = ChangeNotifier(None, interval=3600)
    with notifier.in_flight():
        async with asyncio.timeout(1):
            await notifier.changed()
