"""Publishing to external hubs: after a rebuild, every changed feed URL is pinged to each
external hub (hub.mode=publish, hub.url, hub.topic), with retries; outcomes on /status.
The external hub is a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

from aiohttp import web
from live_support import post_text
from websub_support import PUBLIC, hub_site, serve_hub


class ExternalHub:
    def __init__(self) -> None:
        self.pings: list[dict[str, str]] = []
        self.failures: dict[str, list[int]] = {}  # topic → the statuses its pings get first
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-www-form-urlencoded"
        ping = {key: str(value) for key, value in (await request.post()).items()}
        self.pings.append(ping)
        statuses = self.failures.get(ping["hub.url"])
        return web.Response(status=statuses.pop(0) if statuses else 204)


async def external_hub(aiohttp_server) -> ExternalHub:
    hub = ExternalHub()
    hub.url = await serve_hub(aiohttp_server, hub.handle)
    return hub


def edit_c():
    return post_text("Post c", "es", ["Labor Trafficking"], "2024-02-14", "¡Nuevo!")


async def test_changed_feeds_are_published(tmp_path, aiohttp_client, aiohttp_server):
    hub = await external_hub(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client, hubs=f', "{hub.url}"') as site:
        feed = await site.client.get("/feed.atom")
        assert f'<{hub.url}>; rel="hub"' in feed.headers.getall("Link")
        await site.edit("es/c.md", edit_c())
        topics = {ping["hub.url"] for ping in hub.pings}
        assert all(ping["hub.mode"] == "publish" for ping in hub.pings)
        assert all(ping["hub.topic"] == ping["hub.url"] for ping in hub.pings)
        assert len(topics) == len(hub.pings)  # one ping per changed feed
        for fmt in ("atom", "rss", "json"):
            assert f"{PUBLIC}feed.{fmt}" in topics
            assert f"{PUBLIC}lang/es.{fmt}" in topics
            assert f"{PUBLIC}archive/2024/02.{fmt}" in topics
            assert f"{PUBLIC}lang/en.{fmt}" not in topics
            assert f"{PUBLIC}category/policy.{fmt}" not in topics
        response = await site.client.get("/status", headers={"Accept": "application/json"})
        (status,) = (await response.json())["websub"]["external_hubs"]
        assert status["url"] == hub.url
        assert status["published"] == len(hub.pings)
        assert status["failed"] == 0


async def test_nothing_is_published_without_a_change(tmp_path, aiohttp_client, aiohttp_server):
    hub = await external_hub(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client, hubs=f', "{hub.url}"') as site:
        await site.edit("es/c.md", (site.site.posts / "es/c.md").read_text())
        assert hub.pings == []


async def test_a_failed_ping_is_retried(tmp_path, aiohttp_client, aiohttp_server):
    hub = await external_hub(aiohttp_server)
    extra = "max_backoff = '45s'"
    async with hub_site(tmp_path, aiohttp_client, hubs=f', "{hub.url}"', extra=extra) as site:
        # retries = 2: /feed.atom fails three times and is given up; /feed.rss succeeds
        # after one retry; every other feed at once.
        hub.failures = {PUBLIC + "feed.atom": [503, 500, 500], PUBLIC + "feed.rss": [500]}
        await site.edit("en/b.md", post_text("Post b", "en", ["Policy"], "2024-02-05", "New"))
        response = await site.client.get("/status", headers={"Accept": "application/json"})
        (status,) = (await response.json())["websub"]["external_hubs"]
        assert status["failed"] == 1
        assert status["retried"] == 3
        (failure,) = status["recent_failures"]
        assert failure == {
            "at": site.clock().isoformat(),
            "callback": PUBLIC + "feed.atom",
            "error": "answered 500",
        }
        pinged = [p["hub.url"] for p in hub.pings]
        assert pinged.count(PUBLIC + "feed.atom") == 3
        assert pinged.count(PUBLIC + "feed.rss") == 2
        assert status["published"] == len(set(pinged)) - 1
        assert sorted(site.sleeps.asked) == [30.0, 30.0, 45.0]  # doubling, capped
