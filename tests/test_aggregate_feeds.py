"""feeds.py in aggregator mode: /partners, /network, and which site feeds partners join."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from feedsvc.config import Config
from feedsvc.configfile import parse_config
from feedsvc.feeds import build_feeds, build_partner_feeds
from feedsvc.model import Category, FeedKind, Origin, Post

SITE = {"title": "Site", "url": "https://site.example/", "id_authority": "site.example,2020"}


def config(tmp_path: Path, *, partners=(), entries: int = 20, **aggregator) -> Config:
    raw = {
        "site": SITE,
        "feeds": {"entries": entries},
        "aggregator": {"enabled": True, **aggregator},
        "partners": [
            {"name": name, "url": f"https://{name}.example/feed", "title": name, **extra}
            for name, extra in partners
        ],
    }
    return parse_config(raw, base_dir=tmp_path)


def post(n: int, origin: str | None = None, lang: str = "en", cats: tuple[str, ...] = ()) -> Post:
    when = datetime(2024, 1, n, tzinfo=UTC)
    return Post(
        id=f"urn:{origin or 'site'}:{n}",
        url=f"https://x.example/{n}",
        title=f"{origin or 'site'} {n}",
        published=when,
        updated=when,
        lang=lang,
        summary="s",
        content_html="<p>c</p>",
        categories=tuple(Category(c, c.lower()) for c in cats),
        origin=Origin(origin, origin, f"https://{origin}.example/feed") if origin else None,
    )


def by_path(feeds):
    return {feed.path: feed for feed in feeds}


def test_partners_and_network_feeds(tmp_path):
    site = [post(5), post(1)]
    partners = [post(2, "a"), post(4, "b"), post(3, "a")]
    feeds = by_path(build_partner_feeds(site, partners, config(tmp_path)))
    assert set(feeds) == {"partners", "network"}
    assert feeds["partners"].kind is FeedKind.PARTNERS
    assert [p.title for p in feeds["partners"].posts] == ["b 4", "a 3", "a 2"]
    assert feeds["network"].kind is FeedKind.NETWORK
    assert [p.title for p in feeds["network"].posts] == ["site 5", "b 4", "a 3", "a 2", "site 1"]
    assert feeds["network"].updated == datetime(2024, 1, 5, tzinfo=UTC)


def test_network_only_with_merge_site_and_nothing_when_disabled(tmp_path):
    feeds = build_partner_feeds([post(1)], [post(2, "a")], config(tmp_path, merge_site=False))
    assert [f.path for f in feeds] == ["partners"]
    off = replace(config(tmp_path), aggregator=replace(config(tmp_path).aggregator, enabled=False))
    assert build_partner_feeds([post(1)], [post(2, "a")], off) == ()


def test_the_newest_n_entries_and_the_sites_copy_of_a_shared_id(tmp_path):
    mine = post(1)
    republished = replace(post(9, "a"), id=mine.id)
    partners = [republished, *(post(n, "b") for n in range(2, 8))]
    feeds = by_path(build_partner_feeds([mine], partners, config(tmp_path, entries=3)))
    assert len(feeds["partners"].posts) == 3
    network = feeds["network"].posts
    assert [p.title for p in network] == ["b 7", "b 6", "b 5"]
    everything = by_path(build_partner_feeds([mine], partners, config(tmp_path, entries=50)))
    assert [p.title for p in everything["network"].posts if p.id == mine.id] == ["site 1"]


def test_partners_join_category_feeds_only_through_their_configured_categories(tmp_path):
    cfg = config(tmp_path, partners=[("a", {"categories": ["Partners"]}), ("b", {})])
    site = [post(1, cats=("News",))]
    mapped = post(2, "a", cats=("Partners",))
    unmapped = post(3, "b")
    feeds = by_path(build_feeds(site, cfg, partner_posts=[mapped, unmapped]))
    assert [p.title for p in feeds["category/partners"].posts] == ["a 2"]
    assert [p.title for p in feeds["feed"].posts] == ["site 1"]  # never the site feed
    assert all(f.kind is not FeedKind.ARCHIVE or "a 2" not in [p.title for p in f.posts]
               for f in feeds.values())  # fmt: skip
    assert "b 3" not in {p.title for f in feeds.values() for p in f.posts}


def test_partners_join_language_feeds_only_with_lang_set_and_in_that_language(tmp_path):
    cfg = config(
        tmp_path,
        partners=[("a", {"lang": "es", "categories": ["Partners"]}), ("b", {})],
    )
    site = [post(1, lang="en"), post(2, lang="es")]
    partners = [post(3, "a", lang="es", cats=("Partners",)), post(4, "a", lang="fr"), post(5, "b")]
    feeds = by_path(build_feeds(site, cfg, partner_posts=partners))
    assert [p.title for p in feeds["lang/es"].posts] == ["a 3", "site 2"]
    assert [p.title for p in feeds["lang/es/category/partners"].posts] == ["a 3"]
    assert "lang/fr" not in feeds  # the feed's own language is not mapped
    assert [p.title for p in feeds["lang/en"].posts] == ["site 1"]  # b sets no lang


def test_without_partner_posts_build_feeds_is_unchanged(tmp_path):
    cfg = config(tmp_path)
    site = [post(2, cats=("News",)), post(1, lang="es")]
    assert build_feeds(site, cfg) == build_feeds(site, cfg, partner_posts=())
