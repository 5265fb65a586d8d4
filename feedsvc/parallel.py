"""A parallel map over one worker per core for the start-up build, and nothing else.

Normalizing 10,000 posts and rendering and compressing two thousand feeds is CPU
work in Python; one process uses one core. Forked workers see the parent's data
(copy-on-write) without pickling it, and send back only their results, in batches as
they are made. Where fork is unavailable, or the work is small, or one worker is asked for,
it is a plain map, with the same results in the same order.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import os
import pickle
import selectors
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate, pairwise
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a pool costs more than it saves.
MIN_ITEMS = 200

# Results are sent back in batches of about this many bytes, pickled one after the other:
# one message per result was two reads, a wakeup and a selector pass in the parent for each
# of the bench site's 10,000 normalized posts (~8 KB each).
BATCH_BYTES = 256 * 1024

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
    default, a quarter of each worker's share at first, smaller towards the end.
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
        # Several chunks per worker even out chunks that cost more than others, and the
        # small last ones (tapered_sizes) the end. Each costs a fork of the parent and the
        # exit of a worker holding its mappings, ~10 ms between them for the bench site's
        # 10,000 posts: chunks of an eighth of each worker's share (24 chunks) took 0.1 s
        # longer than a quarter's (16).
        chunk_sizes = tapered_sizes(len(items), count, largest=-(-len(items) // (count * 4)))
    if sum(chunk_sizes) != len(items) or min(chunk_sizes) < 1:
        raise ValueError(f"chunk sizes {list(chunk_sizes)} do not cut {len(items)} items")
    _work = (func, items)
    # Out of the cyclic GC's reach in the workers: a collection there would write to every
    # inherited object's header and so copy every page of the parent's heap into each
    # worker (the gc.freeze documentation's own advice before fork).
    gc.freeze()
    try:
        return _run_chunks(pairwise(accumulate(chunk_sizes, initial=0)), len(items), count)
    finally:
        gc.unfreeze()
        _work = None


def tapered_sizes(total: int, workers: int, largest: int) -> list[int]:
    """Chunk sizes that add up to ``total``: ``largest`` at first, then smaller as the end
    nears (half of what is left per worker), down to an eighth of ``largest``.

    Chunks start in order as workers free up, so the last ones decide how long workers
    wait idle for each other at the end: with equal chunks, up to a whole chunk (0.25 s of
    normalizing, 0.35 s of rendering archives on the bench site). Shrinking them at the end
    is guided self-scheduling (Polychronopoulos and Kuck, 1987); a chunk costs one fork,
    a few milliseconds.
    """
    if largest < 1 or workers < 1:
        raise ValueError(f"chunks of at least one item for at least one worker, not {largest}")
    smallest = max(1, largest // 8)
    sizes = []
    left = total
    while left > 0:
        size = min(largest, max(smallest, -(-left // (2 * workers))), left)
        sizes.append(size)
        left -= size
    return sizes


def _run_chunks(chunks: Iterator[tuple[int, int]], total: int, count: int) -> list[Any]:
    """Run each chunk (start, stop) in a fresh forked worker, ``count`` at a time, in order.

    A fresh worker per chunk: an object a worker reads is copied into it (a reference count
    is a write), so a long-lived worker ends up holding a copy of every post it ever read;
    one per chunk holds only the chunk's. Results come back through a pipe as they are
    made, a batch of about BATCH_BYTES at a time, so neither side ever holds a chunk's
    results twice (list and pickle).
    """
    context = multiprocessing.get_context("fork")
    results: list[Any] = [None] * total
    running: dict[Connection, multiprocessing.process.BaseProcess] = {}
    # One selector for the whole map, each worker's pipe registered while it runs:
    # multiprocessing.connection.wait builds and closes a selector on every call, which
    # cost the parent 0.4 s of CPU per build of the bench site (13,000 results), taken
    # from the workers' two cores.
    selector = selectors.DefaultSelector()

    def start_next() -> None:
        bounds = next(chunks, None)
        if bounds is None:
            return
        reader, writer = context.Pipe(duplex=False)
        worker = context.Process(target=_run_chunk, args=(writer, *bounds), daemon=True)
        worker.start()
        writer.close()  # the worker's end: EOF here once the worker is done
        running[reader] = worker
        selector.register(reader, selectors.EVENT_READ)

    try:
        for _ in range(count):
            start_next()
        while running:
            for key, _ in selector.select():
                reader = key.fileobj
                assert isinstance(reader, Connection)
                try:
                    batch = reader.recv_bytes()
                except EOFError:
                    selector.unregister(reader)
                    worker = running.pop(reader)
                    reader.close()
                    # The next chunk first: the worker may take a few ms more to exit (its
                    # memory given back), which its core would otherwise spend idle.
                    start_next()
                    worker.join()
                    if worker.exitcode != 0:
                        raise RuntimeError(f"a worker died (exit code {worker.exitcode})") from None
                    continue
                for index, failed, value in _unpickled(batch):
                    if failed:
                        raise value
                    results[index] = value
    finally:
        selector.close()
        for reader, worker in running.items():
            worker.kill()
            worker.join()
            reader.close()
    return results


def _run_chunk(writer: Connection, start: int, stop: int) -> None:
    assert _work is not None, "parallel_map's work is set before the workers fork"
    func, items = _work
    batch = io.BytesIO()
    for index in range(start, stop):
        try:
            record = pickle.dumps((index, False, func(items[index])), pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # the caller raises it, as a plain map would
            try:
                record = pickle.dumps((index, True, e), pickle.HIGHEST_PROTOCOL)
            except Exception:  # an error that does not pickle: what it says
                error = RuntimeError(f"{type(e).__name__}: {e}")
                record = pickle.dumps((index, True, error), pickle.HIGHEST_PROTOCOL)
            batch.write(record)
            break
        batch.write(record)
        if batch.tell() >= BATCH_BYTES:
            writer.send_bytes(batch.getbuffer())
            batch = io.BytesIO()
    if batch.tell():
        writer.send_bytes(batch.getbuffer())
    writer.close()


def _unpickled(batch: bytes) -> Iterator[tuple[int, bool, Any]]:
    """The records of one batch, pickled one after the other."""
    stream = io.BytesIO(batch)
    unpickler = pickle.Unpickler(stream)
    while stream.tell() < len(batch):
        yield unpickler.load()
