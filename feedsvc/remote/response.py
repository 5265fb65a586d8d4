"""What a fetch hands back (``fetch.Fetcher``): the result, the validators to send next
time, and how long a server asked us to wait. Plain values, read by the sources and the
aggregator alike; deciding what a status means for a partner is theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server gave to revalidate a representation (RFC 9110 §8.8)."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        """The conditional headers for a GET (RFC 9110 §13.1.2, §13.1.3).

        Both are sent; a server that knows ETags lets If-None-Match win (§13.2.2).
        """
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One completed fetch: whatever the final status, the request got an HTTP answer.

    ``permanent_url`` is set only when every hop was permanent (301/308), so the caller
    may replace the stored URL; ``body`` is decoded and empty unless the status is 2xx
    (or 4xx/5xx when the fetch asked for ``error_body``).
    """

    status: int
    url: str
    permanent_url: str | None
    body: bytes
    headers: dict[str, str]
    validators: Validators
    retry_after: float | None
    elapsed: float


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 §10.2.3), None if absent/bad.

    Either delta-seconds or an HTTP-date, which is taken relative to ``now``; a date in the
    past means "now" (0.0).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # the asctime form has no zone; HTTP dates are GMT (§5.6.7)
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
