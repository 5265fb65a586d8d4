"""Helpers for the aggregator's tests: a config, a clock, feed documents, a partner server.

    async def test_x(feed_server, tmp_path):                # feed_server: tests/conftest.py
        feed_server.serve("/a.xml", rss_feed([item(1)]))
        config = make_config(tmp_path, [partner("a", feed_server.url("/a.xml"))])
        async with running(config) as agg:
            await agg.refresh("a")

Servers are local aiohttp servers on 127.0.0.1 (never the internet); time is a FakeClock.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from feedsvc.aggregate.service import Aggregator
from feedsvc.config import Config
from feedsvc.configfile import parse_config
from feedsvc.status import PartnerStatus

SITE = {
    "title": "Test Site",
    "url": "https://site.example/",
    "id_authority": "site.example,2020",
    "language": "en",
}
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_config(tmp_path: Path, partners: list[dict[str, Any]], **aggregator: Any) -> Config:
    values = {
        "enabled": True,
        "allow_private_addresses": True,
        "store": "var/aggregator.sqlite3",
        "parse_workers": 1,
        "timeout": "5s",
        **aggregator,
    }
    raw = {"site": dict(SITE), "aggregator": values, "partners": partners}
    return parse_config(raw, base_dir=tmp_path)


def partner(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": url, "title": f"Partner {name.upper()}", **extra}


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@asynccontextmanager
async def running(config: Config, **kwargs: Any) -> AsyncIterator[Aggregator]:
    """A started Aggregator without its background loop: tests call refresh themselves."""
    kwargs.setdefault("clock", FakeClock())
    aggregator = Aggregator(config, **kwargs)
    await aggregator.start(schedule=False)
    try:
        yield aggregator
    finally:
        await aggregator.stop()


def status_of(aggregator: Aggregator, name: str) -> PartnerStatus:
    return next(s for s in aggregator.status() if s.name == name)


# --- documents --------------------------------------------------------------------------


def item(n: int, **fields: Any) -> dict[str, Any]:
    """Entry number ``n``: id, link, title, HTML content and a date on day n of April 2024;
    pass ``id=None`` (or link/date None) to leave one out."""
    values: dict[str, Any] = {
        "id": f"https://partner.example/posts/{n}",
        "link": f"https://partner.example/posts/{n}.html",
        "title": f"Entry {n}",
        "content": f"<p>Body of entry {n}.</p>",
        "date": datetime(2024, 4, n, 9, 0, tzinfo=UTC),
    }
    values.update(fields)
    return values


def rss_feed(items: list[dict[str, Any]], title: str = "Partner") -> bytes:
    parts = []
    for it in items:
        xml = ["<item>", f"<title>{html.escape(it['title'])}</title>"]
        if it["link"]:
            xml.append(f"<link>{html.escape(it['link'])}</link>")
        if it["id"]:
            xml.append(f'<guid isPermaLink="false">{html.escape(it["id"])}</guid>')
        if it["date"]:
            xml.append(f"<pubDate>{it['date'].strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>")
        xml.append(f"<description>{html.escape(it['content'])}</description>")
        xml.append("</item>")
        parts.append("".join(xml))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>https://partner.example/</link>"
        f"<description>d</description>{''.join(parts)}</channel></rss>"
    ).encode()


def atom_feed(items: list[dict[str, Any]], title: str = "Partner") -> bytes:
    parts = []
    for it in items:
        xml = ["<entry>", f"<title>{html.escape(it['title'])}</title>"]
        if it["link"]:
            xml.append(f'<link rel="alternate" href="{html.escape(it["link"])}"/>')
        if it["id"]:
            xml.append(f"<id>{html.escape(it['id'])}</id>")
        if it["date"]:
            xml.append(f"<published>{it['date'].isoformat()}</published>")
            xml.append(f"<updated>{it['date'].isoformat()}</updated>")
        xml.append(f'<content type="html">{html.escape(it["content"])}</content>')
        xml.append("</entry>")
        parts.append("".join(xml))
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>urn:partner</id>"
        '<link rel="alternate" href="https://partner.example/"/>'
        f"<updated>2024-04-30T00:00:00Z</updated>{''.join(parts)}</feed>"
    ).encode()


def json_feed(items: list[dict[str, Any]], title: str = "Partner") -> bytes:
    out = []
    for it in items:
        entry: dict[str, Any] = {"title": it["title"], "content_html": it["content"]}
        if it["id"]:
            entry["id"] = it["id"]
        if it["link"]:
            entry["url"] = it["link"]
        if it["date"]:
            entry["date_published"] = it["date"].isoformat()
        out.append(entry)
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": "https://partner.example/",
        "items": out,
    }
    return json.dumps(doc).encode()


# --- the partner server -----------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FeedServer:
    """Serves whatever a test put at each path; ``hits[path]`` counts requests there."""

    server: TestServer | None = None
    handlers: dict[str, Handler] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    requests: list[web.Request] = field(default_factory=list)

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def serve(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        content_type: str = "application/rss+xml",
        headers: dict[str, str] | None = None,
    ) -> None:
        async def respond(request: web.Request) -> web.StreamResponse:
            return web.Response(
                status=status, body=body or None, content_type=content_type, headers=headers
            )

        self.handlers[path] = respond

    def handle(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        self.requests.append(request)
        handler = self.handlers.get(request.path)
        if handler is None:
            return web.Response(status=404, text="no such test feed")
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        return app
