"""Post sources (SPEC §4): one module per source type, each a ``Reader``.

A reader turns its source into RawPosts plus a Problem per item it skipped; a source that
cannot be read at all raises SourceError. A new source type is a new module and one line in
``READERS``.
"""

from __future__ import annotations

from feedsvc.config import SourceConfig
from feedsvc.errors import SourceError
from feedsvc.sources.base import Reader, SourceResult
from feedsvc.sources.folder import read_folder

READERS: dict[str, Reader] = {
    "folder": read_folder,
}


def read_source(source: SourceConfig) -> SourceResult:
    """Read one configured source with the reader for its type."""
    reader = READERS.get(source.type)
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise SourceError(
            source.name, f"no reader for source type {source.type!r} (known: {known})"
        )
    return reader(source)


__all__ = ["READERS", "Reader", "SourceResult", "read_source"]
