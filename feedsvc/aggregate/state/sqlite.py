"""The store in one SQLite file: the default, for one process with no other service.

- WAL journal (https://sqlite.org/wal.html): readers never block the writer, and a crash
  loses at most the last transaction with ``synchronous=NORMAL``, never the file.
- The schema is versioned with ``PRAGMA user_version``; ``_MIGRATIONS[n]`` takes a file from
  version n to n+1, and a file from a newer feedsvc is refused rather than misread.
- Each fetch's changes (the partner's row, its new and changed entries, the ones retention
  dropped, the lease released) are written in one transaction, so a restart sees a fetch
  whole or not at all. ``BEGIN IMMEDIATE`` takes the write lock first, so claims made by two
  processes on one file are serialized too (SQLite has no row locks).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from feedsvc.aggregate.state.sql import LEASE_ROW, Cursor, Store
from feedsvc.errors import StoreError

__all__ = ["SCHEMA_VERSION", "SqliteStore", "connect"]

SCHEMA_VERSION = 2

_MIGRATIONS: tuple[str, ...] = (
    # 0 → 1
    """
    CREATE TABLE partners (
        name TEXT PRIMARY KEY,
        config_url TEXT NOT NULL,   -- partners[].url this row belongs to (a new one starts over)
        url TEXT NOT NULL,          -- the URL fetched now (after permanent redirects)
        etag TEXT,
        last_modified TEXT,
        state TEXT NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        bozo TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        last_fetch TEXT,
        last_success TEXT,
        next_fetch TEXT,
        pending_url TEXT,
        pending_count INTEGER NOT NULL DEFAULT 0,
        moved_at TEXT,
        moved_from TEXT,
        feed_link TEXT,
        fingerprint TEXT,
        id_memory TEXT NOT NULL DEFAULT '[]',  -- JSON [[link, id], ...] of the last fetch
        unstable_ids INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entries (
        partner TEXT NOT NULL,
        key TEXT NOT NULL,
        id TEXT NOT NULL,
        link TEXT,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        content_html TEXT NOT NULL,
        published TEXT NOT NULL,
        updated TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        lang TEXT,
        authors TEXT NOT NULL,      -- JSON [[name, email, url], ...]
        tags TEXT NOT NULL,         -- JSON [label, ...]
        image_url TEXT,
        PRIMARY KEY (partner, key)
    ) WITHOUT ROWID;
    """,
    # 1 → 2: fetch leases (docs/deploy.md "Replicas")
    """
    ALTER TABLE partners ADD COLUMN lease_owner TEXT;
    ALTER TABLE partners ADD COLUMN lease_until TEXT;
    ALTER TABLE partners ADD COLUMN lease_host TEXT;
    """,
)


class SqliteStore(Store):
    """One SQLite file. Use from a single thread; ``open`` creates what is missing."""

    shared = False
    dates_as_text = True
    placeholder = "?"
    errors = (sqlite3.Error,)

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self.url = path
        self._db = connection

    @classmethod
    def open(cls, path: str) -> SqliteStore:
        db = connect(path, "the aggregator store", isolation_level=None)  # explicit BEGIN
        store = cls(path, db)
        try:
            store._migrate()
        except sqlite3.Error as e:
            db.close()
            raise StoreError(path, f"cannot use the aggregator store: {e}") from e
        except StoreError:
            db.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        self.check_version(version, SCHEMA_VERSION)
        for step in range(version, SCHEMA_VERSION):
            with self.transaction() as cur:
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        cur.execute(statement)
                # PRAGMA takes no parameters; step is an int we control.
                cur.execute(f"PRAGMA user_version = {step + 1}")

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (autocommit connection):
        the write lock is taken first, which serializes claimers on one file."""
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        with closing(self._db.cursor()) as cur:
            yield cur

    def locked_row(self, cur: Cursor, name: str, *, wait: bool) -> tuple[Any, ...] | None:
        # BEGIN IMMEDIATE already holds the file's write lock: the row is ours.
        cur.execute(LEASE_ROW, (name,))
        return cur.fetchone()

    def live_host_leases(self, cur: Cursor, host: str, now: datetime, name: str) -> int:
        cur.execute(
            "SELECT lease_until FROM partners "
            "WHERE lease_host = ? AND lease_owner IS NOT NULL AND name != ?",
            (host, name),
        )
        # ISO text with any offset: compared as datetimes, not as strings.
        return sum(1 for (until,) in cur.fetchall() if datetime.fromisoformat(until) > now)


def connect(
    path: str, what: str, isolation_level: Literal["DEFERRED"] | None
) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` (its folder created), in WAL mode: readers
    never block the writer, and a crash loses at most the last transaction
    (``synchronous=NORMAL``). ``what`` names the file in errors. Shared by every SQLite
    store (the aggregator's, WebSub's)."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=isolation_level)
    except (OSError, sqlite3.Error) as e:
        raise StoreError(path, f"cannot open {what}: {e}") from e
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")  # another process writing
    except sqlite3.Error as e:
        db.close()
        raise StoreError(path, f"cannot use {what}: {e}") from e
    return db
