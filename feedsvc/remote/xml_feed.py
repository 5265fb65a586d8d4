"""RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom through feedparser, in the entry shape of ``parsed.py``.

The body is first transcoded and checked by ``entities.py``; feedparser then parses the
UTF-8 copy, and its loosely typed dictionaries are read through ``loose.py``.
"""

from __future__ import annotations

import calendar
import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from xml.sax import SAXParseException

import feedparser

from feedsvc.errors import FeedParseError
from feedsvc.model import Author
from feedsvc.normalize.text import clean_text, plain_text
from feedsvc.remote.entities import prepare_xml
from feedsvc.remote.loose import (
    as_str,
    dict_at,
    http_url,
    join_url,
    lang_tag,
    list_at,
    make_author,
    one_line,
    parse_loose_date,
    stripped,
    text_to_html,
    unique,
    value_at,
)
from feedsvc.remote.parsed import ParsedEntry, ParsedFeed

__all__ = ["parse_xml_feed"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_xml_feed(
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
    version = as_str(result.get("version"))
    raw_entries = [e for e in list_at(result, "entries") if isinstance(e, dict)]
    bozo = _bozo_reason(result.get("bozo_exception") if result.get("bozo") else encoding_error)
    if not version and not raw_entries:
        raise FeedParseError(url, f"not an RSS, Atom or RDF feed ({bozo or 'no feed element'})")
    feed = dict_at(result, "feed")
    feed_lang = lang_tag(value_at(feed, "language")) or lang_tag(headers.get("content-language"))
    feed_authors = _xml_authors(feed, url) if version.startswith("atom") else ()
    return ParsedFeed(
        title=_detail_text(feed, "title"),
        link=http_url(value_at(feed, "link"), url),
        lang=feed_lang,
        entries=tuple(_xml_entry(e, url, feed_lang, feed_authors) for e in raw_entries),
        bozo=bozo,
        format=_format(version),
        hubs=_feed_links(feed, "hub", url),
        self_url=next(iter(_feed_links(feed, "self", url)), None),
    )


def _feed_links(feed: dict[str, Any], rel: str, base: str) -> tuple[str, ...]:
    """The feed's links of one relation (Atom ``link``, RSS ``atom:link``), absolute
    http(s), in document order, each once."""
    urls = (
        http_url(value_at(link, "href"), base)
        for link in list_at(feed, "links")
        if value_at(link, "rel") == rel
    )
    return tuple(dict.fromkeys(url for url in urls if url))


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
    return one_line(reason)[:200]


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
        entry_id=stripped(value_at(entry, "id")),
        link=_xml_link(entry, base),
        title=_detail_text(entry, "title"),
        content_html=content_html,
        summary=summary,
        published=_xml_date(entry, "published"),
        updated=_xml_date(entry, "updated"),
        # RFC 4287 §4.2.1: an Atom entry without authors has its feed's.
        authors=_xml_authors(entry, base) or feed_authors,
        categories=unique(
            one_line(as_str(value_at(tag, "term")) or as_str(value_at(tag, "label")))
            for tag in list_at(entry, "tags")
        ),
        lang=content_lang
        or lang_tag(value_at(dict_at(entry, "title_detail"), "language"))
        or feed_lang,
        image_url=_xml_image(entry, base),
    )


def _entry_base(entry: dict[str, Any], url: str) -> str:
    """The entry's xml:base as feedparser resolved it, for the URLs feedparser leaves relative
    (enclosures, media:content)."""
    for key in ("title_detail", "summary_detail"):
        base = as_str(value_at(dict_at(entry, key), "base"))
        if base:
            return join_url(url, base) or url
    return url


def _xml_link(entry: dict[str, Any], base: str) -> str | None:
    link = http_url(value_at(entry, "link"), base)
    if link is None:
        # feedparser's "link" is the first alternate; a javascript: one must not hide the next.
        for candidate in list_at(entry, "links"):
            if value_at(candidate, "rel") in (None, "alternate"):
                link = http_url(value_at(candidate, "href"), base)
                if link:
                    break
    return link


def _xml_content(entry: dict[str, Any]) -> tuple[str, str, str | None]:
    """(content HTML, separate plain-text summary or "", content language)."""
    contents = [
        c
        for c in list_at(entry, "content")
        if as_str(value_at(c, "value")).strip() and _kind(value_at(c, "type")) is not None
    ]
    chosen = next((c for c in contents if _kind(value_at(c, "type")) == "html"), None)
    chosen = chosen or (contents[0] if contents else None)
    summary = as_str(value_at(entry, "summary"))
    summary_detail = dict_at(entry, "summary_detail")
    summary_kind = _kind(value_at(summary_detail, "type")) or "html"
    if chosen is not None:
        value = as_str(value_at(chosen, "value"))
        # feedparser copies content into "summary" when there is none; only a summary that
        # came with its own detail (<description>, <summary>) is a separate one.
        separate = bool(summary_detail and summary.strip() and summary != value)
        return (
            _as_html(value, _kind(value_at(chosen, "type"))),
            _as_text(summary, summary_kind) if separate else "",
            lang_tag(value_at(chosen, "language")),
        )
    if summary.strip():
        return _as_html(summary, summary_kind), "", lang_tag(value_at(summary_detail, "language"))
    return "", "", None


def _xml_date(entry: dict[str, Any], name: str) -> datetime | None:
    parsed = value_at(entry, f"{name}_parsed")
    if parsed:
        try:
            # feedparser's structs are already UTC. timegm, not datetime(*parsed[:6]), so
            # that a leap second (tm_sec=60) rolls over instead of failing.
            return _EPOCH + timedelta(seconds=calendar.timegm(parsed))
        except (TypeError, ValueError, OverflowError):
            pass
    return parse_loose_date(value_at(entry, name))


def _xml_authors(thing: dict[str, Any], base: str) -> tuple[Author, ...]:
    raw = list_at(thing, "authors") or [dict_at(thing, "author_detail")]
    author_string = as_str(value_at(thing, "author"))  # the last author as the feed wrote it
    authors = []
    for a in raw:
        name, email = as_str(value_at(a, "name")), as_str(value_at(a, "email"))
        name, email = _repair_author(name, email, author_string)
        authors.append(make_author(name, email, value_at(a, "href"), base))
    if not any(authors) and author_string.strip():
        authors = [make_author(author_string, None, None, base)]
    return unique(a for a in authors if a is not None)


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
        value_at(m, "url")
        for m in list_at(entry, "media_content")
        if _is_image(value_at(m, "medium"), value_at(m, "type"), value_at(m, "url"))
    ]
    candidates += [value_at(m, "url") for m in list_at(entry, "media_thumbnail")]
    candidates += [
        value_at(link, "href")
        for link in list_at(entry, "links")
        if value_at(link, "rel") == "enclosure"
        and as_str(value_at(link, "type")).startswith("image/")
    ]
    return next(filter(None, (http_url(c, base) for c in candidates)), None)


def _detail_text(thing: dict[str, Any], key: str) -> str:
    """A title as plain text: Atom type="html"/"xhtml" (and RSS titles feedparser takes for
    HTML) arrive as markup with entities; text titles arrive already unescaped."""
    value = as_str(value_at(thing, key))
    detail_type = value_at(dict_at(thing, f"{key}_detail"), "type")
    return _as_text(value, _kind(detail_type) if detail_type else "text")


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg")


def _is_image(medium: Any, mime_type: Any, url: Any) -> bool:
    """Media RSS §2 media:content: medium="image" or an image/* type; without either, guess
    from the file name, as readers do."""
    if medium or mime_type:
        return medium == "image" or as_str(mime_type).startswith("image/")
    return urlsplit(as_str(url)).path.lower().endswith(_IMAGE_SUFFIXES)


def _html_to_text(markup: str) -> str:
    """HTML as one line of plain text, entities decoded, scripts and styles dropped."""
    return plain_text(markup)


def _kind(mime_type: Any) -> str | None:
    """The kind of a feedparser content type: "html", "text", or None for non-text (base64)."""
    value = as_str(mime_type).lower()
    if value in ("", "html", "xhtml", "text/html", "application/xhtml+xml"):
        return "html"
    if value == "text" or value.startswith("text/"):
        return "text"
    return None


def _as_html(value: str, kind: str | None) -> str:
    return clean_text(value) if kind == "html" else text_to_html(value)


def _as_text(value: str, kind: str | None) -> str:
    return _html_to_text(value) if kind == "html" else one_line(value)
