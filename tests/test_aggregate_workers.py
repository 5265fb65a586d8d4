"""workers.py: parsing in worker processes."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from feedsvc.aggregate.clean import CleanEntry, Unchanged
from feedsvc.aggregate.workers import WORKER_NICENESS, ParserPool
from feedsvc.errors import FeedParseError

RSS = b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'


# --- parsing in worker processes ----------------------------------------------------------


async def test_parsing_runs_in_a_worker_and_errors_come_back_as_ours():
    pool = ParserPool(workers=1, timeout=10, summary_length=280)
    pool.start()
    try:
        parsed = await pool.parse(RSS, "https://p.example/feed", {})
        assert parsed.entries[0].title == "a"
        with pytest.raises(FeedParseError, match=re.escape("https://p.example/feed: ")):
            await pool.parse(b"<html>no feed</html>", "https://p.example/feed", {})
    finally:
        await pool.close()


async def test_a_dead_worker_is_replaced():
    pool = ParserPool(workers=1, timeout=10, summary_length=280)
    pool.start()
    try:
        await pool.parse(RSS, "https://p.example/feed", {})
        broken = pool._executor
        for process in list(broken._processes.values()):  # type: ignore[union-attr]
            process.kill()
            process.join()
        # Whether the pool noticed yet (submit raises) or not (the future fails), the
        # document is parsed again in a new pool.
        parsed = await pool.parse(RSS, "https://p.example/feed", {})
        assert parsed.entries[0].title == "a"
        assert pool._executor is not broken
    finally:
        await pool.close()


async def test_threads_are_a_fallback():
    pool = ParserPool(workers=0, timeout=10, summary_length=280)
    pool.start()
    try:
        assert (await pool.parse(RSS, "https://p.example/feed", {})).format == "rss"
    finally:
        await pool.close()


async def test_a_parse_over_the_time_limit_is_an_error_and_the_workers_are_replaced():
    pool = ParserPool(workers=1, timeout=1e-9, summary_length=280)  # nothing parses that fast
    pool.start()
    try:
        with pytest.raises(FeedParseError, match="parsing took longer than"):
            await pool.parse(RSS, "https://p.example/feed", {})
        pool.timeout = 10
        assert (await pool.parse(RSS, "https://p.example/feed", {})).entries
    finally:
        await pool.close()


async def test_workers_run_at_a_lower_priority_than_the_server():
    pool = ParserPool(workers=1, timeout=10, summary_length=280)
    pool.start()
    try:
        await pool.parse(RSS, "https://p.example/feed", {})  # the workers are up
        worker = await asyncio.wrap_future(pool._executor.submit(os.nice, 0))  # type: ignore[union-attr]
    finally:
        await pool.close()
    assert worker == min(os.nice(0) + WORKER_NICENESS, 19)


async def test_entries_the_caller_knows_come_back_unchanged_not_cleaned_again():
    pool = ParserPool(workers=1, timeout=10, summary_length=280)
    pool.start()
    try:
        first = await pool.parse(RSS, "https://p.example/feed", {})
        [entry] = first.entries
        assert isinstance(entry, CleanEntry)
        again = await pool.parse(RSS, "https://p.example/feed", {}, known={entry.digest})
        moved = await pool.parse(RSS, "https://p.example/moved", {}, known={entry.digest})
    finally:
        await pool.close()
    assert again.entries == (Unchanged(entry.digest),)
    assert isinstance(moved.entries[0], CleanEntry)  # another base URL: cleaned again
