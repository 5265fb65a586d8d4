"""What the remote-capable sources (wordpress, json, feed) share: one document from a URL
through the shared Fetcher, or from a local file, with failures as SourceErrors.

Network policy (timeouts, caps, redirects, addresses) is the Fetcher's alone; this module only
decides what a status means for a source, and how items are named in problem reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from feedsvc.config import SourceConfig, check_url
from feedsvc.errors import ConfigError, FetchError, SourceError
from feedsvc.model import Problem, RawPost
from feedsvc.remote.fetch import Fetcher
from feedsvc.remote.response import FetchResult, Validators
from feedsvc.sources.base import SourceResult
from feedsvc.sources.walk import display_path


def check_path_or_url(source: SourceConfig, where: str) -> None:
    """The config rule of the types that read one document (json, feed): a local file or a
    URL, not both."""
    if bool(source.path) == bool(source.url):
        raise ConfigError(f"{where}.path", f"a {source.type} source needs either path or url")
    if source.url:
        check_url(source.url, f"{where}.url")


def item_path(location: str, index: int) -> str:
    """Where item ``index`` (1-based) of a document is, for problem reports and duplicate-id
    messages: ``https://wp.example/wp-json/wp/v2/posts?page=2#item-5``, ``posts.json#item-3``."""
    return f"{location}#item-{index}"


def document_of(path: str) -> str:
    """The document an ``item_path`` points into."""
    return path.partition("#item-")[0]


async def fetch(
    source: SourceConfig,
    fetcher: Fetcher,
    url: str,
    validators: Validators | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    error_body: bool = False,
) -> FetchResult:
    """GET ``url`` through the shared fetcher; failures below HTTP become a SourceError."""
    try:
        return await fetcher.fetch(url, validators, headers=headers, error_body=error_body)
    except FetchError as e:
        raise SourceError(source.name, str(e)) from e


async def read_local(source: SourceConfig) -> bytes:
    """The bytes of ``source.path`` (made absolute by the config), read off the event loop."""
    file = Path(source.path)
    try:
        return await asyncio.to_thread(file.read_bytes)
    except OSError as e:
        raise SourceError(
            source.name, f"cannot read {display_path(file)}: {e.strerror or e}"
        ) from e


@dataclass(frozen=True, slots=True)
class Document:
    """One document a source read: its bytes, where it is (as problem reports show it), the
    base of its relative links, the response headers (none for a file) and the validators
    to send next time."""

    body: bytes
    location: str
    base_url: str
    headers: dict[str, str]
    validators: dict[str, Validators]


async def read_document(
    source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None
) -> Document | SourceResult:
    """``source``'s one document, from ``source.url`` or ``source.path``.

    For a URL the request is conditional on ``previous``'s validators, and when the server
    answers 304 (RFC 9110 §15.4.5) ``previous`` itself is returned: nothing changed.
    """
    if not source.url:
        # Relative links in a file resolve to file: URLs, which parsers and the sanitizer
        # drop: nothing is guessed.
        file = Path(source.path)
        return Document(await read_local(source), display_path(file), file.as_uri(), {}, {})
    sent = previous.validators.get(source.url) if previous is not None else None
    result = await fetch(source, fetcher, source.url, sent)
    if result.status == 304 and previous is not None and sent is not None:
        return previous
    if result.status != 200:
        raise http_error(source, result)
    validators = kept_validators(source.url, result)
    # RFC 9110 §10.2.2 / RFC 3986 §5.1.3: after redirects, the final URL is the base.
    return Document(result.body, source.url, result.url, result.headers, validators)


def http_error(source: SourceConfig, result: FetchResult, detail: str = "") -> SourceError:
    """A status the source cannot use, as the SourceError the caller reports."""
    reason = f"HTTP {result.status} from {result.url}"
    return SourceError(source.name, f"{reason}: {detail}" if detail else reason)


def kept_validators(url: str, result: FetchResult) -> dict[str, Validators]:
    """The validators worth storing for ``url``: none when the server gave neither header."""
    v = result.validators
    return {url: v} if v.etag or v.last_modified else {}


def reused(previous: SourceResult, location: str) -> tuple[list[RawPost], list[Problem]]:
    """``previous``'s posts and problems that came from the document at ``location``."""
    posts = [p for p in previous.posts if document_of(p.path) == location]
    problems = [p for p in previous.problems if document_of(p.path) == location]
    return posts, problems
