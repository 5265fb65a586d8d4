"""Parsing off the event loop (docs/architecture.md "Partner documents"), in worker processes that
can be killed.

feedparser is pure Python and can be slow on crafted input; in a thread it would still hold
the GIL against the server, and could not be stopped. So ``parse_feed`` runs in a small
``ProcessPoolExecutor``, and ``clean_feed`` right after it (sanitizing every entry's HTML is
most of what a merge costs): the server process only pickles bytes out and a ``CleanFeed``
back, ready to merge. A parse that overruns its time limit gets its workers killed and the
pool replaced; a worker that dies (killed by the OOM killer, say) breaks the pool, which is
replaced the same way.

The workers are started by a forkserver that has already imported the parser: forking from
the server process itself (which runs threads: the store's, the resolver's) can deadlock,
and spawning a fresh interpreter per worker costs a second of imports. They run at a lower
CPU priority than the server (``os.nice``): a refresh of many partners keeps them busy for
seconds, and requests for the feeds must not queue behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
from collections.abc import Collection, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from feedsvc.aggregate.clean import CleanFeed, clean_feed
from feedsvc.errors import FeedParseError
from feedsvc.remote.parse import parse_feed

__all__ = ["ParserPool"]

log = logging.getLogger("feedsvc.aggregate")

_PRELOAD = ["feedsvc.aggregate.workers"]
_CLOSE_TIMEOUT = 5.0  # seconds
# How much less CPU priority the worker processes get than the server (nice(2) increment):
# serving requests wins the CPU, parsing takes what is left.
WORKER_NICENESS = 10


class ParserPool:
    """``await pool.parse(body, url, headers)`` in a worker; ``workers=0`` means one thread.

    ``summary_length`` is ``feeds.summary_length``, for the summaries clean_feed derives.
    """

    def __init__(self, workers: int, timeout: float, summary_length: int) -> None:
        self.workers = workers
        self.timeout = timeout
        self.summary_length = summary_length
        self._executor: Executor | None = None

    def start(self) -> None:
        self._executor = self._new_executor()

    async def close(self) -> None:
        """Shut the workers down; a worker still busy after a few seconds is killed."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.shutdown(wait=False, cancel_futures=True)
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await asyncio.to_thread(executor.shutdown, wait=True)
        except TimeoutError:
            _kill_workers(executor)

    def _new_executor(self) -> Executor:
        if self.workers == 0:
            return ThreadPoolExecutor(1, thread_name_prefix="feedsvc-parse")
        context = multiprocessing.get_context("forkserver")
        # Only takes effect when the forkserver starts; it is shared by the whole process.
        context.set_forkserver_preload(_PRELOAD)
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_lower_priority)

    async def parse(
        self,
        body: bytes,
        url: str,
        headers: Mapping[str, str],
        known: Collection[str] = frozenset(),
    ) -> CleanFeed:
        """parse_feed(body, url, headers), cleaned (clean_feed, entries whose digest is in
        ``known`` left out), off the loop; FeedParseError on timeout or crash."""
        known = frozenset(known)
        for attempt in (1, 2):
            executor = self._executor
            if executor is None:
                raise RuntimeError("ParserPool is not started")
            try:
                async with asyncio.timeout(self.timeout):
                    # Submitted from a thread: a process pool starts its workers in submit(),
                    # and the first start (the forkserver's imports) blocks for 100 ms or
                    # more, which the event loop must not. submit() itself raises
                    # BrokenProcessPool once the pool knows it is broken.
                    submitted = await asyncio.to_thread(
                        executor.submit,
                        _parse,
                        body,
                        url,
                        dict(headers),
                        self.summary_length,
                        known,
                    )
                    result = await asyncio.wrap_future(submitted)
                if isinstance(result, _Failure):
                    raise FeedParseError(result.url, result.message)
                # Unpickled here, on the loop (well under a millisecond): the pool's own
                # thread would allocate the entries' strings, which live for as long as the
                # entries, in its own malloc arena, between the transient buffers of every
                # result, and that fragmentation costs the server tens of MB.
                feed: CleanFeed = pickle.loads(result)
                return feed
            except TimeoutError as e:
                self._replace(executor)
                raise FeedParseError(url, f"parsing took longer than {self.timeout:g} s") from e
            except BrokenProcessPool as e:
                # Another partner's parse may have broken the pool (killed on timeout), so
                # this document gets one more try in the new pool.
                self._replace(executor)
                if attempt == 2:
                    raise FeedParseError(url, "the parser process died") from e
        raise AssertionError("unreachable")

    def _replace(self, broken: Executor) -> None:
        if self._executor is not broken:
            return  # someone already replaced it
        log.warning("replacing the feed parser workers")
        broken.shutdown(wait=False, cancel_futures=True)
        # A thread cannot be stopped: it finishes on its own, and its result is dropped.
        _kill_workers(broken)
        self._executor = self._new_executor()


@dataclass(frozen=True, slots=True)
class _Failure:
    url: str
    message: str


def _lower_priority() -> None:
    """In each worker process, as it starts."""
    with contextlib.suppress(OSError):  # not allowed (a sandbox): run at the same priority
        os.nice(WORKER_NICENESS)


def _parse(
    body: bytes, url: str, headers: dict[str, str], summary_length: int, known: frozenset[str]
) -> bytes | _Failure:
    """parse_feed and clean_feed in a worker; the CleanFeed comes back pickled (see parse).
    A FeedParseError comes back as a value: exceptions whose __init__ takes other arguments
    than their message do not unpickle, and a result that fails to unpickle breaks the whole
    pool."""
    try:
        # clean_feed resolves relative URLs against the URL: feedparser need not as well.
        parsed = parse_feed(body, url, headers, caller_resolves=True)
    except FeedParseError as e:
        return _Failure(e.url, e.message)
    try:
        return pickle.dumps(clean_feed(parsed, url, summary_length, known), pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # a bug of ours; as a value, it cannot break the pool either
        log.exception("cleaning the entries of %s failed", url)
        return _Failure(url, f"unexpected {type(e).__name__} while cleaning entries: {e}")


def _kill_workers(executor: Executor) -> None:
    """Stop a process pool's workers now, whatever they are doing.

    ProcessPoolExecutor has no public way to do this before Python 3.14
    (``terminate_workers``), so this reads its process table, and does nothing if that
    ever goes away.
    """
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.kill()
