"""state.py (the SQLite store) and workers.py (parsing in worker processes)."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from feedsvc.aggregate.clean import CleanEntry, Unchanged
from feedsvc.aggregate.merge import StoredEntry
from feedsvc.aggregate.state import SCHEMA_VERSION, PartnerRecord, Store
from feedsvc.aggregate.workers import WORKER_NICENESS, ParserPool
from feedsvc.errors import FeedParseError, StoreError
from feedsvc.model import Author

WHEN = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
RSS = b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'


def stored(n: int) -> StoredEntry:
    return StoredEntry(
        key=f"id:urn:{n}",
        id=f"urn:{n}",
        link=f"https://p.example/{n}",
        title=f"Entry {n} – ünïcode",
        summary="s",
        content_html="<p>c</p>",
        published=WHEN,
        updated=WHEN,
        first_seen=WHEN,
        lang=None,
        authors=(Author("Ann", "ann@p.example", None), Author("Bo")),
        tags=("a", "b"),
        image_url="https://p.example/i.png",
    )


RECORD = PartnerRecord(
    name="p",
    config_url="https://p.example/old",
    url="https://p.example/new",
    etag='"x"',
    last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
    state="backoff",
    last_status=429,
    last_error="slow down",
    bozo="malformed XML",
    failures=3,
    last_fetch=WHEN,
    last_success=WHEN,
    next_fetch=WHEN,
    pending_url="https://p.example/newer",
    pending_count=1,
    moved_at=WHEN,
    moved_from="https://p.example/old",
    feed_link="https://p.example/",
    fingerprint="abc",
    id_memory=(("https://p.example/1", "urn:1"),),
    unstable_ids=True,
)


def test_records_and_entries_round_trip_exactly(tmp_path):
    path = str(tmp_path / "deep" / "folder" / "store.sqlite3")  # folders are created
    store = Store.open(path)
    store.save(RECORD, [stored(1), stored(2)])
    store.save(replace(RECORD, failures=4), [replace(stored(2), title="new")], ["id:urn:1"])
    store.close()
    store = Store.open(path)
    try:
        assert store.partners() == {"p": replace(RECORD, failures=4)}
        assert store.entries() == {"p": {"id:urn:2": replace(stored(2), title="new")}}
    finally:
        store.close()


def test_the_store_is_wal_and_versioned(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    Store.open(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()


def test_a_store_from_a_newer_feedsvc_is_refused(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer feedsvc"):
        Store.open(path)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match=str(path)):
        Store.open(str(path))


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
