"""Grouping: which feeds exist and which posts each holds (docs/urls.md "Feeds")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from feedsvc.config import Config
from feedsvc.configfile import parse_config
from feedsvc.feeds import EPOCH, build_feeds
from feedsvc.model import Category, FeedKind, Post


def make_config(tmp_path: Path, **feeds: object) -> Config:
    return parse_config(
        {
            "site": {
                "title": "Test Site",
                "url": "https://site.example/",
                "id_authority": "site.example,2020",
                "timezone": "America/New_York",
            },
            "feeds": feeds,
        },
        base_dir=tmp_path,
    )


def post(
    n: int, lang: str = "en", cats: tuple[str, ...] = (), when: datetime | None = None
) -> Post:
    published = when or datetime(2024, 1, 1 + n, 12, tzinfo=UTC)
    return Post(
        id=f"tag:site.example,2020:{n}",
        url=f"https://site.example/{n}/",
        title=f"Post {n}",
        published=published,
        updated=published,
        lang=lang,
        summary="s",
        content_html="<p>c</p>",
        categories=tuple(Category(c, c.lower().replace(" ", "-")) for c in cats),
    )


def by_path(feeds):
    return {feed.path: feed for feed in feeds}


def newest_first(posts: list[Post]) -> list[Post]:
    return sorted(posts, key=lambda p: p.published, reverse=True)


def test_every_kind_of_feed_exists(tmp_path):
    posts = newest_first(
        [
            post(1, "en", ("Labor Trafficking",)),
            post(2, "es", ("Labor Trafficking", "Children and Youth")),
            post(3, "es", ("Children and Youth",)),
        ]
    )
    feeds = by_path(build_feeds(posts, make_config(tmp_path)))
    assert set(feeds) == {
        "feed",
        "category/labor-trafficking",
        "category/children-and-youth",
        "lang/en",
        "lang/es",
        "lang/en/category/labor-trafficking",
        "lang/es/category/labor-trafficking",
        "lang/es/category/children-and-youth",
        "archive/2024/01",
    }
    assert [p.id for p in feeds["lang/es"].posts] == [posts[0].id, posts[1].id]
    assert feeds["lang/es"].lang == "es"
    assert feeds["feed"].lang is None  # mixed languages: each entry says its own
    assert feeds["category/children-and-youth"].lang == "es"
    assert feeds["lang/es"].html_url == "https://site.example/es/"
    assert feeds["lang/en"].html_url == "https://site.example/"
    assert feeds["category/labor-trafficking"].kind is FeedKind.CATEGORY


def test_feeds_hold_the_newest_entries_and_updated_is_the_newest_entry(tmp_path):
    posts = newest_first([post(n) for n in range(10)])
    edited = posts[5]
    posts[5] = replace(edited, updated=datetime(2025, 6, 1, tzinfo=UTC))
    feeds = by_path(build_feeds(posts, make_config(tmp_path, entries=3)))
    site = feeds["feed"]
    assert [p.id for p in site.posts] == [p.id for p in posts[:3]]
    # The edit is outside the newest three, so the feed's updated time ignores it.
    assert site.updated == posts[0].updated
    assert feeds["archive/2024/01"].updated == datetime(2025, 6, 1, tzinfo=UTC)
    assert len(feeds["archive/2024/01"].posts) == 10  # archives are complete


def test_labels_differing_in_case_or_spacing_are_one_category(tmp_path):
    posts = newest_first(
        [
            post(1, cats=("Children and Youth",)),
            post(2, cats=("children and youth",)),
            post(3, cats=("Children and Youth",)),
        ]
    )
    # The normalizer gives equal slugs; the feed title takes the most used label.
    posts = [
        replace(p, categories=(Category(p.categories[0].label, "children-and-youth"),))
        for p in posts
    ]
    feeds = by_path(build_feeds(posts, make_config(tmp_path)))
    feed = feeds["category/children-and-youth"]
    assert len(feed.posts) == 3
    assert feed.title == "Test Site: Children and Youth"


def test_archives_follow_the_site_time_zone_and_link_to_each_other(tmp_path):
    # 03:00 UTC on 1 March is still February in New York.
    posts = newest_first(
        [
            post(1, when=datetime(2024, 3, 1, 3, tzinfo=UTC)),
            post(2, when=datetime(2024, 3, 15, tzinfo=UTC)),
            post(3, when=datetime(2024, 1, 10, tzinfo=UTC)),
        ]
    )
    feeds = by_path(build_feeds(posts, make_config(tmp_path)))
    archives = [f for f in feeds.values() if f.archive]
    assert [f.path for f in archives] == ["archive/2024/01", "archive/2024/02", "archive/2024/03"]
    feb = feeds["archive/2024/02"]
    assert [p.id for p in feb.posts] == [posts[1].id]
    assert (feb.prev_archive, feb.next_archive, feb.current) == (
        "archive/2024/01",
        "archive/2024/03",
        "feed",
    )
    assert feeds["archive/2024/01"].prev_archive is None
    assert feeds["archive/2024/03"].next_archive is None
    assert feeds["feed"].prev_archive == "archive/2024/03"


def test_switches_turn_feeds_off_and_an_empty_site_still_has_its_feed(tmp_path):
    config = make_config(tmp_path, archives=False, language_categories=False)
    feeds = by_path(build_feeds([post(1, cats=("A",))], config))
    assert set(feeds) == {"feed", "category/a", "lang/en"}
    empty = by_path(build_feeds([], make_config(tmp_path)))
    assert set(empty) == {"feed"}
    assert empty["feed"].updated == EPOCH
