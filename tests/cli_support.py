"""A one-folder site on disk for tests that run feedsvc as a process."""

from __future__ import annotations

from pathlib import Path

GOOD_POST = "---\ntitle: Good\ndate: 2024-05-01\n---\nBody.\n"


def site(tmp_path: Path, posts: dict[str, str]) -> Path:
    """``posts`` (file name → text) in tmp_path/posts, and the feeds.toml reading them."""
    folder = tmp_path / "posts"
    folder.mkdir(exist_ok=True)
    for name, text in posts.items():
        (folder / name).write_text(text, encoding="utf-8")
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[site]\ntitle = "T"\nurl = "https://t.example/"\nid_authority = "t.example,2020"\n'
        '[[sources]]\ntype = "folder"\npath = "posts"\n',
        encoding="utf-8",
    )
    return config
