"""What the SQLite and the PostgreSQL store share: reading, claiming and saving.

The two engines run the same statements (written with ``?`` placeholders, turned into the
driver's own) and differ only where the engines do, in a few hooks: how a transaction starts,
how a claimer locks a partner's row and counts its host's leases, and whether a save
notifies other replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar, Protocol

from feedsvc.aggregate.merge import StoredEntry
from feedsvc.aggregate.state.records import (
    ENTRY_COLUMNS,
    PARTNER_COLUMNS,
    Claim,
    LeaseRow,
    PartnerRecord,
    decide_claim,
    entry_from_row,
    entry_row,
    host_of,
    partner_from_row,
    partner_row,
)
from feedsvc.errors import LeaseLost, StoreError

__all__ = ["LEASE_ROW", "Cursor", "Store"]


class Cursor(Protocol):
    """The part of a DB-API cursor both drivers' cursors have."""

    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def executemany(self, query: Any, params_seq: Any) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


_PARTNERS = ", ".join(PARTNER_COLUMNS)
_ENTRIES = ", ".join(ENTRY_COLUMNS)
# A claimer's (or saver's) view of a row: the record, then who holds the lease until when.
LEASE_ROW = f"SELECT {_PARTNERS}, lease_owner, lease_until FROM partners WHERE name = ?"


class Store:
    """Base of both stores. Subclasses set ``shared``, ``dates_as_text``, ``placeholder``
    and ``errors`` (the driver's exceptions), and implement the hooks below."""

    shared: ClassVar[bool]
    dates_as_text: ClassVar[bool]
    placeholder: ClassVar[str]
    errors: ClassVar[tuple[type[Exception], ...]]

    url: str

    def close(self) -> None:
        raise NotImplementedError

    # --- hooks ----------------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction: committed on exit, rolled back on an exception."""
        raise NotImplementedError

    def cursor(self) -> AbstractContextManager[Cursor]:
        """A cursor for reading, outside any explicit transaction."""
        raise NotImplementedError

    def locked_row(self, cur: Cursor, name: str, *, wait: bool) -> tuple[Any, ...] | None:
        """``name``'s row (the partner columns, lease_owner, lease_until), locked against
        other claimers until the transaction ends. Without ``wait``, None if another
        transaction holds it right now."""
        raise NotImplementedError

    def live_host_leases(self, cur: Cursor, host: str, now: datetime, name: str) -> int:
        """Leases on ``host``'s other partners that end after ``now``, counted so that two
        claimers on one host cannot both see room for one more."""
        raise NotImplementedError

    def saved(self, cur: Cursor, name: str, owner: str | None) -> None:
        """Called inside a save's transaction, after its writes."""

    def check_version(self, version: int, supported: int) -> None:
        """Refuse a store written by a newer feedsvc rather than misread it."""
        if version > supported:
            raise StoreError(
                self.url,
                f"written by a newer feedsvc (schema {version}, this one reads {supported})",
            )

    # --- statements -----------------------------------------------------------------------

    def sql(self, query: str) -> str:
        return query.replace("?", self.placeholder)

    def _upsert(self, table: str, columns: Sequence[str], key: str, extra: str = "") -> str:
        keys = key.split(", ")
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        return self.sql(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}{extra}"
        )

    # --- reading --------------------------------------------------------------------------

    def partners(self) -> dict[str, PartnerRecord]:
        rows = self._read(f"SELECT {_PARTNERS} FROM partners", ())
        return {row[0]: partner_from_row(row) for row in rows}

    def entries(self) -> dict[str, dict[str, StoredEntry]]:
        """Every stored entry, by partner name and then by key."""
        out: dict[str, dict[str, StoredEntry]] = {}
        for row in self._read(f"SELECT {_ENTRIES} FROM entries", ()):
            out.setdefault(row[0], {})[row[1]] = entry_from_row(row)
        return out

    def partner(self, name: str) -> tuple[PartnerRecord | None, dict[str, StoredEntry]]:
        rows = self._read(f"SELECT {_PARTNERS} FROM partners WHERE name = ?", (name,))
        entries = self._read(f"SELECT {_ENTRIES} FROM entries WHERE partner = ?", (name,))
        record = partner_from_row(rows[0]) if rows else None
        return record, {row[1]: entry_from_row(row) for row in entries}

    def _read(self, query: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            with self.cursor() as cur:
                cur.execute(self.sql(query), params)
                return list(cur.fetchall())
        except self.errors as e:
            raise StoreError(self.url, f"cannot read the aggregator store: {e}") from e

    # --- leases ---------------------------------------------------------------------------

    def claim(
        self,
        fresh: PartnerRecord,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        per_host: int,
        force: bool = False,
        host_retry: datetime,
    ) -> Claim:
        """Take ``fresh.name``'s lease if ``decide_claim`` allows (a missing row is stored
        as ``fresh`` first)."""
        try:
            with self.transaction() as cur:
                cur.execute(
                    self.sql(
                        f"INSERT INTO partners ({_PARTNERS}) "
                        f"VALUES ({', '.join('?' * len(PARTNER_COLUMNS))}) "
                        "ON CONFLICT (name) DO NOTHING"
                    ),
                    partner_row(fresh, dates_as_text=self.dates_as_text),
                )
                row = self.locked_row(cur, fresh.name, wait=False)
                if row is None:  # another replica is claiming or saving it this instant
                    cur.execute(
                        self.sql(f"SELECT {_PARTNERS} FROM partners WHERE name = ?"),
                        (fresh.name,),
                    )
                    return Claim(partner_from_row(cur.fetchone()), False, retry_at=host_retry)
                lease = LeaseRow(partner_from_row(row[:-2]), row[-2], _when(row[-1]))
                host = host_of(lease.record.url)
                claim = decide_claim(
                    lease,
                    owner=owner,
                    now=now,
                    host_leases=self.live_host_leases(cur, host, now, fresh.name),
                    per_host=per_host,
                    force=force,
                    host_retry=host_retry,
                )
                if claim.granted:
                    cur.execute(
                        self.sql(
                            "UPDATE partners SET lease_owner = ?, lease_until = ?, "
                            "lease_host = ? WHERE name = ?"
                        ),
                        (owner, self._date(lease_until), host, fresh.name),
                    )
                return claim
        except self.errors as e:
            raise StoreError(self.url, f"cannot claim partner {fresh.name!r}: {e}") from e

    def _date(self, value: datetime) -> Any:
        return value.isoformat() if self.dates_as_text else value

    # --- writing --------------------------------------------------------------------------

    def save(
        self,
        record: PartnerRecord,
        upserts: Sequence[StoredEntry] = (),
        deletes: Sequence[str] = (),
        *,
        owner: str | None = None,
    ) -> None:
        """One fetch's changes in one transaction, which releases ``owner``'s lease;
        ``LeaseLost`` (and nothing written) if another owner holds it."""
        dates_as_text = self.dates_as_text
        try:
            with self.transaction() as cur:
                if owner is not None:
                    row = self.locked_row(cur, record.name, wait=True)
                    if row is not None and row[-2] not in (None, owner):
                        raise LeaseLost(self.url, f"partner {record.name!r}: lease taken over")
                cur.execute(
                    self._upsert(
                        "partners",
                        PARTNER_COLUMNS,
                        "name",
                        ", lease_owner = NULL, lease_until = NULL, lease_host = NULL",
                    ),
                    partner_row(record, dates_as_text=dates_as_text),
                )
                if upserts:
                    cur.executemany(
                        self._upsert("entries", ENTRY_COLUMNS, "partner, key"),
                        [entry_row(record.name, e, dates_as_text=dates_as_text) for e in upserts],
                    )
                if deletes:
                    cur.executemany(
                        self.sql("DELETE FROM entries WHERE partner = ? AND key = ?"),
                        [(record.name, key) for key in deletes],
                    )
                self.saved(cur, record.name, owner)
        except (*self.errors, ValueError) as e:  # type: ignore[misc]  # ValueError: a NUL
            raise StoreError(self.url, f"cannot save partner {record.name!r}: {e}") from e


def _when(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
