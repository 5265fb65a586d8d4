"""Permanent entry ids (docs/architecture.md "Permanent ids"): explicit, or minted once as a tag:
URI (RFC 4151)."""

from __future__ import annotations

import re
from urllib.parse import quote

# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":" and more.
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# RFC 4151 §2.1: the specific part is pchar / "/" / "?" (RFC 3986); anything else is escaped.
_TAG_SPECIFIC_SAFE = "/?:@!$&'()*+,;=-._~"


def is_absolute_uri(text: str) -> bool:
    """True for an absolute URI (RFC 3986 §4.3): a scheme, ":", and more."""
    return _ABSOLUTE_URI.match(text) is not None


def post_id(explicit: str | None, key: str, id_authority: str) -> str:
    """The entry id of a post.

    An explicit id that is an absolute URI (``tag:…``, ``urn:uuid:…``, ``https://…``) is used
    verbatim. Any other explicit id (``0123``) names the post within the site, as does the
    source ``key`` when there is no id: both become ``tag:{authority}:{name}``. Nothing a
    writer edits (title, body, slug, categories) takes part, so an edit never changes the id.
    """
    if explicit is not None and is_absolute_uri(explicit):
        return explicit
    name = explicit if explicit is not None else key
    return f"tag:{id_authority}:{quote(name, safe=_TAG_SPECIFIC_SAFE)}"
