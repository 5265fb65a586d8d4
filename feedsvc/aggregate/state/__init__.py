"""The aggregator's memory, behind one interface: a SQLite file or a shared PostgreSQL.

``aggregator.store`` is a URL (docs/deploy.md "Replicas"): a path (the default; one process,
no other service) or ``postgresql://…`` (any number of replicas share it). Both implementations keep
the same rows (records.py), run the same statements (sql.py, ``Store``) and answer the same
calls, and the same tests run against both:

- ``partners()``, ``entries()``, ``partner(name)``: what is stored.
- ``claim(…)``: take a partner's lease if it is due, unleased and its host has room — the
  one replica that gets it fetches: each partner fetched once per interval.
- ``save(record, upserts, deletes, owner=…)``: one fetch's outcome and entries in one
  transaction that also releases the lease; refused (``LeaseLost``) if another replica took
  the lease over meanwhile. On PostgreSQL the same transaction NOTIFYs the other replicas.

Both are synchronous and used from one thread (service.py runs them in a dedicated one), so
a slow commit never stalls the event loop that serves feeds. Change notifications are read
asynchronously by ``postgres.listen``.
"""

from __future__ import annotations

from feedsvc.aggregate.state.postgres import PostgresStore
from feedsvc.aggregate.state.records import Claim, PartnerRecord
from feedsvc.aggregate.state.sql import Store
from feedsvc.aggregate.state.sqlite import SqliteStore
from feedsvc.config import is_postgres_url

__all__ = ["Claim", "PartnerRecord", "Store", "open_store"]


def open_store(url: str) -> Store:
    """The store ``url`` names, created or migrated to this version's schema."""
    if is_postgres_url(url):
        return PostgresStore.open(url)
    return SqliteStore.open(url)
