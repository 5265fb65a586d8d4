"""The aggregator as a WebSub subscriber: a partner whose feed names a hub is subscribed to,
intent is confirmed only for what we asked, signed deliveries go through the fetch path,
bad ones are ignored and counted, leases are renewed, polling backs off to the backup
interval, and subscriptions survive a restart. The partner and its hub are real aiohttp
servers on 127.0.0.1; our callbacks are reached through the real app."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aggregate_support import SITE, FakeClock, atom_feed, item
from aiohttp import web
from websub_support import serve_hub

from feedsvc.aggregate.service import Aggregator
from feedsvc.configfile import parse_config
from feedsvc.live import Publisher
from feedsvc.web.app import create_app
from feedsvc.websub import WebSub

PUBLIC = "http://127.0.0.1:8080/"


class PartnerHub:
    """The partner's hub: records subscription requests and answers 202."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests.append({key: str(value) for key, value in form.items()})
        return web.Response(status=202)


@pytest.fixture
async def hub(aiohttp_server: Any) -> PartnerHub:
    hub = PartnerHub()
    hub.url = await serve_hub(aiohttp_server, hub.handle)
    return hub


@dataclass
class Subscribed:
    aggregator: Aggregator
    websub: WebSub
    client: Any
    clock: FakeClock

    async def fetch(self) -> None:
        """Fetch the partner once, and let what that starts (a subscription) finish."""
        await self.aggregator.refresh("p")
        await self.websub.idle()

    def callback_path(self, hub: PartnerHub) -> str:
        return urlsplit(hub.requests[-1]["hub.callback"]).path

    async def status(self) -> dict[str, Any]:
        response = await self.client.get("/status", headers={"Accept": "application/json"})
        return (await response.json())["websub"]["partner_hubs"][0]

    async def verify(self, hub: PartnerHub, **query: str) -> Any:
        request = hub.requests[-1]
        params = {
            "hub.mode": "subscribe",
            "hub.topic": request["hub.topic"],
            "hub.challenge": "a-challenge-123",
            "hub.lease_seconds": "86400",
            **query,
        }
        return await self.client.get(self.callback_path(hub), params=params)

    async def deliver(self, hub: PartnerHub, body: bytes, signature: str | None) -> Any:
        headers = {"Content-Type": "application/atom+xml"}
        if signature is not None:
            headers["X-Hub-Signature"] = signature
        response = await self.client.post(self.callback_path(hub), data=body, headers=headers)
        await self.websub.idle()
        return response

    def titles(self) -> set[str]:
        return {post.title for post in self.aggregator.posts()}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@asynccontextmanager
async def subscribed(
    tmp_path: Path, feed_url: str, aiohttp_client: Any, max_body: int = 10 * 1024 * 1024
) -> AsyncIterator[Subscribed]:
    raw = {
        "site": dict(SITE),
        "aggregator": {
            "enabled": True,
            "allow_private_addresses": True,
            "store": "var/aggregator.sqlite3",
            "parse_workers": 0,
            "max_body": max_body,
        },
        "partners": [{"name": "p", "url": feed_url, "title": "Partner P"}],
        "websub": {"hubs": ["https://hub.example/"], "allowed_networks": ["127.0.0.0/8"]},
        "server": {"public_url": PUBLIC},
    }
    config = parse_config(raw, base_dir=tmp_path)
    clock = FakeClock()
    aggregator = Aggregator(config, clock=clock)
    publisher = Publisher(config, clock=clock, workers=1, aggregator=aggregator)
    ref = await publisher.build_async()
    websub = WebSub(config, ref, aggregator=aggregator, clock=clock)
    await websub.start(schedule=False)
    await aggregator.start(schedule=False)
    try:
        client = await aiohttp_client(create_app(ref, status=publisher.status, websub=websub))
        yield Subscribed(aggregator, websub, client, clock)
    finally:
        await aggregator.stop()
        await websub.stop()


def serve_with_hub(feed_server, hub: PartnerHub, items: list, *, in_header: bool = True) -> str:
    self_url = feed_server.url("/feed.atom")
    body = atom_feed(items)
    headers = None
    if in_header:
        headers = {"Link": f'<{hub.url}>; rel="hub", <{self_url}>; rel="self"'}
    else:
        links = f'<link rel="hub" href="{hub.url}"/><link rel="self" href="{self_url}"/>'
        body = body.replace(b"<updated>", links.encode() + b"<updated>", 1)
    feed_server.serve("/feed.atom", body, content_type="application/atom+xml", headers=headers)
    return self_url


@pytest.fixture
def topic(feed_server: Any, hub: PartnerHub) -> str:
    """The partner's feed, with one entry, naming ``hub`` in its Link header."""
    return serve_with_hub(feed_server, hub, [item(1)])


@pytest.fixture
async def site(tmp_path: Path, topic: str, aiohttp_client: Any) -> AsyncIterator[Subscribed]:
    """The aggregator, its WebSub side and the app, with one partner: ``topic``."""
    async with subscribed(tmp_path, topic, aiohttp_client) as site:
        yield site


@pytest.mark.parametrize("in_header", [True, False])
async def test_a_partner_naming_a_hub_is_subscribed_to(
    tmp_path, feed_server, hub, aiohttp_client, in_header
):
    topic = serve_with_hub(feed_server, hub, [item(1)], in_header=in_header)
    async with subscribed(tmp_path, topic, aiohttp_client) as site:
        await site.fetch()
        (request,) = hub.requests
        assert request["hub.mode"] == "subscribe"
        assert request["hub.topic"] == topic
        assert request["hub.callback"].startswith(PUBLIC + "websub/")
        token = request["hub.callback"].rsplit("/", 1)[1]
        assert len(token) >= 40  # 32 random bytes, base64url
        assert len(request["hub.secret"]) >= 40
        assert request["hub.lease_seconds"] == str(10 * 86400)
        assert (await site.status())["state"] == "subscribing"
        # Fetching again does not ask again while the first request is pending.
        await site.fetch()
        assert len(hub.requests) == 1


async def test_intent_is_confirmed_only_for_what_we_asked(site, hub, topic):
    await site.fetch()
    wrong_topic = await site.verify(hub, **{"hub.topic": topic + "?other"})
    assert wrong_topic.status == 404
    unsubscribe = await site.verify(hub, **{"hub.mode": "unsubscribe"})
    assert unsubscribe.status == 404
    unknown = await site.client.get(
        "/websub/not-a-token",
        params={"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "x"},
    )
    assert unknown.status == 404
    assert (await site.status())["state"] == "subscribing"
    ok = await site.verify(hub)
    assert ok.status == 200
    assert await ok.text() == "a-challenge-123"
    status = await site.status()
    assert status["state"] == "active"
    assert status["expires_at"] == (site.clock() + timedelta(days=1)).isoformat()


async def test_signed_deliveries_are_merged_and_bad_ones_ignored(site, hub):
    await site.fetch()
    await site.verify(hub)
    secret = hub.requests[-1]["hub.secret"]
    assert site.titles() == {"Entry 1"}
    evil = item(2, title="Forged", content="<p>x</p>")
    forged = atom_feed([item(1), evil])
    assert (await site.deliver(hub, forged, None)).status == 202
    assert (await site.deliver(hub, forged, sign("wrong", forged))).status == 202
    assert (await site.deliver(hub, forged, "sha256=zz")).status == 202
    assert site.titles() == {"Entry 1"}
    body = atom_feed([item(1), item(2, content="<p>Two<script>alert(1)</script></p>")])
    assert (await site.deliver(hub, body, sign(secret, body))).status == 202
    assert site.titles() == {"Entry 1", "Entry 2"}
    (pushed,) = [p for p in site.aggregator.posts() if p.title == "Entry 2"]
    assert "script" not in pushed.content_html  # cleaned like a fetched entry
    status = await site.status()
    assert (status["deliveries"], status["bad_signatures"]) == (1, 3)


async def test_a_delivery_to_an_unknown_callback_is_gone(site):
    response = await site.client.post("/websub/unknown-token", data=b"<feed/>")
    assert response.status == 410


async def test_polling_backs_off_to_the_backup_interval(site, hub):
    await site.fetch()
    (partner,) = site.aggregator.status()
    assert partner.next_fetch - site.clock() < timedelta(minutes=17)  # 15m ± 10%
    await site.verify(hub)
    await site.aggregator.refresh("p")
    (partner,) = site.aggregator.status()
    assert partner.next_fetch - site.clock() > timedelta(hours=5)  # 6h ± 10%


async def test_leases_are_renewed_before_they_end(site, hub):
    await site.fetch()
    await site.verify(hub, **{"hub.lease_seconds": "1000"})
    first = hub.requests[-1]
    site.clock.advance(799)  # a fifth of the lease is left at 800 s
    await site.websub.subscriber.renew_due()
    await site.websub.idle()
    assert len(hub.requests) == 1
    site.clock.advance(1)
    await site.websub.subscriber.renew_due()
    await site.websub.idle()
    renewal = hub.requests[-1]
    assert len(hub.requests) == 2
    assert renewal["hub.callback"] == first["hub.callback"]
    assert renewal["hub.secret"] == first["hub.secret"]
    await site.verify(hub, **{"hub.lease_seconds": "1000"})
    assert (await site.status())["expires_at"] == (
        site.clock() + timedelta(seconds=1000)
    ).isoformat()


async def test_a_subscription_survives_a_restart(tmp_path, hub, topic, aiohttp_client):
    async with subscribed(tmp_path, topic, aiohttp_client) as site:
        await site.fetch()
        await site.verify(hub)
        path = site.callback_path(hub)
    async with subscribed(tmp_path, topic, aiohttp_client) as again:
        assert (await again.status())["state"] == "active"
        secret = hub.requests[-1]["hub.secret"]
        body = atom_feed([item(1), item(3)])
        response = await again.client.post(
            path, data=body, headers={"X-Hub-Signature": sign(secret, body)}
        )
        assert response.status == 202
        await again.websub.idle()
        assert "Entry 3" in again.titles()


async def test_a_denial_is_recorded(site, hub, topic):
    await site.fetch()
    params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": "closed to new readers"}
    response = await site.client.get(site.callback_path(hub), params=params)
    assert response.status == 200
    status = await site.status()
    assert status["state"] == "denied"
    assert status["error"] == "denied by the hub: closed to new readers"
    # A later fetch that still names the hub asks again, with a new callback.
    first = hub.requests[-1]["hub.callback"]
    await site.fetch()
    assert len(hub.requests) == 2
    assert hub.requests[-1]["hub.callback"] != first


async def test_a_delivery_over_the_body_cap_is_refused(tmp_path, hub, topic, aiohttp_client):
    async with subscribed(tmp_path, topic, aiohttp_client, max_body=2000) as site:
        await site.fetch()
        await site.verify(hub)
        secret = hub.requests[-1]["hub.secret"]
        body = atom_feed([item(1), item(2, content="<p>" + "x" * 2000 + "</p>")])
        assert len(body) > 2000
        response = await site.deliver(hub, body, sign(secret, body))
        assert response.status == 413
        assert site.titles() == {"Entry 1"}
