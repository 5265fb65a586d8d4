"""What a partner's record says to people: its /status entry and its log lines.

Both read only the partner's config and its stored record (state/records.py), so the
Aggregator calls them after each refresh and for every /status request alike.
"""

from __future__ import annotations

import logging

from feedsvc.aggregate.schedule import State
from feedsvc.aggregate.state import PartnerRecord
from feedsvc.config import PartnerConfig
from feedsvc.status import PartnerStatus

__all__ = ["log_transition", "partner_status"]

log = logging.getLogger("feedsvc.aggregate")


def partner_status(config: PartnerConfig, record: PartnerRecord, entries: int) -> PartnerStatus:
    """The partner's /status entry; ``entries`` is how many of its entries are stored."""
    moved = record.url != config.url
    note = None
    if moved and record.moved_at is not None:
        note = (
            f"moved permanently to {record.url} (the same 301/308 on two fetches in a row, "
            f"{record.moved_at.isoformat()}); update partners[].url in the config"
        )
    elif record.pending_url:
        note = (
            f"permanently redirected to {record.pending_url} on the last fetch; the URL "
            "changes if the next fetch is redirected the same way"
        )
    return PartnerStatus(
        name=config.name,
        title=config.title,
        url=record.url,
        original_url=config.url,
        moved=moved,
        moved_note=note,
        state=record.state,
        last_status=record.last_status,
        last_error=record.last_error,
        bozo=record.bozo,
        entries=entries,
        failures=record.failures,
        last_fetch=record.last_fetch,
        last_success=record.last_success,
        next_fetch=record.next_fetch,
        unstable_ids=record.unstable_ids,
    )


def log_transition(name: str, old: PartnerRecord, new: PartnerRecord) -> None:
    """One log line when a refresh moved the partner or changed its state or error."""
    if new.url != old.url:
        log.warning("partner %s: moved permanently from %s to %s", name, old.url, new.url)
    if new.state == old.state and new.last_error == old.last_error:
        return
    if new.state == State.OK:
        log.info("partner %s: ok (HTTP %s)", name, new.last_status)
    elif new.state == State.GONE:
        log.warning("partner %s: gone (410); no longer fetched", name)
    else:
        log.warning(
            "partner %s: %s: %s; next attempt %s", name, new.state, new.last_error, new.next_fetch
        )
