"""The store in a PostgreSQL database that any number of replicas share (docs/deploy.md "Replicas").

psycopg 3 gives both halves this needs from one well-kept driver over libpq: a synchronous
connection for the store's own thread (the same shape as the SQLite store, so the two stay
one interface), and an asynchronous one on the event loop for LISTEN (``listen``).

- Leases: a claim locks the partner's row with ``SELECT … FOR UPDATE SKIP LOCKED`` (a row
  another replica is claiming or saving right now is skipped, never waited for), then counts
  the live leases on the partner's host under a transaction-level advisory lock on the host
  name, so two replicas claiming partners of one host at once are serialized and the
  per-host limit holds across replicas.
- Each fetch's outcome, its entries and the lease's release are one transaction, and its
  ``pg_notify`` is part of it: PostgreSQL delivers a notification only when (and if) the
  transaction commits (https://www.postgresql.org/docs/current/sql-notify.html), so a replica
  that hears of a change always finds it stored.
- The schema is versioned in ``feedsvc_schema``; migrations run under an advisory lock, so
  replicas starting together migrate once.
- Time zone UTC for the session: timestamptz values come back as aware UTC datetimes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from feedsvc.aggregate.state.sql import LEASE_ROW, Cursor, Store
from feedsvc.errors import StoreError

__all__ = ["CHANNEL", "SCHEMA_VERSION", "Link", "PostgresStore", "listen", "migrate"]

log = logging.getLogger("feedsvc.aggregate")

SCHEMA_VERSION = 1
CHANNEL = "feedsvc_partners"  # one NOTIFY per saved partner: {"partner": …, "by": owner}
_MIGRATION_LOCK = 0x66656564  # "feed": the advisory lock key migrations run under
LISTEN_RETRY = 1.0  # seconds between attempts to reconnect the LISTEN connection

_MIGRATIONS: tuple[str, ...] = (
    # 0 → 1 (SQLite's schema 2: the same rows, with leases)
    """
    CREATE TABLE partners (
        name TEXT PRIMARY KEY,
        config_url TEXT NOT NULL,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        state TEXT NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        bozo TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        last_fetch TIMESTAMPTZ,
        last_success TIMESTAMPTZ,
        next_fetch TIMESTAMPTZ,
        pending_url TEXT,
        pending_count INTEGER NOT NULL DEFAULT 0,
        moved_at TIMESTAMPTZ,
        moved_from TEXT,
        feed_link TEXT,
        fingerprint TEXT,
        id_memory TEXT NOT NULL DEFAULT '[]',
        unstable_ids INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until TIMESTAMPTZ,
        lease_host TEXT
    );
    CREATE INDEX partners_lease_host ON partners (lease_host) WHERE lease_owner IS NOT NULL;
    CREATE TABLE entries (
        partner TEXT NOT NULL,
        key TEXT NOT NULL,
        id TEXT NOT NULL,
        link TEXT,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        content_html TEXT NOT NULL,
        published TIMESTAMPTZ NOT NULL,
        updated TIMESTAMPTZ NOT NULL,
        first_seen TIMESTAMPTZ NOT NULL,
        lang TEXT,
        authors TEXT NOT NULL,
        tags TEXT NOT NULL,
        image_url TEXT,
        PRIMARY KEY (partner, key)
    );
    """,
)


class PostgresStore(Store):
    """One connection, used from a single thread; reconnects after the server restarts."""

    shared = True
    dates_as_text = False
    placeholder = "%s"
    errors = (psycopg.Error,)

    def __init__(self, url: str, link: Link) -> None:
        self.url = url
        self._link = link

    @classmethod
    def open(cls, url: str) -> PostgresStore:
        return cls(url, Link.open(url, "the aggregator store", "aggregator", _MIGRATIONS))

    def close(self) -> None:
        self._link.close()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        db = self._link.connection()
        with db.transaction(), db.cursor() as cur:
            yield cur

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        with self._link.connection().cursor() as cur:
            yield cur

    def locked_row(self, cur: Cursor, name: str, *, wait: bool) -> tuple[Any, ...] | None:
        lock = " FOR UPDATE" if wait else " FOR UPDATE SKIP LOCKED"
        cur.execute(self.sql(LEASE_ROW) + lock, (name,))
        return cur.fetchone()

    def live_host_leases(self, cur: Cursor, host: str, now: datetime, name: str) -> int:
        # Held until the transaction ends: a second claimer on this host waits here, then
        # counts the lease the first one committed.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (host,))
        cur.execute(
            "SELECT count(*) FROM partners WHERE lease_host = %s "
            "AND lease_owner IS NOT NULL AND lease_until > %s AND name <> %s",
            (host, now, name),
        )
        return int(cur.fetchone()[0])

    def saved(self, cur: Cursor, name: str, owner: str | None) -> None:
        # Delivered when (and only if) this transaction commits.
        payload = json.dumps({"partner": name, "by": owner})
        cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


class Link:
    """One autocommit connection whose session speaks UTC, made again after the server
    restarts; for a single thread. ``what`` names the store in errors."""

    def __init__(self, url: str, what: str) -> None:
        self.url = url
        self.what = what
        self._db: psycopg.Connection[Any] | None = None

    @classmethod
    def open(cls, url: str, what: str, component: str, migrations: tuple[str, ...]) -> Link:
        """Connected, with ``component``'s tables migrated (``migrate``)."""
        link = cls(url, what)
        try:
            db = link.connection()
            with db.transaction(), db.cursor() as cur:
                migrate(cur, url, component, migrations)
        except psycopg.Error as e:
            link.close()
            raise StoreError(url, f"cannot use {what}: {e}") from e
        except StoreError:
            link.close()
            raise
        return link

    def connection(self) -> psycopg.Connection[Any]:
        if self._db is None or self._db.closed or self._db.broken:
            try:
                self._db = psycopg.connect(self.url, autocommit=True)
            except psycopg.Error as e:
                raise StoreError(self.url, f"cannot connect to {self.what}: {e}") from e
            self._db.execute("SET TIME ZONE 'UTC'")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def migrate(cur: Cursor, url: str, component: str, migrations: tuple[str, ...]) -> None:
    """Bring ``component``'s tables to ``len(migrations)``, inside the caller's transaction.

    Every component (the aggregator, WebSub) keeps its version in one ``feedsvc_schema`` row;
    the advisory lock makes replicas starting together migrate once. A newer schema is
    refused rather than misread."""
    supported = len(migrations)
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
    cur.execute(
        "CREATE TABLE IF NOT EXISTS feedsvc_schema "
        "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    cur.execute("SELECT version FROM feedsvc_schema WHERE component = %s", (component,))
    row = cur.fetchone()
    version = row[0] if row else 0
    if version > supported:
        raise StoreError(
            url, f"written by a newer feedsvc (schema {version}, this one reads {supported})"
        )
    for step in range(version, supported):
        for statement in migrations[step].split(";"):
            if statement.strip():
                cur.execute(statement)
    cur.execute(
        "INSERT INTO feedsvc_schema VALUES (%s, %s) "
        "ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
        (component, supported),
    )


async def listen(
    url: str,
    on_change: Callable[[str, str | None], Awaitable[None]],
    on_connect: Callable[[], Awaitable[None]],
    *,
    retry: float = LISTEN_RETRY,
) -> None:
    """LISTEN until cancelled: ``on_change(partner, by)`` per saved partner, and
    ``on_connect()`` each time the connection is (re)made, as notifications sent while it
    was down are lost and whatever changed meanwhile must be read again."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                await on_connect()
                async for note in conn.notifies():
                    message = json.loads(note.payload)
                    await on_change(message["partner"], message.get("by"))
        except (psycopg.Error, OSError) as e:
            log.warning("LISTEN %s: %s; reconnecting in %.0f s", CHANNEL, e, retry)
        await asyncio.sleep(retry)
