"""WordPress posts without ``_embedded`` (plugins and caches strip it): their category, tag and
featured-image ids are looked up through ``/wp/v2/categories``, ``/wp/v2/tags`` and
``/wp/v2/media/{id}`` of the local fake (tests/wp_support.py), so the site publishes exactly
what it publishes with ``_embedded``; lookups are conditional, bounded, and never drop a post.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from live_support import ManualSleep
from server_support import SEEN
from source_support import by_title, normalize, site_config
from wp_support import (
    MEDIA,
    PASSWORD,
    USER,
    FakeWordPress,
    rich_post,
    source_for,
    start,
    term,
    term_id,
    wp_post,
)

from feedsvc.config import Config
from feedsvc.live import Publisher
from feedsvc.model import Severity
from feedsvc.pipeline import SourceState, all_feeds, normalize_sources, read_sources, render_site
from feedsvc.remote.fetch import Fetcher, FetchPolicy
from feedsvc.service import create_service
from feedsvc.sources import SourceResult
from feedsvc.sources.wordpress import read_wordpress
from feedsvc.sources.wp_lookups import MAX_ID_LOOKUPS, MAX_TERM_PAGES
from feedsvc.warm.state import WarmState, decode_state, encode_state


def site_posts() -> list[dict[str, Any]]:
    """Posts naming categories on several pages of terms, tags, shared and own images."""
    photo = {**MEDIA, "id": 78, "source_url": "https://wp.example/up/photo.png"}
    photo["mime_type"] = "image/png"
    return [
        rich_post(),
        wp_post(8, categories=("News", "Term 0249"), tags=("un",), media=MEDIA),
        wp_post(9, categories=("Term 0003",), tags=("open data", "advocacy"), media=photo),
        wp_post(10, categories=(), tags=()),
    ]


def many_terms(count: int, taxonomy: str = "category") -> list[dict[str, Any]]:
    return [term(f"Term {i:04d}", taxonomy) for i in range(count)]


def lookups_seen(server) -> list[str]:
    return [r.path for r in server.app[SEEN] if not r.path.endswith("/posts")]


async def rendered_site(config: Config) -> dict[str, bytes]:
    """Every document the site serves, as a build renders it."""
    states = await read_sources(config)
    loaded = normalize_sources(states, config, workers=1)
    site = render_site(all_feeds(loaded.posts, config), config, workers=1)
    return {path: resource.identity.body for path, resource in site.resources.items()}


async def test_a_site_without_embedded_publishes_byte_identical_feeds(serve, tmp_path) -> None:
    published = {}
    for embedded in (True, False):
        wordpress = FakeWordPress(site_posts(), embedded=embedded, extra_terms=many_terms(250))
        server = await start(serve, wordpress)
        config = site_config(tmp_path, [{"type": "wordpress", "url": str(server.make_url("/"))}])
        published[embedded] = await rendered_site(config)
        if not embedded:
            # 254 categories: three pages; one of tags; two images and an author, once each.
            assert sorted(lookups_seen(server)) == [
                *["/wp-json/wp/v2/categories"] * 3,
                "/wp-json/wp/v2/media/77",
                "/wp-json/wp/v2/media/78",
                "/wp-json/wp/v2/tags",
                "/wp-json/wp/v2/users/2",
            ]
    assert published[False] == published[True]
    feed = json.loads(published[False]["/feed.json"])
    item = next(i for i in feed["items"] if i["url"].endswith("post-8/"))
    assert item["tags"] == ["News", "Term 0249", "un"]
    assert item["image"] == MEDIA["source_url"]
    assert "/category/term-0003.atom" in published[False]
    assert "/tag/open-data.rss" in published[False]


async def test_a_site_whose_posts_carry_embedded_costs_no_extra_request(serve, fetcher) -> None:
    wordpress = FakeWordPress(site_posts(), extra_terms=many_terms(250))
    server = await start(serve, wordpress)
    result = await read_wordpress(source_for(server), fetcher)
    assert lookups_seen(server) == []
    assert len(server.app[SEEN]) == 1
    assert result.lookups == {}

    wordpress.embedded = False  # the same site behind a cache that strips _embedded
    await read_wordpress(source_for(server), fetcher)
    assert len(lookups_seen(server)) == 7


async def test_only_what_a_post_lacks_is_looked_up(serve, fetcher, config) -> None:
    terms_embedded = wp_post(6, categories=("News",), media=MEDIA)
    del terms_embedded["_embedded"]["wp:featuredmedia"]  # a plugin that embeds terms only
    server = await start(serve, FakeWordPress([wp_post(5, media=MEDIA), terms_embedded]))
    result = await read_wordpress(source_for(server), fetcher)
    assert lookups_seen(server) == ["/wp-json/wp/v2/media/77"]
    post = by_title(normalize(result, config).posts)["Post 6"]
    assert [c.label for c in post.categories] == ["News"]
    assert post.image is not None and post.image.alt == MEDIA["alt_text"]


async def test_lookups_are_conditional_and_a_304_keeps_what_they_gave(
    serve, fetcher, config
) -> None:
    wordpress = FakeWordPress(site_posts(), embedded=False, etags=True, extra_terms=many_terms(250))
    server = await start(serve, wordpress)
    source = source_for(server)
    first = await read_wordpress(source, fetcher)
    assert len(first.lookups) == 7
    assert set(first.lookups) <= set(first.validators)

    # Nothing changed: every request is conditional, every answer 304, nothing is new.
    count = len(server.app[SEEN])
    second = await read_wordpress(source, fetcher, first)
    assert second is first
    again = server.app[SEEN][count:]
    assert len(again) == 8
    assert all(r.headers.get("If-None-Match") for r in again)

    # A category renamed: the posts' pages answer 304, the terms' first page does not.
    renamed = next(t for t in wordpress._terms("category") if t["name"] == "News")
    renamed["name"] = "Latest News"
    third = await read_wordpress(source, fetcher, second)
    assert third is not second
    titles = by_title(normalize(third, config).posts)
    assert [c.label for c in titles["Post 8"].categories] == ["Latest News", "Term 0249"]
    assert third.posts[0] is not second.posts[0] or "News" not in str(second.posts[0].meta)


async def test_term_pages_follow_link_next_without_a_total(serve, fetcher, config) -> None:
    wordpress = FakeWordPress(
        site_posts(), embedded=False, link_paging=True, extra_terms=many_terms(250)
    )
    server = await start(serve, wordpress)
    result = await read_wordpress(source_for(server), fetcher)
    pages = [r.query["page"] for r in server.app[SEEN] if r.path.endswith("/categories")]
    assert pages == ["1", "2", "3"]  # page 3 has no rel="next"
    titles = by_title(normalize(result, config).posts)
    assert [c.label for c in titles["Post 8"].categories] == ["News", "Term 0249"]


async def test_a_hostile_page_count_stops_at_the_term_page_cap(serve, fetcher, config) -> None:
    # X-WP-TotalPages: 1000000 and full pages as far as the cap and beyond.
    terms = many_terms(MAX_TERM_PAGES * 100 + 300)
    wordpress = FakeWordPress(
        site_posts(), embedded=False, extra_terms=terms, term_total_pages="1000000"
    )
    server = await start(serve, wordpress)
    result = await read_wordpress(source_for(server), fetcher)
    asked = [r for r in server.app[SEEN] if r.path.endswith("/categories")]
    assert len(asked) == MAX_TERM_PAGES
    [capped] = [p for p in result.problems if "stopped after" in p.message]
    assert capped.severity is Severity.WARNING
    assert capped.path.endswith(f"&page={MAX_TERM_PAGES}")
    titles = by_title(normalize(result, config).posts)
    assert [c.label for c in titles["Post 8"].categories] == ["News", "Term 0249"]


async def test_media_is_asked_once_per_id_and_at_most_the_cap_per_read(
    serve, fetcher, config
) -> None:
    extra = MAX_ID_LOOKUPS // 4
    posts = [
        wp_post(i, media={**MEDIA, "id": 1000 + i, "source_url": f"https://wp.example/{i}.jpg"})
        for i in range(1, MAX_ID_LOOKUPS + extra + 1)
    ]
    posts += [wp_post(900, media=posts[0]["_embedded"]["wp:featuredmedia"][0])]  # shared
    wordpress = FakeWordPress(posts, embedded=False, etags=True)
    server = await start(serve, wordpress)
    source = source_for(server)

    first = await read_wordpress(source, fetcher)
    asked = [r.path for r in server.app[SEEN] if "/media/" in r.path]
    assert len(asked) == len(set(asked)) == MAX_ID_LOOKUPS
    [later] = [p for p in first.problems if "not looked up" in p.message]
    assert later.severity is Severity.WARNING and f"{extra} featured image ids" in later.message
    images = [p.image for p in normalize(first, config).posts]
    assert sum(image is not None for image in images) < len(posts) - extra

    # The next read asks the ones left first, then revalidates the least recently asked.
    count = len(server.app[SEEN])
    second = await read_wordpress(source, fetcher, first)
    asked = [r for r in server.app[SEEN][count:] if "/media/" in r.path]
    assert len(asked) == MAX_ID_LOOKUPS
    assert sum(not r.headers.get("If-None-Match") for r in asked) == extra
    assert not [p for p in second.problems if "not looked up" in p.message]
    normalized = normalize(second, config)
    assert all(post.image is not None for post in normalized.posts)
    assert (
        by_title(normalized.posts)["Post 900"].image == by_title(normalized.posts)["Post 1"].image
    )


def failing_fetcher(mode: int | str) -> Fetcher:
    """The sources' policy, with a shorter timeout for a lookup that never answers and a
    smaller body cap for a page of terms that is too large."""
    policy = FetchPolicy(allow_private_addresses=True)
    if mode == "hang":
        policy = replace(policy, total_timeout=1.0)
    if mode == "huge":
        policy = replace(policy, max_body_bytes=100_000)
    return Fetcher(policy)


FAILURES = [
    (500, "HTTP 500 (internal_server_error)"),
    ("not json", "not JSON"),
    ("object", "not a JSON array of terms"),
    (401, "HTTP 401 (rest_forbidden): not public"),
    ("hang", "no complete response within 1 s"),
    ("huge", "100000"),
]


@pytest.mark.parametrize(("mode", "words"), FAILURES, ids=[str(m) for m, _ in FAILURES])
async def test_a_failing_term_endpoint_keeps_every_post_and_the_last_good_terms(
    serve, config, mode, words
) -> None:
    wordpress = FakeWordPress(site_posts(), embedded=False, etags=True)
    server = await start(serve, wordpress)
    source = source_for(server)
    try:
        async with failing_fetcher(mode) as fetcher:
            good = await read_wordpress(source, fetcher)
            wordpress.broken["categories"] = mode
            kept = await read_wordpress(source, fetcher, good)
            fresh = await read_wordpress(source, fetcher)
    finally:
        wordpress.released.set()

    for result, note in ((kept, "the last good terms are kept"), (fresh, "without them")):
        [problem] = [p for p in result.problems if "/categories" in p.path]
        assert problem.path.startswith(f"{server.make_url('/wp-json/wp/v2/categories')}?")
        assert problem.severity is Severity.ERROR
        assert words in problem.message and "category terms" in problem.message
        assert note in problem.message
        titles = by_title(normalize(result, config).posts)
        assert len(titles) == 4  # every post is published
        assert titles["Post 9"].tags == ("open data", "advocacy")  # tags still resolve
        assert titles["Post 9"].image is not None
    assert [c.label for c in by_title(normalize(kept, config).posts)["Post 8"].categories] == [
        "News",
        "Term 0249",
    ]
    assert by_title(normalize(fresh, config).posts)["Post 8"].categories == ()


async def test_a_failing_media_lookup_keeps_the_post_and_its_last_good_image(
    serve, fetcher, config
) -> None:
    wordpress = FakeWordPress(site_posts(), embedded=False, etags=True)
    server = await start(serve, wordpress)
    source = source_for(server)
    good = await read_wordpress(source, fetcher)
    wordpress.broken["media"] = 503
    kept = await read_wordpress(source, fetcher, good)
    fresh = await read_wordpress(source, fetcher)
    for result, note in ((kept, "last good version is kept"), (fresh, "published without it")):
        problems = sorted(p.path for p in result.problems if "/media/" in p.path)
        assert [p.split("?")[0].rsplit("/", 1)[1] for p in problems] == ["77", "78"]
        assert all(note in p.message for p in result.problems if "/media/" in p.path)
        assert len(normalize(result, config).posts) == 4
    assert by_title(normalize(kept, config).posts)["Post 8"].image is not None
    assert by_title(normalize(fresh, config).posts)["Post 8"].image is None


async def test_a_site_hiding_its_users_loses_only_the_author_name(serve, fetcher, config) -> None:
    wordpress = FakeWordPress(site_posts(), embedded=False, broken={"users": 401})
    server = await start(serve, wordpress)
    result = await read_wordpress(source_for(server), fetcher)
    [problem] = result.problems
    assert problem.path.startswith(f"{server.make_url('/wp-json/wp/v2/users/2')}?")
    assert problem.severity is Severity.WARNING
    assert "author could not be read: HTTP 401 (rest_forbidden): not public" in problem.message
    normalized = normalize(result, config)
    assert len(normalized.posts) == 4
    assert all(post.authors == () for post in normalized.posts)
    assert by_title(normalized.posts)["Post 8"].image is not None


async def test_the_failing_url_is_on_status_and_the_posts_are_served(
    serve, aiohttp_client, tmp_path
) -> None:
    wordpress = FakeWordPress(site_posts(), embedded=False, broken={"tags": 500})
    server = await start(serve, wordpress)
    config = site_config(tmp_path, [{"type": "wordpress", "url": str(server.make_url("/"))}])
    # Built in a thread, as `feedsvc serve` builds before serving: this loop runs the fake.
    client = await aiohttp_client(await asyncio.to_thread(create_service, config, workers=1))
    status = await (await client.get("/status", headers={"Accept": "application/json"})).json()
    [problem] = [p for p in status["skipped"] if "/wp-json/wp/v2/tags?" in p["path"]]
    assert "tag terms could not be read: HTTP 500" in problem["message"]
    assert problem["severity"] == "error"
    feed = await (await client.get("/feed.json")).json()
    assert len(feed["items"]) == 4


async def test_a_running_service_keeps_the_last_good_terms_until_the_endpoint_recovers(
    serve, tmp_path
) -> None:
    wordpress = FakeWordPress(site_posts(), embedded=False, etags=True)
    server = await start(serve, wordpress)
    source = {"type": "wordpress", "url": str(server.make_url("/")), "interval": "1m"}
    sleep = ManualSleep()
    publisher = Publisher(site_config(tmp_path, [source]), workers=1, sleep=sleep)
    await publisher.build_async()
    await publisher.start()
    try:

        def categories_of_post_8() -> list[str]:
            body = publisher.ref.current.resources["/feed.json"].identity.body
            item = next(i for i in json.loads(body)["items"] if i["url"].endswith("post-8/"))
            return item["tags"]

        assert categories_of_post_8() == ["News", "Term 0249", "un"]
        wordpress.broken["categories"] = 500
        await sleep.tick()
        [problem] = publisher.status().skipped
        assert "/wp-json/wp/v2/categories?" in problem.path
        assert "the last good terms are kept" in problem.message
        assert categories_of_post_8() == ["News", "Term 0249", "un"]

        del wordpress.broken["categories"]
        renamed = next(t for t in wordpress._terms("category") if t["name"] == "News")
        renamed["name"] = "Latest News"
        await sleep.tick()
        assert publisher.status().skipped == ()
        assert categories_of_post_8() == ["Latest News", "Term 0249", "un"]
    finally:
        await publisher.stop()


async def test_deleted_terms_and_media_are_left_out_with_a_warning(serve, fetcher, config) -> None:
    gone = term_id("Term 0249", "category")
    wordpress = FakeWordPress(site_posts(), embedded=False, deleted={gone, 77})
    server = await start(serve, wordpress)
    result = await read_wordpress(source_for(server), fetcher)
    [unknown] = [p for p in result.problems if "does not list" in p.message]
    assert unknown.severity is Severity.WARNING
    assert unknown.path.endswith("/wp-json/wp/v2/categories") and str(gone) in unknown.message
    [media] = [p for p in result.problems if "/media/77" in p.path]
    assert media.severity is Severity.WARNING and "deleted" in media.message
    normalized = normalize(result, config)
    assert len(normalized.posts) == 4
    post = by_title(normalized.posts)["Post 8"]
    assert [c.label for c in post.categories] == ["News"]
    assert post.image is None
    assert by_title(normalized.posts)["Post 9"].image is not None


async def test_terms_without_an_id_or_a_name_are_skipped_with_a_warning(
    serve, fetcher, config
) -> None:
    broken = [{**term("No id", "category"), "id": 0}, {**term("x", "category"), "name": None}]
    wordpress = FakeWordPress(site_posts(), embedded=False, extra_terms=broken)
    server = await start(serve, wordpress)
    result = await read_wordpress(source_for(server), fetcher)
    [warning] = result.problems
    assert warning.severity is Severity.WARNING and "/wp-json/wp/v2/categories?" in warning.path
    assert "2 category terms without a numeric id or a name skipped" in warning.message
    titles = by_title(normalize(result, config).posts)
    assert [c.label for c in titles["Post 8"].categories] == ["News", "Term 0249"]


async def test_values_that_are_not_ids_are_skipped_with_a_warning(serve, fetcher, config) -> None:
    post = wp_post(8, categories=("News",))
    post["categories"] += ["12", None, 3.5, True, -4]
    post["tags"] = "advocacy"
    post["featured_media"] = "77"
    server = await start(serve, FakeWordPress([post], embedded=False))
    result = await read_wordpress(source_for(server), fetcher)
    [warning] = result.problems
    assert warning.severity is Severity.WARNING and warning.path.endswith("#item-1")
    assert "values that are not ids" in warning.message
    assert '"12", null, 3.5, true, -4' in warning.message
    assert lookups_seen(server) == ["/wp-json/wp/v2/categories", "/wp-json/wp/v2/users/2"]
    (published,) = normalize(result, config).posts
    assert [c.label for c in published.categories] == ["News"]


async def test_a_private_site_sends_its_credentials_to_the_lookups_too(
    serve, fetcher, config, monkeypatch
) -> None:
    monkeypatch.setenv("WP_APP_PASSWORD", PASSWORD)
    wordpress = FakeWordPress(site_posts(), embedded=False, credentials=(USER, PASSWORD))
    server = await start(serve, wordpress)
    source = source_for(server, username=USER, password_env="WP_APP_PASSWORD")
    result = await read_wordpress(source, fetcher)
    assert result.problems == ()
    assert all(r.headers.get("Authorization") for r in server.app[SEEN])
    assert by_title(normalize(result, config).posts)["Post 9"].tags == ("open data", "advocacy")


async def test_what_lookups_gave_survives_a_warm_restart(serve, fetcher) -> None:
    server = await start(serve, FakeWordPress(site_posts(), embedded=False, etags=True))
    result = await read_wordpress(source_for(server), fetcher)
    assert len(result.lookups) == 5  # one page of each taxonomy, two images, one author
    state = WarmState({"wp": SourceState("wp", "wordpress", result)}, {}, [], [])
    restored = decode_state(encode_state(state), "state").states["wp"].result
    assert isinstance(restored, SourceResult)
    assert restored.lookups == result.lookups and list(restored.lookups) == list(result.lookups)
    again = await read_wordpress(source_for(server), fetcher, restored)
    assert again == restored
