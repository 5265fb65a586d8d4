"""The ``folder`` source: Markdown and HTML files with YAML front matter (SPEC §4).

    ---
    title: Hello
    date: 2017-06-09
    ---
    Body in Markdown (``.md``) or HTML (``.html``).

Files are read in sorted path order, hidden files and folders skipped, so every run and every
replica sees the same posts in the same order. A file that cannot be read is a Problem and the
rest of the folder goes on; only a missing folder fails the whole source.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from feedsvc.config import SourceConfig
from feedsvc.errors import SourceError
from feedsvc.model import Problem, RawPost
from feedsvc.sources.base import SourceResult

BODY_FORMATS = {".md": "markdown", ".html": "html"}
FRONT_MATTER_FENCE = "---"


class _FileProblem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_folder(source: SourceConfig) -> SourceResult:
    """Every post file under ``source.path`` (an absolute folder), recursively."""
    folder = Path(source.path)
    if not folder.is_dir():
        raise SourceError(source.name, f"no such folder: {folder}")
    posts: list[RawPost] = []
    problems: list[Problem] = []
    for file in _post_files(folder, problems):
        path = display_path(file)
        try:
            posts.append(_read_post(file, folder, path, source))
        except _FileProblem as e:
            problems.append(Problem(path, e.line, e.message))
    return SourceResult(tuple(posts), tuple(problems))


def display_path(file: Path) -> str:
    """``file`` as messages show it: relative to the working directory if under it."""
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _post_files(folder: Path, problems: list[Problem]) -> list[Path]:
    def report(error: OSError) -> None:
        where = display_path(Path(error.filename)) if error.filename else str(folder)
        problems.append(Problem(where, 1, f"cannot read folder: {error.strerror or error}"))

    files = []
    for directory, subdirectories, names in os.walk(folder, onerror=report):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
        for name in names:
            if not name.startswith(".") and Path(name).suffix in BODY_FORMATS:
                files.append(Path(directory, name))
    # One global order by relative path, independent of the file system's listing order.
    return sorted(files, key=lambda f: f.relative_to(folder).as_posix())


def _read_post(file: Path, folder: Path, path: str, source: SourceConfig) -> RawPost:
    text = _read_text(file)
    yaml_text, body = _split_front_matter(text)
    meta, meta_lines = _parse_front_matter(yaml_text)
    relative = PurePosixPath(file.relative_to(folder).as_posix())
    return RawPost(
        path=path,
        key=str(relative.with_suffix("")),
        meta=meta,
        body=body,
        body_format=BODY_FORMATS[file.suffix],
        line=1,
        meta_lines=meta_lines,
        source=source.name,
        default_categories=tuple(source.categories),
        default_lang=source.lang or None,
    )


def _read_text(file: Path) -> str:
    try:
        data = file.read_bytes()
    except OSError as e:
        raise _FileProblem(1, f"cannot read file: {e.strerror or e}") from e
    try:
        # utf-8-sig: a byte order mark some editors write is not part of the front matter.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise _FileProblem(line, f"not valid UTF-8 (byte {data[e.start]:#04x})") from e
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str) -> tuple[str, str]:
    """(YAML between the two '---' lines, body after them); the first line must be '---'."""
    lines = text.split("\n")
    if lines[0].rstrip() != FRONT_MATTER_FENCE:
        raise _FileProblem(1, "no front matter: the file must start with a '---' line")
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() == FRONT_MATTER_FENCE:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise _FileProblem(1, "front matter starts on line 1 but is never closed with '---'")


# libyaml's C loader when PyYAML was built with it: ten times faster, same results.
_BaseLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _parse_front_matter(yaml_text: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter mapping, and the file line of each key.

    BaseLoader keeps every scalar a string, sidestepping YAML 1.1's implicit types:
    ``lang: no`` stays "no" (Norwegian, not False), ``id: 0123`` stays "0123" (not 83).
    """
    # The YAML starts on the file's line 2; YAML marks count lines from 0.
    first_line = 2
    loader = _BaseLoader(yaml_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise _FileProblem(
                node.start_mark.line + first_line,
                f"front matter must be a mapping of keys to values, not {kind}",
            )
        meta_lines = _key_lines(node, first_line)
        meta = loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        # libyaml marks an error at the end of the stream one line past the last one.
        last_line = max(yaml_text.count("\n"), 0)
        line = min(mark.line, last_line) + first_line if mark else first_line
        raise _FileProblem(line, f"invalid YAML front matter: {e.problem or e}") from e
    except yaml.YAMLError as e:
        raise _FileProblem(first_line, f"invalid YAML front matter: {e}") from e
    finally:
        loader.dispose()
    return meta, meta_lines


def _key_lines(node: yaml.MappingNode, first_line: int) -> dict[str, int]:
    lines: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _FileProblem(
                key_node.start_mark.line + first_line, "front matter keys must be plain text"
            )
        line = key_node.start_mark.line + first_line
        if key_node.value in lines:
            raise _FileProblem(
                line, f"duplicate key {key_node.value!r} (first on line {lines[key_node.value]})"
            )
        lines[key_node.value] = line
    return lines
