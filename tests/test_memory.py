"""The start-up build and the cyclic garbage collector (memory.collector_paused)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from live_support import write_site

from feedsvc.live import Publisher


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


@pytest.mark.parametrize("workers", [1, 2])
def test_the_start_up_build_runs_no_collection_and_freezes_what_it_made(
    tmp_path, collections, workers
):
    site = write_site(tmp_path)
    for n in range(300):  # enough objects to set off collections, were the collector on
        site.write_post(f"more/{n}.md", f"---\ntitle: T{n}\ndate: 2024-05-01\n---\nBody {n}\n")
    # With two workers, the 305 posts are normalized in forked processes (parallel_map,
    # which unfreezes the heap when they are done).
    publisher = Publisher(site.config(), workers=workers)
    collections.clear()
    assert gc.get_freeze_count() == 0

    publisher.build()

    assert collections == []
    assert gc.isenabled()
    assert publisher.ref.current.status.posts == 305
    frozen = gc.get_freeze_count()
    assert frozen > 305 * 10  # each post is a dozen objects or more, raw and normalized
    gc.collect()
    assert collections == [2]  # a full collection now...
    assert gc.get_freeze_count() == frozen  # ...leaves out what the build made


def test_a_collector_turned_off_before_the_build_stays_off(tmp_path, collections):
    publisher = Publisher(write_site(tmp_path).config(), workers=1)
    gc.disable()

    publisher.build()

    assert not gc.isenabled()
    assert collections == []
    assert publisher.ref.current.status.posts == 5
