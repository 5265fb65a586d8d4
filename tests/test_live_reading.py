"""SourceReads: the start-up read of every source (live/reading.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from live_support import write_site

from feedsvc.clock import system_clock
from feedsvc.live.reading import SourceReads


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every collection the cyclic GC runs while the test does; the heap
    unfrozen and the collector on again afterwards, whatever the test left."""
    seen: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.unfreeze()
    gc.callbacks.append(count)
    try:
        yield seen
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()
        gc.enable()


def test_the_start_up_read_runs_no_collection_and_freezes_what_it_made(tmp_path, collections):
    site = write_site(tmp_path)
    for n in range(300):  # enough objects to set off collections, were the collector on
        site.write_post(f"more/{n}.md", f"---\ntitle: T{n}\ndate: 2024-05-01\n---\nBody\n")
    config = site.config()
    reads = SourceReads(system_clock)
    collections.clear()
    assert gc.get_freeze_count() == 0

    reads.read_all(config)

    assert collections == []
    assert gc.isenabled()
    (posts,) = reads.states.values()
    assert posts.result is not None and len(posts.result.posts) == 305
    assert gc.get_freeze_count() > 0
    gc.collect()
    assert collections == [2]  # a full collection now...
    assert gc.get_freeze_count() > 0  # ...leaves out what the read made


def test_a_collector_turned_off_before_the_read_stays_off(tmp_path, collections):
    config = write_site(tmp_path).config()
    gc.disable()

    SourceReads(system_clock).read_all(config)

    assert not gc.isenabled()
    assert collections == []
