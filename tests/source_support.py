"""Shared by the source tests: a site config and helpers on what a source read. Their
fixtures (``config``, ``fetcher``, ``serve``) are in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from server_support import Handler

from feedsvc.config import Config
from feedsvc.configfile import parse_config
from feedsvc.model import Post
from feedsvc.normalize import NormalizeResult, normalize_posts
from feedsvc.sources import SourceResult


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


def static(body: bytes | str, content_type: str, etag: str | None = None) -> Handler:
    """A handler serving one document, answering 304 to its ETag when it has one."""
    data = body.encode() if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        if etag and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag} if etag else {}
        return web.Response(body=data, content_type=content_type, headers=headers)

    return handler
