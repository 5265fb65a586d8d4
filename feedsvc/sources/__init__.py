"""Post sources (docs/config.md "[[sources]]"): one module per source type, each a reader.

A reader turns its source into RawPosts plus a Problem per item it skipped; a source that
cannot be read at all raises SourceError (the caller keeps that source's last good posts).
A new source type is a new module and one line in ``READERS`` (local, synchronous: folder)
or ``REMOTE_READERS`` (read through the shared Fetcher: wordpress, json, feed).
"""

from __future__ import annotations

from feedsvc.config import Config, SourceConfig
from feedsvc.errors import SourceError
from feedsvc.remote.fetch import Fetcher, FetchPolicy, user_agent
from feedsvc.sources.base import Reader, RemoteReader, SourceResult
from feedsvc.sources.feed import read_feed
from feedsvc.sources.folder import read_folder
from feedsvc.sources.jsonfile import read_json
from feedsvc.sources.wordpress import read_wordpress

READERS: dict[str, Reader] = {
    "folder": read_folder,
}

REMOTE_READERS: dict[str, RemoteReader] = {
    "json": read_json,
    "wordpress": read_wordpress,
    "feed": read_feed,
}


def read_source(source: SourceConfig) -> SourceResult:
    """Read one configured local source with the reader for its type."""
    reader = READERS.get(source.type)
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise SourceError(
            source.name, f"no reader for source type {source.type!r} (known: {known})"
        )
    return reader(source)


async def read_remote_source(
    source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None = None
) -> SourceResult:
    """Read one configured remote source; ``previous`` (its last good result) makes the
    requests conditional, and is returned as is when the server says nothing changed."""
    reader = REMOTE_READERS.get(source.type)
    if reader is None:
        known = ", ".join(sorted(REMOTE_READERS))
        raise SourceError(
            source.name, f"no remote reader for source type {source.type!r} (known: {known})"
        )
    return await reader(source, fetcher, previous)


def source_fetch_policy(config: Config) -> FetchPolicy:
    """The fetch policy for the site's own sources.

    Unlike partners' feeds, sources are configured by the site's operator, and the site's
    CMS often lives on a private network (``http://10.0.0.5/``, ``http://wordpress:80/``),
    so private and loopback addresses are allowed. Every other limit (timeouts, body cap,
    redirects) is the fetcher's default.
    """
    return FetchPolicy(allow_private_addresses=True, user_agent=user_agent(config.site.url))


__all__ = [
    "READERS",
    "REMOTE_READERS",
    "Reader",
    "RemoteReader",
    "SourceResult",
    "read_remote_source",
    "read_source",
    "source_fetch_policy",
]
