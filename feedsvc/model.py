"""The one model every source adapts into. Frozen, hashable, and always in UTC.

Sources produce ``RawPost`` (what a file or an API said, unvalidated); the
normalizer turns each into a ``Post`` or reports a ``Problem``. Everything after
normalization (grouping, rendering, merging) only ever sees ``Post``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, Protocol, TypeVar

_C = TypeVar("_C", bound=type)


def _pickled_as_fields(cls: _C) -> _C:
    """``cls`` pickles as its constructor and the tuple of its fields.

    A slots dataclass otherwise pickles through dataclasses' ``__getstate__`` and
    ``__setstate__``, Python loops over ``fields()`` on both sides: every Post a normalize
    worker makes crosses to the parent pickled (issue 12: 10,000 posts pickled and unpickled
    in 0.26 s instead of 0.18 s). The class must have two fields or more (attrgetter of one
    name gives the value, not a tuple).
    """
    values = attrgetter(*(f.name for f in fields(cls)))

    def reduce(self: object) -> tuple[type, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]
    return cls


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Category:
    """A category keeps its label for display and a slug for URLs."""

    label: str
    slug: str


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str | None = None
    url: str | None = None


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Image:
    url: str
    mime_type: str | None = None
    length: int | None = None  # bytes; RSS enclosures need it (RSS 2.0 spec, <enclosure>)
    width: int | None = None
    height: int | None = None
    alt: str | None = None


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Translation:
    """A link from a post to the same post in another language (hreflang)."""

    lang: str
    url: str
    title: str


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Origin:
    """Where an aggregated entry came from (atom:source, RSS <source>, JSON _source)."""

    name: str
    title: str
    feed_url: str
    home_url: str | None = None


class Detection(StrEnum):
    """What language detection made of a post without an explicit language."""

    DETECTED = "detected"  # the post's language is the guess
    LOW_CONFIDENCE = "low-confidence"  # the guess fell short of site.detect_confidence
    TOO_SHORT = "too-short"  # too little body text to guess from


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """Language detection's verdict on one post (docs/architecture.md "Languages")."""

    outcome: Detection
    lang: str  # the likeliest candidate language ("" when too short)
    confidence: float  # its probability among every language the detector knows, 0–1


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Post:
    """A normalized post. Datetimes are aware UTC; text holds only XML 1.0 characters."""

    id: str
    url: str
    title: str
    published: datetime
    updated: datetime
    lang: str
    summary: str
    content_html: str
    categories: tuple[Category, ...] = ()
    tags: tuple[str, ...] = ()
    authors: tuple[Author, ...] = ()
    image: Image | None = None
    translation_key: str | None = None
    translations: tuple[Translation, ...] = ()
    origin: Origin | None = None
    # Set when the post had no explicit language and site.detect_language is on.
    lang_guess: LanguageGuess | None = None
    # Where the post was read from, for problem reports ("posts/a.md").
    source_path: str = ""


@dataclass(frozen=True, slots=True)
class RawPost:
    """What a source read, before normalization: front matter plus body.

    ``meta`` holds front-matter keys (docs/config.md "Post front matter") as the source gave them;
    ``body`` is Markdown or HTML according to ``body_format``.
    ``line`` is where the post starts in ``path``; ``meta_lines`` maps a
    front-matter key to its line so errors can point at it.
    """

    path: str
    # Stable key of the post within its source (a folder post's path relative to
    # the folder, without extension); permanent ids are minted from it
    # (docs/architecture.md "Permanent ids").
    key: str
    meta: dict[str, Any]
    body: str
    body_format: str  # "markdown" | "html"
    line: int = 1
    meta_lines: dict[str, int] = field(default_factory=dict)
    source: str = ""
    # Defaults a source config gives its posts (`sources[].categories` and
    # `sources[].lang` in docs/config.md).
    default_categories: tuple[str, ...] = ()
    default_lang: str | None = None
    # ``meta["lang"]`` is the language a whole feed states (RSS <language>, the root's xml:lang,
    # a JSON Feed's language) rather than the entry's own: a site states it for every entry,
    # whatever each is written in, so language detection may replace it (docs/config.md
    # "Languages").
    lang_from_feed: bool = False
    # Remote sources publish untitled posts (WordPress asides and status posts, titleless RSS
    # items), as WordPress's own feeds do; a folder post without a title is a mistake.
    untitled_allowed: bool = False


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """A reported result: a post or source that was skipped, with where and why."""

    path: str
    line: int
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def last_good_kept(self) -> Problem:
        """This problem, saying that the item's last good version is still published
        (docs/architecture.md "Last good wins": a bad change never replaces good output)."""
        return replace(self, message=self.message + KEPT_NOTE)


# What a problem says when the item that turned bad keeps its last good version.
KEPT_NOTE = "; its last good version is still published"


class FeedKind(StrEnum):
    SITE = "site"
    CATEGORY = "category"
    TAG = "tag"
    LANGUAGE = "language"
    LANGUAGE_CATEGORY = "language-category"
    ARCHIVE = "archive"
    PARTNERS = "partners"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class Feed:
    """One logical feed: which posts it holds and how it is titled.

    ``path`` is the URL path without the format suffix (``category/labor-trafficking``);
    each format is served at ``/{path}.{atom,rss,json}``.
    """

    kind: FeedKind
    path: str
    title: str
    description: str
    html_url: str
    lang: str | None
    posts: tuple[Post, ...]
    updated: datetime
    # RFC 5005 §4: an archived feed is complete and never changes.
    archive: bool = False
    # RFC 5005 navigation between archive documents, as feed paths (no suffix).
    prev_archive: str | None = None
    next_archive: str | None = None
    current: str | None = None


class _Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def published(self) -> datetime: ...


_D = TypeVar("_D", bound=_Dated)


def newest_first(items: Iterable[_D]) -> list[_D]:
    """The order of every feed: published descending, then id ascending, so equal dates
    never order differently from one run or replica to another
    (docs/architecture.md "Determinism")."""
    ordered = sorted(items, key=lambda item: item.id)
    ordered.sort(key=lambda item: item.published, reverse=True)  # stable: ids stay in order
    return ordered
