"""What /status reports, as types, and its one serialization to JSON.

The pipeline makes a ``BuildStatus`` with each snapshot (posts, feeds, skipped posts,
sources); a running service (``feedsvc serve``) reports a ``ServiceStatus``: the same
fields, then the live state of the config, the rebuilds, the webhook and the partners.
``status_data`` turns either into the JSON-able dict that clients see, and ``status_json``
into its bytes; docs/urls.md describes every key (``status_keys``; tests/test_docs.py).

Pure: no I/O, no clock, no web framework.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from feedsvc.model import Detection, Post, Problem

# A field with this metadata is left out of the JSON while it is None: the key exists only
# where it means something (a source's ``watch`` only when it is watched).
_ONLY_WHEN_SET = {"only_when_set": True}


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source: how many posts its last good read gave, and its last error."""

    name: str
    type: str
    posts: int
    last_success: datetime | None
    error: str | None
    # In a running service: how a local source is watched (live/watch.py's modes), or
    # how often a remote one is read, and why its watcher or timer stopped, if it did.
    watch: str | None = field(default=None, metadata=_ONLY_WHEN_SET)
    interval: str | None = field(default=None, metadata=_ONLY_WHEN_SET)
    watch_error: str | None = field(default=None, metadata=_ONLY_WHEN_SET)


@dataclass(frozen=True, slots=True)
class ScheduledPost:
    """A post dated in the future: published when its date comes, not before."""

    path: str
    id: str
    title: str
    date: datetime


@dataclass(frozen=True, slots=True)
class DetectedLanguage:
    lang: str
    posts: int


@dataclass(frozen=True, slots=True)
class GuessedPost:
    """One post language detection looked at: its best candidate and that one's probability."""

    path: str
    lang: str
    confidence: float


@dataclass(frozen=True, slots=True)
class LanguageStatus:
    """site.detect_language at work: how many published posts got a detected language, per
    language, and how many kept the default because no candidate was likely enough or the
    text was too short; with the first few of each, by path (docs/urls.md)."""

    candidates: tuple[str, ...]
    detected: int
    per_language: tuple[DetectedLanguage, ...]
    low_confidence: int
    too_short: int
    detected_sample: tuple[GuessedPost, ...]
    low_confidence_sample: tuple[GuessedPost, ...]

    @classmethod
    def of(cls, posts: Sequence[Post], candidates: tuple[str, ...]) -> LanguageStatus:
        by_outcome: dict[Detection, list[Post]] = {outcome: [] for outcome in Detection}
        for post in sorted(posts, key=lambda p: p.source_path):
            if post.lang_guess is not None:
                by_outcome[post.lang_guess.outcome].append(post)
        detected = by_outcome[Detection.DETECTED]
        low = by_outcome[Detection.LOW_CONFIDENCE]
        counts = Counter(post.lang for post in detected)
        return cls(
            candidates=candidates,
            detected=len(detected),
            per_language=tuple(DetectedLanguage(lang, counts[lang]) for lang in sorted(counts)),
            low_confidence=len(low),
            too_short=len(by_outcome[Detection.TOO_SHORT]),
            detected_sample=_guessed(detected),
            low_confidence_sample=_guessed(low),
        )


# How many posts each sample of LanguageStatus names: enough to check, bounded on any site.
SAMPLE_POSTS = 10


def _guessed(posts: Sequence[Post]) -> tuple[GuessedPost, ...]:
    return tuple(
        GuessedPost(post.source_path, post.lang_guess.lang, post.lang_guess.confidence)
        for post in posts[:SAMPLE_POSTS]
        if post.lang_guess is not None
    )


@dataclass(frozen=True, slots=True)
class BuildStatus:
    """What one build read and rendered; ``skipped`` are the problems met on the way."""

    posts: int
    drafts: int
    scheduled: tuple[ScheduledPost, ...]
    feeds: int
    built_at: datetime
    skipped: tuple[Problem, ...]
    sources: tuple[SourceStatus, ...]
    languages: LanguageStatus | None = field(metadata=_ONLY_WHEN_SET)  # None: detection off


@dataclass(frozen=True, slots=True)
class RebuildStatus:
    """The last build or rebuild of a running service."""

    at: datetime
    trigger: str
    seconds: float
    posts_normalized: int
    feeds_rendered: int
    rendered: tuple[str, ...]  # the first few paths of the feeds it re-rendered


@dataclass(frozen=True, slots=True)
class ConfigStatus:
    file: str | None
    loaded_at: datetime


@dataclass(frozen=True, slots=True)
class PartnerStatus:
    """One partner of the aggregator: where it is fetched from, and how that goes."""

    name: str
    title: str
    url: str
    original_url: str
    moved: bool
    moved_note: str | None
    state: str  # aggregate/schedule.py's State
    last_status: int | None
    last_error: str | None
    bozo: str | None  # why the last document was malformed, when it was
    entries: int
    failures: int
    last_fetch: datetime | None
    last_success: datetime | None
    next_fetch: datetime | None
    unstable_ids: bool


@dataclass(frozen=True, slots=True)
class WebsubFailure:
    """A failed verification or delivery, or a subscription that ended."""

    at: datetime
    callback: str
    error: str


@dataclass(frozen=True, slots=True)
class TopicStatus:
    """One feed of the built-in hub: its subscribers and what went wrong lately."""

    topic: str
    active: int
    pending: int
    recent_failures: tuple[WebsubFailure, ...]


@dataclass(frozen=True, slots=True)
class HubStatus:
    """The built-in WebSub hub: subscriptions, and counts since start-up."""

    url: str
    active: int
    pending: int
    verified: int
    refused: int
    delivered: int
    retried: int
    failed: int
    topics: tuple[TopicStatus, ...]


@dataclass(frozen=True, slots=True)
class ExternalHubStatus:
    """One external hub: how publishing changed feeds to it went since start-up."""

    url: str
    published: int
    retried: int
    failed: int
    last_success: datetime | None
    recent_failures: tuple[WebsubFailure, ...]  # ``callback`` holds the feed URL here


@dataclass(frozen=True, slots=True)
class PartnerHubStatus:
    """The aggregator's subscription to one partner's hub."""

    partner: str
    hub: str
    topic: str
    state: str  # "subscribing", "active", "expired", "denied" or "failed"
    expires_at: datetime | None
    error: str | None
    deliveries: int  # since start-up, with a valid signature
    bad_signatures: int  # since start-up: deliveries ignored for a missing or wrong signature


@dataclass(frozen=True, slots=True)
class WebsubStatus:
    """WebSub: the built-in hub, the external hubs changed feeds are published to, and the
    aggregator's subscriptions to partners' hubs."""

    hub: HubStatus | None = field(default=None, metadata=_ONLY_WHEN_SET)
    external_hubs: tuple[ExternalHubStatus, ...] | None = field(
        default=None, metadata=_ONLY_WHEN_SET
    )
    partner_hubs: tuple[PartnerHubStatus, ...] | None = field(default=None, metadata=_ONLY_WHEN_SET)


@dataclass(frozen=True, slots=True)
class ServiceStatus(BuildStatus):
    """A running service's /status: the served snapshot's build, then the live state."""

    config: ConfigStatus
    config_error: str | None  # the last reload's, until a reload succeeds
    last_rebuild: RebuildStatus | None
    rebuild_error: str | None
    rebuilds: int
    webhook: str  # "enabled" or "disabled"
    partners: tuple[PartnerStatus, ...] | None = field(default=None, metadata=_ONLY_WHEN_SET)
    websub: WebsubStatus | None = field(default=None, metadata=_ONLY_WHEN_SET)


def status_data(status: BuildStatus) -> dict[str, Any]:
    """The JSON-able form of ``status``: what clients of /status see."""
    data = _jsonable(status)
    assert isinstance(data, dict)
    return data


def status_json(status: BuildStatus) -> bytes:
    """/status as JSON: the one place the status is serialized."""
    text = json.dumps(status_data(status), indent=2, ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get("only_when_set") and getattr(value, f.name) is None)
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def status_keys(root: type = ServiceStatus) -> set[str]:
    """Every key that /status can hold, at any depth (for the docs test)."""
    keys: set[str] = set()
    pending: list[Any] = [root]
    seen: set[type] = set()
    while pending:
        hint = pending.pop()
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            if hint in seen:
                continue
            seen.add(hint)
            hints = typing.get_type_hints(hint)
            for f in dataclasses.fields(hint):
                keys.add(f.name)
                pending.append(hints[f.name])
        else:
            pending.extend(typing.get_args(hint))
    return keys
