"""One exception tree: everything feedsvc raises on purpose is a FeedsvcError.

Errors carry where the problem is (file and line, key path, partner, URL) so the
message a user sees can be acted on without reading a traceback.
"""

from __future__ import annotations


class FeedsvcError(Exception):
    """Base of every error feedsvc raises on purpose."""


class ConfigError(FeedsvcError):
    """feeds.toml is unreadable or does not fit the schema.

    ``key`` is the dotted key path (``sources[1].path``); ``file`` the config file.
    """

    def __init__(self, key: str, message: str, file: str | None = None) -> None:
        self.key = key
        self.message = message
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{key}: {message}" if key else f"{where}{message}")


class PostError(FeedsvcError):
    """One post cannot be published. The other posts are unaffected."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")


class SourceError(FeedsvcError):
    """A whole source could not be read (missing folder, failing API)."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message
        super().__init__(f"source {source!r}: {message}")


class FetchError(FeedsvcError):
    """A network fetch failed; ``url`` is the URL that was asked for."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")
