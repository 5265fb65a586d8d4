"""The aggregator's memory: partners' entries, validators, URLs and states, in SQLite.

Synchronous on purpose: the aggregator calls every method from one dedicated thread (see
service.py), so the connection is only ever used by the thread that opened it, and a slow
disk (an fsync at checkpoint time) never stalls the event loop that serves feeds.

- WAL journal (https://sqlite.org/wal.html): readers never block the writer, and a crash
  loses at most the last transaction with ``synchronous=NORMAL``, never the file.
- The schema is versioned with ``PRAGMA user_version``; ``_MIGRATIONS[n]`` takes a file from
  version n to n+1, and a file from a newer feedsvc is refused rather than misread.
- Each fetch's changes (the partner's row, its new and changed entries, the ones retention
  dropped) are written in one transaction, so a restart sees a fetch whole or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from feedsvc.aggregate.merge import StoredEntry
from feedsvc.errors import StoreError
from feedsvc.model import Author

__all__ = ["SCHEMA_VERSION", "PartnerRecord", "Store"]

SCHEMA_VERSION = 1

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
)

_PARTNER_COLUMNS = (
    "name config_url url etag last_modified state last_status last_error bozo failures "
    "last_fetch last_success next_fetch pending_url pending_count moved_at moved_from "
    "feed_link fingerprint id_memory unstable_ids"
).split()
_ENTRY_COLUMNS = (
    "partner key id link title summary content_html published updated first_seen lang "
    "authors tags image_url"
).split()
_DATES = frozenset({"last_fetch", "last_success", "next_fetch", "moved_at"})


@dataclass(frozen=True, slots=True)
class PartnerRecord:
    """What is remembered of one partner between fetches and across restarts."""

    name: str
    config_url: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    state: str = "ok"
    last_status: int | None = None
    last_error: str | None = None
    bozo: str | None = None
    failures: int = 0  # consecutive failed attempts
    last_fetch: datetime | None = None
    last_success: datetime | None = None
    next_fetch: datetime | None = None
    pending_url: str | None = None  # a permanent redirect waiting to repeat
    pending_count: int = 0
    moved_at: datetime | None = None
    moved_from: str | None = None
    feed_link: str | None = None  # the home page the feed names
    fingerprint: str | None = None  # hash of the last body parsed and merged
    id_memory: tuple[tuple[str, str], ...] = field(default=())
    unstable_ids: bool = False


class Store:
    """One SQLite file. Use from a single thread; ``Store.open`` creates what is missing."""

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: str) -> Store:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN/COMMIT below
        except (OSError, sqlite3.Error) as e:
            raise StoreError(path, f"cannot open the aggregator store: {e}") from e
        store = cls(path, db)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")  # another process (a second replica) writing
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
        if version > SCHEMA_VERSION:
            raise StoreError(
                self.path,
                f"written by a newer feedsvc (schema {version}, this one reads {SCHEMA_VERSION})",
            )
        for step in range(version, SCHEMA_VERSION):
            with self._transaction():
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                # PRAGMA takes no parameters; step is an int we control.
                self._db.execute(f"PRAGMA user_version = {step + 1}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # --- reading ------------------------------------------------------------------------

    def partners(self) -> dict[str, PartnerRecord]:
        rows = self._db.execute(f"SELECT {', '.join(_PARTNER_COLUMNS)} FROM partners")
        return {row[0]: _partner_from_row(row) for row in rows}

    def entries(self) -> dict[str, dict[str, StoredEntry]]:
        """Every stored entry, by partner name and then by key."""
        out: dict[str, dict[str, StoredEntry]] = {}
        rows = self._db.execute(f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM entries")
        for row in rows:
            out.setdefault(row[0], {})[row[1]] = _entry_from_row(row)
        return out

    # --- writing ------------------------------------------------------------------------

    def save(
        self,
        record: PartnerRecord,
        upserts: Sequence[StoredEntry] = (),
        deletes: Sequence[str] = (),
    ) -> None:
        """One fetch's changes, in one transaction."""
        try:
            with self._transaction():
                self._db.execute(
                    f"INSERT OR REPLACE INTO partners ({', '.join(_PARTNER_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_PARTNER_COLUMNS))})",
                    _partner_row(record),
                )
                self._db.executemany(
                    f"INSERT OR REPLACE INTO entries ({', '.join(_ENTRY_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_ENTRY_COLUMNS))})",
                    [_entry_row(record.name, entry) for entry in upserts],
                )
                self._db.executemany(
                    "DELETE FROM entries WHERE partner = ? AND key = ?",
                    [(record.name, key) for key in deletes],
                )
        except (sqlite3.Error, ValueError) as e:  # ValueError: text SQLite cannot encode
            raise StoreError(self.path, f"cannot save partner {record.name!r}: {e}") from e


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK on any exception (autocommit connection)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


# --- rows <-> records ------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _partner_row(record: PartnerRecord) -> tuple[Any, ...]:
    values = []
    for name in _PARTNER_COLUMNS:
        value = getattr(record, name)
        if name in _DATES:
            value = _iso(value)
        elif name == "id_memory":
            value = json.dumps([list(pair) for pair in value])
        elif name == "unstable_ids":
            value = int(value)
        values.append(value)
    return tuple(values)


def _partner_from_row(row: Sequence[Any]) -> PartnerRecord:
    values = dict(zip(_PARTNER_COLUMNS, row, strict=True))
    for name in _DATES:
        values[name] = _date(values[name])
    values["id_memory"] = tuple((str(a), str(b)) for a, b in json.loads(values["id_memory"]))
    values["unstable_ids"] = bool(values["unstable_ids"])
    return PartnerRecord(**values)


def _entry_row(partner: str, entry: StoredEntry) -> tuple[Any, ...]:
    return (
        partner,
        entry.key,
        entry.id,
        entry.link,
        entry.title,
        entry.summary,
        entry.content_html,
        entry.published.isoformat(),
        entry.updated.isoformat(),
        entry.first_seen.isoformat(),
        entry.lang,
        json.dumps([[a.name, a.email, a.url] for a in entry.authors]),
        json.dumps(list(entry.tags)),
        entry.image_url,
    )


def _entry_from_row(row: Sequence[Any]) -> StoredEntry:
    (_, key, id_, link, title, summary, content, published, updated, first_seen, lang) = row[:11]
    authors, tags, image_url = row[11:]
    return StoredEntry(
        key=key,
        id=id_,
        link=link,
        title=title,
        summary=summary,
        content_html=content,
        published=datetime.fromisoformat(published),
        updated=datetime.fromisoformat(updated),
        first_seen=datetime.fromisoformat(first_seen),
        lang=lang,
        authors=tuple(Author(name, email, url) for name, email, url in json.loads(authors)),
        tags=tuple(json.loads(tags)),
        image_url=image_url,
    )
