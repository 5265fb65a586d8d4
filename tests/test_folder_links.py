"""Symbolic and hard links in a folder source (issue 7): never out of the folder, never a
loop, and a file reachable by two paths is one post. Real links in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedsvc.config import PostsConfig, SourceConfig
from feedsvc.model import Severity
from feedsvc.sources import read_source
from feedsvc.sources.folder import FolderReader

POST = "---\ntitle: {title}\ndate: 2017-06-09\n---\nBody\n"


def write(path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(POST.format(title=title), encoding="utf-8")
    return path


@pytest.fixture
def posts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "posts"
    write(folder / "a.md", "A")
    write(folder / "2017/b.md", "B")
    return folder


def read(folder: Path):
    return read_source(SourceConfig(type="folder", name="p", path=str(folder)), PostsConfig())


def keys(result) -> list[str]:
    return [raw.key for raw in result.posts]


def test_a_link_back_up_the_tree_is_not_followed(posts: Path) -> None:
    (posts / "2017" / "loop").symlink_to("..")
    (posts / "self").symlink_to(".")

    result = read(posts)

    assert keys(result) == ["2017/b", "a"]
    assert [(p.path, p.severity) for p in result.problems] == [
        (os.path.join("posts", "2017", "loop"), Severity.WARNING),
        (os.path.join("posts", "self"), Severity.WARNING),
    ]
    assert all("already read: not followed" in p.message for p in result.problems)


def test_links_out_of_the_folder_are_refused(posts: Path, tmp_path: Path) -> None:
    secret = write(tmp_path / "outside" / "secret.md", "Secret")
    (posts / "stolen.md").symlink_to(secret)
    (posts / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    (posts / "up.md").symlink_to("../outside/secret.md")

    result = read(posts)

    assert keys(result) == ["2017/b", "a"]
    assert sorted((p.path, p.severity) for p in result.problems) == [
        (os.path.join("posts", name), Severity.ERROR)
        for name in ("elsewhere", "stolen.md", "up.md")
    ]
    assert all("leads out of the source folder" in p.message for p in result.problems)


def test_a_file_reachable_by_two_paths_is_one_post_under_its_real_path(posts: Path) -> None:
    (posts / "0-link.md").symlink_to("2017/b.md")
    os.link(posts / "a.md", posts / "z-hard.md")
    (posts / "0-folder").symlink_to("2017", target_is_directory=True)

    result = read(posts)

    # The paths without a link win; of two hard links, the first in order.
    assert keys(result) == ["2017/b", "a"]
    messages = {p.path: p.message for p in result.problems}
    assert messages[os.path.join("posts", "0-link.md")] == (
        "the same file as 2017/b.md (a link to it): published once"
    )
    assert messages[os.path.join("posts", "z-hard.md")] == (
        "the same file as a.md (a link to it): published once"
    )
    assert "already read" in messages[os.path.join("posts", "0-folder")]
    assert all(p.severity is Severity.WARNING for p in result.problems)


def test_a_link_inside_the_folder_to_a_hidden_folder_is_followed(posts: Path) -> None:
    write(posts / ".drafts" / "c.md", "C")
    (posts / "shown").symlink_to(".drafts", target_is_directory=True)
    (posts / "d.md").symlink_to(".drafts/c.md")

    result = read(posts)

    # d.md and shown/c.md are one file: the path without a link... is hidden, so the
    # first in order of those read through links.
    assert keys(result) == ["2017/b", "a", "d"]
    assert result.problems[0].message == "the same file as d.md (a link to it): published once"


def test_a_watched_folder_with_a_loop_stays_the_same_on_every_read(posts: Path) -> None:
    (posts / "loop").symlink_to(".")
    reader = FolderReader(SourceConfig(type="folder", name="p", path=str(posts)), PostsConfig())
    first = reader.read()
    assert reader.read() is first
    write(posts / "c.md", "C")
    assert keys(reader.read()) == ["2017/b", "a", "c"]
