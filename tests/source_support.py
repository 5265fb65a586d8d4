"""Shared by the remote source tests: a site config, a fetcher under the sources' policy, and
a local aiohttp server that records what it was asked (never the internet).

    config = pytest.fixture(config_fixture)      # in a test module
    fetcher = pytest.fixture(fetcher_fixture)
    serve = pytest.fixture(serve_fixture)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from feedsvc.config import Config
from feedsvc.configfile import parse_config
from feedsvc.model import Post
from feedsvc.normalize import NormalizeResult, normalize_posts
from feedsvc.remote.fetch import Fetcher
from feedsvc.sources import SourceResult, source_fetch_policy

SEEN = web.AppKey("seen", list[web.Request])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[dict[str, Handler]], Awaitable[TestServer]]


def site_config(tmp_path: Path, sources: list[dict[str, Any]] | None = None) -> Config:
    """A site in New York time, so that a date read in the wrong zone shows."""
    raw: dict[str, Any] = {
        "site": {
            "title": "Test site",
            "url": "https://site.example/",
            "id_authority": "site.example,2020",
            "timezone": "America/New_York",
            "language": "en",
        },
        "sources": sources or [],
    }
    return parse_config(raw, base_dir=tmp_path)


def normalize(result: SourceResult, config: Config) -> NormalizeResult:
    return normalize_posts(result.posts, config)


def by_title(posts: tuple[Post, ...]) -> dict[str, Post]:
    return {post.title: post for post in posts}


def config_fixture(tmp_path: Path) -> Config:
    return site_config(tmp_path)


async def fetcher_fixture(config: Config) -> AsyncIterator[Fetcher]:
    """A fetcher under the sources' policy (private addresses allowed: 127.0.0.1 here)."""
    async with Fetcher(source_fetch_policy(config)) as f:
        yield f


def serve_fixture(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Serve:
    """Start a server with GET routes; ``server.app[SEEN]`` lists the requests it got."""

    async def start(routes: dict[str, Handler]) -> TestServer:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            request.app[SEEN].append(request)
            return await handler(request)

        app = web.Application(middlewares=[record])
        app[SEEN] = []
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        return await aiohttp_server(app, host="127.0.0.1")

    return start


def static(body: bytes | str, content_type: str, etag: str | None = None) -> Handler:
    """A handler serving one document, answering 304 to its ETag when it has one."""
    data = body.encode() if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        if etag and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag} if etag else {}
        return web.Response(body=data, content_type=content_type, headers=headers)

    return handler
