"""The URL scheme of docs/urls.md "Feeds", in one place: feed paths, suffixes and media types."""

from __future__ import annotations

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
    return urljoin(public_url, feed_path(path, fmt).lstrip("/"))


def discovery_links(hubs: tuple[str, ...], self_url: str) -> tuple[str, ...]:
    """Link header values (RFC 8288) naming a feed's WebSub hubs and its own URL, the
    topic (W3C WebSub §4); none when no hub is configured."""
    if not hubs:
        return ()
    return (*(f'<{hub}>; rel="hub"' for hub in hubs), f'<{self_url}>; rel="self"')
