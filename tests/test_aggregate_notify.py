"""notify.py: on_change calls paced while refreshes are in flight, never late at the end.

These run on the real event loop with short intervals; nothing here waits for an interval
unless the behaviour under test is that waiting.
"""

from __future__ import annotations

import asyncio

import pytest

from feedsvc.aggregate.notify import ChangeNotifier


class Calls:
    """An on_change that records the loop time of each call and takes ``seconds``."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.times: list[float] = []

    async def __call__(self) -> None:
        self.times.append(asyncio.get_running_loop().time())
        await asyncio.sleep(self.seconds)


async def test_a_lone_change_is_published_at_once_whatever_the_interval():
    calls = Calls()
    notifier = ChangeNotifier(calls, interval=3600)
    async with asyncio.timeout(5):
        for _ in range(3):
            with notifier.in_flight():
                pass  # a refresh that changed something, with no other in flight
            await notifier.changed()
    assert len(calls.times) == 3


async def test_changes_while_refreshes_are_in_flight_are_paced_and_the_last_is_not_late():
    interval = 0.2
    calls = Calls()
    notifier = ChangeNotifier(calls, interval)
    loop = asyncio.get_running_loop()
    waiters = []
    with notifier.in_flight():  # a slow partner, still being fetched
        started = loop.time()
        while loop.time() - started < 0.5:  # other partners change every 10 ms
            with notifier.in_flight():
                pass
            waiters.append(asyncio.create_task(notifier.changed()))
            await asyncio.sleep(0.01)
        during = len(calls.times)
        ended = loop.time()
    async with asyncio.timeout(5):
        await asyncio.gather(*waiters)  # every change's call has finished
    # The first change is published at once, then about one call per interval (not ~50).
    assert calls.times[0] - started < interval
    assert 2 <= during <= 4
    gaps = [b - a for a, b in zip(calls.times, calls.times[1:], strict=False)]
    assert all(gap >= interval * 0.9 for gap in gaps[: during - 1])
    # The last refresh ending publishes the waiting change at once, not an interval later.
    assert len(calls.times) == during + 1
    assert calls.times[-1] - ended < interval


async def test_changes_during_a_call_get_exactly_one_more_call_after_it():
    calls = Calls(seconds=0.05)
    notifier = ChangeNotifier(calls, interval=0)
    first = asyncio.create_task(notifier.changed())
    await asyncio.sleep(0.01)  # the first call is running
    async with asyncio.timeout(5):
        await asyncio.gather(first, *(notifier.changed() for _ in range(5)))
    assert len(calls.times) == 2


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
    notifier = ChangeNotifier(Calls(), interval=3600)
    with notifier.in_flight():
        await notifier.changed()  # the first call: at once
        waiting = asyncio.create_task(notifier.changed())  # waits for the interval
        await asyncio.sleep(0.01)
        await notifier.close()
        with pytest.raises(asyncio.CancelledError):
            await waiting


async def test_without_on_change_nothing_waits():
    notifier = ChangeNotifier(None, interval=3600)
    with notifier.in_flight():
        async with asyncio.timeout(1):
            await notifier.changed()
