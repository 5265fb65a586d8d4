"""The built-in hub at POST /websub (W3C WebSub §5–§7): requests, verification of intent,
content distribution, retries, leases, limits and restarts. Subscribers are real aiohttp
servers on 127.0.0.1; time is a FakeClock and retries wait on an injected sleep."""

from __future__ import annotations

import hashlib
import hmac
import socket
from dataclasses import replace

import pytest
from live_support import post_text, until, write_site
from websub_support import PUBLIC, WEBSUB_TOML, hub_site, subscriber

from feedsvc.live import Publisher
from feedsvc.remote.fetch import Fetcher
from feedsvc.status import WebsubStatus
from feedsvc.web.app import create_app
from feedsvc.websub import Hub
from feedsvc.websub.protocol import MAX_VERIFICATION_BODY, websub_fetch_policy

TOPIC = PUBLIC + "feed.atom"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TEN_DAYS = 10 * 86400


async def test_subscribe_verifies_intent_then_is_active(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        response = await site.subscribe(sub.url("a"))
        assert response.status == 202
        (query,) = sub.callbacks["a"].verifications
        assert query["hub.mode"] == "subscribe"
        assert query["hub.topic"] == TOPIC
        assert query["hub.lease_seconds"] == str(TEN_DAYS)
        assert len(query["hub.challenge"]) >= 32
        status = await site.status()
        assert status["active"] == 1
        assert status["topics"] == [
            {"topic": TOPIC, "active": 1, "pending": 0, "recent_failures": []}
        ]


async def test_each_verification_has_its_own_challenge(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        callback = sub.url("a")
        await site.subscribe(callback)
        await site.subscribe(callback)
        first, second = sub.callbacks["a"].verifications
        assert first["hub.challenge"] != second["hub.challenge"]
        assert (await site.status())["active"] == 1  # updated in place


async def test_pending_while_verifying(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        callback = sub.url("a", echo="hold")
        response = await site.request(mode="subscribe", topic=TOPIC, callback=callback)
        assert response.status == 202  # answered before the verification is done
        await until(lambda: sub.callbacks["a"].verifications, what="the verification GET")
        status = await site.status()
        assert (status["pending"], status["active"]) == (1, 0)
        assert status["topics"][0]["pending"] == 1
        sub.release.set()
        await site.hub.idle()
        status = await site.status()
        assert (status["pending"], status["active"]) == (0, 1)


@pytest.mark.parametrize(("asked", "granted"), [("10", 3600), ("99999999999", 30 * 86400)])
async def test_leases_stay_within_bounds(tmp_path, aiohttp_client, aiohttp_server, asked, granted):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        await site.subscribe(sub.url("a"), lease_seconds=asked)
        assert sub.callbacks["a"].verifications[0]["hub.lease_seconds"] == str(granted)


@pytest.mark.parametrize("echo", ["wrong", "refuse", "redirect"])
async def test_a_wrong_echo_never_activates(tmp_path, aiohttp_client, aiohttp_server, echo):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        callback = sub.url("a", echo=echo)
        await site.subscribe(callback)
        status = await site.status()
        assert status["active"] == 0
        (failure,) = status["topics"][0]["recent_failures"]
        assert failure["callback"] == callback
        assert "not verified" in failure["error"]
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "New."))
        assert sub.callbacks["a"].deliveries == []


async def test_an_unreachable_callback_is_reported_without_its_challenge(tmp_path, aiohttp_client):
    async with hub_site(tmp_path, aiohttp_client) as site:
        closed = f"http://127.0.0.1:{free_port()}/cb"  # nothing listens there
        assert (await site.request(mode="subscribe", topic=TOPIC, callback=closed)).status == 202
        await site.hub.idle()
        (failure,) = (await site.status())["topics"][0]["recent_failures"]
        assert failure["callback"] == closed
        assert "Cannot connect" in failure["error"]
        assert "hub.challenge=…" in failure["error"]  # the URL is named, its challenge not


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"mode": "subscribe", "topic": PUBLIC + "nope.atom"}, "hub.topic: not a feed"),
        ({"mode": "subscribe", "topic": "https://elsewhere.example/feed.atom"}, "hub.topic"),
        ({"mode": "subscribe", "topic": PUBLIC + "feeds.opml"}, "hub.topic: not a feed"),
        ({"mode": "subscribe", "topic": TOPIC, "callback": "ftp://x.example/"}, "hub.callback"),
        ({"mode": "publish", "topic": TOPIC}, "hub.mode"),
        ({"topic": TOPIC}, "hub.mode: must be subscribe or unsubscribe, not missing"),
        ({"mode": "subscribe", "topic": TOPIC, "lease_seconds": "-5"}, "hub.lease_seconds"),
        ({"mode": "subscribe", "topic": TOPIC, "secret": "s" * 200}, "less than 200 bytes"),
        ({"mode": "subscribe", "topic": TOPIC, "secret": "é" * 100}, "less than 200 bytes"),
        (
            {"mode": "subscribe", "topic": TOPIC, "callback": "http://10.0.0.1/cb"},
            "refused by the address policy",
        ),
        (
            {"mode": "subscribe", "topic": TOPIC, "callback": "http://[::ffff:169.254.169.254]/"},
            "link-local",
        ),
    ],
)
async def test_bad_requests_get_400_with_a_reason(tmp_path, aiohttp_client, form, words):
    async with hub_site(tmp_path, aiohttp_client) as site:
        form.setdefault("callback", "http://127.0.0.1:9/cb")
        response = await site.request(**form)
        assert response.status == 400
        assert words in await response.text()
        assert (await site.status())["pending"] == 0


async def test_a_secret_of_199_bytes_and_extra_parameters_are_accepted(
    tmp_path, aiohttp_client, aiohttp_server
):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        data = {
            "hub.mode": "subscribe",
            "hub.topic": TOPIC,
            "hub.callback": sub.url("a"),
            "hub.secret": "s" * 199,
            "hub.unknown": "x",
            "utm_source": "y",
        }
        response = await site.client.post("/websub", data=data)
        assert response.status == 202
        await site.hub.idle()
        assert (await site.status())["active"] == 1


async def test_the_request_shape_is_enforced(tmp_path, aiohttp_client):
    async with hub_site(tmp_path, aiohttp_client, extra="max_request = 1000") as site:
        big = await site.client.post("/websub", data={"hub.mode": "subscribe", "x": "y" * 2000})
        assert big.status == 413
        json_body = await site.client.post("/websub", json={"hub.mode": "subscribe"})
        assert json_body.status == 400
        assert "application/x-www-form-urlencoded" in await json_body.text()
        get = await site.client.get("/websub")
        assert get.status == 405
        assert get.headers["Allow"] == "POST"


async def test_a_change_is_delivered_signed_with_headers(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    secret = "correct horse battery staple"
    async with hub_site(tmp_path, aiohttp_client) as site:
        await site.subscribe(sub.url("signed"), secret=secret)
        await site.subscribe(sub.url("plain"))
        await site.edit("en/e.md", post_text("Post e", "en", ["Policy"], "2024-03-20", "Edited."))
        served = await site.client.get("/feed.atom")
        document = await served.read()
        assert b"Edited." in document
        (signed,) = sub.callbacks["signed"].deliveries
        (plain,) = sub.callbacks["plain"].deliveries
        for delivery in (signed, plain):
            assert delivery.body == document
            assert delivery.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
            links = ", ".join(delivery.links)
            assert f'<{PUBLIC}websub>; rel="hub"' in links
            assert f'<{TOPIC}>; rel="self"' in links
        expected = hmac.new(secret.encode(), document, hashlib.sha256).hexdigest()
        assert signed.headers["X-Hub-Signature"] == f"sha256={expected}"
        assert "X-Hub-Signature" not in plain.headers
        assert (await site.status())["delivered"] == 2


async def test_one_edit_notifies_exactly_the_feeds_holding_the_post(
    tmp_path, aiohttp_client, aiohttp_server
):
    sub = await subscriber(aiohttp_server)
    # es/c.md: Spanish, "Labor Trafficking", February 2024.
    holding = [
        "feed.atom",
        "feed.json",
        "lang/es.rss",
        "category/labor-trafficking.atom",
        "lang/es/category/labor-trafficking.json",
        "archive/2024/02.atom",
    ]
    others = [
        "lang/en.atom",
        "category/policy.atom",
        "archive/2024/03.rss",
        "lang/es/category/policy.atom",
    ]
    async with hub_site(tmp_path, aiohttp_client) as site:
        for feed in holding + others:
            await site.subscribe(sub.url(feed.replace("/", "_")), feed)
        await site.edit(
            "es/c.md", post_text("Post c", "es", ["Labor Trafficking"], "2024-02-14", "¡Nuevo!")
        )
        for feed in holding:
            (delivery,) = sub.callbacks[feed.replace("/", "_")].deliveries
            served = await (await site.client.get("/" + feed)).read()
            assert delivery.body == served
            assert "¡Nuevo!".encode() in served
        for feed in others:
            assert sub.callbacks[feed.replace("/", "_")].deliveries == [], feed


async def test_an_unchanged_rebuild_delivers_nothing(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        await site.subscribe(sub.url("a"))
        text = (site.site.posts / "en/a.md").read_text()
        await site.edit("en/a.md", text)  # the same bytes saved again
        assert sub.callbacks["a"].deliveries == []


async def test_unsubscribe_is_verified_and_stops_deliveries(
    tmp_path, aiohttp_client, aiohttp_server
):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        callback = sub.url("a")
        await site.subscribe(callback)
        response = await site.request(mode="unsubscribe", topic=TOPIC, callback=callback)
        assert response.status == 202
        await site.hub.idle()
        query = sub.callbacks["a"].verifications[-1]
        assert query["hub.mode"] == "unsubscribe"
        assert "hub.lease_seconds" not in query
        assert (await site.status())["active"] == 0
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "New."))
        assert sub.callbacks["a"].deliveries == []


async def test_an_unverified_unsubscribe_changes_nothing(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        callback = sub.url("a")
        await site.subscribe(callback)
        sub.callbacks["a"].echo = "wrong"  # someone else asks to unsubscribe it
        await site.request(mode="unsubscribe", topic=TOPIC, callback=callback)
        await site.hub.idle()
        assert (await site.status())["active"] == 1


async def test_410_ends_the_subscription(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        await site.subscribe(sub.url("a", statuses=[410]))
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "One."))
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "Two."))
        assert len(sub.callbacks["a"].deliveries) == 1
        assert site.sleeps.asked == []  # a 410 is not retried
        status = await site.status()
        assert status["active"] == 0
        assert "410" in status["topics"][0]["recent_failures"][-1]["error"]


async def test_a_500_is_retried_with_backoff(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        await site.subscribe(sub.url("a", statuses=[500, 200]))
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "One."))
        first, second = sub.callbacks["a"].deliveries
        assert first.body == second.body
        assert site.sleeps.asked == [30.0]
        status = await site.status()
        assert (status["delivered"], status["retried"], status["failed"]) == (1, 1, 0)
        assert status["active"] == 1


async def test_retries_end_within_the_limit(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:  # websub.retries = 2
        await site.subscribe(sub.url("a", statuses=[500, 503, 500, 200]))
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "One."))
        assert len(sub.callbacks["a"].deliveries) == 3
        assert site.sleeps.asked == [30.0, 60.0]
        status = await site.status()
        assert status["failed"] == 1
        assert "answered 500" in status["topics"][0]["recent_failures"][-1]["error"]
        assert status["active"] == 1  # a failed delivery does not end the subscription


async def test_an_expired_lease_ends(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client) as site:
        await site.subscribe(sub.url("a"), lease_seconds="3600")
        site.clock.advance(3599)
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "One."))
        assert len(sub.callbacks["a"].deliveries) == 1
        assert (await site.status())["active"] == 1
        site.clock.advance(1)
        assert (await site.status())["active"] == 0
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "Two."))
        assert len(sub.callbacks["a"].deliveries) == 1


async def test_subscriptions_survive_a_restart(tmp_path, aiohttp_client, aiohttp_server, store_url):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client, extra=f"store = '{store_url}'") as site:
        await site.subscribe(sub.url("a"), secret="s3cret")
        await site.subscribe(sub.url("gone"))
        await site.request(mode="unsubscribe", topic=TOPIC, callback=sub.url("gone"))
        await site.hub.idle()
        first_site = site.site
    async with hub_site(tmp_path, aiohttp_client, site=first_site) as again:
        assert (await again.status())["active"] == 1
        await again.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "New."))
        (delivery,) = sub.callbacks["a"].deliveries
        assert delivery.headers["X-Hub-Signature"].startswith("sha256=")
        assert sub.callbacks["gone"].deliveries == []


async def test_replicas_sharing_postgresql_deliver_each_change_once(
    tmp_path, aiohttp_client, aiohttp_server, pg_url
):
    """Two replicas (two sites, two hubs) on one store: a subscription taken by one is
    known to both, and one change reaches the subscriber exactly once."""
    sub = await subscriber(aiohttp_server)
    extra = f"store = '{pg_url}'"
    async with (
        hub_site(tmp_path / "one", aiohttp_client, extra=extra) as one,
        hub_site(tmp_path / "two", aiohttp_client, extra=extra) as two,
    ):
        await one.subscribe(sub.url("a"))
        text = post_text("Post a", "en", ["Policy"], "2024-01-10", "New.")
        await one.edit("en/a.md", text)
        await two.edit("en/a.md", text)
        (delivery,) = sub.callbacks["a"].deliveries
        assert b"New." in delivery.body
        # The next change is claimed by whichever replica renders it first: here the other.
        text = post_text("Post a", "en", ["Policy"], "2024-01-10", "Newer.")
        await two.edit("en/a.md", text)
        await one.edit("en/a.md", text)
        assert [b"Newer." in d.body for d in sub.callbacks["a"].deliveries] == [False, True]
        assert (two.hub.status().delivered, one.hub.status().delivered) == (1, 1)


async def test_caps_per_topic_and_in_total(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    extra = "max_per_topic = 2\nmax_subscriptions = 3"
    async with hub_site(tmp_path, aiohttp_client, extra=extra) as site:
        await site.subscribe(sub.url("a"))
        await site.subscribe(sub.url("b"))
        third = await site.request(mode="subscribe", topic=TOPIC, callback=sub.url("c"))
        assert third.status == 400
        assert "most subscriptions" in await third.text()
        await site.subscribe(sub.url("a"))  # a renewal takes no new place
        await site.subscribe(sub.url("d"), "feed.rss")
        fourth = await site.request(
            mode="subscribe", topic=PUBLIC + "feed.json", callback=sub.url("e")
        )
        assert fourth.status == 400
        assert (await site.status())["active"] == 3


async def test_an_expired_subscription_frees_its_place(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    async with hub_site(tmp_path, aiohttp_client, extra="max_per_topic = 1") as site:
        await site.subscribe(sub.url("a"), lease_seconds="3600")
        refused = await site.request(mode="subscribe", topic=TOPIC, callback=sub.url("b"))
        assert refused.status == 400
        site.clock.advance(3600)
        await site.subscribe(sub.url("b"))
        status = await site.status()
        assert status["active"] == 1
        assert "lease expired" in status["topics"][0]["recent_failures"][-1]["error"]


async def test_deliveries_in_flight_are_bounded(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    sub.hold = 0.02
    extra = "concurrency = 3\nper_host = 8"
    async with hub_site(tmp_path, aiohttp_client, extra=extra) as site:
        for n in range(8):
            await site.subscribe(sub.url(f"s{n}"))
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "One."))
        assert all(len(sub.callbacks[f"s{n}"].deliveries) == 1 for n in range(8))
        assert sub.peak == 3


async def test_deliveries_to_one_host_are_bounded(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    sub.hold = 0.02  # each delivery takes a while, so that they would overlap
    async with hub_site(tmp_path, aiohttp_client, extra="per_host = 2") as site:
        for n in range(8):
            await site.subscribe(sub.url(f"s{n}"))
        await site.edit("en/a.md", post_text("Post a", "en", ["Policy"], "2024-01-10", "One."))
        assert all(len(sub.callbacks[f"s{n}"].deliveries) == 1 for n in range(8))
        assert sub.peak == 2


def test_the_fetch_policy_comes_from_websub_keys(tmp_path):
    extra = "timeout = '3s'\nper_host = 7\nallow_private_addresses = true"
    site = write_site(tmp_path, extra=WEBSUB_TOML.format(hubs="", extra=extra))
    policy = websub_fetch_policy(site.config())
    assert (policy.connect_timeout, policy.total_timeout) == (3, 3)
    assert policy.per_host_limit == 7
    assert policy.allow_private_addresses
    assert policy.max_redirects == 0
    assert policy.max_body_bytes == MAX_VERIFICATION_BODY


async def test_a_verification_past_the_timeout_fails(tmp_path, aiohttp_client, aiohttp_server):
    sub = await subscriber(aiohttp_server)
    site = write_site(tmp_path, extra=WEBSUB_TOML.format(hubs="", extra=""))
    config = site.config()
    ref = await Publisher(config, workers=1).build_async()
    # websub.timeout is whole seconds; the same Fetcher limit, shorter, keeps the test quick.
    hub = Hub(config, ref, fetcher=Fetcher(replace(websub_fetch_policy(config), total_timeout=0.2)))
    await hub.start()
    try:
        client = await aiohttp_client(create_app(ref, websub=_HubOnly(hub)))
        callback = sub.url("slow", echo="hold")  # answers only once released: not in time
        form = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback}
        assert (await client.post("/websub", data=form)).status == 202
        await hub.idle()
        status = hub.status()
        assert (status.active, status.pending) == (0, 0)
        (failure,) = status.topics[0].recent_failures
        assert "no complete response within 0.2 s" in failure.error
    finally:
        sub.release.set()
        await hub.stop()


class _HubOnly:
    """The routes and status of one Hub, as WebSub gives them to the app."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def add_routes(self, app) -> None:
        app.router.add_route("*", "/websub", self.hub.handle)

    def status(self):
        return WebsubStatus(hub=self.hub.status())
