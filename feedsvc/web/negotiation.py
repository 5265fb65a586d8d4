"""Proactive negotiation (RFC 9110 §12): which content coding to send (Accept-Encoding), and
whether /status is drawn as HTML or JSON (Accept). Pure, and cached by the raw field value.

Readers send a handful of distinct values ("gzip, deflate, br", "gzip"…), so each choice
is memoized per string in a bounded cache and a request pays one dict lookup.
"""

from __future__ import annotations

import functools
import re

from feedsvc.store import BR, GZIP, IDENTITY

# Our preference among equally acceptable codings: the smallest first.
PREFERENCE = (BR, GZIP, IDENTITY)
# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE = re.compile(r"0(?:\.\d{0,3})?|1(?:\.0{0,3})?")
# RFC 9110 §8.4.1.3: x-gzip is to be treated as gzip.
_ALIASES = {"x-gzip": GZIP}


def weights(value: str) -> dict[str, float]:
    """A weighted list (RFC 9110 §12.4.2, as Accept and Accept-Encoding write it): each
    member (lowercase) → its qvalue, 1 by default. A member listed twice keeps its highest
    weight; a member with an invalid qvalue is dropped."""
    found: dict[str, float] = {}
    for member in value.split(","):
        token, *params = (part.strip() for part in member.split(";"))
        if not token:
            continue
        q = 1.0
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                raw = raw.strip()
                q = float(raw) if _QVALUE.fullmatch(raw) else -1.0
        if q >= 0:
            token = token.lower()
            found[token] = max(q, found.get(token, 0.0))
    return found


def parse_accept_encoding(value: str) -> dict[str, float]:
    """Coding (lowercase, aliases resolved) → qvalue."""
    codings: dict[str, float] = {}
    for coding, q in weights(value).items():
        coding = _ALIASES.get(coding, coding)
        codings[coding] = max(q, codings.get(coding, 0.0))
    return codings


@functools.lru_cache(maxsize=512)
def choose_coding(value: str) -> str | None:
    """The content coding to send for this Accept-Encoding value; None if none is acceptable.

    RFC 9110 §12.5.3: a listed coding is acceptable unless its qvalue is 0; ``*`` stands
    for every coding not listed; identity is acceptable unless ``identity;q=0`` or
    ``*;q=0`` (without an identity entry) excludes it; an empty value asks for no coding.
    The highest qvalue wins and ties go to br, then gzip, then identity. A request with no
    Accept-Encoding at all gets identity (see ``IDENTITY``), the one every client reads.
    """
    weights = parse_accept_encoding(value)
    if not weights:
        # Empty (or only malformed) value: "the user agent does not want any content coding".
        return IDENTITY
    star = weights.get("*")
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for rank, coding in enumerate(reversed(PREFERENCE)):
        q = weights.get(coding, star)
        if q is None:
            if coding != IDENTITY:
                continue
            # Identity is acceptable by default, but only as the last resort: a client
            # that lists gzip at any weight gets gzip rather than an unlisted identity.
            q = 0.0001
        if q <= 0:
            continue
        if best is None or (q, rank) > best:
            best, chosen = (q, rank), coding
    return chosen


@functools.lru_cache(maxsize=256)
def prefers_html(accept: str) -> bool:
    """True when this Accept value weighs text/html above JSON (RFC 9110 §12.5.1).

    Each media type takes the qvalue of its most specific matching range (``text/html``,
    then ``text/*``, then ``*/*``). A tie goes to JSON, so ``*/*`` (curl) gets JSON and a
    browser's ``text/html,…,*/*;q=0.8`` gets the page.
    """
    ranges = weights(accept)

    def weight(media_type: str) -> float:
        major = media_type.split("/")[0]
        for candidate in (media_type, f"{major}/*", "*/*"):
            if candidate in ranges:
                return ranges[candidate]
        return 0.0

    return weight("text/html") > weight("application/json")
