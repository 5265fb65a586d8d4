"""The WebSub subscriptions, kept across restarts in SQLite (the aggregator's machinery).

``SubscriptionStore`` is the small interface the hub uses; ``SqliteSubscriptions`` is its
SQLite implementation (a PostgreSQL one plugs in behind the same methods). Synchronous on
purpose, like aggregate/state.py: the hub calls it from one dedicated thread, so a slow disk
never stalls the event loop. WAL journal, ``PRAGMA user_version`` migrations, one
transaction per change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from feedsvc.errors import StoreError

SCHEMA_VERSION = 1

_MIGRATIONS: tuple[str, ...] = (
    # 0 → 1
    """
    CREATE TABLE subscriptions (
        topic TEXT NOT NULL,
        callback TEXT NOT NULL,
        secret TEXT,
        lease_seconds INTEGER NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (topic, callback)
    ) WITHOUT ROWID;
    """,
)

_COLUMNS = ("topic", "callback", "secret", "lease_seconds", "expires_at")


@dataclass(frozen=True, slots=True)
class Subscription:
    """One verified subscription of the built-in hub (W3C WebSub §5.3)."""

    topic: str
    callback: str
    secret: str | None = None
    lease_seconds: int = 0
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class SubscriptionStore(Protocol):
    """Where the hub keeps its active subscriptions."""

    def load(self) -> list[Subscription]: ...

    def save(self, subscription: Subscription) -> None: ...

    def delete(self, topic: str, callback: str) -> None: ...

    def close(self) -> None: ...


class SqliteSubscriptions:
    """``SubscriptionStore`` in one SQLite file. Use from a single thread."""

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: str) -> SqliteSubscriptions:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # The default isolation: "with connection:" commits a change or rolls it back.
            db = sqlite3.connect(path)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(path, f"cannot open the WebSub store: {e}") from e
        store = cls(path, db)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            store._migrate()
        except (sqlite3.Error, StoreError) as e:
            db.close()
            if isinstance(e, StoreError):
                raise
            raise StoreError(path, f"cannot use the WebSub store: {e}") from e
        return store

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                self.path,
                f"written by a newer feedsvc (schema {version}, this one reads {SCHEMA_VERSION})",
            )
        for step in range(version, SCHEMA_VERSION):
            # PRAGMA takes no parameters; step is an int we control. executescript runs the
            # step and the version bump as one script, committed together.
            self._db.executescript(
                f"BEGIN; {_MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;"
            )

    def load(self) -> list[Subscription]:
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM subscriptions")
        return [_from_row(row) for row in rows]

    def save(self, subscription: Subscription) -> None:
        """Insert, or update in place (a re-subscription, W3C WebSub §5.1)."""
        self._write(
            f"INSERT OR REPLACE INTO subscriptions ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            _row(subscription),
        )

    def delete(self, topic: str, callback: str) -> None:
        self._write("DELETE FROM subscriptions WHERE topic = ? AND callback = ?", (topic, callback))

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        try:
            with self._db:
                self._db.execute(sql, params)
        except (sqlite3.Error, ValueError) as e:  # ValueError: text SQLite cannot encode
            raise StoreError(self.path, f"cannot save a WebSub subscription: {e}") from e


def _row(subscription: Subscription) -> tuple[Any, ...]:
    expires = subscription.expires_at.isoformat() if subscription.expires_at else ""
    return (
        subscription.topic,
        subscription.callback,
        subscription.secret,
        subscription.lease_seconds,
        expires,
    )


def _from_row(row: Sequence[Any]) -> Subscription:
    topic, callback, secret, lease, expires = row
    return Subscription(topic, callback, secret, lease, datetime.fromisoformat(expires))
