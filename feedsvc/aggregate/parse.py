"""Partner feeds in one entry shape: RSS 0.9x/2.0, RSS 1.0 (RDF), Atom and JSON Feed 1.0/1.1.

Pure and synchronous: a response body and its headers in, a ``ParsedFeed`` out. The fetcher
runs it in an executor (SPEC §8: "parses off the event loop"). XML goes through feedparser,
once ``entities.py`` has transcoded and checked it (no entity declarations, nothing that
makes feedparser slow); JSON Feed, which feedparser 6 does not read, is mapped here into the
same shape, as reader (lemon24/reader) does with its two parsers.

What the merger can rely on, whatever the feed said: every text field is a ``str`` holding
only XML 1.0 characters; titles, summaries and categories are plain text; links and image
URLs are absolute http(s) or None; dates are aware UTC or None. What is left to the caller:
content HTML comes as the feed gave it (relative URLs resolved) and must be sanitized with
the site's allowlist (SPEC §5, §8); entry identity falls back to link or a content hash there.
A caller whose sanitizer resolves relative URLs against the feed URL anyway (the aggregator's
clean.py) passes ``caller_resolves=True``, and feedparser's own pass, about 40% of its time,
runs only for documents with an xml:base (which only feedparser knows per element).
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser
from dateutil import parser as dateutil_parser

from feedsvc.aggregate.entities import prepare_xml
from feedsvc.errors import FeedParseError, FeedsvcError
from feedsvc.model import Author
from feedsvc.normalize.text import clean_text, collapse_whitespace, plain_text

__all__ = ["ParsedEntry", "ParsedFeed", "parse_feed"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One partner entry, before normalization. See the module docstring for the guarantees."""

    entry_id: str | None  # the feed's own id/guid, stripped; None when absent
    link: str | None  # the alternate link, absolute http(s)
    title: str  # plain text
    content_html: str  # the best content as HTML, NOT sanitized (see caller_resolves)
    summary: str  # plain text when the feed has a summary besides the content, else ""
    published: datetime | None  # aware UTC
    updated: datetime | None  # aware UTC
    authors: tuple[Author, ...] = ()
    categories: tuple[str, ...] = ()
    lang: str | None = None  # the entry's, else the feed's xml:lang / language
    image_url: str | None = None  # absolute http(s)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None  # the home page, absolute http(s)
    lang: str | None
    entries: tuple[ParsedEntry, ...]  # document order
    # A short reason when the document was malformed but something was recovered (for the
    # status page); None when clean.
    bozo: str | None
    format: str  # "atom", "rss", "rdf", "cdf", "json"; "unknown" for recovered tag soup


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
            return _parse_json_feed(body, url)
        return _parse_xml_feed(body, url, lowered, caller_resolves)
    except FeedsvcError:
        raise
    except Exception as e:
        # feedparser and the codecs it may be asked to use raise all sorts on hostile input;
        # one partner's bytes must never take the aggregator down (SPEC §8).
        raise FeedParseError(url, f"unexpected {type(e).__name__} while parsing: {e}") from e


# --- XML, through feedparser --------------------------------------------------------------


def _parse_xml_feed(
    body: bytes, url: str, headers: Mapping[str, str], caller_resolves: bool
) -> ParsedFeed:
    if not body.strip():
        raise FeedParseError(url, "empty document")
    fp_headers = _feedparser_headers(url, headers)
    utf8, encoding_error = prepare_xml(body, fp_headers, url)
    # A file-like object, never the bytes themselves: feedparser.parse() treats a bytes or str
    # argument as a URL to fetch or a path to open (open(b"/etc/passwd") works) before it
    # falls back to reading it as a document. sanitize_html is off because the caller
    # sanitizes with the site's own allowlist. Relative URIs in content are resolved here
    # because only feedparser knows each element's xml:base; without any xml:base their
    # base is the feed URL, which a caller that resolves against it can do itself.
    result = feedparser.parse(
        io.BytesIO(utf8),
        response_headers={**fp_headers, "content-type": "application/xml; charset=utf-8"},
        resolve_relative_uris=not caller_resolves or b"xml:base" in utf8,
        sanitize_html=False,
    )
    version = _str(result.get("version"))
    raw_entries = [e for e in _list(result, "entries") if isinstance(e, dict)]
    bozo = _bozo_reason(result.get("bozo_exception") if result.get("bozo") else encoding_error)
    if not version and not raw_entries:
        raise FeedParseError(url, f"not an RSS, Atom or RDF feed ({bozo or 'no feed element'})")
    feed = _dict(result, "feed")
    feed_lang = _lang(_get(feed, "language")) or _lang(headers.get("content-language"))
    feed_authors = _xml_authors(feed, url) if version.startswith("atom") else ()
    return ParsedFeed(
        title=_detail_text(feed, "title"),
        link=_http_url(_get(feed, "link"), url),
        lang=feed_lang,
        entries=tuple(_xml_entry(e, url, feed_lang, feed_authors) for e in raw_entries),
        bozo=bozo,
        format=_format(version),
    )


def _feedparser_headers(url: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The response headers as feedparser should see them for choosing the encoding.

    Content-Location is the response URL: feedparser resolves relative links against it.
    The media type is always given as application/xml, keeping only an explicit charset:
    RFC 7303 §3 reads text/xml and application/xml alike (charset, else BOM, else the XML
    declaration, else UTF-8), but feedparser still applies RFC 3023's us-ascii default to
    text/*, and iso-8859-1 when the header is missing, which garbles UTF-8 feeds and flags
    nearly every partner as malformed. A wrong media type says nothing about the document.
    """
    charset = ""
    for param in headers.get("content-type", "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    out = {
        "content-type": f"application/xml; charset={charset}" if charset else "application/xml",
        "content-location": url,
    }
    if headers.get("content-language"):
        out["content-language"] = headers["content-language"]
    return out


def _bozo_reason(error: Any) -> str | None:
    """What the status page says about a malformed document; None when it was clean."""
    if error is None or isinstance(error, feedparser.NonXMLContentType):
        return None  # a label, not the document; see _feedparser_headers
    if isinstance(error, SAXParseException):
        # No line numbers: they count feedparser's transcoded copy, not the partner's bytes.
        reason = f"malformed XML: {error.getMessage()}"
    elif isinstance(error, feedparser.ThingsNobodyCaresAboutButMe):
        # The declared encoding was wrong or unknown; the text was read with another.
        reason = f"encoding: {error}"
    else:
        reason = f"{type(error).__name__}: {error}"
    return _one_line(reason)[:200]


def _format(version: str) -> str:
    if version.startswith("atom"):
        return "atom"
    if version in ("rss090", "rss10"):
        return "rdf"  # RSS 0.90 and 1.0 are RDF documents
    if version.startswith("rss"):
        return "rss"
    return version or "unknown"


def _xml_entry(
    entry: dict[str, Any], url: str, feed_lang: str | None, feed_authors: tuple[Author, ...]
) -> ParsedEntry:
    base = _entry_base(entry, url)
    content_html, summary, content_lang = _xml_content(entry)
    return ParsedEntry(
        entry_id=_stripped(_get(entry, "id")),
        link=_xml_link(entry, base),
        title=_detail_text(entry, "title"),
        content_html=content_html,
        summary=summary,
        published=_xml_date(entry, "published"),
        updated=_xml_date(entry, "updated"),
        # RFC 4287 §4.2.1: an Atom entry without authors has its feed's.
        authors=_xml_authors(entry, base) or feed_authors,
        categories=_unique(
            _one_line(_str(_get(tag, "term")) or _str(_get(tag, "label")))
            for tag in _list(entry, "tags")
        ),
        lang=content_lang or _lang(_get(_dict(entry, "title_detail"), "language")) or feed_lang,
        image_url=_xml_image(entry, base),
    )


def _entry_base(entry: dict[str, Any], url: str) -> str:
    """The entry's xml:base as feedparser resolved it, for the URLs feedparser leaves relative
    (enclosures, media:content)."""
    for key in ("title_detail", "summary_detail"):
        base = _str(_get(_dict(entry, key), "base"))
        if base:
            return _join(url, base) or url
    return url


def _xml_link(entry: dict[str, Any], base: str) -> str | None:
    link = _http_url(_get(entry, "link"), base)
    if link is None:
        # feedparser's "link" is the first alternate; a javascript: one must not hide the next.
        for candidate in _list(entry, "links"):
            if _get(candidate, "rel") in (None, "alternate"):
                link = _http_url(_get(candidate, "href"), base)
                if link:
                    break
    return link


def _xml_content(entry: dict[str, Any]) -> tuple[str, str, str | None]:
    """(content HTML, separate plain-text summary or "", content language)."""
    contents = [
        c
        for c in _list(entry, "content")
        if _str(_get(c, "value")).strip() and _kind(_get(c, "type")) is not None
    ]
    chosen = next((c for c in contents if _kind(_get(c, "type")) == "html"), None)
    chosen = chosen or (contents[0] if contents else None)
    summary = _str(_get(entry, "summary"))
    summary_detail = _dict(entry, "summary_detail")
    summary_kind = _kind(_get(summary_detail, "type")) or "html"
    if chosen is not None:
        value = _str(_get(chosen, "value"))
        # feedparser copies content into "summary" when there is none; only a summary that
        # came with its own detail (<description>, <summary>) is a separate one.
        separate = bool(summary_detail and summary.strip() and summary != value)
        return (
            _as_html(value, _kind(_get(chosen, "type"))),
            _as_text(summary, summary_kind) if separate else "",
            _lang(_get(chosen, "language")),
        )
    if summary.strip():
        return _as_html(summary, summary_kind), "", _lang(_get(summary_detail, "language"))
    return "", "", None


def _xml_date(entry: dict[str, Any], name: str) -> datetime | None:
    parsed = _get(entry, f"{name}_parsed")
    if parsed:
        try:
            # feedparser's structs are already UTC. timegm, not datetime(*parsed[:6]), so
            # that a leap second (tm_sec=60) rolls over instead of failing.
            return _EPOCH + timedelta(seconds=calendar.timegm(parsed))
        except (TypeError, ValueError, OverflowError):
            pass
    return _parse_date(_get(entry, name))


def _xml_authors(thing: dict[str, Any], base: str) -> tuple[Author, ...]:
    raw = _list(thing, "authors") or [_dict(thing, "author_detail")]
    author_string = _str(_get(thing, "author"))  # the last author as the feed wrote it
    authors = []
    for a in raw:
        name, email = _str(_get(a, "name")), _str(_get(a, "email"))
        name, email = _repair_author(name, email, author_string)
        authors.append(_author(name, email, _get(a, "href"), base))
    if not any(authors) and author_string.strip():
        authors = [_author(author_string, None, None, base)]
    return _unique(a for a in authors if a is not None)


# feedparser 6.0 splits RSS author strings ("ann@partner.example (Ann)") with an e-mail pattern
# that ends a top-level domain after four letters, leaving the rest of the domain in the name:
# email "ann@partner.exam", name "ple (Ann". Long TLDs (.charity, .foundation) are common
# among the organisations we aggregate, so the tail is put back, in the shapes that leaves.
# Domain tails are taken to be lower case, which is what tells "tail (Name" from "Name (tail".
_DOMAIN_TAIL = r"[a-z0-9-]+(?:\.[a-z0-9-]+)*"
_MANGLED_NAMES = (
    re.compile(rf"^(?P<before>.*)<(?P<tail>{_DOMAIN_TAIL})>(?P<after>.*)$"),  # Name <email>
    re.compile(rf"^(?P<tail>{_DOMAIN_TAIL}) \((?P<after>[^)]*)$"),  # email (Name)
    re.compile(rf"^(?P<before>[^(]*)\((?P<tail>{_DOMAIN_TAIL})$"),  # Name (email)
)
# An e-mail alone leaves just the tail as the name, which "ann@x.info (ann)" also gives; that
# shape is only repaired when the feed's own string shows the whole address.
_MANGLED_ALONE = re.compile(rf"^(?P<tail>{_DOMAIN_TAIL})$")


def _repair_author(name: str, email: str, author_string: str) -> tuple[str, str]:
    if not re.search(r"@[^@]*\.[A-Za-z]{4}$", email):
        return name, email
    for pattern in _MANGLED_NAMES:
        match = pattern.match(name.strip())
        if match is not None:
            parts = match.groupdict()
            rest = f"{parts.get('before') or ''} {parts.get('after') or ''}"
            return rest.strip(" ()<>"), email + parts["tail"]
    alone = _MANGLED_ALONE.match(name.strip())
    if alone is not None and author_string.strip() == email + alone["tail"]:
        return "", author_string.strip()
    return name, email


def _xml_image(entry: dict[str, Any], base: str) -> str | None:
    candidates: list[Any] = [
        _get(m, "url")
        for m in _list(entry, "media_content")
        if _is_image(_get(m, "medium"), _get(m, "type"), _get(m, "url"))
    ]
    candidates += [_get(m, "url") for m in _list(entry, "media_thumbnail")]
    candidates += [
        _get(link, "href")
        for link in _list(entry, "links")
        if _get(link, "rel") == "enclosure" and _str(_get(link, "type")).startswith("image/")
    ]
    return next(filter(None, (_http_url(c, base) for c in candidates)), None)


def _detail_text(thing: dict[str, Any], key: str) -> str:
    """A title as plain text: Atom type="html"/"xhtml" (and RSS titles feedparser takes for
    HTML) arrive as markup with entities; text titles arrive already unescaped."""
    value = _str(_get(thing, key))
    detail_type = _get(_dict(thing, f"{key}_detail"), "type")
    return _as_text(value, _kind(detail_type) if detail_type else "text")


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg")


def _is_image(medium: Any, mime_type: Any, url: Any) -> bool:
    """Media RSS §2 media:content: medium="image" or an image/* type; without either, guess
    from the file name, as readers do."""
    if medium or mime_type:
        return medium == "image" or _str(mime_type).startswith("image/")
    return urlsplit(_str(url)).path.lower().endswith(_IMAGE_SUFFIXES)


# --- JSON Feed ----------------------------------------------------------------------------

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


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body)  # RFC 8259 §8.1 encodings, BOM included, are detected
    except (ValueError, RecursionError) as e:
        raise FeedParseError(url, f"invalid JSON: {e}") from e
    version = _get(doc, "version")
    if not isinstance(doc, dict) or not isinstance(version, str):
        raise FeedParseError(url, "JSON document is not a JSON Feed (no version)")
    if not version.strip().lower().startswith(_JSONFEED_VERSION_PREFIXES):
        raise FeedParseError(url, f"JSON document is not a JSON Feed (version {version[:80]!r})")
    items = doc.get("items")
    bozo = None
    if not isinstance(items, list):
        items, bozo = [], "JSON Feed without an items array"
    elif not all(isinstance(item, dict) for item in items):
        bozo = "JSON Feed items that are not objects were skipped"
    lang = _lang(doc.get("language"))
    authors = _json_authors(doc, url)
    return ParsedFeed(
        title=_one_line(_str(doc.get("title"))),
        link=_http_url(doc.get("home_page_url"), url),
        lang=lang,
        entries=tuple(
            _json_entry(item, url, lang, authors) for item in items if isinstance(item, dict)
        ),
        bozo=bozo,
        format="json",
    )


def _json_entry(
    item: dict[str, Any], url: str, feed_lang: str | None, feed_authors: tuple[Author, ...]
) -> ParsedEntry:
    item_id = item.get("id")
    # JSON Feed 1.1: "If an id is presented as a number ... coerce it to a string."
    if isinstance(item_id, int | float) and not isinstance(item_id, bool):
        item_id = str(item_id)
    summary = _one_line(_str(item.get("summary")))
    content_html = _str(item.get("content_html"))
    if not content_html.strip():
        content_html = _text_to_html(_str(item.get("content_text")))
    if not content_html and summary:
        content_html, summary = _text_to_html(summary), ""
    return ParsedEntry(
        entry_id=_stripped(item_id),
        link=_http_url(item.get("url"), url) or _http_url(item.get("external_url"), url),
        title=_one_line(_str(item.get("title"))),  # plain text by the spec
        content_html=clean_text(content_html),
        summary=summary,
        published=_parse_date(item.get("date_published")),
        updated=_parse_date(item.get("date_modified")),
        # "If not specified in an item, then the top-level authors ... are the authors".
        authors=_json_authors(item, url) or feed_authors,
        categories=_unique(_one_line(tag) for tag in _list(item, "tags") if isinstance(tag, str)),
        lang=_lang(item.get("language")) or feed_lang,
        image_url=_http_url(item.get("image"), url) or _http_url(item.get("banner_image"), url),
    )


def _json_authors(thing: dict[str, Any], url: str) -> tuple[Author, ...]:
    # 1.1's "authors" array supersedes 1.0's single "author" object.
    raw = _list(thing, "authors") or [_dict(thing, "author")]
    authors = []
    for a in raw:
        link = _str(_get(a, "url")).strip()
        if link.lower().startswith("mailto:"):
            authors.append(_author(_get(a, "name"), link[7:], None, url))
        else:
            authors.append(_author(_get(a, "name"), None, link, url))
    return _unique(a for a in authors if a is not None)


# --- shared helpers -----------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _one_line(text: str) -> str:
    """Plain text on one line: titles, categories, names. Text hygiene is the site's own
    (clean_text): what XML 1.0 forbids and bidi controls go, whatever a partner sends."""
    return collapse_whitespace(clean_text(text))


def _text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines as paragraphs, other line breaks kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = (p.strip() for p in re.split(r"\n\s*\n", text))
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs if p)


def _html_to_text(markup: str) -> str:
    """HTML as one line of plain text, entities decoded, scripts and styles dropped."""
    return plain_text(markup)


def _kind(mime_type: Any) -> str | None:
    """The kind of a feedparser content type: "html", "text", or None for non-text (base64)."""
    value = _str(mime_type).lower()
    if value in ("", "html", "xhtml", "text/html", "application/xhtml+xml"):
        return "html"
    if value == "text" or value.startswith("text/"):
        return "text"
    return None


def _as_html(value: str, kind: str | None) -> str:
    return clean_text(value) if kind == "html" else _text_to_html(value)


def _as_text(value: str, kind: str | None) -> str:
    return _html_to_text(value) if kind == "html" else _one_line(value)


def _join(base: str, value: str) -> str | None:
    try:
        return urljoin(base, value.strip())
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None


def _http_url(value: Any, base: str) -> str | None:
    """``value`` resolved against ``base``, if the result is an http(s) URL with a host.

    Everything else (javascript:, data:, mailto:, relative junk) is dropped: these URLs go
    into href and src attributes of our feeds and of readers' pages.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    absolute = _join(base, clean_text(value))
    if absolute is None:
        return None
    try:
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _author(name: Any, email: Any, url: Any, base: str) -> Author | None:
    name, email = _one_line(_str(name)), _one_line(_str(email)) or None
    link = _http_url(url, base)
    if not (name or email or link):
        return None
    # Atom requires a name (RFC 4287 §3.2.1); an author known only by address is named by it.
    return Author(name=name or email or link or "", email=email, url=link)


def _lang(value: Any) -> str | None:
    """A language tag as given (normalizing to BCP 47 is the normalizer's job, SPEC §5)."""
    text = _one_line(_str(value))
    return text or None  # xml:lang="" means "no language" (XML 1.0 §2.12)


def _stripped(value: Any) -> str | None:
    return (clean_text(value).strip() or None) if isinstance(value, str) else None


def _unique(values: Iterable[_T | None]) -> tuple[_T, ...]:
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


# Two defaults differing in every date field: a string that leaves any of them out parses
# differently under each, and is refused rather than completed with an arbitrary day.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))


def _parse_date(value: Any) -> datetime | None:
    """A date feedparser could not read (or a JSON Feed RFC 3339 date) as aware UTC, or None.

    Naive values are taken as UTC: a partner's feed carries no time zone setting of ours.
    """
    text = _str(value).strip()
    if not text or len(text) > 100:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            first, second = (
                dateutil_parser.parse(text, default=default, tzinfos=_zone) for default in _DEFAULTS
            )
        except (ValueError, OverflowError, TypeError, ArithmeticError):
            return None
        if first != second:
            return None
        parsed = first
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# --- access to feedparser's and JSON's loosely typed values --------------------------------


def _get(thing: Any, key: str) -> Any:
    # dict.get, not FeedParserDict's: its "updated" quietly falls back to "published".
    return dict.get(thing, key) if isinstance(thing, dict) else None


def _dict(thing: Any, key: str) -> dict[str, Any]:
    value = _get(thing, key)
    return value if isinstance(value, dict) else {}


def _list(thing: Any, key: str) -> list[Any]:
    value = _get(thing, key)
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
