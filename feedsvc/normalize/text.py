"""Plain-text hygiene: characters XML 1.0 forbids, bidi controls, tags in titles, summaries.

Every text field of a Post passes ``clean_text`` (docs/architecture.md "Normalization": text never
carries characters that XML 1.0 forbids, nor bidi overrides), so no renderer has to think about it
again.
"""

from __future__ import annotations

import html as html_module
import re
from bisect import bisect_left
from html.parser import HTMLParser

import regex

# XML 1.0 §2.2 Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
# Everything outside it goes: C0 controls but tab/LF/CR, lone surrogates, U+FFFE and U+FFFF.
_XML_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
# Unicode TR9 explicit embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069):
# they can make a title display as something it is not ("Trojan Source", CVE-2021-42574).
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_UNWANTED = re.compile(f"[{_XML_FORBIDDEN}{_BIDI_CONTROLS}]")
# The same set within ASCII: C0 controls but tab, LF and CR. Deleting bytes is ~4x faster than
# a regex pass, and most text (every post of an English site) is ASCII.
_ASCII_FORBIDDEN = bytes(c for c in range(0x20) if chr(c) not in "\t\n\r")

# Elements after which rendered text would show a break, so their text must not run together.
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
# Elements whose content is not text a reader would see.
_INVISIBLE_TAGS = frozenset({"script", "style", "template", "noscript"})


def clean_text(s: str) -> str:
    """``s`` without XML 1.0-forbidden characters and bidi embedding/override/isolate controls."""
    if s.isascii():  # O(1): CPython records it
        data = s.encode("ascii")
        kept = data.translate(None, _ASCII_FORBIDDEN)
        return s if len(kept) == len(data) else kept.decode("ascii")
    return _UNWANTED.sub("", s)


def collapse_whitespace(s: str) -> str:
    """Runs of whitespace (newlines included) become one space; ends are stripped.

    Whitespace is what ``str.isspace`` says (Unicode White_Space, plus U+001C–U+001F, which
    Python counts as separators): the same set as ``re``'s ``\\s``, ~3x faster than a regex.
    """
    return " ".join(s.split())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._invisible_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._invisible_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._invisible_depth = max(0, self._invisible_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._invisible_depth:
            self.parts.append(data)


_CHUNK = 2048


def html_to_text(html: str, enough: int | None = None) -> str:
    """The text a reader would see in ``html``: tags dropped, entities decoded, spaced blocks.

    Text that merely looks like markup (``5 < 6``) survives, as HTML parsers keep it too.
    With ``enough``, parsing stops once that many characters of text are in hand (a summary
    needs the start of a body, not all of it).
    """
    if "<" not in html and "&" not in html:
        return html  # most titles and labels: nothing to parse
    extractor = _TextExtractor()
    if enough is None:
        extractor.feed(html)
    else:
        collected = 0
        for start in range(0, len(html), _CHUNK):
            extractor.feed(html[start : start + _CHUNK])
            collected = sum(map(len, extractor.parts))
            if collected >= enough:
                return "".join(extractor.parts)
    extractor.close()
    return "".join(extractor.parts)


# Our sanitizer's output is serialized by html5ever: every attribute value double-quoted,
# "<" escaped in text. So a tag is "<", then unquoted runs and quoted values, then ">".
_TAG = re.compile(r'<[^>"]*(?:"[^"]*"[^>"]*)*>')
_BLOCK_NAMES = "|".join(sorted(_BLOCK_TAGS, key=len, reverse=True))
_BLOCK_TAG = re.compile(rf'</?(?:{_BLOCK_NAMES})\b[^>"]*(?:"[^"]*"[^>"]*)*>')


def sanitized_html_to_text(html: str, enough: int) -> str:
    """The start of the text of HTML that ``sanitize_html`` produced, at least ``enough``
    characters of it when there are that many: a fast path for summaries that need no
    general HTML parser, because sanitized markup is regular (see ``_TAG``)."""
    prefix = html[: 4 * enough]
    if len(prefix) < len(html):
        prefix = prefix[: prefix.rfind("<")] if prefix.rfind("<") > prefix.rfind(">") else prefix
    text = html_module.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", prefix)))
    if len(text) < enough and len(prefix) < len(html):
        return html_to_text(html, enough)  # markup-heavy start: parse it properly
    return text


def plain_text(s: str, enough: int | None = None) -> str:
    """A one-line plain-text field (title, label, given summary): no tags, entities, or junk.

    RSS 2.0 titles are often HTML-escaped text and Atom titles may be HTML (RFC 4287 §3.1);
    we publish titles as plain text only, so whatever markup a source had is reduced to text.
    """
    return collapse_whitespace(clean_text(html_to_text(s, enough)))


# Summaries: cut at a word boundary, else a grapheme cluster boundary (Unicode UAX #29), so a
# cut never splits what a reader sees as one character: an emoji ZWJ sequence (👨‍👩‍👧‍👦), a flag's
# two regional indicators (🇪🇸), a skin-tone modifier (👍🏽), a letter and its combining marks
# (e + U+0301), a Hangul syllable in jamo, a Devanagari conjunct (क्ष). ``regex``'s ``\X`` is
# UAX #29's extended grapheme cluster, kept current with each Unicode release.
#
# Segmenting 280 characters with ``\X`` alone costs ~25 µs, on every post. Most text is runs of
# characters of Grapheme_Cluster_Break=Other, and between two of those UAX #29 always breaks
# (GB999: the rules that join such a character to what precedes it, GB9c and GB11, need a
# Linker, Extend or ZWJ right before it). So such a run is taken whole, and every position
# inside it is a boundary (~5 µs).
_LONE = r"\p{Grapheme_Cluster_Break=Other}"
# Clusters wholly before ``endpos``: each must be followed by a character inside the window,
# because what comes after a cluster can still join it (a combining mark, a ZWJ).
_CLUSTERS = regex.compile(rf"(?:(?P<lone>{_LONE}+)(?={_LONE})|(?P<cluster>\X)(?=.))*", regex.DOTALL)
# What a summary never ends in before its ellipsis: spaces, sentence and clause punctuation of
# every script (Terminal_Punctuation: . , ; : ! ? 。 、 । …), dashes, opening brackets and
# quotes, and an ellipsis of its own. Closing brackets and quotes stay: they end a word.
# Spaces are what ``str.isspace`` says, as in ``collapse_whitespace``: the regex module's
# ``\s`` is Unicode White_Space, without the separators U+001C-U+001F.
_SPACE = r"\s\x1c-\x1f"
_TRAILING = regex.compile(
    rf"[{_SPACE}\p{{Terminal_Punctuation}}\p{{Pd}}\p{{Ps}}\p{{Pi}}\u2025\u2026]"
)
_LAST_SPACE = regex.compile(rf"[{_SPACE}]", regex.REVERSE)
_ELLIPSIS = "…"


def grapheme_boundaries(text: str, endpos: int) -> list[int]:
    """Every grapheme cluster boundary of ``text`` before index ``endpos``, ascending, 0 first
    (UAX #29 extended grapheme clusters). Exact for ``text`` as a whole: a position whose
    cluster could still go on past ``endpos`` is not listed."""
    match = _CLUSTERS.match(text, 0, endpos)
    assert match is not None  # the pattern matches the empty string
    ends = [0]
    for start, end in match.spans("lone"):
        ends.extend(range(start + 1, end + 1))
    ends.extend(end for _, end in match.spans("cluster"))
    ends.sort()
    return ends


def summarize(text: str, limit: int) -> str:
    """``truncate_summary(collapse_whitespace(text), limit)``, collapsing only the start of
    ``text`` when that is enough (a body's text is many times a summary's length): the cut
    reads no further than ``limit`` characters, and the collapsed start of a text is the
    start of the collapsed text."""
    head = collapse_whitespace(text[: 2 * limit])
    if len(head) <= limit:
        head = collapse_whitespace(text)
    return truncate_summary(head, limit)


def truncate_summary(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters, else a prefix of it in whole grapheme
    clusters followed by "…", at most ``limit`` characters in all (docs/config.md
    ``feeds.summary_length``).

    As WordPress's wp_trim_words and Hugo's summaries: the cut is at the last space when one
    is in the second half of the allowed length, else (CJK or Thai text without spaces, one
    long word or URL) at the last grapheme cluster boundary that fits. Spaces and punctuation
    the cut leaves at the end go before the ellipsis is added.
    """
    if len(text) <= limit:
        return text
    boundaries = grapheme_boundaries(text, limit)  # all below limit: one character for "…"
    last = len(boundaries) - 1
    end = boundaries[last] + 1
    while space := _LAST_SPACE.search(text, limit // 2 + 1, end):
        at = bisect_left(boundaries, space.start())
        if boundaries[at] == space.start():  # else it hangs on a Prepend or a CR (GB9b, GB3)
            last = at
            break
        end = space.start()
    # Drop whole clusters of spaces and punctuation from the end: a mark or a ZWJ after one
    # makes a cluster that is not, and it stays.
    while last > 0 and all(
        _TRAILING.match(c) for c in text[boundaries[last - 1] : boundaries[last]]
    ):
        last -= 1
    return text[: boundaries[last]] + _ELLIPSIS
