"""`feedsvc build`'s tree (feedsvc/export.py): the files the render workers write as they
render are those the parent writes from the same resources, byte for byte and mtime."""

from __future__ import annotations

import brotli
from babel import localedata
from cli_support import site

from feedsvc.clock import system_clock
from feedsvc.configfile import load_config
from feedsvc.export import Tree
from feedsvc.parallel import MIN_ITEMS
from feedsvc.pipeline import Document, all_feeds, load_posts, render_site
from feedsvc.render import embed


def tree(root):
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def monthly_posts(count: int) -> dict[str, str]:
    """One post a month, in two categories; the newest updated in 2099 (after the build)."""
    posts = {}
    for n in range(count):
        year, month = 2015 + n // 12, n % 12 + 1
        updated = "updated: 2099-01-01\n" if n == count - 1 else ""
        posts[f"p{n}.md"] = (
            f"---\ntitle: Post {n}\ndate: {year}-{month:02d}-03\n{updated}"
            f"categories: [Cat {n % 2}]\n---\nBody of post {n}, *with* Markdown.\n"
        )
    return posts


def varied_posts(count: int) -> dict[str, str]:
    """Posts of different shapes: one to three categories, some updated, some with a tag."""
    posts = {}
    for n in range(count):
        categories = ", ".join(f"Cat {n % k}" for k in range(2, 2 + n % 3 + 1))
        updated = f"updated: 2020-02-{n % 28 + 1:02d}\n" if n % 4 == 0 else ""
        tags = "tags: [t]\n" if n % 5 == 0 else ""
        posts[f"v{n}.md"] = (
            f"---\ntitle: Post {n}\ndate: 2019-{n % 12 + 1:02d}-{n % 27 + 1:02d}\n{updated}{tags}"
            f"categories: [{categories}]\n---\nBody of post {n}.\n"
        )
    return posts


def test_a_build_in_workers_gives_what_one_process_gives(tmp_path):
    config = load_config(site(tmp_path, varied_posts(MIN_ITEMS + 50)))
    now = system_clock()
    alone = load_posts(config, now, workers=1)
    loaded = load_posts(config, now, workers=2)  # normalized in forked workers
    assert loaded.posts == alone.posts and len(alone.posts) == MIN_ITEMS + 50
    feeds = all_feeds(loaded.posts, config)
    rendered = render_site(feeds, config, workers=2).resources
    assert list(rendered.items()) == list(render_site(feeds, config, workers=1).resources.items())


def test_the_render_workers_write_the_files_the_resources_would_give(tmp_path):
    config = load_config(site(tmp_path, monthly_posts(70)))
    now = system_clock()
    loaded = load_posts(config, now, workers=1)
    feeds = all_feeds(loaded.posts, config)
    # Enough documents for parallel_map to fork its workers (tests/test_parallel.py).
    assert len(feeds) * len(config.feeds.formats) >= MIN_ITEMS
    by_workers, by_parent = tmp_path / "workers", tmp_path / "parent"
    with Tree(by_workers, now) as written:
        rendered = render_site(feeds, config, workers=2, on_rendered=written.write_rendered)
        count = written.finish(rendered.resources, rendered.resources.keys())
    # The same documents, in the same order, as rendered in this process alone.
    alone = render_site(feeds, config, workers=1).resources
    assert list(alone.items()) == list(rendered.resources.items())
    with Tree(by_parent, now) as kept:
        assert kept.finish(rendered.resources, ()) == count
    files = tree(by_workers)
    assert files == tree(by_parent)
    identities = [name for name in files if not name.endswith((".gz", ".br"))]
    assert len(identities) == count
    for name in identities:
        assert f"{name}.gz" in files and f"{name}.br" in files, name
    # An archive's br, left lazy when served, is in the tree, made from the same bytes.
    archive = "archive/2015/01.atom"
    assert brotli.decompress(files[f"{archive}.br"][0]) == files[archive][0]
    # Every JSON Feed's embed fragment is there, dated like its feed.
    assert files["embed/archive/2015/01.html"][1] == files["archive/2015/01.json"][1]
    # The feed updated in 2099 is dated at the build's time instead (RFC 9110 §8.8.2.1).
    assert abs(files["feed.atom"][1] / 10**9 - now.timestamp()) < 1e-5
    # Nothing is left beside the trees.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "feeds.toml",
        "parent",
        "posts",
        "workers",
    ]


def test_a_tree_not_finished_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    try:
        with Tree(out, system_clock()):
            raise RuntimeError("render failed")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_build_reads_its_fragments_locales_before_rendering_a_service_rebuild_does_not(
    tmp_path, monkeypatch
):
    # Forked render workers share what the parent read; a running service makes fragments
    # on request, so its rebuilds never wait for locale data.
    posts = {
        f"p{n}.md": f"---\ntitle: Post {n}\ndate: 2024-01-0{n + 1}\nlang: fi\n---\nBody {n}.\n"
        for n in range(3)
    }
    config = load_config(site(tmp_path, posts))
    feeds = all_feeds(load_posts(config, system_clock(), workers=1).posts, config)
    embed._locale.cache_clear()
    monkeypatch.delitem(localedata._cache, "fi", raising=False)  # babel's store of what it read
    render_site(feeds, config, workers=1)  # a running service's rebuild
    assert "fi" not in localedata._cache
    told = []

    def on_rendered(document: Document, body: bytes) -> None:
        told.append("fi" in localedata._cache)

    render_site(feeds, config, workers=1, on_rendered=on_rendered)
    assert told and all(told)  # read before the first document was rendered
