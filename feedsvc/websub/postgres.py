"""The WebSub subscriptions in a PostgreSQL database that replicas share (docs/deploy.md).

The same statements as the SQLite store (store.py ``_Sql``), over the aggregator store's
connection and migration helpers (aggregate/state/postgres.py): a ``feedsvc_schema`` row
for the ``websub`` component, migrations under the advisory lock, a UTC session. The
delivery claim is one ``INSERT … ON CONFLICT … DO UPDATE … WHERE`` statement, atomic in
PostgreSQL: of replicas claiming the same (topic, callback, ETag) at once, exactly one
changes the row (https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from feedsvc.aggregate.state.postgres import Link
from feedsvc.errors import StoreError
from feedsvc.websub.store import POSTGRES_MIGRATIONS, _Sql

__all__ = ["PostgresSubscriptions"]

_WHAT = "the WebSub store"


class PostgresSubscriptions(_Sql):
    """``SubscriptionStore`` shared by replicas. One connection, used from a single thread;
    reconnects after the server restarts."""

    shared = True
    placeholder = "%s"

    def __init__(self, url: str, link: Link) -> None:
        self.url = url
        self._link = link

    @classmethod
    def open(cls, url: str) -> PostgresSubscriptions:
        return cls(url, Link.open(url, _WHAT, "websub", POSTGRES_MIGRATIONS))

    def close(self) -> None:
        self._link.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        try:
            with self._link.connection().cursor() as cur:
                cur.execute(self._sql(sql), params)
                return cur.fetchall()
        except psycopg.Error as e:
            raise StoreError(self.url, f"cannot read {_WHAT}: {e}") from e

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        try:
            db = self._link.connection()
            with db.transaction(), db.cursor() as cur:
                cur.execute(self._sql(sql), params)
                return cur.rowcount
        except psycopg.Error as e:
            raise StoreError(self.url, f"cannot save a WebSub subscription: {e}") from e
