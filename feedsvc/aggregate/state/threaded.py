"""The store as the aggregator uses it: on one dedicated thread, with this replica's leases.

Every call runs on one thread (the store's connection is only ever used by the thread that
opened it), so a slow disk or a commit's round trip never stalls the event loop that serves
feeds. The replica's identity, the lease length and "now" are filled in here, so the
aggregator asks only "may I fetch this partner?" and "store this outcome".
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from typing import Any, TypeVar

from feedsvc.aggregate.merge import StoredEntry
from feedsvc.aggregate.state import Store, open_store
from feedsvc.aggregate.state.records import Claim, PartnerRecord
from feedsvc.clock import Clock
from feedsvc.errors import StoreError

__all__ = ["HOST_RETRY", "ThreadedStore", "replica_id"]

_T = TypeVar("_T")

# A partner refused because its host already has ``per_host`` fetches in flight (on any
# replica) is asked for again after this many seconds.
HOST_RETRY = 1.0


def replica_id() -> str:
    """Names this process in leases and notifications: host, pid and a random part (a pid
    is reused after a restart, and a lease of the dead process must not look like ours)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class ThreadedStore:
    """``url``'s store, opened by ``open`` and used from one thread until ``close``."""

    def __init__(
        self, url: str, *, lease: float, per_host: int, clock: Clock, owner: str | None = None
    ) -> None:
        self.url = url
        self.owner = owner or replica_id()
        self._lease = timedelta(seconds=lease)
        self._per_host = per_host
        self._clock = clock
        self._io: ThreadPoolExecutor | None = None
        self._store: Store | None = None

    @property
    def shared(self) -> bool:
        return self._store is not None and self._store.shared

    async def open(self) -> None:
        if self._io is not None:
            raise RuntimeError("the store is open already")
        self._io = ThreadPoolExecutor(1, thread_name_prefix="feedsvc-store")
        try:
            self._store = await self._run(open_store, self.url)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        io, self._io = self._io, None
        store, self._store = self._store, None
        if io is None:
            return
        if store is not None:
            await asyncio.get_running_loop().run_in_executor(io, store.close)
        io.shutdown(wait=True)

    async def partners(self) -> dict[str, PartnerRecord]:
        return await self._run(lambda: self._opened().partners())

    async def entries(self) -> dict[str, dict[str, StoredEntry]]:
        return await self._run(lambda: self._opened().entries())

    async def partner(self, name: str) -> tuple[PartnerRecord | None, dict[str, StoredEntry]]:
        return await self._run(lambda: self._opened().partner(name))

    async def claim(self, fresh: PartnerRecord, *, force: bool) -> Claim:
        """May this replica fetch ``fresh.name`` now? (``fresh``: its row if none is stored.)"""
        now = self._clock().astimezone(UTC)
        return await self._run(
            lambda: self._opened().claim(
                fresh,
                owner=self.owner,
                now=now,
                lease_until=now + self._lease,
                per_host=self._per_host,
                force=force,
                host_retry=now + timedelta(seconds=HOST_RETRY),
            )
        )

    async def save(
        self, record: PartnerRecord, upserts: Sequence[StoredEntry], deletes: Sequence[str]
    ) -> None:
        """One fetch's outcome, releasing this replica's lease (``LeaseLost`` if it was
        taken over)."""
        await self._run(lambda: self._opened().save(record, upserts, deletes, owner=self.owner))

    def _opened(self) -> Store:
        if self._store is None:
            raise StoreError(self.url, "the aggregator is stopped")
        return self._store

    async def _run(self, func: Callable[..., _T], *args: Any) -> _T:
        if self._io is None:  # stopped while a refresh was on its way
            raise StoreError(self.url, "the aggregator is stopped")
        return await asyncio.get_running_loop().run_in_executor(self._io, func, *args)
