"""A local server that answers like the WordPress REST API (127.0.0.1, never the internet),
for the wordpress source's tests.

The fake follows the REST API Handbook: ``/wp-json/wp/v2/posts`` pages of at most 100 posts
with ``X-WP-Total`` and ``X-WP-TotalPages``, ``_embed`` data (``author``, ``wp:term``,
``wp:featuredmedia``), ``*_gmt`` dates, rendered titles with entities, a 400
``rest_post_invalid_page_number`` past the last page, a 401 ``rest_not_logged_in`` for a
private site without application-password credentials, and Polylang/WPML fields.

With ``embedded=False`` it answers as a site behind a cache or plugin that strips
``_embedded``; then ``/wp/v2/categories`` and ``/wp/v2/tags`` (every term the posts name,
paged like WordPress: ``X-WP-TotalPages`` and ``Link`` rel="next"/"prev", an empty page past
the last one, ``orderby``, ``_fields``), ``/wp/v2/media/{id}`` and ``/wp/v2/users/{id}`` (a
404 for an unknown id) serve what ``_embedded`` held.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from feedsvc.config import SourceConfig

USER = "feedsvc"
PASSWORD = "abcd EFGH 1234 ijkl MNOP 6789"  # an application password, as WordPress shows it
TAXONOMY_OF = {"categories": "category", "tags": "post_tag"}


def wp_post(
    wp_id: int,
    *,
    title: str | None = None,
    status: str = "publish",
    date_gmt: str = "2020-01-15T12:00:00",
    modified_gmt: str | None = None,
    categories: tuple[str, ...] = ("News",),
    tags: tuple[str, ...] = (),
    media: dict[str, Any] | None = None,
    excerpt: str | None = None,
    content: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A post of ``GET /wp/v2/posts?_embed`` in the "view" context."""
    terms = [
        [term(name, "category") for name in categories],
        [term(name, "post_tag") for name in tags],
    ]
    embedded: dict[str, Any] = {
        "author": [
            {
                "id": 2,
                "name": "Ana P&eacute;rez",
                "url": "",
                "description": "",
                "link": "https://wp.example/author/ana/",
                "slug": "ana",
                "avatar_urls": {"24": "https://secure.gravatar.com/avatar/x?s=24"},
            }
        ],
        "wp:term": terms,
    }
    if media is not None:
        embedded["wp:featuredmedia"] = [media]
    post = {
        "id": wp_id,
        # The local time of a site at UTC-5, without an offset: never to be used.
        "date": "2020-01-15T07:00:00",
        "date_gmt": date_gmt,
        "guid": {"rendered": f"https://wp.example/?p={wp_id}"},
        "modified": "2020-01-15T07:00:00",
        "modified_gmt": modified_gmt or date_gmt,
        "slug": f"post-{wp_id}",
        "status": status,
        "type": "post",
        "link": f"https://wp.example/2020/01/post-{wp_id}/",
        "title": {"rendered": title or f"Post {wp_id}"},
        "content": {"rendered": content or f"<p>Body of post {wp_id}.</p>\n", "protected": False},
        "excerpt": {
            "rendered": excerpt or f"<p>Body of post {wp_id}. [&hellip;]</p>\n",
            "protected": False,
        },
        "author": 2,
        "featured_media": media["id"] if media else 0,
        "comment_status": "open",
        "sticky": False,
        "format": "standard",
        "categories": [t["id"] for t in terms[0]],
        "tags": [t["id"] for t in terms[1]],
        "_links": {"self": [{"href": f"https://wp.example/wp-json/wp/v2/posts/{wp_id}"}]},
        "_embedded": embedded,
    }
    post.update(extra)
    return post


def term_id(name: str, taxonomy: str) -> int:
    """One id per term across the whole fake site, as WordPress has (stable across runs)."""
    return int(hashlib.sha256(f"{taxonomy}:{name}".encode()).hexdigest()[:7], 16)


def term(name: str, taxonomy: str) -> dict[str, Any]:
    """A term in the "view" context, as embedded and as its collection lists it."""
    slug = name.lower().replace(" ", "-")
    return {
        "id": term_id(name, taxonomy),
        "count": 1,
        "description": "",
        "link": f"https://wp.example/{taxonomy}/{slug}/",
        "name": name,
        "slug": slug,
        "taxonomy": taxonomy,
        "parent": 0,
        "meta": [],
    }


def wp_error(code: str, message: str, status: int) -> web.Response:
    """A WP_Error as the REST API serializes it."""
    body = {"code": code, "message": message, "data": {"status": status}}
    return web.json_response(body, status=status)


@dataclass
class FakeWordPress:
    """``GET /wp-json/wp/v2/posts``: pages, ETags (as a caching proxy adds them), auth; and
    the term and media endpoints a post without ``_embedded`` needs.

    ``broken`` makes a lookup endpoint ("categories", "tags", "media", "users") fail: an
    HTTP status, ``"not json"``, ``"object"`` (JSON but no array), ``"hang"`` (never
    answers) or ``"huge"`` (a body of 1 MB).
    """

    posts: list[dict[str, Any]]
    credentials: tuple[str, str] | None = None  # a private site: every request needs them
    total_pages_header: bool = True
    etags: bool = False
    fail_with: int | None = None
    embedded: bool = True
    extra_terms: list[dict[str, Any]] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)  # term and media ids no longer there
    broken: dict[str, int | str] = field(default_factory=dict)
    term_total_pages: str | None = None  # an X-WP-TotalPages that lies
    link_paging: bool = False  # only Link rel="next", no X-WP-TotalPages (a stripping proxy)
    requests: list[dict[str, str]] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        if self.fail_with:
            return wp_error("internal_server_error", "There has been a critical error.", 500)
        refused = self._refused(request)
        if refused is not None:
            return refused
        per_page = int(request.query.get("per_page", "10"))
        page = int(request.query.get("page", "1"))
        # Like a WordPress that returns whatever it is asked for (a plugin, or credentials
        # with status=any): the reader must still drop what is not published.
        ordered = sorted(self.posts, key=lambda p: p["id"])
        if not self.embedded:
            ordered = [{k: v for k, v in p.items() if k != "_embedded"} for p in ordered]
        pages = max(1, math.ceil(len(ordered) / per_page))
        if page > pages:
            message = "The page number requested is larger than the number of pages available."
            return wp_error("rest_post_invalid_page_number", message, 400)
        body = json.dumps(ordered[(page - 1) * per_page : page * per_page]).encode()
        headers = {"X-WP-Total": str(len(ordered))}
        if self.total_pages_header:
            headers["X-WP-TotalPages"] = str(pages)
        return self._answer(request, body, headers)

    async def handle_terms(self, request: web.Request) -> web.StreamResponse:
        collection = request.path.rsplit("/", 1)[1]
        failed = await self._failure(request, collection)
        if failed is not None:
            return failed
        taxonomy = TAXONOMY_OF[collection]
        terms = {t["id"]: t for t in self._terms(taxonomy) if t["id"] not in self.deleted}
        key = "id" if request.query.get("orderby") == "id" else "name"
        ordered = sorted(terms.values(), key=lambda t: t[key])
        per_page = int(request.query.get("per_page", "10"))
        page = int(request.query.get("page", "1"))
        pages = math.ceil(len(ordered) / per_page)
        # No error past the last page: the terms controller answers an empty array.
        chosen = [_fields(t, request) for t in ordered[(page - 1) * per_page : page * per_page]]
        headers = {"X-WP-Total": str(len(ordered))}
        if not self.link_paging:
            headers["X-WP-TotalPages"] = self.term_total_pages or str(pages)
        links = []
        if page > 1:
            links.append(f'<{request.url.update_query(page=page - 1)}>; rel="prev"')
        if page < pages or self.term_total_pages:
            links.append(f'<{request.url.update_query(page=page + 1)}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return self._answer(request, json.dumps(chosen).encode(), headers)

    async def handle_object(self, request: web.Request) -> web.StreamResponse:
        collection = request.path.split("/")[-2]
        failed = await self._failure(request, collection)
        if failed is not None:
            return failed
        wanted = int(request.match_info["id"])
        key = "wp:featuredmedia" if collection == "media" else "author"
        found = [
            o
            for p in self.posts
            for o in p["_embedded"].get(key, [])
            if o["id"] == wanted and wanted not in self.deleted
        ]
        if not found:
            return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
        return self._answer(request, json.dumps(_fields(found[0], request)).encode(), {})

    def _terms(self, taxonomy: str) -> list[dict[str, Any]]:
        embedded = [t for p in self.posts for group in p["_embedded"]["wp:term"] for t in group]
        return [t for t in (*embedded, *self.extra_terms) if t["taxonomy"] == taxonomy]

    async def _failure(self, request: web.Request, endpoint: str) -> web.StreamResponse | None:
        refused = self._refused(request)
        if refused is not None:
            return refused
        mode = self.broken.get(endpoint)
        if mode is None:
            return None
        if mode == "hang":
            await self.released.wait()  # set when the test ends; the fetcher gives up first
            return wp_error("rest_gone", "Too late.", 503)
        if mode == "object":  # JSON, but not the collection's array
            return web.json_response({"code": "plugin_said_no"})
        if mode == "not json":
            return web.Response(text="<!doctype html><p>Cached page</p>", content_type="text/html")
        if mode == "huge":
            return web.json_response([term(f"t{i}", "category") for i in range(4000)])
        if isinstance(mode, int) and mode == 401:
            return wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 401)
        return wp_error("internal_server_error", "There has been a critical error.", int(mode))

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.credentials is None:
            return None
        user, password = self.credentials
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        if "Authorization" not in request.headers:
            return wp_error("rest_not_logged_in", "You are not currently logged in.", 401)
        if request.headers["Authorization"] != f"Basic {token}":
            return wp_error("incorrect_password", "The password is incorrect.", 401)
        return None

    def _answer(self, request: web.Request, body: bytes, headers: dict[str, str]) -> web.Response:
        if self.etags:
            headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            if request.headers.get("If-None-Match") == headers["ETag"]:
                return web.Response(status=304, headers=headers)
        return web.Response(
            body=body, content_type="application/json", charset="UTF-8", headers=headers
        )


def _fields(item: dict[str, Any], request: web.Request) -> dict[str, Any]:
    """``_fields=id,name``: only those keys (REST API Handbook, "_fields")."""
    wanted = request.query.get("_fields")
    if not wanted:
        return item
    keys = wanted.split(",")
    return {k: v for k, v in item.items() if k in keys}


async def start(serve, wordpress: FakeWordPress) -> TestServer:
    return await serve(
        {
            "/wp-json/wp/v2/posts": wordpress.handle,
            "/wp-json/wp/v2/categories": wordpress.handle_terms,
            "/wp-json/wp/v2/tags": wordpress.handle_terms,
            "/wp-json/wp/v2/media/{id}": wordpress.handle_object,
            "/wp-json/wp/v2/users/{id}": wordpress.handle_object,
        }
    )


def source_for(server: TestServer, **extra: Any) -> SourceConfig:
    return SourceConfig(type="wordpress", name="wp", url=str(server.make_url("/")), **extra)


MEDIA = {
    "id": 77,
    "date": "2017-06-01T10:00:00",
    "slug": "rally",
    "type": "attachment",
    "link": "https://wp.example/rally/",
    "title": {"rendered": "rally"},
    "author": 2,
    "caption": {"rendered": "<p>The rally</p>\n"},
    "alt_text": "People marching with banners",
    "media_type": "image",
    "mime_type": "image/jpeg",
    "media_details": {
        "width": 1200,
        "height": 800,
        "filesize": 183004,
        "file": "2017/06/rally.jpg",
        "sizes": {},
    },
    "source_url": "https://wp.example/wp-content/uploads/2017/06/rally.jpg",
}


def rich_post() -> dict[str, Any]:
    return wp_post(
        7,
        title="Children&#8217;s Rights &amp; Duties",
        date_gmt="2017-06-09T14:30:00",
        modified_gmt="2017-06-10T08:00:00",
        categories=("Children &amp; Youth", "Labor Trafficking"),
        tags=("advocacy", "un"),
        media=MEDIA,
        excerpt=(
            '<p>Every child has rights. [&hellip;] <a href="https://wp.example/x/" '
            'class="more-link">Continue reading<span class="screen-reader-text"> '
            "&#8220;Children&#8217;s Rights&#8221;</span></a></p>\n"
        ),
        content='<p>Every child has rights. <img src="/wp-content/uploads/a.png" alt=""></p>',
        guid={"rendered": "https://wp.example/?post_type=post&#038;p=7"},
    )


def many_posts(count: int, first_id: int = 1000) -> list[dict[str, Any]]:
    return [wp_post(first_id + i) for i in range(count)]
