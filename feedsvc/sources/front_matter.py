"""A post file's front matter: the text decoded, the YAML block between its two ``---``
lines split from the body, and parsed into plain values (strings, lists, mappings) with
the line of each key (docs/config.md "Post front matter").

The folder source (``sources/folder.py``) reads the files; this is what it does with each
one's text, a pure function of it, with every problem a ``FileProblem`` naming its line.
"""

from __future__ import annotations

from typing import Any

import yaml

FRONT_MATTER_FENCE = "---"
# Levels of lists and mappings front matter may nest (a list of author mappings is two).
# Walking a node is a Python call per level: 500 levels of "[" were a RecursionError that
# stopped the whole folder's read, below libyaml's own bound of 1,000.
MAX_NESTING = 32


class FileProblem(Exception):
    """What is wrong with one post file, and the line it is on (1 for the whole file)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def decode(data: bytes) -> str:
    """A file's text: UTF-8 without a byte order mark, lines ending in "\\n"."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise FileProblem(line, f"not valid UTF-8 (byte {data[e.start]:#04x})") from e
    # A byte order mark some editors write is not part of the front matter. (Stripped here,
    # not by the utf-8-sig codec: three times slower, and its errors count bytes after it.)
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def split_front_matter(text: str) -> tuple[str, str]:
    """(YAML between the two '---' lines, body after them); the first line must be '---'.

    A fence is a line that is '---' once trailing white space is stripped: found by looking
    only at lines that start with '---', not by splitting the whole body into lines."""
    first_end = text.find("\n")
    first_line = text if first_end < 0 else text[:first_end]
    if first_line.rstrip() != FRONT_MATTER_FENCE:
        raise FileProblem(1, "no front matter: the file must start with a '---' line")
    if first_end >= 0:
        at = first_end  # each candidate: the line end before a line starting with '---'
        while (at := text.find("\n" + FRONT_MATTER_FENCE, at)) >= 0:
            line_end = text.find("\n", at + 1)
            line = text[at + 1 :] if line_end < 0 else text[at + 1 : line_end]
            if line.rstrip() == FRONT_MATTER_FENCE:
                body = "" if line_end < 0 else text[line_end + 1 :]
                return text[first_end + 1 : at], body
            at += 1
    raise FileProblem(1, "front matter starts on line 1 but is never closed with '---'")


# libyaml's C loader when PyYAML was built with it: ten times faster, same results.
_BaseLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
_DEFAULT_TAGS = {
    yaml.ScalarNode: yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG,
    yaml.SequenceNode: yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    yaml.MappingNode: yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
}


class _FrontMatterLoader(_BaseLoader):  # type: ignore[misc,valid-type]  # chosen at import
    """BaseLoader, its tag resolution in one step: BaseResolver has no implicit or path
    resolvers, so every untagged node gets its kind's default tag (and ``_constructed`` reads
    no tag). The generic lookup, asked for each of a 10,000-post site's 120,000 nodes, took
    0.025 s of its 0.19 s of YAML."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        return _DEFAULT_TAGS[kind]


def parse_front_matter(yaml_text: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter mapping, and the file line of each key.

    BaseLoader keeps every scalar a string, sidestepping YAML 1.1's implicit types:
    ``lang: no`` stays "no" (Norwegian, not False), ``id: 0123`` stays "0123" (not 83).
    """
    # The YAML starts on the file's line 2; YAML marks count lines from 0.
    first_line = 2
    loader = _FrontMatterLoader(yaml_text)
    try:
        _refuse_aliases(yaml_text, first_line)
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise FileProblem(
                node.start_mark.line + first_line,
                f"front matter must be a mapping of keys to values, not {kind}",
            )
        meta_lines = _key_lines(node, first_line)
        meta = _constructed(node, first_line)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        # libyaml marks an error at the end of the stream one line past the last one.
        last_line = max(yaml_text.count("\n"), 0)
        line = min(mark.line, last_line) + first_line if mark else first_line
        raise FileProblem(line, f"invalid YAML front matter: {e.problem or e}") from e
    except yaml.YAMLError as e:
        raise FileProblem(first_line, f"invalid YAML front matter: {e}") from e
    finally:
        loader.dispose()
    return meta, meta_lines


def _refuse_aliases(yaml_text: str, first_line: int) -> None:
    """A FileProblem at the first alias (``*name``), before any node is built.

    Aliases let a few lines stand for billions of values (nine levels of nine aliases each,
    the "billion laughs"), which every later step (normalizing, comparing, printing) would
    walk. Front matter has no use for them, so they are refused; anchors alone are harmless.
    """
    if "*" not in yaml_text:
        return  # no alias without an asterisk: skip the second parse for nearly every post
    for event in yaml.parse(yaml_text, Loader=_FrontMatterLoader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise FileProblem(
                mark.line + first_line if mark else first_line,
                f"YAML alias *{event.anchor} is not allowed in front matter "
                "(aliases can expand a few lines into billions of values)",
            )


def _constructed(node: yaml.Node, first_line: int, depth: int = 1) -> Any:
    """What BaseLoader's constructor makes of ``node``: a string, list or dict, whatever its
    tag, and the same error for a key that is not a string; a FileProblem past MAX_NESTING
    levels. Walked here directly: PyYAML's generic constructor (alias bookkeeping, recursion
    checks, deep construction, for aliases refused above) took 0.08 s of a 10,000-post
    site's read, this walk 0.02 s."""
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if depth > MAX_NESTING:
        raise FileProblem(
            node.start_mark.line + first_line,
            f"front matter nests lists and mappings more than {MAX_NESTING} levels deep",
        )
    if isinstance(node, yaml.SequenceNode):
        return [_constructed(item, first_line, depth + 1) for item in node.value]
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _constructed(key_node, first_line, depth + 1)
        if not isinstance(key, str):  # a list or a mapping: unhashable, as PyYAML says
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found unhashable key",
                key_node.start_mark,
            )
        mapping[key] = _constructed(value_node, first_line, depth + 1)
    return mapping


def _key_lines(node: yaml.MappingNode, first_line: int) -> dict[str, int]:
    lines: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise FileProblem(
                key_node.start_mark.line + first_line, "front matter keys must be plain text"
            )
        line = key_node.start_mark.line + first_line
        if key_node.value in lines:
            raise FileProblem(
                line, f"duplicate key {key_node.value!r} (first on line {lines[key_node.value]})"
            )
        lines[key_node.value] = line
    return lines
