"""Dates in the many shapes posts carry them, always returned as aware UTC
(docs/architecture.md "Normalization")."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

import dateutil.parser

# Two different fill-in dates: if dateutil's results differ between them, the text lacked
# a year, month or day, and we refuse rather than silently use "today" (non-deterministic).
_PROBE_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))


def parse_date(value: str | date, tz: tzinfo) -> datetime:
    """A datetime from ``value``, in UTC. Naive values are read in ``tz`` (the site's zone).

    Accepts ISO 8601 / RFC 3339 (``2017-06-09``, ``2017-06-09T10:00``, ``…Z``, ``…+02:00``),
    RFC 822/2822 (``Fri, 09 Jun 2017 10:00:00 GMT``) and what python-dateutil reads
    (``June 9, 2017``). ``datetime``/``date`` objects (from JSON or API sources) pass through.
    Raises ValueError with a message fit for a user.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = _parse_text(value)
    else:
        raise ValueError(f"expected a date, not {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as e:
        raise ValueError(f"date {value!r} is out of range") from e


def _parse_text(value: str) -> datetime:
    text = value.strip()
    if not text:
        raise ValueError("date is empty")
    # ISO 8601 / RFC 3339 first: the common case, and unambiguous.
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    # RFC 822 §5 / RFC 2822 §3.3, as in RSS 2.0 <pubDate>, including obsolete zone names.
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    else:
        # RFC 5322 §3.3: "-0000" is UTC from a sender that won't say its local zone; Python
        # returns it naive, which would wrongly put it in the site's zone.
        if parsed.tzinfo is None and text.endswith("-0000"):
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    return _parse_free_form(text)


def _parse_free_form(text: str) -> datetime:
    try:
        parsed = read_free_form(text)
    except (ValueError, OverflowError) as e:
        raise ValueError(
            f"cannot read date {text!r}; use ISO 8601 like 2017-06-09 or 2017-06-09T10:00:00+02:00"
        ) from e
    if parsed is None:
        raise ValueError(f"date {text!r} lacks a year, month or day")
    return parsed


def read_free_form(
    text: str, tzinfos: Callable[[str | None, int | None], tzinfo | None] | None = None
) -> datetime | None:
    """``text`` as python-dateutil reads it, or None when it lacks a year, month or day.

    ``tzinfos`` maps zone names (dateutil's own hook). dateutil's errors (ValueError,
    OverflowError, and what ``tzinfos`` raises) propagate for the caller to word.
    """
    first, second = (
        dateutil.parser.parse(text, default=d, tzinfos=tzinfos) for d in _PROBE_DEFAULTS
    )
    # The two fill-ins differ only in year, month and day, so the results differ exactly
    # when the text left one of them out.
    return first if first == second else None
