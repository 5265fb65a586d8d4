"""Coalescer: one rebuild runs at a time; requests made meanwhile become one more."""

from __future__ import annotations

import asyncio

from fake_time import FakeTime, settle

from feedsvc.live.coalesce import Batch, Coalescer


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[frozenset[str] | None, str]] = []
        self.release = asyncio.Event()
        self.running = asyncio.Event()

    async def __call__(self, batch: Batch) -> None:
        self.batches.append((batch.sources, batch.trigger))
        self.running.set()
        await self.release.wait()


async def test_requests_during_a_run_merge_into_one_more():
    recorder = Recorder()
    coalescer = Coalescer(recorder)
    first = coalescer.request(frozenset({"a"}), "watch")
    await recorder.running.wait()
    waiting = [coalescer.request(frozenset({name}), "webhook") for name in "bcd"]
    waiting.append(coalescer.request(frozenset({"b"}), "interval"))
    recorder.release.set()

    await asyncio.gather(first, *waiting)

    assert recorder.batches == [
        (frozenset({"a"}), "watch"),
        (frozenset({"b", "c", "d"}), "webhook+interval"),
    ]
    assert coalescer.runs == 2
    assert not coalescer.busy


async def test_every_source_absorbs_a_named_one():
    recorder = Recorder()
    coalescer = Coalescer(recorder)
    first = coalescer.request(frozenset(), "partners")
    await recorder.running.wait()
    second = coalescer.request(frozenset({"a"}), "watch")
    third = coalescer.request(None, "reload")
    recorder.release.set()
    await asyncio.gather(first, second, third)
    assert [sources for sources, _ in recorder.batches] == [frozenset(), None]


async def test_a_failing_run_is_logged_and_the_next_still_runs(caplog):
    calls = []

    async def run(batch: Batch) -> None:
        calls.append(batch.trigger)
        if len(calls) == 1:
            raise RuntimeError("boom")

    coalescer = Coalescer(run)
    await coalescer.request(None, "one")
    await coalescer.request(None, "two")
    assert calls == ["one", "two"]
    assert "rebuild failed (one)" in caplog.text


async def test_stop_cancels_the_running_and_the_waiting():
    recorder = Recorder()
    coalescer = Coalescer(recorder)
    first = coalescer.request(None, "one")
    await recorder.running.wait()
    second = coalescer.request(None, "two")
    await coalescer.stop()
    assert first.cancelled() and second.cancelled()


async def test_a_stopped_coalescer_runs_nothing_more():
    runs: list[str] = []

    async def run(batch: Batch) -> None:
        runs.append(batch.trigger)

    coalescer = Coalescer(run)
    await coalescer.request(None, "first")
    await coalescer.stop()
    await asyncio.wait_for(coalescer.request(None, "late"), timeout=1)
    assert runs == ["first"]
    assert not coalescer.busy


async def test_a_burst_of_spaced_requests_gives_one_rebuild_per_spacing():
    """200 webhook calls over 2.4 s, each rebuild over before the next call (issue 7: this
    gave 189 rebuilds): one at once, then one per second, and the last call is not lost."""
    time = FakeTime()
    starts: list[float] = []

    async def rebuild(batch: Batch) -> None:
        starts.append(time.elapsed)

    coalescer = Coalescer(rebuild, clock=time, sleep=time.sleep)
    calls = []
    for _ in range(200):
        calls.append(coalescer.request(None, "webhook", spacing=1.0))
        await time.advance_by(0.012)
    await time.advance_by(1.0)
    await asyncio.gather(*calls)
    assert starts == [0.0, 1.0, 2.0, 3.0]
    # A lone call long after the burst rebuilds at once; unspaced requests never wait.
    await time.advance_by(60)
    now = time.elapsed
    await coalescer.request(None, "webhook", spacing=1.0)
    await coalescer.request(None, "watch")
    assert starts[4:] == [now, now]


async def test_stopping_during_the_spacing_forgets_the_waiting_rebuild():
    time = FakeTime()
    recorder = Recorder()
    recorder.release.set()
    coalescer = Coalescer(recorder, clock=time, sleep=time.sleep)
    await coalescer.request(None, "webhook", spacing=1.0)
    waiting = coalescer.request(None, "webhook", spacing=1.0)
    await settle()
    await coalescer.stop()
    assert waiting.cancelled()
    assert coalescer.runs == 1
