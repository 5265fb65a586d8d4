"""The WebSub subscriptions, kept across restarts (the aggregator's store machinery).

``SubscriptionStore`` is the small interface the hub uses; ``SqliteSubscriptions`` is its
SQLite implementation, ``websub/postgres.py`` its PostgreSQL one (replicas sharing it);
``open_subscriptions`` picks by ``websub.store``. Both run the same statements (``_Sql``).
Synchronous on purpose, like aggregate/state/: the hub calls it from one dedicated thread,
so a slow disk or server never stalls the event loop. One transaction per change.

Deliveries are claimed (``claim``): every replica renders the same bytes, hence the same
ETag, so the first replica to record (topic, callback, ETag) delivers that change and the
others skip it — one delivery per change whatever the number of replicas.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from feedsvc.aggregate.state.sqlite import connect
from feedsvc.config import is_postgres_url
from feedsvc.errors import StoreError

# The same tables on both engines; "__ROWID__" is where SQLite's WITHOUT ROWID goes (a
# clustered primary key, https://www.sqlite.org/withoutrowid.html), which PostgreSQL lacks.
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
    )__ROWID__;
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
    # 2 → 3: the last change claimed for each subscription (one row each, so it stays small)
    """
    CREATE TABLE deliveries (
        topic TEXT NOT NULL,
        callback TEXT NOT NULL,
        etag TEXT NOT NULL,
        PRIMARY KEY (topic, callback)
    );
    """,
)
SQLITE_MIGRATIONS = tuple(step.replace("__ROWID__", " WITHOUT ROWID") for step in _MIGRATIONS)
POSTGRES_MIGRATIONS = tuple(step.replace("__ROWID__", "") for step in _MIGRATIONS)
SCHEMA_VERSION = len(_MIGRATIONS)
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
    """Where WebSub keeps its subscriptions: the hub's, and the aggregator's own.

    ``shared``: other replicas may change it (their subscriptions are read again before
    each distribution). ``claim`` is true for the one caller that is to deliver that change.
    """

    shared: bool

    def load(self) -> list[Subscription]: ...

    def save(self, subscription: Subscription) -> None: ...

    def delete(self, topic: str, callback: str) -> None: ...

    def claim(self, topic: str, callback: str, etag: str) -> bool: ...

    def load_partners(self) -> list[PartnerSubscription]: ...

    def save_partner(self, subscription: PartnerSubscription) -> None: ...

    def close(self) -> None: ...


def open_subscriptions(url: str) -> SubscriptionStore:
    """``websub.store``: a SQLite path, or ``postgresql://…`` shared by replicas."""
    if is_postgres_url(url):
        # Imported here: websub/postgres.py builds on this module's statements.
        from feedsvc.websub.postgres import PostgresSubscriptions

        return PostgresSubscriptions.open(url)
    return SqliteSubscriptions.open(url)


class _Sql:
    """The statements both engines run, written with ``?`` (the engine swaps its own mark)."""

    url: str
    placeholder = "?"

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        raise NotImplementedError

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        """Run one change in its own transaction; the number of rows it changed."""
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def load(self) -> list[Subscription]:
        rows = self._query(f"SELECT {', '.join(_COLUMNS)} FROM subscriptions")
        return [_from_row(row) for row in rows]

    def save(self, subscription: Subscription) -> None:
        """Insert, or update in place (a re-subscription, W3C WebSub §5.1)."""
        self._write(_upsert("subscriptions", _COLUMNS, 2), _row(subscription))

    def delete(self, topic: str, callback: str) -> None:
        self._write("DELETE FROM subscriptions WHERE topic = ? AND callback = ?", (topic, callback))
        self._write("DELETE FROM deliveries WHERE topic = ? AND callback = ?", (topic, callback))

    def claim(self, topic: str, callback: str, etag: str) -> bool:
        """True for the first caller to claim this document for this subscription.

        One row per subscription holds the last ETag claimed: a different one is a new
        change (claimed by whoever writes it first), the same one was claimed already."""
        changed = self._write(
            "INSERT INTO deliveries (topic, callback, etag) VALUES (?, ?, ?) "
            "ON CONFLICT (topic, callback) DO UPDATE SET etag = excluded.etag "
            "WHERE deliveries.etag <> excluded.etag",
            (topic, callback, etag),
        )
        return changed == 1

    def load_partners(self) -> list[PartnerSubscription]:
        rows = self._query(f"SELECT {', '.join(_PARTNER_COLUMNS)} FROM partner_subscriptions")
        return [_partner_from_row(row) for row in rows]

    def save_partner(self, subscription: PartnerSubscription) -> None:
        """One per partner: a new hub or topic replaces the old subscription."""
        self._write(
            _upsert("partner_subscriptions", _PARTNER_COLUMNS, 1), _partner_row(subscription)
        )


def _upsert(table: str, columns: Sequence[str], key: int) -> str:
    """INSERT, or replace every column but the first ``key`` (the primary key)."""
    marks = ", ".join("?" * len(columns))
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns[key:])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(columns[:key])}) DO UPDATE SET {updates}"
    )


class SqliteSubscriptions(_Sql):
    """``SubscriptionStore`` in one SQLite file (one replica). Use from a single thread."""

    shared = False

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self.url = self.path = path
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
                f"BEGIN; {SQLITE_MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;"
            )

    def close(self) -> None:
        self._db.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise StoreError(self.path, f"cannot read the WebSub store: {e}") from e

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        try:
            with self._db:
                return self._db.execute(sql, params).rowcount
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
