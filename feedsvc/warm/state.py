"""What a running service knows about its inputs, as snapshot records, and back.

A warm start must rebuild "exactly as a live edit does": re-read only the files whose stamp
changed, normalize only the posts whose raw form changed, render only the feeds whose posts
changed. So the snapshot keeps what those three steps remember between rebuilds:

- each folder source's ``FolderReader`` memory: every file's stamp (mtime, ctime, size,
  inode) and RawPost, and when it last walked (feedsvc.sources.folder);
- the ``NormalizeCache``: each RawPost and what normalizing it gave (feedsvc.normalize.cache);
- each source's last good result (its posts, problems and, for a remote source, the
  validators that make its next read conditional and what it looked up besides its posts)
  and last error;
- the partners' posts the last build merged (aggregator mode).

The feeds themselves are not stored: grouping the restored posts gives them again in a few
tens of milliseconds, exactly as the build that wrote the snapshot grouped them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import msgspec

from feedsvc.config import Config
from feedsvc.errors import SnapshotError
from feedsvc.model import Post, Problem, RawPost
from feedsvc.normalize.cache import NormalizeCache, NormalizedEntry
from feedsvc.normalize.language import with_known_languages
from feedsvc.pipeline import SourceState
from feedsvc.sources import SourceResult
from feedsvc.sources.base import Validators
from feedsvc.sources.folder import FolderMemory, FolderReader, RememberedFile


class _Record(msgspec.Struct, tag_field="record", forbid_unknown_fields=True):
    """A line of the state: its kind is its "record" field."""


class RawRecord(_Record, tag="raw"):
    """One RawPost, and what normalizing it gave when it was (both None: a draft).

    ``last_good`` is left out (None) when it is ``post`` itself, as it is for every post
    that normalized well (normalize/cache.py): written twice, it was a third of the state,
    46 MB of the bench site's 225 MB snapshot."""

    raw: RawPost
    normalized: bool
    post: Post | None = None
    problem: Problem | None = None
    last_good: Post | None = None


class ResultRecord(msgspec.Struct, forbid_unknown_fields=True):
    posts: list[str]  # RawPost paths, in the source's order
    problems: list[Problem]
    validators: dict[str, Validators]
    lookups: dict[str, dict[str, Any]] = {}


class SourceRecord(_Record, tag="source"):
    name: str
    type: str
    result: ResultRecord | None
    error: str | None
    last_success: datetime | None


class FileRecord(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    relative: str
    stamp: tuple[int, int, int, int]
    raw: str | None  # a RawPost path
    problem: Problem | None
    digest: bytes  # of the bytes ``raw`` was read from


class FolderRecord(_Record, tag="folder"):
    source: str
    walked_at_ns: int
    walk_problems: list[Problem]
    files: list[FileRecord]


class PartnerRecord(_Record, tag="partner"):
    post: Post


Record = RawRecord | SourceRecord | FolderRecord | PartnerRecord


@dataclass(frozen=True, slots=True)
class WarmState:
    """What the Publisher remembers between rebuilds, as one build left it."""

    states: Mapping[str, SourceState]
    folders: Mapping[str, FolderMemory]
    normalized: Sequence[NormalizedEntry]
    partner_posts: Sequence[Post]


def encode_state(state: WarmState) -> Iterator[bytes]:
    """One JSON line per record; SnapshotError when two RawPosts share a path (the records
    refer to RawPosts by path)."""
    encode = msgspec.json.Encoder().encode
    raws: dict[str, RawPost] = {}

    def ref(raw: RawPost) -> str:
        known = raws.setdefault(raw.path, raw)
        if known is not raw and known != raw:
            raise SnapshotError(raw.path, "two posts read from one path; state not kept")
        return raw.path

    normalized = {}
    for entry in state.normalized:
        ref(entry.raw)
        normalized[entry.raw.path] = entry
    sources = []
    for name, source_state in state.states.items():
        result = source_state.result
        sources.append(
            SourceRecord(
                name=name,
                type=source_state.type,
                result=None
                if result is None
                else ResultRecord(
                    [ref(raw) for raw in result.posts],
                    list(result.problems),
                    dict(result.validators),
                    dict(result.lookups),
                ),
                error=source_state.error,
                last_success=source_state.last_success,
            )
        )
    folders = []
    for name, memory in state.folders.items():
        files = [
            FileRecord(
                relative, f.stamp, None if f.post is None else ref(f.post), f.problem, f.digest
            )
            for relative, f in memory.files.items()
        ]
        folders.append(FolderRecord(name, memory.walked_at_ns, list(memory.walk_problems), files))
    for path, raw in raws.items():
        known = normalized.get(path)
        if known is None:
            yield encode(RawRecord(raw, normalized=False))
            continue
        outcome = known.result
        yield encode(
            RawRecord(
                raw,
                normalized=True,
                post=outcome if isinstance(outcome, Post) else None,
                problem=outcome if isinstance(outcome, Problem) else None,
                last_good=None if known.last_good is outcome else known.last_good,
            )
        )
    for record in (*sources, *folders):
        yield encode(record)
    for post in state.partner_posts:
        yield encode(PartnerRecord(post))


def decode_state(lines: Iterable[bytes], where: str) -> WarmState:
    """The WarmState of ``lines``; SnapshotError when one does not decode or refers to a
    RawPost the snapshot does not hold."""
    decoder = msgspec.json.Decoder(Record)
    raws: dict[str, RawPost] = {}
    normalized: list[NormalizedEntry] = []
    states: dict[str, SourceState] = {}
    folders: dict[str, FolderMemory] = {}
    partner_posts: list[Post] = []

    def raw(path: str) -> RawPost:
        try:
            return raws[path]
        except KeyError:
            raise SnapshotError(where, f"damaged: no post read from {path!r}") from None

    for number, line in enumerate(lines, start=1):
        try:
            record = decoder.decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            raise SnapshotError(where, f"damaged: state record {number}: {e}") from e
        if isinstance(record, RawRecord):
            raws[record.raw.path] = record.raw
            if record.normalized:
                outcome = record.post if record.post is not None else record.problem
                last_good = record.last_good if record.last_good is not None else record.post
                normalized.append(NormalizedEntry(record.raw, outcome, last_good))
        elif isinstance(record, SourceRecord):
            kept = record.result
            states[record.name] = SourceState(
                record.name,
                record.type,
                None
                if kept is None
                else SourceResult(
                    tuple(raw(path) for path in kept.posts),
                    tuple(kept.problems),
                    kept.validators,
                    kept.lookups,
                ),
                record.error,
                record.last_success,
            )
        elif isinstance(record, FolderRecord):
            files = {
                f.relative: RememberedFile(
                    f.stamp, None if f.raw is None else raw(f.raw), f.problem, f.digest
                )
                for f in record.files
            }
            folders[record.source] = FolderMemory(
                files, tuple(record.walk_problems), record.walked_at_ns
            )
        else:
            partner_posts.append(record.post)
    return WarmState(states, folders, normalized, partner_posts)


def restore(
    state: WarmState, config: Config
) -> tuple[dict[str, SourceState], dict[str, FolderReader], NormalizeCache]:
    """Source states, FolderReaders and a NormalizeCache remembering what ``state`` holds,
    for ``config`` (the config the snapshot was made for: its stamp says so). A folder
    source's state holds its reader's result itself, as after a read: a rebuild that finds
    no file changed sees the same object and stops there."""
    by_name = {source.name: source for source in config.sources}
    states = dict(state.states)
    folders = {}
    for name, memory in state.folders.items():
        source = by_name.get(name)
        if source is None or source.type != "folder" or name not in states:
            continue
        reader = folders[name] = FolderReader(source, config.posts, memory)
        states[name] = replace(states[name], result=reader.result)
    cache = NormalizeCache()
    # Keyed as normalize_sources will key it: with the candidates these posts make.
    cache.restore(with_known_languages(config, (n.raw for n in state.normalized)), state.normalized)
    return states, folders, cache
