"""Shared by the WebSub tests: a live site with the built-in hub, served by the real app, and
subscribers that are real aiohttp servers on 127.0.0.1.

    async with hub_site(tmp_path, aiohttp_client) as site:
        sub = await subscriber(aiohttp_server)
        await site.subscribe(sub.url("a"), "feed.atom")
        ...
        site.site.write_post(...); await site.publisher.rebuild(["posts"])
        await site.hub.idle()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregate_support import FakeClock
from aiohttp import web
from live_support import Site, write_site

from feedsvc.live import Publisher
from feedsvc.web.app import create_app
from feedsvc.websub import Hub, WebSub

PUBLIC = "http://127.0.0.1:8080/"

WEBSUB_TOML = """
[websub]
hubs = ["builtin"{hubs}]
allowed_networks = ["127.0.0.0/8"]
retries = 2
{extra}
"""


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]
    links: list[str]


@dataclass
class Callback:
    """How one callback path answers: its verification echo and its delivery statuses."""

    # "challenge", "wrong", "refuse", "redirect" (to a callback that echoes), or "hold"
    # (echoes once ``release`` is set)
    echo: str = "challenge"
    statuses: list[int] = field(default_factory=list)  # one per POST; 202 once used up
    verifications: list[dict[str, str]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


class Subscriber:
    """A WebSub subscriber on 127.0.0.1: ``/cb/{name}`` answers as ``callbacks[name]``."""

    def __init__(self) -> None:
        self.callbacks: dict[str, Callback] = {}
        self.base = ""
        self.hold = 0.0  # seconds each delivery is held, so that deliveries overlap
        self.in_flight = self.peak = 0
        self.release = asyncio.Event()  # lets "hold" verifications answer

    def url(self, name: str, **behaviour: Any) -> str:
        self.callbacks[name] = Callback(**behaviour)
        return f"{self.base}/cb/{name}"

    async def handle(self, request: web.Request) -> web.Response:
        callback = self.callbacks[request.match_info["name"]]
        if request.method == "GET":
            query = dict(request.query)
            callback.verifications.append(query)
            if callback.echo == "hold":
                await self.release.wait()
            if callback.echo == "redirect":
                raise web.HTTPFound(f"/echo?{request.query_string}")
            if callback.echo == "refuse":
                return web.Response(status=404, text="no such subscription")
            challenge = query["hub.challenge"]
            return web.Response(text="nope" if callback.echo == "wrong" else challenge)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            body = await request.read()
            if self.hold:
                await asyncio.sleep(self.hold)
        finally:
            self.in_flight -= 1
        callback.deliveries.append(
            Delivery(body, dict(request.headers), request.headers.getall("Link", []))
        )
        status = callback.statuses.pop(0) if callback.statuses else 202
        return web.Response(status=status)


async def echo_challenge(request: web.Request) -> web.Response:
    """Where a "redirect" callback sends the hub: it would answer the challenge."""
    return web.Response(text=request.query["hub.challenge"])


async def serve_hub(aiohttp_server: Any, handle: Callable[..., Awaitable[web.Response]]) -> str:
    """``handle`` as a hub answering POST /hub on a server of its own: the hub's URL."""
    app = web.Application()
    app.router.add_post("/hub", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/hub"))


async def subscriber(aiohttp_server: Any) -> Subscriber:
    sub = Subscriber()
    app = web.Application()
    app.router.add_route("*", "/cb/{name}", sub.handle)
    app.router.add_get("/echo", echo_challenge)
    server = await aiohttp_server(app)
    sub.base = str(server.make_url("")).rstrip("/")
    return sub


class Sleeps:
    """An injected sleep that returns at once and remembers how long it was asked for."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


@dataclass
class HubSite:
    """A served site with WebSub; ``hub`` is its built-in hub."""

    site: Site
    publisher: Publisher
    websub: WebSub
    client: Any
    clock: FakeClock
    sleeps: Sleeps

    @property
    def hub(self) -> Hub:
        assert self.websub.hub is not None
        return self.websub.hub

    async def request(self, **form: str) -> Any:
        data = {f"hub.{key}": value for key, value in form.items()}
        return await self.client.post("/websub", data=data)

    async def subscribe(self, callback: str, feed: str = "feed.atom", **form: str) -> Any:
        response = await self.request(
            mode="subscribe", topic=PUBLIC + feed, callback=callback, **form
        )
        assert response.status == 202, await response.text()
        await self.hub.idle()
        return response

    async def status(self) -> dict[str, Any]:
        response = await self.client.get("/status", headers={"Accept": "application/json"})
        return (await response.json())["websub"]["hub"]

    async def edit(self, relative: str, text: str) -> None:
        self.site.write_post(relative, text)
        await self.publisher.rebuild(["posts"])
        await self.websub.idle()


@asynccontextmanager
async def hub_site(
    root: Path, aiohttp_client: Any, *, hubs: str = "", extra: str = "", site: Site | None = None
) -> AsyncIterator[HubSite]:
    """The five-post live site with the built-in hub, served by the real app."""
    if site is None:
        site = write_site(root, extra=WEBSUB_TOML.format(hubs=hubs, extra=extra))
    config = site.config()
    clock = FakeClock()
    sleeps = Sleeps()
    publisher = Publisher(config, workers=1, clock=clock)
    ref = await publisher.build_async()
    websub = WebSub(config, ref, clock=clock, sleep=sleeps)
    publisher.add_rebuild_listener(websub.rebuilt)
    await websub.start()
    try:
        app = create_app(ref, status=publisher.status, websub=websub)
        client = await aiohttp_client(app)
        yield HubSite(site, publisher, websub, client, clock, sleeps)
    finally:
        await websub.idle()
        await websub.stop()
