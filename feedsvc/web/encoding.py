"""Accept-Encoding negotiation (RFC 9110 §12.5.3): pure, and cached by the raw field value.

Readers send a handful of distinct values ("gzip, deflate, br", "gzip"…), so the choice
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


def parse_accept_encoding(value: str) -> dict[str, float]:
    """Coding (lowercase) → qvalue. Members with an invalid qvalue are dropped."""
    weights: dict[str, float] = {}
    for member in value.split(","):
        coding, *params = (part.strip() for part in member.split(";"))
        if not coding:
            continue
        coding = coding.lower()
        coding = _ALIASES.get(coding, coding)
        q = 1.0
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                raw = raw.strip()
                q = float(raw) if _QVALUE.fullmatch(raw) else -1.0
        if q < 0:
            continue
        # A coding listed twice keeps its highest weight.
        weights[coding] = max(q, weights.get(coding, 0.0))
    return weights


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
