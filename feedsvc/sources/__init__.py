"""Post sources (docs/config.md "[[sources]]"): one module per source type, each a reader.

A reader turns its source into RawPosts plus a Problem per item it skipped; a source that
cannot be read at all raises SourceError (the caller keeps that source's last good posts).
Each type module ends with its ``SOURCE_TYPE`` entry (its keys, its config rules, its
reader): a new source type is a new module and one line in ``_TYPE_MODULES``.

A type's module is imported when a source of that type is first looked up, and the network
layer (``feedsvc.remote``: aiohttp, feedparser) only with a remote type's module or the
Fetcher: a site of local folders never loads it, which was 0.15 s of the serial start of
its every build (docs/benchmarks.md "The serial start").
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from feedsvc.config import Config, PostsConfig, SourceConfig
from feedsvc.errors import SourceError
from feedsvc.sources.base import LocalReader, Reader, RemoteReader, SourceResult, SourceType

if TYPE_CHECKING:
    from feedsvc.remote.fetch import Fetcher, FetchPolicy

_TYPE_MODULES = {
    "folder": "feedsvc.sources.folder",
    "json": "feedsvc.sources.jsonfile",
    "wordpress": "feedsvc.sources.wordpress",
    "feed": "feedsvc.sources.feed",
}


class _SourceTypes(Mapping[str, SourceType]):
    """Every source type by name; a type's module is imported when it is first looked up."""

    def __getitem__(self, name: str) -> SourceType:
        entry: SourceType = importlib.import_module(_TYPE_MODULES[name]).SOURCE_TYPE
        return entry

    def __contains__(self, name: object) -> bool:
        return name in _TYPE_MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(_TYPE_MODULES)

    def __len__(self) -> int:
        return len(_TYPE_MODULES)


SOURCE_TYPES: Mapping[str, SourceType] = _SourceTypes()


def source_type(source: SourceConfig) -> SourceType:
    """The registry entry of ``source``'s type; load_config refuses unknown types, so only a
    hand-built SourceConfig meets the SourceError."""
    entry = SOURCE_TYPES.get(source.type)
    if entry is None:
        known = ", ".join(SOURCE_TYPES)
        raise SourceError(source.name, f"unknown source type {source.type!r} (known: {known})")
    return entry


def is_remote(source: SourceConfig) -> bool:
    """Whether ``source`` is read through the shared Fetcher (else on this machine, where an
    unknown type meets its SourceError)."""
    entry = SOURCE_TYPES.get(source.type)
    return entry is not None and entry.remote is not None


def open_local(source: SourceConfig, limits: PostsConfig) -> LocalReader:
    """A reader for one local source, to keep and read again (it re-reads only changes)."""
    entry = source_type(source)
    if entry.local is None:
        raise SourceError(source.name, f"a {source.type} source is read through the fetcher")
    return entry.local(source, limits)


def read_source(source: SourceConfig, limits: PostsConfig) -> SourceResult:
    """Read one configured local source once."""
    return open_local(source, limits).read()


async def read_remote_source(
    source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None = None
) -> SourceResult:
    """Read one configured remote source; ``previous`` (its last good result) makes the
    requests conditional, and is returned as is when the server says nothing changed."""
    reader = source_type(source).remote
    if reader is None:
        raise SourceError(source.name, f"a {source.type} source is read on this machine")
    return await reader(source, fetcher, previous)


def source_fetcher(config: Config) -> Fetcher:
    """The one Fetcher the site's remote sources share (``source_fetch_policy``); enter it."""
    from feedsvc.remote.fetch import Fetcher  # the network layer, for remote sources only

    return Fetcher(source_fetch_policy(config))


def source_fetch_policy(config: Config) -> FetchPolicy:
    """The fetch policy for the site's own sources.

    Unlike partners' feeds, sources are configured by the site's operator, and the site's
    CMS often lives on a private network (``http://10.0.0.5/``, ``http://wordpress:80/``),
    so private and loopback addresses are allowed. Every other limit (timeouts, body cap,
    redirects) is the fetcher's default.
    """
    from feedsvc.remote.fetch import FetchPolicy, user_agent  # as in source_fetcher

    return FetchPolicy(allow_private_addresses=True, user_agent=user_agent(config.site.url))


__all__ = [
    "SOURCE_TYPES",
    "LocalReader",
    "Reader",
    "RemoteReader",
    "SourceResult",
    "SourceType",
    "is_remote",
    "open_local",
    "read_remote_source",
    "read_source",
    "source_fetch_policy",
    "source_fetcher",
    "source_type",
]
