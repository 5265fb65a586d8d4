"""When to fetch a partner next, and what one fetch's outcome means. Pure: no I/O, no clock.

The aggregator asks three questions after every attempt, each answered here:

- ``classify``: was it a success, a failure, a request to wait, or the end (410)?
- ``next_delay``: how long until the next attempt (interval with jitter, ``Retry-After``,
  or exponential backoff with jitter, capped)?
- ``track_redirect``: does a permanent redirect now replace the stored URL?

``next_record`` puts the three answers, and what the merge learned, into the partner's record.

Miniflux schedules the same way (``ScheduleNextCheck``: the larger of its interval and the
server's ``Retry-After``, capped) and keeps an error counter that one success resets; reader
keeps its update decisions in a pure ``Decider``. So do we.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from feedsvc.aggregate.clean import CleanFeed
from feedsvc.aggregate.merge import MergeResult
from feedsvc.aggregate.state import PartnerRecord
from feedsvc.errors import FeedsvcError
from feedsvc.remote.response import FetchResult

__all__ = [
    "JITTER",
    "RETRY_AFTER_CAP",
    "Outcome",
    "Redirect",
    "SchedulePolicy",
    "State",
    "classify",
    "next_delay",
    "next_record",
    "track_redirect",
]

# ±10% on every delay: partners on one host, started together, drift apart.
JITTER = 0.1
# A Retry-After beyond this is read as this: a typo must not silence a partner for a year.
RETRY_AFTER_CAP = 7 * 86400.0
# The same permanent redirect must be seen this many fetches in a row before the stored URL
# changes: one misconfigured response must not lose a partner's real address.
REDIRECT_REPEATS = 2


class State(StrEnum):
    """A partner's state as /status shows it."""

    OK = "ok"  # the last attempt succeeded (200 or 304)
    ERROR = "error"  # the last attempt failed; retrying with exponential backoff
    BACKOFF = "backoff"  # the partner asked us to wait (429, 503)
    GONE = "gone"  # 410: never fetched again (until its URL changes in the config)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt means for the partner."""

    state: State
    status: int | None  # the HTTP status, None when no response came
    error: str | None  # what went wrong, for /status; None on success
    retry_after: float | None = None  # seconds the server asked us to wait
    modified: bool = False  # a 2xx with a body to parse

    @property
    def failed(self) -> bool:
        """Counts towards the exponential backoff."""
        return self.state in (State.ERROR, State.BACKOFF)


@dataclass(frozen=True, slots=True)
class SchedulePolicy:
    interval: float  # seconds between fetches when all is well
    max_backoff: float  # cap of the exponential backoff, seconds

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.max_backoff <= 0:
            raise ValueError("interval and max_backoff must be positive")


def classify(outcome: FetchResult | BaseException) -> Outcome:
    """A fetch result, or the exception a fetch or parse raised, as an ``Outcome``.

    Exceptions that are not ours (bugs) are classified too, as errors: one partner must
    never stop the loop, and a failure is never silent (it is on /status).
    """
    if isinstance(outcome, BaseException):
        if isinstance(outcome, FeedsvcError):
            message = str(outcome)
        else:
            message = f"internal error: {type(outcome).__name__}: {outcome}"
        return Outcome(State.ERROR, None, message)
    status = outcome.status
    if status == 304 or 200 <= status < 300:
        # RFC 9110 §15.4.5: 304 means our copy is current, which is success.
        return Outcome(State.OK, status, None, modified=status != 304)
    if status == 410:
        # RFC 9110 §15.5.11: gone, "likely permanent"; clients should stop asking.
        return Outcome(State.GONE, status, f"{outcome.url}: HTTP 410 Gone")
    if status in (429, 503):
        # RFC 6585 §4 and RFC 9110 §15.6.4: too many requests, or unavailable for a while,
        # with Retry-After (RFC 9110 §10.2.3) saying how long.
        return Outcome(
            State.BACKOFF, status, f"{outcome.url}: HTTP {status}", retry_after=outcome.retry_after
        )
    return Outcome(State.ERROR, status, f"{outcome.url}: HTTP {status}")


def next_delay(
    outcome: Outcome, failures: int, policy: SchedulePolicy, rng: random.Random
) -> float | None:
    """Seconds until the next attempt; None when there is none (gone).

    ``failures`` counts consecutive failed attempts, this one included. After a success the
    delay is the interval; after the n-th failure it is ``interval * 2**(n-1)``, capped at
    ``max_backoff`` (exponential backoff); both with ±JITTER. A ``Retry-After`` is honoured:
    never sooner than it says (only later, by up to JITTER of it), nor sooner than the interval.
    """
    if outcome.state is State.GONE:
        return None
    if outcome.retry_after is not None:
        wait = min(max(outcome.retry_after, policy.interval), RETRY_AFTER_CAP)
        return wait * (1 + JITTER * rng.random())
    if not outcome.failed:
        return _jittered(policy.interval, rng)
    cap = max(policy.max_backoff, policy.interval)
    # min() before the power would overflow: 2**failures grows without bound.
    exponent = min(max(failures, 1) - 1, 32)
    return _jittered(min(policy.interval * 2**exponent, cap), rng)


def _jittered(delay: float, rng: random.Random) -> float:
    return delay * (1 + JITTER * (2 * rng.random() - 1))


@dataclass(frozen=True, slots=True)
class Redirect:
    """A partner's URL after one fetch, and the permanent redirect waiting to repeat."""

    url: str
    pending_url: str | None = None
    pending_count: int = 0
    moved: bool = False  # this fetch replaced the URL


def track_redirect(current: Redirect, outcome: Outcome, permanent_url: str | None) -> Redirect:
    """Apply a fetch's permanent redirect (FetchResult.permanent_url) to the stored URL.

    RFC 9110 §15.4.2: on a 301 a client "ought to" use the new URL from then on; we do once
    the same target has been seen on REDIRECT_REPEATS consecutive successful fetches.
    A redirect to a failing URL does not count, and temporary redirects (302, 303, 307) never
    reach here: the fetcher sets ``permanent_url`` only when every hop was permanent.
    """
    if not permanent_url or outcome.state is not State.OK or permanent_url == current.url:
        # The chain was broken or temporary this time: "consecutive" starts over.
        return Redirect(current.url)
    count = current.pending_count + 1 if permanent_url == current.pending_url else 1
    if count >= REDIRECT_REPEATS:
        return Redirect(permanent_url, moved=True)
    return Redirect(current.url, permanent_url, count)


def next_record(
    record: PartnerRecord,
    outcome: Outcome,
    result: FetchResult | None,
    parsed: CleanFeed | None,
    merged: MergeResult | None,
    fingerprint: str | None,
    now: datetime,
    policy: SchedulePolicy,
    rng: random.Random,
) -> PartnerRecord:
    """A partner's record after one attempt at ``now``: its state and error, validators,
    URL (a permanent redirect seen often enough), next fetch time, and what the merge
    learned (``parsed`` and ``merged`` are None when the attempt did not get that far)."""
    ok = outcome.state is State.OK
    failures = 0 if ok else record.failures + 1
    delay = next_delay(outcome, failures, policy, rng)
    redirect = track_redirect(
        Redirect(record.url, record.pending_url, record.pending_count),
        outcome,
        result.permanent_url if result is not None else None,
    )
    # Validators are kept only from a response we used: a 200 that failed to parse must
    # be fetched whole next time, not answered with a 304 that hides the failure.
    validators = result.validators if ok and result is not None else None
    return replace(
        record,
        url=redirect.url,
        pending_url=redirect.pending_url,
        pending_count=redirect.pending_count,
        moved_at=now if redirect.moved else record.moved_at,
        moved_from=record.url if redirect.moved else record.moved_from,
        etag=validators.etag if validators else record.etag,
        last_modified=validators.last_modified if validators else record.last_modified,
        state=outcome.state.value,
        last_status=outcome.status,
        last_error=outcome.error,
        bozo=parsed.bozo if parsed is not None and merged is not None else record.bozo,
        failures=failures,
        last_fetch=now,
        last_success=now if ok else record.last_success,
        next_fetch=now + timedelta(seconds=delay) if delay is not None else None,
        feed_link=parsed.link if parsed is not None and merged else record.feed_link,
        fingerprint=fingerprint if ok else record.fingerprint,
        id_memory=merged.id_memory if merged else record.id_memory,
        unstable_ids=merged.unstable_ids if merged else record.unstable_ids,
    )
