"""What every source type is made of (``SourceType``: its keys, its rules, its reader) and what
every reader returns; kept apart so reader modules and the registry can both import it
without importing each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from feedsvc.config import PostsConfig, SourceConfig
from feedsvc.model import Problem, RawPost
from feedsvc.remote.response import Validators

if TYPE_CHECKING:  # only remote readers use it, and they import it (sources/__init__.py)
    from feedsvc.remote.fetch import Fetcher


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The posts a source could read, and a Problem for each item it had to skip.

    ``validators`` are what a remote source's server gave for each URL read (RFC 9110 §8.8),
    keyed by URL; passing this result back as ``previous`` makes the next read conditional.
    ``lookups`` are what a source read besides its posts, keyed by URL too (a WordPress
    site's terms and featured images: sources/wp_lookups.py), so that a 304 for that URL
    reuses it and a lookup that fails keeps it as its last good.
    """

    posts: tuple[RawPost, ...]
    problems: tuple[Problem, ...]
    validators: Mapping[str, Validators] = field(default_factory=dict)
    lookups: Mapping[str, dict[str, Any]] = field(default_factory=dict)


# One read of a local source, synchronously (in a thread), within the limits of [posts].
Reader = Callable[[SourceConfig, PostsConfig], SourceResult]


class LocalReader(Protocol):
    """A source read on this machine (folder), kept between reads so that it can read again
    only what changed; ``source`` and ``limits`` are the config it was made for."""

    source: SourceConfig
    limits: PostsConfig

    def read(self) -> SourceResult: ...


class RemoteReader(Protocol):
    """A source read through the shared Fetcher (wordpress, json, feed).

    ``previous`` is this source's last good result: its validators make the requests
    conditional, and what a 304 confirms is reused from it. A reader returns ``previous``
    itself when the server said nothing changed.
    """

    def __call__(
        self, source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None = None, /
    ) -> Awaitable[SourceResult]: ...


# The rules across one source type's keys, run by load_config after those every type shares:
# a ConfigError naming the key under ``where`` ("sources[1]"). Paths are checked afterwards.
Check = Callable[[SourceConfig, str], None]


@dataclass(frozen=True, slots=True)
class SourceType:
    """One kind of source (``type = "folder"``) and all that feedsvc knows of it. A new kind is
    a new module that defines one, and one line in ``feedsvc/sources/__init__.py``.

    ``keys``: which of ``path``, ``url``, ``username`` and ``password_env`` it reads (setting
    another is an error); ``check``: its own rules; ``path_kind``: what its ``path`` names,
    which load_config checks exists and the live service watches. Exactly one reader:
    ``local`` makes a LocalReader, ``remote`` reads through the shared Fetcher (a URL, and for
    some types a path too).
    """

    name: str
    keys: frozenset[str]
    check: Check
    path_kind: Literal["folder", "file"] = "file"
    local: Callable[[SourceConfig, PostsConfig], LocalReader] | None = None
    remote: RemoteReader | None = None

    def __post_init__(self) -> None:
        if (self.local is None) == (self.remote is None):
            raise ValueError(f"source type {self.name!r} needs exactly one reader")
