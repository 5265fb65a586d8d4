"""NormalizeCache: posts whose raw form is unchanged are not normalized again, and a post
that turns bad keeps publishing its last good version (docs/architecture.md "Last good wins")."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from feedsvc.config import Config
from feedsvc.configfile import parse_config
from feedsvc.model import KEPT_NOTE, RawPost
from feedsvc.normalize import normalize_posts
from feedsvc.normalize.cache import NormalizeCache


@pytest.fixture
def config(tmp_path: Path) -> Config:
    site = {"title": "T", "url": "https://site.example/", "id_authority": "site.example,2020"}
    return parse_config({"site": site}, base_dir=tmp_path)


def raw(key: str, title: str = "", date: str = "2024-03-01", **meta: str) -> RawPost:
    return RawPost(
        path=f"posts/{key}.md",
        key=key,
        meta={"title": title or key.upper(), "date": date, **meta},
        body="Body.",
        body_format="markdown",
        source="posts",
    )


def run(cache: NormalizeCache, raws: list[RawPost], config: Config):
    return normalize_posts(raws, config, mapper=cache.mapper(config))


def test_equal_raw_posts_are_not_normalized_again(config):
    cache = NormalizeCache()
    first = run(cache, [raw("a"), raw("b")], config)
    assert cache.normalized == 2

    second = run(cache, [raw("a"), raw("b")], config)  # equal, not the same objects

    assert cache.normalized == 0
    assert second.posts == first.posts
    assert all(a is b for a, b in zip(second.posts, first.posts, strict=True))


def test_only_a_changed_post_is_normalized_and_gone_ones_are_forgotten(config):
    cache = NormalizeCache()
    run(cache, [raw("a"), raw("b"), raw("c")], config)

    result = run(cache, [raw("a"), raw("b", title="B edited")], config)

    assert cache.normalized == 1
    assert sorted(p.title for p in result.posts) == ["A", "B edited"]
    run(cache, [raw("a"), raw("b", title="B edited"), raw("c")], config)
    assert cache.normalized == 1  # "c" was forgotten when it left


def test_a_post_that_turns_bad_publishes_its_last_good_version(config):
    cache = NormalizeCache()
    good = run(cache, [raw("a"), raw("b", title="Good B")], config)

    bad = run(cache, [raw("a"), raw("b", date="not a date")], config)

    assert bad.posts == good.posts
    assert bad.problems == ()  # the batch saw the good version…
    (kept,) = cache.kept  # …and the cache says why it is still there
    assert kept.path == "posts/b.md"
    assert kept.message.endswith(KEPT_NOTE)

    fixed = run(cache, [raw("a"), raw("b", title="Fixed B")], config)
    assert "Fixed B" in [p.title for p in fixed.posts]
    assert cache.kept == ()


def test_a_post_bad_from_the_start_is_skipped_and_reported(config):
    cache = NormalizeCache()
    result = run(cache, [raw("a"), raw("b", date="not a date")], config)
    assert [p.title for p in result.posts] == ["A"]
    assert len(result.problems) == 1
    assert cache.kept == ()


def test_another_post_at_the_same_location_does_not_inherit_a_good_version(config):
    # In a remote document, "#item-2" may hold another post after an insert.
    cache = NormalizeCache()
    run(cache, [raw("a")], config)
    other = replace(raw("a", date="not a date"), key="another")
    result = run(cache, [other], config)
    assert result.posts == ()
    assert cache.kept == ()


def test_a_post_turned_draft_is_unpublished(config):
    cache = NormalizeCache()
    run(cache, [raw("a"), raw("b")], config)
    result = run(cache, [raw("a"), raw("b", draft="true")], config)
    assert [p.title for p in result.posts] == ["A"]
    assert result.drafts == 1


def test_another_site_config_starts_over(config):
    cache = NormalizeCache()
    run(cache, [raw("a")], config)
    moved = replace(config, site=replace(config.site, url="https://moved.example/"))
    result = run(cache, [raw("a")], moved)
    assert cache.normalized == 1
    assert result.posts[0].url.startswith("https://moved.example/")
    same_site = replace(moved, server=replace(moved.server, port=9000))
    run(cache, [raw("a")], same_site)
    assert cache.normalized == 0
