"""What feedparser may see: a partner's XML as UTF-8, with no entity declarations, made tame.

The aggregator never resolves XML entities from outside
(docs/architecture.md "Partner documents"). Entity declarations are how every XML entity
attack works: exponential expansion ("billion laughs"), one large entity referenced many times
(quadratic blowup), external entities (``SYSTEM "file:///etc/passwd"``) and parameter entities
that pull in an external DTD. Feeds have no need for them (RSS 2.0 and Atom define none), so a
document that declares any is refused, not parsed "safely". Note that feedparser's own entity
handling is no defence: it lifts ``<!ENTITY`` lines out of the prolog with a regular
expression, even from inside comments, re-inserts the "safe" ones into a fresh DOCTYPE, and its
fallback parser expands them without any limit.

The check must see the text the XML parser will read. feedparser transcodes the body to
UTF-8 first, choosing the encoding from the HTTP charset, the BOM, the XML declaration and
fallbacks, and a declared encoding can be any Python codec (``utf-16``, ``cp037``, even
``utf-7`` or ``unicode_escape``, in which ``<!ENTITY`` is not spelled in ASCII). So we run
feedparser's transcoding ourselves, check its UTF-8 output, and hand feedparser that output.

Three kinds of input make feedparser super-linear, and are defused here (times measured
with feedparser 6.0 before these guards):
- its XML-declaration pattern (``encodings.RE_XML_PI_ENCODING``) is cubic in the length of
  the first line (52 KB: 171 s), so a newline is put after the declaration (XML 1.0 §2.8:
  prolog space is insignificant) and a declaration not ended within 1,024 characters is
  refused;
- its DOCTYPE and ENTITY patterns (``sanitizer.replace_doctype``) are quadratic in runs of
  blank lines and in repeated DOCTYPEs before the root element (120 KB of space: 12 s), so
  space runs there are collapsed, keeping one line break, and a second DOCTYPE (never valid
  XML) is refused;
- it looks attributes up with the standard library's ``AttributesNSImpl.getValueByQName``,
  a linear search (20,000 on one element: 2.7 s), so more than 256 on one element is refused.
Other quadratic paths remain inside feedparser (many distinct namespace prefixes, deeply
nested relative xml:base, thousands of distinct categories in one entry); they need a crafted
document, and bounding them is the caller's job (body cap, a process with a CPU limit).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Any

from feedparser.encodings import convert_to_utf8

from feedsvc.errors import FeedParseError

_MAX_DECLARATION = 1024  # characters; a real XML declaration is under 100
_MAX_ATTRIBUTES = 256  # per element; real feeds use a handful


def prepare_xml(body: bytes, headers: Mapping[str, str], url: str) -> tuple[bytes, Any]:
    """``body`` as the UTF-8 feedparser will parse, and feedparser's encoding complaint.

    ``headers`` are the response headers exactly as feedparser is to see them (lower-case
    keys), since its choice of encoding depends on them. The complaint is the exception
    feedparser would have flagged (a charset that was wrong, say), or None. Raises
    FeedParseError for entity declarations and for prologs feedparser cannot handle safely.
    """
    body = _confine_first_line(body, url)
    diagnosis: dict[str, Any] = {}  # feedparser records its encoding troubles here
    utf8 = _tame_prolog(convert_to_utf8(dict(headers), body, diagnosis), url)
    # The wide spellings on the raw bytes too: cheap, and independent of feedparser's choice
    # of encoding should a later version choose differently.
    if _declares_entities(utf8) or any(wide in body for wide in _WIDE_DECLARATIONS):
        raise FeedParseError(url, "document declares XML entities; refused")
    if _CROWDED_TAG.search(utf8):
        raise FeedParseError(url, f"an element has more than {_MAX_ATTRIBUTES} attributes; refused")
    return utf8, diagnosis.get("bozo_exception")


# --- the first line --------------------------------------------------------------------------

# feedparser's encoding sniffing (encodings.convert_to_utf8), in its order: a BOM (which it
# strips) or the XML 1.0 Appendix F signature of "<?" in each wide encoding and EBCDIC.
# The UTF-16 BOMs count only when not followed by two zero bytes (then it is UTF-32).
_SIGNATURES = (
    (codecs.BOM_UTF32_BE, 4, "utf-32-be"),
    (codecs.BOM_UTF32_LE, 4, "utf-32-le"),
    (codecs.BOM_UTF16_BE, 2, "utf-16-be"),
    (codecs.BOM_UTF16_LE, 2, "utf-16-le"),
    (codecs.BOM_UTF8, 3, "utf-8"),
    (b"\x4c\x6f\xa7\x94", 0, "cp037"),
    (b"\x00\x3c\x00\x3f", 0, "utf-16-be"),
    (b"\x3c\x00\x3f\x00", 0, "utf-16-le"),
    (b"\x00\x00\x00\x3c", 0, "utf-32-be"),
    (b"\x3c\x00\x00\x00", 0, "utf-32-le"),
)


def _sniff(body: bytes) -> tuple[int, str]:
    """(BOM length, codec) as feedparser will see the start of the body."""
    for signature, bom_length, codec in _SIGNATURES:
        if body.startswith(signature):
            if bom_length == 2 and body[2:4] == b"\x00\x00":
                continue
            return bom_length, codec
    return 0, "ascii"  # any ASCII-compatible encoding: "<?", "?>" and "\n" are these bytes


def _confine_first_line(body: bytes, url: str) -> bytes:
    """A newline after the XML declaration, so feedparser's pattern only sees that line."""
    bom_length, codec = _sniff(body)
    opener, closer, newline = ("<?".encode(codec), "?>".encode(codec), "\n".encode(codec))
    if not body.startswith(opener, bom_length):
        return body  # the pattern is anchored on "<?" and fails at once
    unit = len(newline)
    window = body[bom_length : bom_length + _MAX_DECLARATION * unit]
    line_end = _find_aligned(window, newline, unit)
    declaration_end = _find_aligned(window, closer, unit)
    if declaration_end == -1 or -1 < line_end < declaration_end:
        if line_end == -1:
            raise FeedParseError(url, f"XML declaration longer than {_MAX_DECLARATION} characters")
        return body  # the first line already ends within the window
    cut = bom_length + declaration_end + len(closer)
    if body.startswith(newline, cut):
        return body
    return body[:cut] + newline + body[cut:]


def _find_aligned(data: bytes, needle: bytes, unit: int) -> int:
    """The first occurrence of ``needle`` at a character boundary of a ``unit``-byte encoding."""
    position = data.find(needle)
    while position > 0 and position % unit:
        position = data.find(needle, position + 1)
    return position


# --- the prolog --------------------------------------------------------------------------

# feedparser's idea of where the prolog ends (sanitizer.replace_doctype): the first "<" and
# word character. It runs its DOCTYPE and ENTITY patterns on everything before.
_FIRST_ELEMENT = re.compile(rb"<\w")
_SPACE_RUN = re.compile(rb"[ \t\r\n]{2,}")


def _tame_prolog(utf8: bytes, url: str) -> bytes:
    first = _FIRST_ELEMENT.search(utf8)
    if first is None:
        return utf8  # no element at all: nothing for feedparser's patterns to chew on
    head = utf8[: first.start()]
    if head.count(b"<!DOCTYPE") > 1:
        raise FeedParseError(url, "more than one DOCTYPE declaration; refused")
    tamed = _SPACE_RUN.sub(lambda run: b"\n" if b"\n" in run[0] else b" ", head)
    return utf8 if tamed == head else tamed + utf8[first.start() :]


# A start tag with more "=" than that many attributes would have. Possessive, so each
# character is looked at once; tags quoted inside CDATA count too, which is fine at 256.
_CROWDED_TAG = re.compile(rb"<[A-Za-z_:](?:[^<>=]*+=){%d}" % _MAX_ATTRIBUTES)


# --- entity declarations -----------------------------------------------------------------

# The UTF-16 and UTF-32 spellings (XML 1.0 Appendix F), searched at any alignment. A wide
# feed that merely quotes "<!ENTITY" in a CDATA section is refused too; so rare a case is fine.
_WIDE_DECLARATIONS = tuple(
    "<!ENTITY".encode(codec) for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
_DECLARATION = b"<!ENTITY"
# Case-insensitive: expat only knows "<!ENTITY", but an odd spelling is refused, not reasoned about.
_DECLARATION_ANYWHERE = re.compile(rb"<!ENTITY", re.IGNORECASE)

# XML 1.0 §2.8 prolog, read just far enough to tell where entity declarations could be.
# Possessive quantifiers keep every pattern linear: nothing here can backtrack.
# [27] Misc: comments, processing instructions (the XML declaration is one for our purpose), space.
_MISC = re.compile(rb"(?:\s++|<\?.*?\?>|<!--.*?-->)*+", re.DOTALL)
# [28] doctypedecl up to its internal subset: name, then an optional SYSTEM/PUBLIC ExternalID.
_DOCTYPE_START = re.compile(
    rb"""<!DOCTYPE\s++[^\s\[>]++(?:\s++(?:SYSTEM|PUBLIC)(?:\s++(?:"[^"]*+"|'[^']*+'))++)?+\s*+"""
)
# [28b] intSubset items other than entity declarations: space, a parameter-entity reference,
# a PI, a comment, and the other markup declarations, whose quoted literals may contain ">".
_SUBSET_ITEM = re.compile(
    rb"""\s++|%[^;\s]++;|<\?.*?\?>|<!--.*?-->"""
    rb"""|<!(?:ELEMENT|ATTLIST|NOTATION)\b(?:[^"'>]++|"[^"]*+"|'[^']*+')*+>""",
    re.DOTALL,
)
_SUBSET_END = re.compile(rb"\]\s*+>")
# The root element's start tag: "<" and a name start character (any non-ASCII byte may begin one).
_ROOT_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")


def _declares_entities(utf8: bytes) -> bool:
    # Fast path: almost no feed contains the characters at all.
    if _DECLARATION_ANYWHERE.search(utf8) is None:
        return False
    # feedparser lifts "<!ENTITY" out of anything before the first element, comments included.
    first = _FIRST_ELEMENT.search(utf8)
    if _DECLARATION_ANYWHERE.search(utf8, 0, first.start() if first else len(utf8)):
        return True
    # Later on, "<!ENTITY" only declares anything inside the DOCTYPE's internal subset (which
    # a quoted "<x" can stretch past feedparser's idea of the prolog); elsewhere, in an entry's
    # CDATA section quoting XML, it is harmless text. A prolog we cannot read counts as a
    # declaration: refusing a broken document is cheap, letting an attack through is not.
    return not _prolog_is_clean(utf8)


def _prolog_is_clean(data: bytes) -> bool:
    """True when the prolog reaches the root element without declaring an entity."""
    position = _skip_misc(data, 0)
    doctype = _DOCTYPE_START.match(data, position)
    if doctype is not None:
        position = doctype.end()
        if data.startswith(b"[", position):
            subset_end = _internal_subset_end(data, position + 1)
            if subset_end is None:
                return False
            position = subset_end
        elif data.startswith(b">", position):
            position += 1
        else:
            return False
        position = _skip_misc(data, position)
    return _ROOT_START.match(data, position) is not None


def _internal_subset_end(data: bytes, position: int) -> int | None:
    """Where the DOCTYPE ends after an internal subset with no entity declaration, else None."""
    while True:
        if data.startswith(_DECLARATION, position):
            return None
        end = _SUBSET_END.match(data, position)
        if end is not None:
            return end.end()
        item = _SUBSET_ITEM.match(data, position)
        if item is None or item.end() == position:
            return None
        position = item.end()


def _skip_misc(data: bytes, position: int) -> int:
    match = _MISC.match(data, position)
    return match.end() if match is not None else position
