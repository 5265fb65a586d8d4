"""Partner feeds in one entry shape: RSS 0.9x/2.0, RSS 1.0 (RDF), Atom and JSON Feed 1.0/1.1.

Pure and synchronous: a response body and its headers in, a ``ParsedFeed`` out. The fetcher
runs it in an executor (docs/architecture.md "Partner documents"). XML goes through feedparser
(``xml_feed.py``), once ``entities.py`` has transcoded and checked it (no entity declarations,
nothing that makes feedparser slow); JSON Feed, which feedparser 6 does not read, is mapped
into the same shape by ``json_feed.py``, as reader (lemon24/reader) does with its two parsers.
The shape and its guarantees are in ``parsed.py``.

A caller whose sanitizer resolves relative URLs against the feed URL anyway (the aggregator's
clean.py) passes ``caller_resolves=True``, and feedparser's own pass, about 40% of its time,
runs only for documents with an xml:base (which only feedparser knows per element).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from feedsvc.errors import FeedParseError, FeedsvcError
from feedsvc.remote.json_feed import parse_json_feed
from feedsvc.remote.parsed import ParsedFeed
from feedsvc.remote.xml_feed import parse_xml_feed

__all__ = ["parse_feed"]


def parse_feed(
    body: bytes, url: str, headers: Mapping[str, str], *, caller_resolves: bool = False
) -> ParsedFeed:
    """Parse a fetched feed. ``url`` is the response's URL (the base for relative links).
    With ``caller_resolves``, relative URLs in content HTML are left for the caller to
    resolve against ``url``, unless the document has an xml:base.

    Raises FeedParseError when nothing usable can be recovered, and for documents that declare
    XML entities. No other exception escapes: unexpected ones are wrapped, keeping the cause.
    """
    try:
        lowered = {name.lower(): value for name, value in headers.items()}
        if _is_json(body, lowered.get("content-type", "")):
            return parse_json_feed(body, url)
        return parse_xml_feed(body, url, lowered, caller_resolves)
    except FeedsvcError:
        raise
    except Exception as e:
        # feedparser and the codecs it may be asked to use raise all sorts on hostile input;
        # one partner's bytes must never take the aggregator down
        # (docs/architecture.md "Partner documents").
        raise FeedParseError(url, f"unexpected {type(e).__name__} while parsing: {e}") from e


_JSON_TYPES = ("application/feed+json", "application/json")
# JSON Feed 1.0 and 1.1 name themselves by URL; both versions are read the same way, with
# 1.1's "authors" and "language" preferred where present.
_JSONFEED_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_LEADING_SPACE = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*")


def _is_json(body: bytes, content_type: str) -> bool:
    start = _LEADING_SPACE.match(body)
    first = body[start.end() : start.end() + 1] if start else b""
    if first == b"{":
        return True
    media_type = content_type.split(";")[0].strip().lower()
    # A JSON label on a body that starts like XML is a mislabelled XML feed.
    return (media_type in _JSON_TYPES or media_type.endswith("+json")) and first != b"<"
