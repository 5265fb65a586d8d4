"""The folder source: real files in tmp_path, read as the service reads them."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from feedsvc.config import PostsConfig, SourceConfig
from feedsvc.errors import SourceError
from feedsvc.sources import SOURCE_TYPES, SourceResult, SourceType, read_source
from feedsvc.sources.folder import FolderReader
from feedsvc.sources.front_matter import MAX_NESTING
from feedsvc.sources.jsonfile import read_json

LIMITS = PostsConfig()
GOOD = "---\ntitle: Good\ndate: 2017-06-09\n---\nBody\n"


def write(folder: Path, relative: str, text: str | bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def folder_source(folder: Path, **overrides: object) -> SourceConfig:
    return SourceConfig(type="folder", name="posts", path=str(folder), **overrides)  # type: ignore[arg-type]


@pytest.fixture
def posts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A posts folder under the working directory, as in a site checkout."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "posts"
    folder.mkdir()
    return folder


def test_reads_markdown_and_html_recursively_in_sorted_order(posts: Path) -> None:
    write(posts, "b.md", GOOD)
    write(posts, "a.html", GOOD)
    write(posts, "2017/06/c.md", GOOD)
    write(posts, "a-b.md", GOOD)
    write(posts, "notes.txt", GOOD)

    result = read_source(folder_source(posts), LIMITS)

    assert [p.key for p in result.posts] == ["2017/06/c", "a-b", "a", "b"]
    formats = {p.key: p.body_format for p in result.posts}
    assert formats["a"] == "html"
    assert formats["b"] == "markdown"
    assert result.problems == ()


def test_skips_hidden_files_and_folders(posts: Path) -> None:
    write(posts, ".draft.md", GOOD)
    write(posts, ".git/x.md", GOOD)
    write(posts, "sub/.cache/y.md", GOOD)
    write(posts, "visible.md", GOOD)

    result = read_source(folder_source(posts), LIMITS)

    assert [p.key for p in result.posts] == ["visible"]


def test_raw_post_fields(posts: Path) -> None:
    write(posts, "es/2017-06-09-hola.md", "---\ntitle: Hola\ndate: 2017-06-09\n---\n# Hola\n")

    source = folder_source(posts, categories=("Children and Youth",), lang="es")
    (raw,) = read_source(source, LIMITS).posts

    assert raw.path == os.path.join("posts", "es", "2017-06-09-hola.md")
    assert raw.key == "es/2017-06-09-hola"
    assert raw.meta == {"title": "Hola", "date": "2017-06-09"}
    assert raw.body == "# Hola\n"
    assert raw.body_format == "markdown"
    assert raw.line == 1
    assert raw.source == "posts"
    assert raw.default_categories == ("Children and Youth",)
    assert raw.default_lang == "es"


def test_no_source_lang_means_no_default(posts: Path) -> None:
    write(posts, "a.md", GOOD)
    (raw,) = read_source(folder_source(posts), LIMITS).posts
    assert raw.default_lang is None


def test_path_is_absolute_when_folder_is_outside_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site" / "posts"
    write(folder, "a.md", GOOD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    (raw,) = read_source(folder_source(folder), LIMITS).posts

    assert raw.path == str(folder / "a.md")


def test_every_scalar_stays_a_string(posts: Path) -> None:
    # YAML 1.1 would read no as False, 0123 as 83 and the date as a date object.
    write(
        posts,
        "a.md",
        "---\ntitle: Hei\ndate: 2017-06-09\nlang: no\nid: 0123\ndraft: yes\n"
        "categories:\n  - 2017\n  - Niñez\nimage:\n  url: a.png\n  width: 640\n---\n",
    )

    (raw,) = read_source(folder_source(posts), LIMITS).posts

    assert raw.meta == {
        "title": "Hei",
        "date": "2017-06-09",
        "lang": "no",
        "id": "0123",
        "draft": "yes",
        "categories": ["2017", "Niñez"],
        "image": {"url": "a.png", "width": "640"},
    }


def test_meta_lines_point_at_each_key(posts: Path) -> None:
    write(
        posts,
        "a.md",
        "---\ntitle: A\n\n# a comment\ndate: 2017-06-09\ntags:\n  - x\nlang: en\n---\n",
    )

    (raw,) = read_source(folder_source(posts), LIMITS).posts

    assert raw.meta_lines == {"title": 2, "date": 5, "tags": 6, "lang": 8}


def test_unterminated_front_matter_is_reported_and_the_rest_go_on(posts: Path) -> None:
    write(posts, "a.md", GOOD)
    write(posts, "b.md", "---\ntitle: Never closed\ndate: 2017-06-09\n\nBody\n")
    write(posts, "c.md", GOOD)

    result = read_source(folder_source(posts), LIMITS)

    assert [p.key for p in result.posts] == ["a", "c"]
    (problem,) = result.problems
    assert problem.path == os.path.join("posts", "b.md")
    assert problem.line == 1
    assert problem.message == "front matter starts on line 1 but is never closed with '---'"


def test_missing_front_matter_is_reported(posts: Path) -> None:
    write(posts, "a.md", "# Just Markdown\n")
    write(posts, "empty.md", "")

    result = read_source(folder_source(posts), LIMITS)

    assert result.posts == ()
    assert [(p.line, "front matter" in p.message) for p in result.problems] == [(1, True)] * 2


def test_invalid_yaml_is_reported_at_its_line(posts: Path) -> None:
    write(posts, "a.md", "---\ntitle: Fine\ndate: 2017-06-09\ncategories: [one, two\n---\n")

    (problem,) = read_source(folder_source(posts), LIMITS).problems

    assert problem.path.endswith("a.md")
    # The flow sequence opened on line 4 runs into the end of the front matter there.
    assert problem.line == 4
    assert problem.message.startswith("invalid YAML front matter:")


def test_invalid_yaml_on_a_specific_line(posts: Path) -> None:
    write(posts, "a.md", '---\ntitle: Fine\ndate: 2017-06-09\nsummary: "unclosed\n---\n')
    write(posts, "b.md", "---\ntitle: Fine\n  bad: indentation\n---\n")

    problems = read_source(folder_source(posts), LIMITS).problems

    # The quoted string opened on line 4 ends with the front matter, on line 4.
    assert [p.line for p in problems] == [4, 3]


def test_front_matter_that_is_not_a_mapping_is_reported(posts: Path) -> None:
    write(posts, "list.md", "---\n- title\n- date\n---\n")
    write(posts, "scalar.md", "---\njust a title\n---\n")

    problems = read_source(folder_source(posts), LIMITS).problems

    assert [(p.line, p.message) for p in problems] == [
        (2, "front matter must be a mapping of keys to values, not a list"),
        (2, "front matter must be a mapping of keys to values, not a single value"),
    ]


def test_empty_front_matter_gives_an_empty_mapping(posts: Path) -> None:
    # Not a file problem: normalization then reports the missing title.
    write(posts, "a.md", "---\n---\nBody\n")
    (raw,) = read_source(folder_source(posts), LIMITS).posts
    assert raw.meta == {}


def test_duplicate_key_is_reported_at_the_second(posts: Path) -> None:
    write(posts, "a.md", "---\ntitle: One\ndate: 2017-06-09\ntitle: Two\n---\n")

    (problem,) = read_source(folder_source(posts), LIMITS).problems

    assert (problem.line, problem.message) == (4, "duplicate key 'title' (first on line 2)")


def test_invalid_utf8_is_reported_with_its_line(posts: Path) -> None:
    write(posts, "a.md", b"---\ntitle: Caf\xe9\ndate: 2017-06-09\n---\n")
    write(posts, "b.md", GOOD)

    result = read_source(folder_source(posts), LIMITS)

    assert [p.key for p in result.posts] == ["b"]
    (problem,) = result.problems
    assert problem.line == 2
    assert "UTF-8" in problem.message


def test_invalid_utf8_after_a_byte_order_mark_is_reported_at_its_byte_and_line(
    posts: Path,
) -> None:
    # The mark's three bytes count: the bad byte is 0xff, on line 3.
    write(posts, "a.md", b"\xef\xbb\xbf---\ntitle: A\n\xff\n---\n")

    (problem,) = read_source(folder_source(posts), LIMITS).problems

    assert (problem.line, problem.message) == (3, "not valid UTF-8 (byte 0xff)")


def test_byte_order_mark_and_crlf_line_ends_are_accepted(posts: Path) -> None:
    write(
        posts, "a.md", "\ufeff---\r\ntitle: Windows\r\ndate: 2017-06-09\r\n---\r\nBody\r\n".encode()
    )

    (raw,) = read_source(folder_source(posts), LIMITS).posts

    assert raw.meta == {"title": "Windows", "date": "2017-06-09"}
    assert raw.body == "Body\n"


def test_a_fence_inside_the_body_is_body(posts: Path) -> None:
    write(posts, "a.md", "---\ntitle: A\n---\nabove\n---\nbelow\n")
    (raw,) = read_source(folder_source(posts), LIMITS).posts
    assert raw.body == "above\n---\nbelow\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_reported(posts: Path) -> None:
    locked = write(posts, "a.md", GOOD)
    locked.chmod(0)
    try:
        result = read_source(folder_source(posts), LIMITS)
    finally:
        locked.chmod(0o644)
    assert result.posts == ()
    assert "cannot read" in result.problems[0].message


def test_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such folder"):
        read_source(folder_source(tmp_path / "nope"), LIMITS)


def test_read_source_dispatches_on_type(posts: Path) -> None:
    write(posts, "a.md", GOOD)

    result = read_source(folder_source(posts), LIMITS)

    assert isinstance(result, SourceResult)
    assert SOURCE_TYPES["folder"].local is FolderReader
    assert [p.key for p in result.posts] == ["a"]


def test_read_source_refuses_an_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unknown source type 'ftp'"):
        read_source(SourceConfig(type="ftp", name="x", path=str(tmp_path)), LIMITS)


def test_a_source_type_has_exactly_one_reader() -> None:
    def check(source: SourceConfig, where: str) -> None:
        return None

    with pytest.raises(ValueError, match="exactly one reader"):
        SourceType("none", frozenset(), check)
    with pytest.raises(ValueError, match="exactly one reader"):
        SourceType("both", frozenset(), check, local=FolderReader, remote=read_json)


# --- hostile files (issue 7) ----------------------------------------------------------------


def test_a_yaml_alias_is_refused_at_its_line_before_anything_is_built(posts: Path) -> None:
    # Nine levels of nine aliases: 9**10 strings once expanded, from 13 lines.
    lines = ["---", "title: Bomb", "date: 2017-06-09", 'a0: &a0 ["lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    write(posts, "bomb.md", "\n".join([*lines, "---", "Body", ""]))
    write(posts, "good.md", GOOD)
    tracemalloc.start()
    try:
        result = read_source(folder_source(posts), LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (problem,) = result.problems
    assert (problem.path, problem.line) == (os.path.join("posts", "bomb.md"), 5)
    assert problem.message.startswith("YAML alias *a0 is not allowed in front matter")
    assert [raw.path for raw in result.posts] == [os.path.join("posts", "good.md")]
    assert peak < 1024 * 1024


@pytest.mark.parametrize("depth", [MAX_NESTING, 600, 998])
def test_front_matter_nested_too_deep_is_refused_at_its_line_and_the_rest_published(
    posts: Path, depth: int
) -> None:
    # 600 levels were a RecursionError out of the whole read; libyaml itself stops at 1,000.
    nested = "[" * depth + "x" + "]" * depth
    write(posts, "deep.md", f"---\ntitle: Deep\ndate: 2017-06-09\nk:\n  - {nested}\n---\n")
    write(posts, "good.md", GOOD)
    result = read_source(folder_source(posts), LIMITS)
    (problem,) = result.problems
    assert (problem.path, problem.line) == (os.path.join("posts", "deep.md"), 5)
    assert problem.message == (
        f"front matter nests lists and mappings more than {MAX_NESTING} levels deep"
    )
    assert [raw.path for raw in result.posts] == [os.path.join("posts", "good.md")]


def test_front_matter_nested_up_to_the_bound_is_read(posts: Path) -> None:
    # The mapping is level 1, the list under "k" level 2: MAX_NESTING - 2 more lists.
    depth = MAX_NESTING - 2
    nested = "[" * depth + "x" + "]" * depth
    write(posts, "deep.md", f"---\ntitle: Deep\ndate: 2017-06-09\nk:\n  - {nested}\n---\n")
    (raw,) = read_source(folder_source(posts), LIMITS).posts
    value = raw.meta["k"]
    for _ in range(depth + 1):
        (value,) = value
    assert value == "x"


def test_an_anchor_without_an_alias_and_an_asterisk_in_text_are_fine(posts: Path) -> None:
    write(posts, "a.md", "---\ntitle: &t 5 * 3 = *fifteen\ndate: 2017-06-09\n---\n")
    (raw,) = read_source(folder_source(posts), LIMITS).posts
    assert raw.meta["title"] == "5 * 3 = *fifteen"


def test_front_matter_over_its_limit_is_refused(posts: Path) -> None:
    summary = "x" * 200
    write(posts, "big.md", f"---\ntitle: Big\ndate: 2017-06-09\nsummary: {summary}\n---\n")
    write(posts, "small.md", GOOD)
    limits = PostsConfig(max_front_matter=200)

    result = read_source(folder_source(posts), limits)

    (problem,) = result.problems
    assert problem.path.endswith("big.md") and problem.line == 2
    assert problem.message == (
        "front matter is 237 bytes, over the limit of 200 (posts.max_front_matter)"
    )
    assert len(result.posts) == 1


def test_a_file_over_its_limit_is_not_read(posts: Path) -> None:
    write(posts, "big.md", GOOD + "x" * 1000)
    write(posts, "exact.md", GOOD + "y" * (1000 - len(GOOD)))
    limits = PostsConfig(max_file_size=1000)

    result = read_source(folder_source(posts), limits)

    (problem,) = result.problems
    assert problem.path.endswith("big.md") and problem.line == 1
    assert problem.message == (
        f"file is {len(GOOD) + 1000:,} bytes, over the limit of 1,000 (posts.max_file_size): "
        "not read"
    )
    assert [raw.path for raw in result.posts] == [os.path.join("posts", "exact.md")]
