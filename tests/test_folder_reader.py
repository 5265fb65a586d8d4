"""FolderReader: a folder read again and again re-reads only the files that changed, and a
file that turns bad keeps its last good RawPost (docs/architecture.md "Last good wins")."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

import feedsvc.sources.folder as folder_module
from feedsvc.config import PostsConfig, SourceConfig
from feedsvc.errors import SourceError
from feedsvc.model import KEPT_NOTE
from feedsvc.sources.folder import FolderReader

GOOD = "---\ntitle: {title}\ndate: 2017-06-09\n---\nBody\n"


@pytest.fixture
def posts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "posts"
    for name in ("a", "b", "c"):
        write(folder, f"{name}.md", GOOD.format(title=name.upper()))
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path (relative to the posts folder) of every file the reader opens."""
    opened: list[str] = []
    real = folder_module._read_bytes

    def spy(file: str, size: int, limit: int) -> bytes:
        opened.append(Path(file).resolve().relative_to(Path.cwd().resolve() / "posts").as_posix())
        return real(file, size, limit)

    monkeypatch.setattr(folder_module, "_read_bytes", spy)
    return opened


def age(folder: Path) -> None:
    """Date every file an hour back: a file saved just now is too fresh for its stamp to be
    trusted, and is read once more on the next walk (see the racy-edit test)."""
    hour_ago = time.time_ns() - 3600 * 10**9
    for file in folder.rglob("*.md"):
        os.utime(file, ns=(hour_ago, hour_ago))


def write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def reader(folder: Path) -> FolderReader:
    return FolderReader(SourceConfig(type="folder", name="posts", path=str(folder)), PostsConfig())


def titles(result) -> list[str]:
    return [post.meta["title"] for post in result.posts]


def test_an_unchanged_folder_gives_the_same_result_without_reading_a_file(posts, reads):
    age(posts)
    folder = reader(posts)
    first = folder.read()
    reads.clear()
    assert folder.read() is first
    assert reads == []


def test_only_the_saved_file_is_read_again(posts, reads):
    age(posts)
    folder = reader(posts)
    first = folder.read()
    reads.clear()
    write(posts, "b.md", GOOD.format(title="B, edited"))

    second = folder.read()

    assert reads == ["b.md"]
    assert titles(second) == ["A", "B, edited", "C"]
    # The others are the same objects: later caches compare by identity first.
    assert second.posts[0] is first.posts[0]
    assert second.posts[2] is first.posts[2]


def test_added_renamed_and_deleted_files(posts):
    folder = reader(posts)
    folder.read()
    write(posts, "sub/d.md", GOOD.format(title="D"))
    (posts / "a.md").rename(posts / "z.md")
    (posts / "c.md").unlink()

    result = folder.read()

    assert [post.key for post in result.posts] == ["b", "sub/d", "z"]


def test_a_same_size_edit_within_one_clock_tick_is_still_seen(posts, monkeypatch):
    # Two saves inside one mtime tick leave the same stamp; a fresh stamp is not trusted.
    fixed = os.stat(posts / "a.md")
    real_stat = os.stat

    def same_stamp(path, *args, **kwargs):
        return fixed if str(path).endswith("a.md") else real_stat(path, *args, **kwargs)

    monkeypatch.setattr(folder_module.os, "stat", same_stamp)
    folder = reader(posts)
    folder.read()
    write(posts, "a.md", GOOD.format(title="Z"))  # same length as "A"

    assert titles(folder.read())[0] == "Z"


def test_a_file_that_turns_bad_keeps_its_last_good_post_until_fixed(posts):
    folder = reader(posts)
    good = folder.read()
    write(posts, "b.md", "---\ntitle: [never closed\n---\n")

    bad = folder.read()

    assert bad.posts == good.posts
    (problem,) = bad.problems
    assert problem.path == os.path.join("posts", "b.md")
    assert problem.message.endswith(KEPT_NOTE)

    write(posts, "b.md", GOOD.format(title="B fixed"))
    fixed = folder.read()
    assert titles(fixed) == ["A", "B fixed", "C"]
    assert fixed.problems == ()


def test_a_new_bad_file_is_reported_without_the_note(posts):
    folder = reader(posts)
    folder.read()
    write(posts, "new.md", "no front matter\n")
    (problem,) = folder.read().problems
    assert not problem.message.endswith(KEPT_NOTE)


def test_a_vanished_folder_is_a_source_error(posts):
    folder = reader(posts)
    folder.read()
    shutil.rmtree(posts)
    with pytest.raises(SourceError, match="no such folder"):
        folder.read()


def test_a_subfolder_that_cannot_be_listed_keeps_its_files(posts, monkeypatch):
    write(posts, "sub/d.md", GOOD.format(title="D"))
    folder = reader(posts)
    assert titles(folder.read()) == ["A", "B", "C", "D"]
    real_scandir = os.scandir

    def failing(path):
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(folder_module.os, "scandir", failing)
    result = folder.read()

    assert titles(result) == ["A", "B", "C", "D"]
    (problem,) = result.problems
    assert "cannot read folder" in problem.message


def test_a_touched_file_is_read_once_and_publishes_the_same(posts, reads):
    age(posts)
    folder = reader(posts)
    first = folder.read()
    hour_ago = time.time_ns() - 1800 * 10**9
    os.utime(posts / "a.md", ns=(hour_ago, hour_ago))  # a new stamp, the same text
    reads.clear()

    assert folder.read() is first
    assert folder.read() is first
    assert reads == ["a.md"]


def test_a_file_saved_with_the_same_bytes_is_not_parsed_again(posts, monkeypatch):
    folder = reader(posts)
    first = folder.read()
    parsed: list[str] = []
    real = folder_module._read_post

    def spy(data, relative, *args):
        parsed.append(relative)
        return real(data, relative, *args)

    monkeypatch.setattr(folder_module, "_read_post", spy)
    write(posts, "b.md", GOOD.format(title="B"))  # the same bytes, a new stamp
    os.utime(posts / "a.md", ns=(1, 1))

    second = folder.read()

    # Compared by a digest of the bytes, never by what the front matter expands to.
    assert parsed == []
    assert second.posts == first.posts
    assert all(a is b for a, b in zip(second.posts, first.posts, strict=True))
