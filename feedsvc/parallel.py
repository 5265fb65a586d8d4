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

from feedsvc.memory import release_free_memory

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

    Each chunk of items runs in one worker, in order; a worker done with a chunk takes the
    next. ``chunk_sizes`` cut ``items`` into chunks (they add up to its length), for items
    that share work within a chunk; by default, ``default_chunk_sizes``.
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
        chunk_sizes = default_chunk_sizes(len(items), count)
    if sum(chunk_sizes) != len(items) or min(chunk_sizes) < 1:
        raise ValueError(f"chunk sizes {list(chunk_sizes)} do not cut {len(items)} items")
    _work = (func, items)
    # Out of the cyclic GC's reach in the workers: a collection there would write to every
    # inherited object's header and so copy every page of the parent's heap into each
    # worker (the gc.freeze documentation's own advice before fork).
    gc.freeze()
    try:
        chunks = pairwise(accumulate(chunk_sizes, initial=0))
        return _run_chunks(chunks, len(items), count)
    finally:
        gc.unfreeze()
        _work = None


def default_chunk_sizes(total: int, workers: int) -> list[int]:
    """A quarter of each worker's share at first, smaller towards the end: several chunks
    per worker even out chunks that cost more than others, and the small last ones
    (tapered_sizes) the end."""
    return tapered_sizes(total, workers, largest=-(-total // (workers * 4)))


def tapered_sizes(total: int, workers: int, largest: int) -> list[int]:
    """Chunk sizes that add up to ``total``: ``largest`` at first, then smaller as the end
    nears (half of what is left per worker), down to an eighth of ``largest``.

    Chunks start in order as workers free up, so the last ones decide how long workers
    wait idle for each other at the end: with equal chunks, up to a whole chunk (0.25 s of
    normalizing, 0.35 s of rendering archives on the bench site). Shrinking them at the end
    is guided self-scheduling (Polychronopoulos and Kuck, 1987); a chunk costs a round
    trip through its worker's pipe.
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
    """Run each chunk (start, stop) in one of ``count`` forked workers, in order.

    A worker takes chunk after chunk. A fresh worker per chunk cost more: forking the
    parent, the new worker's first writes to pages it shares with the parent, and its
    exit. On the bench site, normalizing took 1.14-1.20 s in 16 fresh workers and
    0.87-0.90 s in two; rendering 4.67-4.73 s in 14 and 4.00-4.05 s in two. But an object
    a worker reads is copied into it (a reference count is a write), and what it frees
    stays in its heap: the render worker that went on from a subscription chunk to the
    archives raised the build's peak PSS from 389 to 458 MB, until it let its fragment
    cache go (pipeline._render_feed) and every worker gave its free heap back after each
    chunk (below): 387 MB. Results come back through a pipe as they are made, a batch of
    about BATCH_BYTES at a time, so neither side ever holds a chunk's results twice (list
    and pickle); an empty batch ends a chunk, and the parent answers with the next chunk
    or None.
    """
    context = multiprocessing.get_context("fork")
    results: list[Any] = [None] * total
    running: dict[Connection, multiprocessing.process.BaseProcess] = {}
    # One selector for the whole map, each worker's pipe registered while it runs:
    # multiprocessing.connection.wait builds and closes a selector on every call, which
    # cost the parent 0.4 s of CPU per build of the bench site (13,000 results), taken
    # from the workers' two cores.
    selector = selectors.DefaultSelector()

    def give_next(conn: Connection | None) -> None:
        """The next chunk to the worker at ``conn``, or to a new worker when None; with
        no chunk left, the worker is told to leave."""
        bounds = next(chunks, None)
        if conn is None:
            if bounds is None:
                return
            conn, theirs = context.Pipe()
            worker = context.Process(target=_serve_chunks, args=(theirs,), daemon=True)
            worker.start()
            theirs.close()  # the worker's end: EOF here once the worker is gone
            running[conn] = worker
            selector.register(conn, selectors.EVENT_READ)
        conn.send(bounds)

    try:
        for _ in range(count):
            give_next(None)
        while running:
            for key, _ in selector.select():
                conn = key.fileobj
                assert isinstance(conn, Connection)
                try:
                    batch = conn.recv_bytes()
                except EOFError:
                    selector.unregister(conn)
                    worker = running.pop(conn)
                    conn.close()
                    worker.join()
                    if worker.exitcode != 0:
                        raise RuntimeError(f"a worker died (exit code {worker.exitcode})") from None
                    continue
                if not batch:  # the chunk is done
                    give_next(conn)
                    continue
                for index, failed, value in _unpickled(batch):
                    if failed:
                        raise value
                    results[index] = value
    finally:
        selector.close()
        for conn, worker in running.items():
            worker.kill()
            worker.join()
            conn.close()
    return results


def _serve_chunks(conn: Connection) -> None:
    """A worker: run each chunk the parent sends, until it sends None."""
    while (bounds := conn.recv()) is not None:
        if not _run_chunk(conn, *bounds):
            break  # an error was sent: the map is over
        # What the chunk freed stays in glibc's heap, pinned by what it kept (fragments
        # made early, kept late): given back before the next chunk, it was ~35 MB of one
        # render worker on the bench site, and the build's peak PSS 422 -> 387 MB.
        release_free_memory()
    conn.close()


def _run_chunk(conn: Connection, start: int, stop: int) -> bool:
    """Send the chunk's results in batches, then an empty batch; False after an error."""
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
            conn.send_bytes(batch.getvalue() + record)
            return False
        batch.write(record)
        if batch.tell() >= BATCH_BYTES:
            conn.send_bytes(batch.getbuffer())
            batch = io.BytesIO()
    if batch.tell():
        conn.send_bytes(batch.getbuffer())
    conn.send_bytes(b"")
    return True


def _unpickled(batch: bytes) -> Iterator[tuple[int, bool, Any]]:
    """The records of one batch, pickled one after the other, each by its own Pickler."""
    stream = io.BytesIO(batch)
    while stream.tell() < len(batch):
        # A fresh Unpickler for each record: one Unpickler keeps its memo from load to
        # load, and a record's back-references (BINGET n) count from its own start.
        yield pickle.load(stream)
