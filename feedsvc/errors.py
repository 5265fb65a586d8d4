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


class AddressRefused(FetchError):
    """The URL's host is, or resolves to, an address the fetch policy refuses."""

    def __init__(self, url: str, address: str, reason: str, hop: str | None = None) -> None:
        self.address = address
        self.reason = reason
        self.hop = hop
        via = f"redirected to {hop}, " if hop else ""
        super().__init__(
            url,
            f"{via}refusing to connect to {address}: {reason}; non-public addresses are "
            "refused unless aggregator.allow_private_addresses is set",
        )


class BodyTooLarge(FetchError):
    """The response body, counted after decompression, exceeds the policy's cap."""

    def __init__(self, url: str, limit: int) -> None:
        self.limit = limit
        super().__init__(url, f"response body exceeds {limit} bytes (after decompression)")


class TooManyRedirects(FetchError):
    """The redirect chain is longer than the policy allows (or loops)."""

    def __init__(self, url: str, limit: int) -> None:
        self.limit = limit
        super().__init__(url, f"more than {limit} redirects")


class UnsupportedScheme(FetchError):
    """The URL, or a redirect's Location, is not http or https."""

    def __init__(self, url: str, scheme: str, hop: str | None = None) -> None:
        self.scheme = scheme
        self.hop = hop
        via = f"redirected to {hop}, " if hop else ""
        super().__init__(url, f"{via}scheme {scheme!r} is not supported, only http and https")


class FetchTimeout(FetchError):
    """Connecting, or the whole fetch including the body, took longer than allowed."""


class ConnectionFailed(FetchError):
    """The connection could not be made or broke (DNS, refused, reset, TLS, bad framing)."""


class ContentDecodingFailed(FetchError):
    """The body's Content-Encoding is unknown or its compressed data is corrupt."""


class FeedParseError(FeedsvcError):
    """A fetched body could not be read as a feed; ``url`` is the response's URL.

    Raised for bodies with nothing usable in them (empty, an HTML page, JSON that
    is not a JSON Feed) and for documents refused on purpose (XML entity declarations).
    """

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")


class StoreError(FeedsvcError):
    """The aggregator's store cannot be opened or written; ``path`` is its file or URL."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class HubRequestError(FeedsvcError):
    """A subscription request the built-in WebSub hub refuses (W3C WebSub §5.1): the
    reason is the body of its 400 answer, naming the parameter at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")


class SnapshotError(FeedsvcError):
    """The snapshot on disk cannot be used (none yet, another version or config, damaged);
    ``path`` is the snapshot file. The service builds from its sources instead."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class LeaseLost(StoreError):
    """A fetch's outcome came after another replica had taken the partner's lease over
    (docs/deploy.md "Replicas"); the outcome is dropped: the other replica's replaces it."""
