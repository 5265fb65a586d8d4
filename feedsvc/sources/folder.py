"""The ``folder`` source: Markdown and HTML files with YAML front matter
(docs/config.md "Post front matter").

    ---
    title: Hello
    date: 2017-06-09
    ---
    Body in Markdown (``.md``) or HTML (``.html``).

Files are read in sorted path order, hidden files and folders skipped, so every run and every
replica sees the same posts in the same order. A file that cannot be read is a Problem and the
rest of the folder goes on; only a missing folder fails the whole source.

``FolderReader(source, limits).read()`` reads a folder once (``feedsvc check``, ``feedsvc build``,
start-up). A running service keeps one ``FolderReader`` per folder source: it remembers every
file's stat and RawPost, so reading the folder again after one file was saved costs a walk
and a stat per file, and one file read (docs/architecture.md "Live updates": a 10,000-post site
re-reads one file).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from feedsvc.config import PostsConfig, SourceConfig
from feedsvc.errors import ConfigError, SourceError
from feedsvc.model import Problem, RawPost, Severity
from feedsvc.sources.base import SourceResult, SourceType
from feedsvc.sources.front_matter import (
    FileProblem,
    decode,
    parse_front_matter,
    split_front_matter,
)
from feedsvc.sources.walk import cwd_prefix, display_path, display_walked, post_files

BODY_FORMATS = {".md": "markdown", ".html": "html"}
_SUFFIXES = tuple(BODY_FORMATS)

# File systems stamp mtimes with a coarse clock (a few ms on Linux): a file saved twice within
# one tick, at the same size, keeps its stamp. A file whose mtime is this close to the previous
# walk is therefore read again on the next walk, and compared (git's "racy clean" rule).
RACY_NS = 50_000_000


# What identifies one version of a file without reading it: (mtime_ns, ctime_ns, size, inode).
# An editor that saves by renaming a new file over the old one changes the inode too.
_Stamp = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class RememberedFile:
    """What the last walk knew of one file: its stamp, its last good RawPost (kept while the
    file is bad), the problem its last read met (None when it read well), and a digest of
    the bytes ``post`` was read from."""

    stamp: _Stamp
    post: RawPost | None
    problem: Problem | None
    digest: bytes = b""


@dataclass(frozen=True, slots=True)
class FolderMemory:
    """Everything a FolderReader remembers between reads (kept in the snapshot on disk, so a
    restarted service re-reads only the files that changed while it was stopped)."""

    files: dict[str, RememberedFile]
    walk_problems: tuple[Problem, ...]
    walked_at_ns: int


class FolderReader:
    """Reads one folder source again and again, re-reading only the files that changed.

    ``read`` walks the folder and stats every file; a file whose stamp is unchanged keeps its
    RawPost (the same object, so later stages can tell it is unchanged by identity). When no
    file changed, ``read`` returns the previous SourceResult itself. A file that turns bad
    (unreadable, broken front matter) keeps its last good RawPost and reports the problem; a
    file under a folder that cannot be listed keeps its last good RawPost too. A deleted file
    is gone. Not thread-safe: one read at a time.
    """

    def __init__(
        self, source: SourceConfig, limits: PostsConfig, memory: FolderMemory | None = None
    ) -> None:
        self.source = source
        self.limits = limits
        self._files: dict[str, RememberedFile] = {}
        self._walk_problems: tuple[Problem, ...] = ()
        self._result: SourceResult | None = None
        self._walked_at_ns = 0
        if memory is not None:
            self._files = memory.files
            self._walk_problems = memory.walk_problems
            self._walked_at_ns = memory.walked_at_ns
            self._result = _result_of(memory.files.values(), list(memory.walk_problems))

    @property
    def result(self) -> SourceResult | None:
        """What the last read returned (or the restored memory gives); None before both."""
        return self._result

    def memory(self) -> FolderMemory:
        """What this reader remembers now (its dicts are replaced, never changed, by a read)."""
        return FolderMemory(self._files, self._walk_problems, self._walked_at_ns)

    def read(self) -> SourceResult:
        folder = Path(self.source.path)
        if not folder.is_dir():
            raise SourceError(self.source.name, f"no such folder: {folder}")
        walked_at_ns = time.time_ns()
        problems: list[Problem] = []
        unlisted: list[str] = []
        files: dict[str, RememberedFile] = {}
        cwd = Path.cwd()
        shown_from = cwd_prefix()
        # A file reachable by several paths (links, hard links) is one post: the path that
        # involves no link wins, then the first in order.
        first_path: dict[tuple[int, int], str] = {}
        listed = post_files(folder, _SUFFIXES, problems, unlisted)
        for relative, full, _ in sorted(listed, key=lambda f: (f[2], f[0])):
            old = self._files.get(relative)
            try:
                stat = os.stat(full)
            except FileNotFoundError:
                continue  # deleted since the walk listed it
            except OSError as e:
                message = f"cannot read file: {e.strerror or e}"
                problem = Problem(display_walked(full, shown_from), 1, message)
                kept = old or RememberedFile((0, 0, 0, 0), None, None)
                files[relative] = RememberedFile((0, 0, 0, 0), kept.post, problem, kept.digest)
                continue
            first = first_path.setdefault((stat.st_dev, stat.st_ino), relative)
            if first != relative:
                message = f"the same file as {first} (a link to it): published once"
                where = display_path(folder / relative, cwd)
                problems.append(Problem(where, 1, message, Severity.WARNING))
                continue
            stamp = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)
            racy = old is not None and old.stamp[0] >= self._walked_at_ns - RACY_NS
            if old is not None and old.stamp == stamp and not racy:
                files[relative] = old
            else:
                path = display_walked(full, shown_from)
                files[relative] = self._read_file(full, relative, path, stamp, old)
        # A folder that could not be listed hides its files: they are not deleted.
        hidden = {
            relative: old
            for relative, old in self._files.items()
            if relative not in files and any(_is_under(relative, d) for d in unlisted)
        }
        files = dict(sorted({**files, **hidden}.items()))
        unchanged = _same(files, self._files) and tuple(problems) == self._walk_problems
        # The new stamps are kept even when nothing published changed (a file touched, or
        # saved with the same text), so the next walk does not read those files again.
        self._files = files
        self._walk_problems = tuple(problems)
        self._walked_at_ns = walked_at_ns
        if not unchanged or self._result is None:
            self._result = _result_of(files.values(), problems)
        return self._result

    def _read_file(
        self, full: str, relative: str, path: str, stamp: _Stamp, old: RememberedFile | None
    ) -> RememberedFile:
        last_good = old.post if old is not None else None
        good_digest = old.digest if old is not None else b""
        try:
            data = _read_bytes(full, stamp[2], self.limits.max_file_size)
            digest = hashlib.blake2b(data, digest_size=16).digest()
            if last_good is not None and digest == good_digest:
                # The bytes the last good post came from: the same object, found in time
                # linear in the file's size (never by comparing what its YAML expands to).
                return RememberedFile(stamp, last_good, None, digest)
            post = _read_post(data, relative, path, self.source, self.limits)
        except FileProblem as e:
            return RememberedFile(stamp, last_good, Problem(path, e.line, e.message), good_digest)
        return RememberedFile(stamp, post, None, digest)


def _is_under(relative: str, folder: str) -> bool:
    return folder == "." or relative.startswith(folder + "/")


def _same(new: dict[str, RememberedFile], old: dict[str, RememberedFile]) -> bool:
    """Whether a walk found exactly what the previous one published."""
    if new.keys() != old.keys():
        return False
    for key, a in new.items():
        b = old[key]
        if a is not b and (a.post is not b.post or a.problem != b.problem):
            return False
    return True


def _result_of(files: Iterable[RememberedFile], walk_problems: list[Problem]) -> SourceResult:
    posts: list[RawPost] = []
    problems = list(walk_problems)
    for entry in files:
        if entry.post is not None:
            posts.append(entry.post)
        if entry.problem is not None:
            problem = entry.problem
            if entry.post is not None:
                problem = problem.last_good_kept()
            problems.append(problem)
    return SourceResult(tuple(posts), tuple(problems))


def _read_post(
    data: bytes, relative: str, path: str, source: SourceConfig, limits: PostsConfig
) -> RawPost:
    text = decode(data)
    yaml_text, body = split_front_matter(text)
    size = len(yaml_text.encode("utf-8"))
    if size > limits.max_front_matter:
        raise FileProblem(
            2,
            f"front matter is {size:,} bytes, over the limit of {limits.max_front_matter:,} "
            "(posts.max_front_matter)",
        )
    meta, meta_lines = parse_front_matter(yaml_text)
    # The walk listed only names ending in one of BODY_FORMATS' suffixes.
    suffix = next(s for s in _SUFFIXES if relative.endswith(s))
    return RawPost(
        path=path,
        key=relative[: -len(suffix)],
        meta=meta,
        body=body,
        body_format=BODY_FORMATS[suffix],
        line=1,
        meta_lines=meta_lines,
        source=source.name,
        default_categories=tuple(source.categories),
        default_lang=source.lang or None,
    )


def _read_bytes(file: str, size: int, limit: int) -> bytes:
    """The file's bytes (``size``: what its stat said); a FileProblem when there are more than
    ``limit``, found without reading more than one byte past it (the file may grow after its
    stat). One open, one read to the end, one close: the bench site's 10,000 files took 0.11 s
    through a buffered file object (which stats the file again and asks whether it is a
    terminal), 0.04 s so."""
    if size > limit:
        raise FileProblem(1, _too_large(size, limit))
    try:
        fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
        try:
            # Sized by the stat, not the limit: read(n) allocates n bytes up front.
            data = _read_up_to(fd, b"", size + 1)
            if len(data) > size:  # it grew since: read on, up to one byte past the limit
                data = _read_up_to(fd, data, limit + 1)
        finally:
            os.close(fd)
    except OSError as e:
        raise FileProblem(1, f"cannot read file: {e.strerror or e}") from e
    if len(data) > limit:
        raise FileProblem(1, _too_large(len(data), limit))
    return data


def _read_up_to(fd: int, data: bytes, want: int) -> bytes:
    """``data`` and what follows it in ``fd``, until ``want`` bytes in all or the end."""
    while len(data) < want and (more := os.read(fd, want - len(data))):
        data += more
    return data


def _too_large(size: int, limit: int) -> str:
    return f"file is {size:,} bytes, over the limit of {limit:,} (posts.max_file_size): not read"


def _check(source: SourceConfig, where: str) -> None:
    if not source.path:
        raise ConfigError(f"{where}.path", "required for a folder source")


SOURCE_TYPE = SourceType(
    "folder", frozenset({"path"}), _check, path_kind="folder", local=FolderReader
)
