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
from typing import Any, Protocol

from feedsvc.aggregate.state.sqlite import connect
from feedsvc.errors import StoreError

SCHEMA_VERSION = 2

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
    # 1 → 2: the aggregator's own subscriptions to partners' hubs
    """
    CREATE TABLE partner_subscriptions (
        partner TEXT PRIMARY KEY,
        hub TEXT NOT NULL,
        topic TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE,
        secret TEXT NOT NULL,
        state TEXT NOT NULL,
        lease_seconds INTEGER,
        expires_at TEXT,
        error TEXT
    );
    """,
)
_PARTNER_COLUMNS = (
    "partner",
    "hub",
    "topic",
    "token",
    "secret",
    "state",
    "lease_seconds",
    "expires_at",
    "error",
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


@dataclass(frozen=True, slots=True)
class PartnerSubscription:
    """The aggregator's subscription to a partner's hub (W3C WebSub §5.1, subscriber side).

    ``token`` names the callback (``/websub/{token}``): unguessable, one per subscription.
    ``state``: "subscribing" (asked, not yet verified), "active", "denied" (§5.2) or
    "failed" (the hub refused the request)."""

    partner: str
    hub: str
    topic: str
    token: str
    secret: str
    state: str
    lease_seconds: int | None = None
    expires_at: datetime | None = None
    error: str | None = None


class SubscriptionStore(Protocol):
    """Where WebSub keeps its subscriptions: the hub's, and the aggregator's own."""

    def load(self) -> list[Subscription]: ...

    def save(self, subscription: Subscription) -> None: ...

    def delete(self, topic: str, callback: str) -> None: ...

    def load_partners(self) -> list[PartnerSubscription]: ...

    def save_partner(self, subscription: PartnerSubscription) -> None: ...

    def close(self) -> None: ...


class SqliteSubscriptions:
    """``SubscriptionStore`` in one SQLite file. Use from a single thread."""

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: str) -> SqliteSubscriptions:
        # The default isolation: "with connection:" commits a change or rolls it back.
        db = connect(path, "the WebSub store", isolation_level="DEFERRED")
        store = cls(path, db)
        try:
            store._migrate()
        except sqlite3.Error as e:
            db.close()
            raise StoreError(path, f"cannot use the WebSub store: {e}") from e
        except StoreError:
            db.close()
            raise
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

    def load_partners(self) -> list[PartnerSubscription]:
        rows = self._db.execute(f"SELECT {', '.join(_PARTNER_COLUMNS)} FROM partner_subscriptions")
        return [_partner_from_row(row) for row in rows]

    def save_partner(self, subscription: PartnerSubscription) -> None:
        """One per partner: a new hub or topic replaces the old subscription."""
        marks = ", ".join("?" * len(_PARTNER_COLUMNS))
        self._write(
            f"INSERT OR REPLACE INTO partner_subscriptions ({', '.join(_PARTNER_COLUMNS)}) "
            f"VALUES ({marks})",
            _partner_row(subscription),
        )

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


def _partner_row(subscription: PartnerSubscription) -> tuple[Any, ...]:
    values = [getattr(subscription, name) for name in _PARTNER_COLUMNS]
    expires = subscription.expires_at
    values[_PARTNER_COLUMNS.index("expires_at")] = expires.isoformat() if expires else None
    return tuple(values)


def _partner_from_row(row: Sequence[Any]) -> PartnerSubscription:
    values = dict(zip(_PARTNER_COLUMNS, row, strict=True))
    expires = values["expires_at"]
    values["expires_at"] = datetime.fromisoformat(expires) if expires else None
    return PartnerSubscription(**values)
