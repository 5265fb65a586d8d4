"""WebSub end to end, between two real `feedsvc serve` apps (the composition root) listening
on 127.0.0.1: a partner site whose feeds name its own built-in hub, and an aggregator that
subscribes to that hub. A post saved at the partner reaches the aggregator's merged feed by
push: the partner's hub verifies the aggregator's callback, then delivers the new document,
signed, and the aggregator merges it, long before its next poll (15 minutes away)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from live_support import post_text, until, write_site

from feedsvc.configfile import load_config
from feedsvc.service import create_service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serving(config_file: Path, port: int) -> AsyncIterator[TestClient]:
    """``feedsvc serve`` for ``config_file`` on 127.0.0.1:``port``, background work running."""
    app = create_service(load_config(config_file), workers=1)
    client = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def status(client: TestClient) -> dict[str, Any]:
    response = await client.get("/status", headers={"Accept": "application/json"})
    return await response.json()


async def test_a_partner_post_is_pushed_to_the_aggregator(tmp_path):
    partner_port, aggregator_port = free_port(), free_port()
    partner_url = f"http://127.0.0.1:{partner_port}/"
    partner = write_site(
        tmp_path / "partner",
        extra=(
            '\n[websub]\nhubs = ["builtin"]\nallowed_networks = ["127.0.0.0/8"]\n'
            f'\n[server]\npublic_url = "{partner_url}"\n'
        ),
    )
    aggregator = tmp_path / "aggregator"
    aggregator.mkdir()
    (aggregator / "feeds.toml").write_text(
        '[site]\ntitle = "Network"\nurl = "https://network.example/"\n'
        'id_authority = "network.example,2020"\n'
        "\n[aggregator]\nenabled = true\nallow_private_addresses = true\nparse_workers = 0\n"
        f'\n[[partners]]\nname = "partner"\nurl = "{partner_url}feed.atom"\ntitle = "Partner"\n'
        '\n[websub]\nhubs = ["builtin"]\nallowed_networks = ["127.0.0.0/8"]\n'
        f'\n[server]\npublic_url = "http://127.0.0.1:{aggregator_port}/"\n'
    )
    async with serving(partner.config_file, partner_port) as partner_app:
        feed = await partner_app.get("/feed.atom")
        assert f'<{partner_url}websub>; rel="hub"' in feed.headers.getall("Link")
        async with serving(aggregator / "feeds.toml", aggregator_port) as network:

            async def subscription() -> dict[str, Any] | None:
                hubs = (await status(network))["websub"].get("partner_hubs") or []
                return hubs[0] if hubs and hubs[0]["state"] == "active" else None

            active = await until(subscription, what="the subscription to the partner's hub")
            assert active["hub"] == f"{partner_url}websub"
            assert active["topic"] == f"{partner_url}feed.atom"
            # The subscriber counts the subscription active once it has answered the hub's
            # verification GET; the hub, once it has read that answer: a moment later.

            async def hub_active() -> int:
                return int((await status(partner_app))["websub"]["hub"]["active"])

            assert await until(hub_active, what="the hub's active subscription") == 1

            async def merged(title: str) -> bool:
                return title in await (await network.get("/partners.atom")).text()

            await until(lambda: merged("Post e"), what="the first fetch, merged")
            assert not await merged("Pushed news")
            partner.write_post(
                "en/f.md", post_text("Pushed news", "en", ["Policy"], "2024-04-01", "Fresh.")
            )
            await until(lambda: merged("Pushed news"), what="the pushed post, merged")
            pushed = await subscription()
            assert pushed is not None
            assert (pushed["deliveries"], pushed["bad_signatures"]) == (1, 0)
            (partner_status,) = (await status(network))["partners"]
            # Merged by push: the only fetch was the first one, and the next poll is the
            # backup interval away.
            assert partner_status["last_fetch"] == partner_status["last_success"]
            assert (await status(partner_app))["websub"]["hub"]["delivered"] >= 1
