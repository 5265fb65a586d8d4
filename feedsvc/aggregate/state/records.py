"""What both stores keep, and the rules of a lease: rows ↔ records, pure.

The SQLite and the PostgreSQL store share the columns, the conversions and the decision
whether a replica may take a partner (``decide_claim``); they differ only in SQL and in how
a transaction serializes claimers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from feedsvc.aggregate.merge import StoredEntry
from feedsvc.model import Author

__all__ = [
    "ENTRY_COLUMNS",
    "PARTNER_COLUMNS",
    "Claim",
    "LeaseRow",
    "PartnerRecord",
    "decide_claim",
    "entry_from_row",
    "entry_row",
    "host_of",
    "partner_from_row",
    "partner_row",
]

PARTNER_COLUMNS = (
    "name config_url url etag last_modified state last_status last_error bozo failures "
    "last_fetch last_success next_fetch pending_url pending_count moved_at moved_from "
    "feed_link fingerprint id_memory unstable_ids"
).split()
ENTRY_COLUMNS = (
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


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """A partner's row as a claimer finds it, locked for the claim's transaction."""

    record: PartnerRecord
    lease_owner: str | None
    lease_until: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to "may this replica fetch the partner now?".

    ``record`` is the stored one (another replica may have fetched since this one last
    looked). Without ``granted``, ``retry_at`` says when asking again makes sense.
    ``took_over``: the lease was taken from an owner that never released it (it died or
    stalled past its expiry).
    """

    record: PartnerRecord
    granted: bool
    retry_at: datetime | None = None
    took_over: bool = False
    host_full: bool = False  # refused only because the host has ``per_host`` fetches


def host_of(url: str) -> str:
    """The host name the per-host limit counts by (lower case; '' for none)."""
    return (urlsplit(url).hostname or "").lower()


def decide_claim(
    row: LeaseRow,
    *,
    owner: str,
    now: datetime,
    host_leases: int,
    per_host: int,
    force: bool,
    host_retry: datetime,
) -> Claim:
    """Whether ``owner`` may take ``row`` now.

    ``host_leases``: live leases on other partners of the same host, whoever holds them
    (the limit is per host across replicas). ``force`` (an explicit refresh) does not wait
    for the schedule, but still for another replica's live lease and for the host's limit.
    """
    record = row.record
    leased = row.lease_owner is not None and row.lease_until is not None
    if leased and row.lease_owner != owner and row.lease_until > now:  # type: ignore[operator]
        return Claim(record, False, retry_at=row.lease_until)
    # 410: never fetched again (docs/config.md "How partners are fetched")
    if record.state == "gone":
        return Claim(record, False)
    if not force and record.next_fetch is not None and record.next_fetch > now:
        return Claim(record, False, retry_at=record.next_fetch)
    if host_leases >= per_host:
        return Claim(record, False, retry_at=host_retry, host_full=True)
    return Claim(record, True, took_over=leased and row.lease_owner != owner)


# --- rows <-> records ------------------------------------------------------------------------


def _date(value: str | datetime | None) -> datetime | None:
    """SQLite keeps ISO text, PostgreSQL timestamptz; both come back as aware UTC."""
    if value is None or value == "":
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(UTC)


def partner_row(record: PartnerRecord, *, dates_as_text: bool) -> tuple[Any, ...]:
    values = []
    for name in PARTNER_COLUMNS:
        value = getattr(record, name)
        if name in _DATES and dates_as_text and value is not None:
            value = value.isoformat()
        elif name == "id_memory":
            value = json.dumps([list(pair) for pair in value])
        elif name == "unstable_ids":
            value = int(value)
        values.append(value)
    return tuple(values)


def partner_from_row(row: Sequence[Any]) -> PartnerRecord:
    values = dict(zip(PARTNER_COLUMNS, row, strict=True))
    for name in _DATES:
        values[name] = _date(values[name])
    values["id_memory"] = tuple((str(a), str(b)) for a, b in json.loads(values["id_memory"]))
    values["unstable_ids"] = bool(values["unstable_ids"])
    return PartnerRecord(**values)


def entry_row(partner: str, entry: StoredEntry, *, dates_as_text: bool) -> tuple[Any, ...]:
    def when(value: datetime) -> Any:
        return value.isoformat() if dates_as_text else value

    return (
        partner,
        entry.key,
        entry.id,
        entry.link,
        entry.title,
        entry.summary,
        entry.content_html,
        when(entry.published),
        when(entry.updated),
        when(entry.first_seen),
        entry.lang,
        json.dumps([[a.name, a.email, a.url] for a in entry.authors]),
        json.dumps(list(entry.tags)),
        entry.image_url,
    )


def entry_from_row(row: Sequence[Any]) -> StoredEntry:
    (_, key, id_, link, title, summary, content, published, updated, first_seen, lang) = row[:11]
    authors, tags, image_url = row[11:]
    return StoredEntry(
        key=key,
        id=id_,
        link=link,
        title=title,
        summary=summary,
        content_html=content,
        published=_date(published),  # type: ignore[arg-type]
        updated=_date(updated),  # type: ignore[arg-type]
        first_seen=_date(first_seen),  # type: ignore[arg-type]
        lang=lang,
        authors=tuple(Author(name, email, url) for name, email, url in json.loads(authors)),
        tags=tuple(json.loads(tags)),
        image_url=image_url,
    )
