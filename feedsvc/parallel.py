"""A parallel map over one worker per core for the start-up build, and nothing else.

Normalizing 10,000 posts and rendering and compressing two thousand feeds is CPU
work in Python; one process uses one core. Forked workers see the parent's data
(copy-on-write) without pickling it, and return only their results. Where fork is
unavailable, or the work is small, or one worker is asked for, it is a plain map,
with the same results in the same order.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Sequence
from itertools import accumulate, pairwise
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a pool costs more than it saves.
MIN_ITEMS = 200

# The work of the current parallel_map, inherited by forked workers; never pickled.
_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parallel_map(
    func: Callable[[T], R],
    items: Sequence[T],
    workers: int | None = None,
    chunk_sizes: Sequence[int] | None = None,
) -> list[R]:
    """``[func(x) for x in items]``, spread over forked workers; results must pickle.

    Each chunk of items runs in one worker, in order. ``chunk_sizes`` cut ``items`` into
    chunks (they add up to its length), for items that share work within a chunk; by
    default, chunks of equal size, eight per worker.
    """
    global _work
    count = default_workers() if workers is None else workers
    if (
        count <= 1
        or len(items) < MIN_ITEMS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [func(item) for item in items]
    if chunk_sizes is None:
        # Several chunks per worker even out chunks that cost more than others, and keep
        # the results in transit (pickled, then unpickled) a small part of the whole.
        size = -(-len(items) // (count * 8))
        chunk_sizes = [min(size, len(items) - start) for start in range(0, len(items), size)]
    if sum(chunk_sizes) != len(items) or min(chunk_sizes) < 1:
        raise ValueError(f"chunk sizes {list(chunk_sizes)} do not cut {len(items)} items")
    starts = list(accumulate(chunk_sizes, initial=0))
    bounds = list(pairwise(starts))
    _work = (func, items)
    # Out of the cyclic GC's reach in the workers: a collection there would write to every
    # inherited object's header and so copy every page of the parent's heap into each
    # worker (the gc.freeze documentation's own advice before fork).
    gc.freeze()
    try:
        # A fresh worker per chunk: an object a worker reads is copied into it (a reference
        # count is a write), so a long-lived worker ends up holding a copy of every post it
        # ever read; one per chunk holds only the chunk's.
        with multiprocessing.get_context("fork").Pool(count, maxtasksperchild=1) as pool:
            results = [result for part in pool.imap(_run_chunk, bounds) for result in part]
    finally:
        gc.unfreeze()
        _work = None
    return results


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _work is not None, "parallel_map's work is set before the workers fork"
    func, items = _work
    start, stop = bounds
    return [func(items[i]) for i in range(start, stop)]
