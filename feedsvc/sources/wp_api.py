"""Reading the WordPress REST API's answers, shared by the posts (wordpress.py) and the
lookups of what posts without ``_embedded`` only name by id (wp_lookups.py), and how those
lookups ask: through the one Fetcher, conditionally on what the previous read kept.

The REST API is loosely typed JSON once plugins have had their say: every value is read
through remote/loose.py, and only what has the expected type is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from feedsvc.errors import FetchError
from feedsvc.model import Problem, RawPost, Severity
from feedsvc.remote.fetch import Fetcher
from feedsvc.remote.loose import as_str, dict_at, value_at
from feedsvc.remote.response import FetchResult, Validators
from feedsvc.sources.base import SourceResult

PER_PAGE = 100  # the REST API's maximum for every collection


def is_id(value: Any) -> bool:
    """A WordPress object id: a positive integer (``true`` is not one, nor is ``"12"``)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def total_pages(result: FetchResult) -> int | None:
    """``X-WP-TotalPages``: how many pages the collection has (REST API Handbook,
    "Pagination")."""
    value = result.headers.get("x-wp-totalpages", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def error_code(result: FetchResult) -> str:
    """The ``code`` of a WP_Error response body: ``{"code": …, "message": …, "data": …}``."""
    try:
        body = json.loads(result.body)
    except (ValueError, RecursionError):
        return ""
    return as_str(value_at(body, "code")).strip()


def image_of(media: Any) -> dict[str, Any] | None:
    """A featured image (an attachment, embedded as ``wp:featuredmedia`` or read from
    ``/wp/v2/media/{id}``) with what is known of it (``filesize`` exists since WordPress
    6.0); None when it is not an image or has no http(s) URL."""
    if not isinstance(media, dict):
        return None
    url = http_url(media.get("source_url"))
    mime_type = as_str(media.get("mime_type")).strip()
    if not url or (mime_type and not mime_type.startswith("image/")):
        return None
    details = dict_at(media, "media_details")
    image: dict[str, Any] = {
        "url": url,
        "type": mime_type,
        "width": _size(details.get("width")),
        "height": _size(details.get("height")),
        "length": _size(details.get("filesize")),
        "alt": as_str(media.get("alt_text")).strip(),
    }
    return {k: v for k, v in image.items() if v}


def author_of(user: Any) -> dict[str, str] | None:
    """A post's author (a user, embedded as ``author`` or read from ``/wp/v2/users/{id}``):
    the name, and the author's archive page as URL; None for an error object, which stands
    in for a user the API will not show."""
    name = as_str(value_at(user, "name")).strip()
    if not name:
        return None
    link = http_url(value_at(user, "link"))
    return {"name": name, "url": link} if link else {"name": name}


def http_url(value: Any) -> str | None:
    text = as_str(value).strip()
    return text if text.lower().startswith(("http://", "https://")) else None


def _size(value: Any) -> int | None:
    return value if is_id(value) else None


# --- lookups ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Api:
    """Where and how to ask: ``root`` is ``https://wp.example/wp-json/wp/v2``; ``headers``
    carry the source's credentials (a private site needs them at every endpoint)."""

    fetcher: Fetcher
    root: str
    headers: Mapping[str, str]


@dataclass
class Lookups:
    """What the lookups gave: the posts with their ids resolved, the problems met, and, by
    URL, the validators and what each answer gave (kept for the next read)."""

    posts: list[RawPost] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    validators: dict[str, Validators] = field(default_factory=dict)
    found: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, url: str, entry: dict[str, Any], validators: Validators | None) -> None:
        self.found[url] = entry
        if validators is not None and (validators.etag or validators.last_modified):
            self.validators[url] = validators

    def keep(self, url: str, previous: SourceResult | None) -> None:
        """What the previous read had for ``url`` (its last good), if it had anything."""
        if previous is not None and url in previous.lookups:
            self.add(url, dict(previous.lookups[url]), previous.validators.get(url))

    def merge(self, other: Lookups) -> None:
        self.problems.extend(other.problems)
        self.validators.update(other.validators)
        self.found.update(other.found)


class LookupFailed(Exception):
    """A lookup that gave nothing usable: ``detail`` says why."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(detail)
        self.url = url
        self.detail = detail

    def problem(self, what: str, kept_note: str, severity: Severity) -> Problem:
        return Problem(
            self.url, 0, f"{what} could not be read: {self.detail} ({kept_note})", severity
        )


async def get_lookup(
    api: Api, url: str, previous: SourceResult | None
) -> tuple[FetchResult, dict[str, Any] | None]:
    """GET ``url``, conditionally when the previous read kept an answer for it; that answer
    too when the server says it has not changed (RFC 9110 §15.4.5)."""
    kept = previous.lookups.get(url) if previous is not None else None
    sent = previous.validators.get(url) if previous is not None and kept is not None else None
    try:
        result = await api.fetcher.fetch(url, sent, headers=api.headers, error_body=True)
    except FetchError as e:
        raise LookupFailed(url, e.message) from e
    if result.status == 304 and sent is not None and kept is not None:
        return result, dict(kept)
    return result, None


def json_of(url: str, result: FetchResult) -> Any:
    try:
        return json.loads(result.body)
    except (ValueError, RecursionError) as e:
        raise LookupFailed(url, f"not JSON, so not the REST API ({e})") from e


def status_detail(result: FetchResult, api: Api) -> str:
    """Why an answer is no use, as the WP_Error ``code`` and the credentials explain it."""
    code = error_code(result)
    detail = f" ({code})" if code else ""
    if result.status in (401, 403) and "Authorization" in api.headers:
        detail += ": not for the source's credentials"
    elif result.status in (401, 403):
        detail += ": not public; set the source's username and password_env"
    return f"HTTP {result.status}{detail}"
