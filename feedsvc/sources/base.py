"""What every source reader returns; kept apart so reader modules and the registry can both
import it without importing each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from feedsvc.config import SourceConfig
from feedsvc.model import Problem, RawPost
from feedsvc.remote.fetch import Fetcher, Validators


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The posts a source could read, and a Problem for each item it had to skip.

    ``validators`` are what a remote source's server gave for each URL read (RFC 9110 §8.8),
    keyed by URL; passing this result back as ``previous`` makes the next read conditional.
    """

    posts: tuple[RawPost, ...]
    problems: tuple[Problem, ...]
    validators: Mapping[str, Validators] = field(default_factory=dict)


# A local source, read synchronously (folder).
Reader = Callable[[SourceConfig], SourceResult]


class RemoteReader(Protocol):
    """A source read through the shared Fetcher (wordpress, json, feed).

    ``previous`` is this source's last good result: its validators make the requests
    conditional, and what a 304 confirms is reused from it. A reader returns ``previous``
    itself when the server said nothing changed.
    """

    def __call__(
        self, source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None = None, /
    ) -> Awaitable[SourceResult]: ...
