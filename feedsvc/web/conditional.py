"""Conditional requests (RFC 9110 §13): pure functions of header values and validators.

No framework here: the handler passes the field values it received and the validators
of the representation it would send, and gets back the status to answer with.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from feedsvc.clock import Clock, system_clock

PROCEED = 200
NOT_MODIFIED = 304
PRECONDITION_FAILED = 412

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "(" + "|".join(_MONTHS) + ")"
_TIME = r"(\d\d):(\d\d):(\d\d)"
# RFC 9110 §5.6.7: HTTP-date is case-sensitive, and has exactly these three forms.
# IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
_IMF_FIXDATE = re.compile(rf"{_DAY}, (\d\d) {_MONTH} (\d{{4}}) {_TIME} GMT")
# obsolete RFC 850 form: Sunday, 06-Nov-94 08:49:37 GMT
_RFC850_DATE = re.compile(rf"{_LONG_DAY}, (\d\d)-{_MONTH}-(\d\d) {_TIME} GMT")
# obsolete asctime form: Sun Nov  6 08:49:37 1994 (day is 2DIGIT or SP DIGIT)
_ASCTIME_DATE = re.compile(rf"{_DAY} {_MONTH} (\d\d| \d) {_TIME} (\d{{4}})")

# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, and etagc may be a comma,
# so a list is scanned tag by tag rather than split on commas.
_ENTITY_TAG = re.compile(r'(W/)?("[\x21\x23-\x7e\x80-\xff]*")')
_LIST_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")


def parse_http_date(value: str, clock: Clock = system_clock) -> datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7) as aware UTC, or None when it is not one.

    ``clock`` is only read for the two-digit years of the RFC 850 form.
    """
    if match := _IMF_FIXDATE.fullmatch(value):
        day, month, year, hour, minute, second = match.groups()
    elif match := _RFC850_DATE.fullmatch(value):
        day, month, yy, hour, minute, second = match.groups()
        return _rfc850_date(int(yy), _MONTHS[month], int(day), hour, minute, second, clock)
    elif match := _ASCTIME_DATE.fullmatch(value):
        month, day, hour, minute, second, year = match.groups()
    else:
        return None
    return _date(int(year), _MONTHS[month], int(day), hour, minute, second)


def _rfc850_date(
    yy: int, month: int, day: int, hour: str, minute: str, second: str, clock: Clock
) -> datetime | None:
    """RFC 9110 §5.6.7: a two-digit year that *appears* to be more than 50 years in the
    future is the most recent past year with the same last two digits. The whole
    timestamp is compared, not the year alone: with today 2026-06-01, 01-Jul-76 is 1976."""
    now = clock()
    century = now.year - now.year % 100
    date = _date(century + yy, month, day, hour, minute, second)
    if date is None:
        # 29-Feb of a year this century lacks may exist a century earlier; try it.
        return _date(century + yy - 100, month, day, hour, minute, second)
    # Today's date 50 years on (28 Feb for a 29 Feb that year lacks).
    limit = now.replace(year=now.year + 50, day=min(now.day, 28) if now.month == 2 else now.day)
    if date > limit:
        return _date(century + yy - 100, month, day, hour, minute, second)
    return date


def _date(year: int, month: int, day: int, hour: str, minute: str, second: str) -> datetime | None:
    try:
        return datetime(
            year,
            month,
            day,
            int(hour),
            int(minute),
            # A leap second (60, allowed by the grammar) is read as the second before it.
            min(int(second), 59),
            tzinfo=UTC,
        )
    except ValueError:  # 31 Feb, 25:00 and the like: not a date, so not a validator
        return None


def parse_entity_tags(value: str) -> list[str] | None:
    """The entity-tags of an If-Match/If-None-Match list, as written; None if malformed.

    RFC 9110 §5.6.1: empty list elements are allowed and skipped.
    """
    tags: list[str] = []
    pos, end = 0, len(value)
    while pos < end:
        sep = _LIST_SEPARATOR.match(value, pos)
        if sep and sep.end() > pos:
            pos = sep.end()
            continue
        tag = _ENTITY_TAG.match(value, pos)
        if tag is None:
            return None
        tags.append(tag.group(0))
        pos = tag.end()
        sep = _LIST_SEPARATOR.match(value, pos)
        if pos < end and sep is None:
            return None
    return tags


def weak_match(a: str, b: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2): the opaque-tags are equal, W/ or not."""
    return a.removeprefix("W/") == b.removeprefix("W/")


def strong_match(a: str, b: str) -> bool:
    """Strong comparison (RFC 9110 §8.8.3.2): both strong, and the same character by character."""
    return a == b and not a.startswith("W/")


def if_none_match_matches(value: str, etag: str) -> bool:
    """True when If-None-Match names the representation, so its condition is false.

    RFC 9110 §13.1.2: weak comparison; ``*`` matches any current representation.
    """
    # The common case, a reader sending back the ETag it was given, costs one comparison.
    if value == etag or value == "*":
        return True
    tags = parse_entity_tags(value)
    return tags is not None and any(weak_match(tag, etag) for tag in tags)


def if_match_matches(value: str, etag: str) -> bool:
    """True when If-Match names the representation (RFC 9110 §13.1.1: strong comparison)."""
    if value == "*":
        return True
    tags = parse_entity_tags(value)
    return tags is not None and any(strong_match(tag, etag) for tag in tags)


def evaluate_preconditions(
    method: str,
    etag: str,
    last_modified: int | None,
    *,
    if_match: str | None = None,
    if_unmodified_since: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    http_last_modified: str | None = None,
    clock: Clock = system_clock,
) -> int:
    """RFC 9110 §13.2.2: PROCEED (200), NOT_MODIFIED (304) or PRECONDITION_FAILED (412).

    ``etag`` and ``last_modified`` (POSIX seconds) are those of the representation that
    would be sent for this request, i.e. after content negotiation. ``http_last_modified``
    is the Last-Modified field value sent with it, when known, to skip parsing a date a
    client echoes back. Call only for a current representation: a 404 or 405 ignores
    preconditions (RFC 9110 §13.2.1). If-Range is not evaluated: Range is not supported,
    which RFC 9110 §14.2 allows.
    """
    # Step 1, RFC 9110 §13.1.1: If-Match, strong comparison.
    if if_match is not None:
        if not if_match_matches(if_match, etag):
            return PRECONDITION_FAILED
    # Step 2, RFC 9110 §13.1.4: If-Unmodified-Since, only without If-Match.
    elif if_unmodified_since is not None and last_modified is not None:
        date = parse_http_date(if_unmodified_since, clock)
        # A value that is not an HTTP-date is ignored.
        if date is not None and last_modified > int(date.timestamp()):
            return PRECONDITION_FAILED
    safe = method in ("GET", "HEAD")
    # Step 3, RFC 9110 §13.1.2: If-None-Match, weak comparison; it wins over
    # If-Modified-Since, which is then ignored (§13.1.3).
    if if_none_match is not None:
        if if_none_match_matches(if_none_match, etag):
            return NOT_MODIFIED if safe else PRECONDITION_FAILED
        return PROCEED
    # Step 4, RFC 9110 §13.1.3: If-Modified-Since, for GET and HEAD only, ignored when the
    # value is not a valid HTTP-date or the resource has no modification date.
    if if_modified_since is not None and safe and last_modified is not None:
        if if_modified_since == http_last_modified:
            return NOT_MODIFIED
        date = parse_http_date(if_modified_since, clock)
        # "earlier than or equal to the date provided" → not modified.
        if date is not None and last_modified <= int(date.timestamp()):
            return NOT_MODIFIED
    return PROCEED
