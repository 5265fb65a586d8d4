"""workers.py: parsing in worker processes."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from feedsvc.aggregate.clean import CleanEntry, Unchanged
from feedsvc.aggregate.workers import WORKER_NICENESS, ParserPool
from feedsvc.errors import FeedParseError

RSS = b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'
FEED_URL = "https://p.example/feed"


@asynccontextmanager
async def running(workers: int = 1, timeout: float = 10) -> AsyncIterator[ParserPool]:
    """A started pool (summaries of 280 characters), closed at the end."""
    pool = ParserPool(workers=workers, timeout=timeout, summary_length=280)
    pool.start()
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def pool() -> AsyncIterator[ParserPool]:
    """One worker process, 10 s per parse."""
    async with running() as pool:
        yield pool


# --- parsing in worker processes ----------------------------------------------------------


async def test_parsing_runs_in_a_worker_and_errors_come_back_as_ours(pool):
    parsed = await pool.parse(RSS, FEED_URL, {})
    assert parsed.entries[0].title == "a"
    with pytest.raises(FeedParseError, match=re.escape(f"{FEED_URL}: ")):
        await pool.parse(b"<html>no feed</html>", FEED_URL, {})


async def test_a_dead_worker_is_replaced(pool):
    await pool.parse(RSS, FEED_URL, {})
    broken = pool._executor
    for process in list(broken._processes.values()):  # type: ignore[union-attr]
        process.kill()
        process.join()
    # Whether the pool noticed yet (submit raises) or not (the future fails), the
    # document is parsed again in a new pool.
    parsed = await pool.parse(RSS, FEED_URL, {})
    assert parsed.entries[0].title == "a"
    assert pool._executor is not broken


async def test_threads_are_a_fallback():
    async with running(workers=0) as pool:
        assert (await pool.parse(RSS, FEED_URL, {})).format == "rss"


async def test_a_parse_over_the_time_limit_is_an_error_and_the_workers_are_replaced():
    async with running(timeout=1e-9) as pool:  # nothing parses that fast
        with pytest.raises(FeedParseError, match="parsing took longer than"):
            await pool.parse(RSS, FEED_URL, {})
        pool.timeout = 10
        assert (await pool.parse(RSS, FEED_URL, {})).entries


async def test_workers_run_at_a_lower_priority_than_the_server(pool):
    await pool.parse(RSS, FEED_URL, {})  # the workers are up
    worker = await asyncio.wrap_future(pool._executor.submit(os.nice, 0))  # type: ignore[union-attr]
    assert worker == min(os.nice(0) + WORKER_NICENESS, 19)


async def test_entries_the_caller_knows_come_back_unchanged_not_cleaned_again(pool):
    first = await pool.parse(RSS, FEED_URL, {})
    [entry] = first.entries
    assert isinstance(entry, CleanEntry)
    again = await pool.parse(RSS, FEED_URL, {}, known={entry.digest})
    moved = await pool.parse(RSS, "https://p.example/moved", {}, known={entry.digest})
    assert again.entries == (Unchanged(entry.digest),)
    assert isinstance(moved.entries[0], CleanEntry)  # another base URL: cleaned again
