"""The loosely typed values partner documents carry, made safe: shared by the XML and JSON
Feed parsers (and by the WordPress source, whose REST API is loosely typed JSON too).

feedparser's dictionaries and decoded JSON hold whatever a partner wrote: a list where a
string was expected, a number for an id, a ``javascript:`` link. The accessors here return
the expected type or an empty one; the text, URL, author and date helpers return values
with the guarantees ``parsed.py`` lists, or None.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from feedsvc.model import Author
from feedsvc.normalize.dates import read_free_form
from feedsvc.normalize.text import clean_text, collapse_whitespace

_T = TypeVar("_T")


def one_line(text: str) -> str:
    """Plain text on one line: titles, categories, names. Text hygiene is the site's own
    (clean_text): what XML 1.0 forbids and bidi controls go, whatever a partner sends."""
    return collapse_whitespace(clean_text(text))


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines as paragraphs, other line breaks kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = (p.strip() for p in re.split(r"\n\s*\n", text))
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs if p)


def join_url(base: str, value: str) -> str | None:
    try:
        return urljoin(base, value.strip())
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None


def http_url(value: Any, base: str) -> str | None:
    """``value`` resolved against ``base``, if the result is an http(s) URL with a host.

    Everything else (javascript:, data:, mailto:, relative junk) is dropped: these URLs go
    into href and src attributes of our feeds and of readers' pages.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    absolute = join_url(base, clean_text(value))
    if absolute is None:
        return None
    try:
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def make_author(name: Any, email: Any, url: Any, base: str) -> Author | None:
    name, email = one_line(as_str(name)), one_line(as_str(email)) or None
    link = http_url(url, base)
    if not (name or email or link):
        return None
    # Atom requires a name (RFC 4287 §3.2.1); an author known only by address is named by it.
    return Author(name=name or email or link or "", email=email, url=link)


def lang_tag(value: Any) -> str | None:
    """A language tag as given (normalizing to BCP 47 is the normalizer's job,
    docs/architecture.md "Normalization")."""
    text = one_line(as_str(value))
    return text or None  # xml:lang="" means "no language" (XML 1.0 §2.12)


def stripped(value: Any) -> str | None:
    return (clean_text(value).strip() or None) if isinstance(value, str) else None


def unique(values: Iterable[_T | None]) -> tuple[_T, ...]:
    """Truthy values, first occurrence kept, in order."""
    return tuple(dict.fromkeys(v for v in values if v))


# --- dates --------------------------------------------------------------------------------

# RFC 822 §5.1 zone names. Other names are refused rather than guessed: dateutil would
# otherwise read them as the *host's* local zone when they match it, or as naive.
_ZONES = {"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5}
_ZONES |= {"MST": -7, "MDT": -6, "PST": -8, "PDT": -7}


class _UnknownZone(ValueError):
    pass


def _zone(name: str | None, offset: int | None) -> timezone | None:
    if offset is not None:
        return timezone(timedelta(seconds=offset))
    if not name:
        return None
    if name.upper() not in _ZONES:
        raise _UnknownZone(name)
    return timezone(timedelta(hours=_ZONES[name.upper()]))


def parse_loose_date(value: Any) -> datetime | None:
    """A date feedparser could not read (or a JSON Feed RFC 3339 date) as aware UTC, or None.

    Naive values are taken as UTC: a partner's feed carries no time zone setting of ours.
    """
    text = as_str(value).strip()
    if not text or len(text) > 100:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            # Refused rather than completed with an arbitrary day when a date field is missing.
            free_form = read_free_form(text, tzinfos=_zone)
        except (ValueError, OverflowError, TypeError, ArithmeticError):
            return None
        if free_form is None:
            return None
        parsed = free_form
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# --- access to feedparser's and JSON's loosely typed values --------------------------------


def value_at(thing: Any, key: str) -> Any:
    # dict.get, not FeedParserDict's: its "updated" quietly falls back to "published".
    return dict.get(thing, key) if isinstance(thing, dict) else None


def dict_at(thing: Any, key: str) -> dict[str, Any]:
    value = value_at(thing, key)
    return value if isinstance(value, dict) else {}


def list_at(thing: Any, key: str) -> list[Any]:
    value = value_at(thing, key)
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""
