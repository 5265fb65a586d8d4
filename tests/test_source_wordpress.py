"""The wordpress source against a local server that answers like the WordPress REST API
(tests/wp_support.py); posts without ``_embedded`` are in tests/test_source_wp_lookups.py."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from server_support import SEEN
from source_support import by_title, normalize
from wp_support import (
    PASSWORD,
    USER,
    FakeWordPress,
    many_posts,
    rich_post,
    source_for,
    start,
    wp_error,
    wp_post,
)

from feedsvc.configfile import parse_config
from feedsvc.errors import ConfigError, SourceError
from feedsvc.model import Image, Severity
from feedsvc.remote.fetch import Fetcher, FetchPolicy
from feedsvc.sources import SOURCE_TYPES, read_remote_source
from feedsvc.sources.wordpress import api_url, read_wordpress

# --- reading ------------------------------------------------------------------------------


async def test_reads_every_page_and_maps_each_post(serve, fetcher, config) -> None:
    unpublished = [
        wp_post(8, title="A draft", status="draft"),
        wp_post(9, title="A private post", status="private"),
        wp_post(10, title="Scheduled", status="future", date_gmt="2030-01-01T00:00:00"),
    ]
    wordpress = FakeWordPress([rich_post(), *unpublished, *many_posts(247)])
    server = await start(serve, wordpress)

    result = await read_wordpress(source_for(server), fetcher)

    # 251 posts: three pages of 100, then no fourth request (X-WP-TotalPages said 3).
    assert [r["page"] for r in wordpress.requests] == ["1", "2", "3"]
    assert all(r["per_page"] == "100" and "_embed" in r for r in wordpress.requests)
    assert len(result.posts) == 248
    assert result.problems == ()
    normalized = normalize(result, config)
    assert normalized.problems == ()
    titles = by_title(normalized.posts)
    assert not {"A draft", "A private post", "Scheduled"} & set(titles)

    post = titles["Children’s Rights & Duties"]
    # guid.rendered is WordPress's own permanent id, its HTML escaping undone.
    assert post.id == "https://wp.example/?post_type=post&p=7"
    # date_gmt + Z: 14:30 UTC, although the site's zone is New York and "date" is local.
    assert post.published == datetime(2017, 6, 9, 14, 30, tzinfo=UTC)
    assert post.updated == datetime(2017, 6, 10, 8, 0, tzinfo=UTC)
    assert post.published.tzinfo is UTC
    assert post.url == "https://wp.example/2020/01/post-7/"
    assert [c.label for c in post.categories] == ["Children & Youth", "Labor Trafficking"]
    assert [c.slug for c in post.categories] == ["children-youth", "labor-trafficking"]
    assert post.tags == ("advocacy", "un")
    assert [(a.name, a.url) for a in post.authors] == [
        ("Ana Pérez", "https://wp.example/author/ana/")
    ]
    assert post.image == Image(
        url="https://wp.example/wp-content/uploads/2017/06/rally.jpg",
        mime_type="image/jpeg",
        length=183004,
        width=1200,
        height=800,
        alt="People marching with banners",
    )
    assert post.summary == "Every child has rights.…"
    # Relative URLs in the body are made absolute against the post's link.
    assert 'src="https://wp.example/wp-content/uploads/a.png"' in post.content_html
    assert post.lang == "en"


async def test_raw_posts_name_their_page_and_item(serve, fetcher) -> None:
    server = await start(serve, FakeWordPress(many_posts(3)))
    result = await read_wordpress(source_for(server, categories=("Blog",), lang="es"), fetcher)
    raw = result.posts[1]
    assert raw.path.startswith(f"{api_url(str(server.make_url('/')))}?")
    assert raw.path.endswith("&page=1#item-2")
    assert raw.line == 2
    assert raw.source == "wp"
    assert raw.body_format == "html"
    assert raw.key == "wordpress/1001"
    assert raw.default_categories == ("Blog",)
    assert raw.default_lang == "es"


async def test_without_total_pages_it_reads_until_the_invalid_page_error(serve, fetcher) -> None:
    wordpress = FakeWordPress(many_posts(150), total_pages_header=False)
    server = await start(serve, wordpress)
    result = await read_wordpress(source_for(server), fetcher)
    assert [r["page"] for r in wordpress.requests] == ["1", "2", "3"]
    assert len(result.posts) == 150
    assert result.problems == ()


async def test_a_site_without_posts_is_empty_not_an_error(serve, fetcher) -> None:
    server = await start(serve, FakeWordPress([]))
    result = await read_wordpress(source_for(server), fetcher)
    assert result.posts == ()


async def test_bad_items_are_problems_and_the_rest_still_come(serve, fetcher, config) -> None:
    protected = wp_post(3)
    protected["content"] = protected["excerpt"] = {"rendered": "", "protected": True}
    posts = [
        wp_post(1),
        wp_post(2, date_gmt=None, date=None),
        protected,
        wp_post(4, date_gmt="not a date"),
        wp_post(5),
    ]
    server = await start(serve, FakeWordPress(posts))
    result = await read_wordpress(source_for(server), fetcher)

    assert [p.key for p in result.posts] == ["wordpress/1", "wordpress/4", "wordpress/5"]
    [no_date, password] = result.problems
    assert no_date.path.endswith("#item-2") and no_date.line == 2
    assert "post 2 has no date_gmt and no date" in no_date.message
    assert password.severity is Severity.WARNING and "password-protected" in password.message
    normalized = normalize(result, config)
    assert sorted(p.title for p in normalized.posts) == ["Post 1", "Post 5"]
    [bad_date] = normalized.problems
    assert bad_date.path.endswith("#item-4") and "cannot read date" in bad_date.message


async def test_polylang_translations_are_linked_after_normalizing(serve, fetcher, config) -> None:
    posts = [
        wp_post(12, title="Hello", lang="en", translations={"en": 12, "es": 34}),
        wp_post(34, title="Hola", lang="es", translations={"en": 12, "es": 34}),
        wp_post(40, title="Alone", lang="es", translations={"es": 40}),
    ]
    server = await start(serve, FakeWordPress(posts))
    result = await read_wordpress(source_for(server), fetcher)
    assert {p.meta.get("translation_key") for p in result.posts} == {"wp:wp:12", None}

    titles = by_title(normalize(result, config).posts)
    hello, hola, alone = titles["Hello"], titles["Hola"], titles["Alone"]
    assert (hello.lang, hola.lang) == ("en", "es")
    assert [(t.lang, t.url, t.title) for t in hello.translations] == [("es", hola.url, "Hola")]
    assert [(t.lang, t.url) for t in hola.translations] == [("en", hello.url)]
    assert alone.translations == ()


async def test_wpml_locale_and_translations(serve, fetcher, config) -> None:
    posts = [
        wp_post(
            50,
            title="Report",
            wpml_current_locale="en_US",
            wpml_translations=[{"locale": "es_ES", "id": 51, "post_title": "Informe"}],
        ),
        wp_post(
            51,
            title="Informe",
            wpml_current_locale="es_ES",
            # The plugin's 2.x shape: keyed by locale.
            wpml_translations={"en_US": {"locale": "en_US", "id": 50, "post_title": "Report"}},
        ),
    ]
    server = await start(serve, FakeWordPress(posts))
    result = await read_wordpress(source_for(server), fetcher)
    titles = by_title(normalize(result, config).posts)
    assert titles["Report"].lang == "en-US"
    assert titles["Informe"].lang == "es-ES"
    assert [t.title for t in titles["Report"].translations] == ["Informe"]


# --- credentials --------------------------------------------------------------------------


async def test_a_private_site_without_credentials_says_they_are_needed(serve, fetcher) -> None:
    server = await start(serve, FakeWordPress(many_posts(2), credentials=(USER, PASSWORD)))
    with pytest.raises(SourceError) as info:
        await read_wordpress(source_for(server), fetcher)
    assert "HTTP 401" in info.value.message
    assert "needs credentials" in info.value.message
    assert "rest_not_logged_in" in info.value.message


async def test_an_application_password_from_the_environment_is_sent_as_basic_auth(
    serve, fetcher, monkeypatch
) -> None:
    monkeypatch.setenv("WP_APP_PASSWORD", PASSWORD)
    server = await start(serve, FakeWordPress(many_posts(2), credentials=(USER, PASSWORD)))
    source = source_for(server, username=USER, password_env="WP_APP_PASSWORD")

    result = await read_wordpress(source, fetcher)

    assert len(result.posts) == 2
    [request] = server.app[SEEN]
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {token}"
    assert request.headers["Accept"] == "application/json"
    assert PASSWORD not in repr(source)


async def test_a_refused_password_is_reported_without_the_password(
    serve, fetcher, monkeypatch
) -> None:
    monkeypatch.setenv("WP_APP_PASSWORD", "wrong password")
    server = await start(serve, FakeWordPress(many_posts(2), credentials=(USER, PASSWORD)))
    source = source_for(server, username=USER, password_env="WP_APP_PASSWORD")
    with pytest.raises(SourceError) as info:
        await read_wordpress(source, fetcher)
    assert "credentials of user 'feedsvc' were refused (incorrect_password)" in str(info.value)
    assert "wrong password" not in str(info.value)


async def test_an_unset_password_variable_is_named(serve, fetcher, monkeypatch) -> None:
    monkeypatch.delenv("WP_APP_PASSWORD", raising=False)
    server = await start(serve, FakeWordPress(many_posts(2)))
    source = source_for(server, username=USER, password_env="WP_APP_PASSWORD")
    with pytest.raises(SourceError, match=r"WP_APP_PASSWORD .* is not set"):
        await read_wordpress(source, fetcher)
    assert server.app[SEEN] == []


# --- failures and conditional requests ----------------------------------------------------


async def test_a_server_error_fails_the_source(serve, fetcher) -> None:
    server = await start(serve, FakeWordPress(many_posts(2), fail_with=500))
    with pytest.raises(SourceError) as info:
        await read_wordpress(source_for(server), fetcher)
    assert info.value.source == "wp"
    assert "HTTP 500" in info.value.message and "internal_server_error" in info.value.message


async def test_a_site_without_the_rest_api_is_explained(serve, fetcher) -> None:
    async def html_page(request: web.Request) -> web.Response:
        return web.Response(
            text="<!doctype html><p>Under maintenance</p>", content_type="text/html"
        )

    server = await serve({"/wp-json/wp/v2/posts": html_page})
    with pytest.raises(SourceError, match="not JSON"):
        await read_wordpress(source_for(server), fetcher)
    missing = await serve({})
    with pytest.raises(SourceError, match=r"HTTP 404.*site's root"):
        await read_wordpress(source_for(missing), fetcher)


async def test_unchanged_pages_are_not_read_again(serve, fetcher, config) -> None:
    wordpress = FakeWordPress(many_posts(250), etags=True)
    server = await start(serve, wordpress)
    source = source_for(server)

    first = await read_wordpress(source, fetcher)
    assert len(first.validators) == 3

    # Every page 304: nothing changed, and the previous result is returned as is.
    second = await read_wordpress(source, fetcher, first)
    assert second is first
    sent = [r.headers.get("If-None-Match") for r in server.app[SEEN][3:]]
    assert sent == [first.validators[url].etag for url in first.validators]

    # One post edited on page 2: only that page's posts are new; pages 1 and 3 are reused.
    wordpress.posts[150] = wp_post(1150, title="Edited")
    third = await read_wordpress(source, fetcher, second)
    assert third is not second
    assert len(third.posts) == 250
    assert next(p for p in third.posts if p.meta["title"] == "Edited").key == "wordpress/1150"
    assert third.posts[0] is first.posts[0]  # page 1 reused
    assert third.posts[-1] is first.posts[-1]  # page 3 reused
    titles = by_title(normalize(third, config).posts)
    assert "Edited" in titles and "Post 1150" not in titles


async def test_it_is_registered_as_a_remote_reader(serve, fetcher) -> None:
    assert SOURCE_TYPES["wordpress"].remote is read_wordpress
    server = await start(serve, FakeWordPress(many_posts(1)))
    result = await read_remote_source(source_for(server), fetcher)
    assert len(result.posts) == 1


def test_api_url_from_the_site_root() -> None:
    assert api_url("https://wp.example/") == "https://wp.example/wp-json/wp/v2/posts"
    assert api_url("https://wp.example/blog") == "https://wp.example/blog/wp-json/wp/v2/posts"
    assert api_url("https://wp.example/wp-json/") == "https://wp.example/wp-json/wp/v2/posts"


# --- the fetcher's extra headers ----------------------------------------------------------


async def test_fetcher_sends_extra_headers_and_keeps_credentials_on_the_same_origin(
    serve,
) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"authorization": request.headers.get("Authorization")})

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    server = await serve({"/echo": echo, "/hop": hop})
    policy = FetchPolicy(allow_private_addresses=True)
    headers = {"Authorization": "Basic c2VjcmV0", "X-Test": "1"}
    async with Fetcher(policy) as f:
        direct = await f.fetch(str(server.make_url("/echo")), headers=headers)
        same = await f.fetch(str(server.make_url("/hop").with_query(to="/echo")), headers=headers)
    assert json.loads(direct.body) == {"authorization": "Basic c2VjcmV0"}
    assert json.loads(same.body) == {"authorization": "Basic c2VjcmV0"}
    assert server.app[SEEN][0].headers["X-Test"] == "1"


async def test_fetcher_drops_credentials_on_a_redirect_to_another_origin(serve) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "authorization": request.headers.get("Authorization"),
                "x-test": request.headers.get("X-Test"),
            }
        )

    other = await serve({"/echo": echo})

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound(str(other.make_url("/echo")))  # another port: another origin

    server = await serve({"/away": away})
    headers = {"Authorization": "Basic c2VjcmV0", "X-Test": "1"}
    async with Fetcher(FetchPolicy(allow_private_addresses=True)) as f:
        result = await f.fetch(str(server.make_url("/away")), headers=headers)
    assert json.loads(result.body) == {"authorization": None, "x-test": "1"}


async def test_fetcher_reads_error_bodies_only_when_asked(serve) -> None:
    async def gone(request: web.Request) -> web.Response:
        return wp_error("rest_no_route", "No route was found.", 404)

    server = await serve({"/x": gone})
    async with Fetcher(FetchPolicy(allow_private_addresses=True)) as f:
        plain = await f.fetch(str(server.make_url("/x")))
        explained = await f.fetch(str(server.make_url("/x")), error_body=True)
    assert (plain.status, plain.body) == (404, b"")
    assert json.loads(explained.body)["code"] == "rest_no_route"


# --- config -------------------------------------------------------------------------------


def wordpress_config(tmp_path: Path, **keys: Any) -> None:
    raw = {
        "site": {"title": "T", "url": "https://t.example/", "id_authority": "t.example,2020"},
        "sources": [{"type": "wordpress", **keys}],
    }
    parse_config(raw, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("keys", "key", "words"),
    [
        ({}, "sources[0].url", "required"),
        ({"url": "wp.example"}, "sources[0].url", "http(s) URL"),
        ({"url": "https://wp.example/", "path": "x"}, "sources[0].path", "not used"),
        ({"url": "https://wp.example/", "username": "u"}, "sources[0].password_env", "required"),
        ({"url": "https://wp.example/", "password_env": "P"}, "sources[0].username", "required"),
        (
            {"url": "https://wp.example/", "username": "a:b", "password_env": "P"},
            "sources[0].username",
            "':'",
        ),
        ({"url": "https://wp.example/", "lang": "Spanish"}, "sources[0].lang", "BCP 47"),
    ],
)
def test_config_errors_name_the_key(tmp_path, keys, key, words) -> None:
    with pytest.raises(ConfigError) as info:
        wordpress_config(tmp_path, **keys)
    assert info.value.key == key
    assert words in info.value.message


def test_a_password_pasted_into_password_env_is_refused_without_echoing_it(tmp_path) -> None:
    keys = {"url": "https://wp.example/", "username": USER, "password_env": PASSWORD}
    with pytest.raises(ConfigError) as info:
        wordpress_config(tmp_path, **keys)
    assert info.value.key == "sources[0].password_env"
    assert "NAME of an environment variable" in info.value.message
    assert PASSWORD not in str(info.value)


async def test_wpml_translations_sharing_one_guid_get_their_own_ids(serve, fetcher, config) -> None:
    shared = {"rendered": "https://wp.example/?p=60"}
    posts = [
        wp_post(60, title="Report", guid=shared, wpml_current_locale="en_US"),
        wp_post(61, title="Rapport", guid=shared, wpml_current_locale="fr_FR"),
        wp_post(62, title="Bericht", guid=shared, wpml_current_locale="de_DE"),
        wp_post(63, title="Alone", wpml_current_locale="en_US"),
    ]
    wordpress = FakeWordPress(posts, etags=True)
    server = await start(serve, wordpress)
    first = await read_wordpress(source_for(server), fetcher)
    normalized = normalize(first, config)
    assert normalized.problems == ()
    titles = by_title(normalized.posts)
    assert titles["Report"].id == "https://wp.example/?p=60#lang=en-US"
    assert titles["Rapport"].id == "https://wp.example/?p=60#lang=fr-FR"
    assert titles["Bericht"].id == "https://wp.example/?p=60#lang=de-DE"
    assert titles["Alone"].id == "https://wp.example/?p=63"  # a single-language post: as today
    assert sorted(t.title for t in titles["Rapport"].translations) == ["Bericht", "Report"]
    assert titles["Alone"].translations == ()
    # A read answered 304 keeps the same ids.
    again = await read_wordpress(source_for(server), fetcher, first)
    assert [p.meta["id"] for p in again.posts] == [p.meta["id"] for p in first.posts]


async def test_one_language_sharing_a_guid_is_still_a_reported_duplicate(
    serve, fetcher, config
) -> None:
    shared = {"rendered": "https://wp.example/?p=70"}
    posts = [wp_post(70, guid=shared), wp_post(71, guid=shared)]
    server = await start(serve, FakeWordPress(posts))
    normalized = normalize(await read_wordpress(source_for(server), fetcher), config)
    assert [p.id for p in normalized.posts] == ["https://wp.example/?p=70"]
    assert len(normalized.problems) == 1


async def test_without_date_gmt_the_local_date_is_read_in_the_site_zone_with_a_warning(
    serve, fetcher, config
) -> None:
    # The config's site.timezone is America/New_York: 07:00 local in January is 12:00 UTC.
    posts = [wp_post(80, title="No GMT", date_gmt=None, date="2020-01-15T07:00:00")]
    server = await start(serve, FakeWordPress(posts))
    result = await read_wordpress(source_for(server), fetcher)
    [warning] = result.problems
    assert warning.severity is Severity.WARNING
    assert warning.path.endswith("#item-1")
    assert "post 80 has no date_gmt" in warning.message and "site.timezone" in warning.message
    (post,) = normalize(result, config).posts
    assert post.published == datetime(2020, 1, 15, 12, 0, tzinfo=UTC)


async def test_modified_gmt_before_date_gmt_gives_updated_equal_to_published(
    serve, fetcher, config
) -> None:
    posts = [
        wp_post(90, title="Imported", modified_gmt="2019-03-01T00:00:00"),
        wp_post(91, title="Edited", modified_gmt="2020-02-01T00:00:00"),
    ]
    server = await start(serve, FakeWordPress(posts))
    titles = by_title(normalize(await read_wordpress(source_for(server), fetcher), config).posts)
    imported = titles["Imported"]
    assert imported.updated == imported.published == datetime(2020, 1, 15, 12, tzinfo=UTC)
    assert titles["Edited"].updated == datetime(2020, 2, 1, tzinfo=UTC)
