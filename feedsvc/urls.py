"""The URL scheme of docs/urls.md "Feeds", in one place: feed paths, suffixes and media types."""

from __future__ import annotations

import re
from urllib.parse import urljoin

FORMAT_SUFFIX = {"atom": ".atom", "rss": ".rss", "json": ".json"}

# RFC 4287 §7, the RSS Advisory Board's registration, JSON Feed 1.1 §"Content type".
MEDIA_TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}


def feed_path(path: str, fmt: str) -> str:
    """URL path of one format of a feed: ``category/x`` + ``atom`` → ``/category/x.atom``."""
    return f"/{path}{FORMAT_SUFFIX[fmt]}"


def feed_url(public_url: str, path: str, fmt: str) -> str:
    """Absolute URL of one format of a feed, under the service's public URL."""
    return join_url(public_url, feed_path(path, fmt).lstrip("/"))


def discovery_links(hubs: tuple[str, ...], self_url: str) -> tuple[str, ...]:
    """Link header values (RFC 8288) naming a feed's WebSub hubs and its own URL, the
    topic (W3C WebSub §4); none when no hub is configured."""
    if not hubs:
        return ()
    return (*(f'<{hub}>; rel="hub"' for hub in hubs), f'<{self_url}>; rel="self"')


def join_url(base_url: str, reference: str) -> str:
    """``urljoin(base_url, reference)``, the same string, faster for plain http(s) URLs (a
    post's own links, every feed's URLs)."""
    return plain_join(base_url, reference) or urljoin(base_url, reference)


# An http(s) base URL and a reference that is either such a URL too or a relative one made
# of path characters only (RFC 3986 §3.3 pchar and "/", without ":" and ";", which urllib
# treats apart; no query, no fragment, not "//"): resolving one against the other is path
# arithmetic alone (RFC 3986 §5.2), which ``plain_join`` does as ``urljoin`` does, quirks
# included (empty segments of a merged path dropped), in a third of the time. Every post has
# a few such links, every feed a few more; tests pin the equality
# (tests/test_normalize_html.py).
_PATH_CHARACTERS = r"A-Za-z0-9._~!$&'()*+,=@%-"
_PLAIN_BASE = re.compile(rf"(https?)://([A-Za-z0-9.-]+(?::[0-9]*)?)((?:/[{_PATH_CHARACTERS}]*)*)")
_PATH_REFERENCE = re.compile(rf"(?!//)[{_PATH_CHARACTERS}/]+")


def plain_join(base_url: str, reference: str) -> str | None:
    """What ``urljoin`` gives for a base and reference of the kinds above, else None."""
    base = _PLAIN_BASE.fullmatch(base_url)
    if base is None:
        return None
    if _PLAIN_BASE.fullmatch(reference):
        return reference  # urljoin gives an absolute URL back as it is, dot segments and all
    if _PATH_REFERENCE.fullmatch(reference) is None:
        return None
    scheme, netloc, base_path = base.groups()
    if reference[0] == "/":
        segments = reference.split("/")
    else:
        segments = base_path.split("/")
        if segments[-1]:
            del segments[-1]  # the base's last segment is replaced (RFC 3986 §5.2.3)
        segments += reference.split("/")
        segments[1:-1] = filter(None, segments[1:-1])
    resolved: list[str] = []  # RFC 3986 §5.2.4, dot segments removed
    for segment in segments:
        if segment == "..":
            if resolved:
                resolved.pop()
        elif segment != ".":
            resolved.append(segment)
    if segments[-1] in (".", ".."):
        resolved.append("")
    path = "/".join(resolved) or "/"
    return f"{scheme}://{netloc}{path if path[0] == '/' else '/' + path}"
