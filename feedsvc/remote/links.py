"""HTTP ``Link`` headers (RFC 8288): where a response names its hubs and its own URL
(W3C WebSub §4 discovery)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

__all__ = ["link_targets"]


# RFC 8288 §3: link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ); the
# parameters stop at the comma that separates link-values (quoted commas are kept).
_LINK_VALUE = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,"=\s]+(?:\s*=\s*(?:"[^"]*"|[^;,\s]*))?)*)')
_LINK_PARAM = re.compile(r';\s*([^;,"=\s]+)(?:\s*=\s*(?:"([^"]*)"|([^;,\s]*)))?')


def link_targets(header: str | None, rel: str, base: str) -> tuple[str, ...]:
    """The targets of a ``Link`` header (RFC 8288) with relation ``rel``, made absolute
    against ``base``; http(s) only. ``rel`` may list several relations ("hub self")."""
    if not header:
        return ()
    found = []
    for match in _LINK_VALUE.finditer(header):
        for param in _LINK_PARAM.finditer(match.group(2)):
            name, quoted, bare = param.groups()
            value = quoted if quoted is not None else bare or ""
            if name.lower() == "rel" and rel in value.lower().split():
                url = urljoin(base, match.group(1).strip())
                if urlsplit(url).scheme in ("http", "https"):
                    found.append(url)
                break
    return tuple(dict.fromkeys(found))
