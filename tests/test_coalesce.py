"""Coalescer: one rebuild runs at a time; requests made meanwhile become one more."""

from __future__ import annotations

import asyncio

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
