"""GET /metrics: Prometheus text, off by default, token-protected on demand; what is counted
(metrics.py, web/metrics.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aggregate_support import FakeClock, item, make_config, partner, running
from aggregate_support import rss_feed as partner_feed
from aiohttp import web
from live_support import write_site
from prometheus_client.parser import text_string_to_metric_families

from feedsvc.aggregate.state import PartnerRecord, open_store
from feedsvc.metrics import Metrics
from feedsvc.service import PUBLISHER, create_service
from feedsvc.status import HubStatus, WebsubStatus
from feedsvc.web import metrics as web_metrics
from feedsvc.websub import hub


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/feed.atom", "feed"),
        ("/lang/es/category/policy.json", "feed"),
        ("/archive/2024/03.rss", "feed"),
        ("/", "page"),
        ("/feeds.opml", "page"),
        ("/embed/feed.html", "embed"),
        ("/healthz", "healthz"),
        ("/status", "status"),
        ("/metrics", "metrics"),
        ("/hooks/rebuild", "hook"),
        ("/websub", "websub"),
        ("/websub/partner/p", "websub"),
        ("/wp-login.php", "other"),
        ("/feed.atom/x", "other"),
    ],
)
def test_every_path_has_one_of_a_few_route_kinds(path, kind):
    assert web_metrics.route_kind(path) == kind


def test_the_websub_path_is_the_hubs():
    assert web_metrics.WEBSUB_PATH == hub.PATH


async def test_metrics_are_off_by_default(tmp_path, aiohttp_client):
    client = await aiohttp_client(create_service(write_site(tmp_path).config(), workers=1))
    assert (await client.get("/metrics")).status == 404


async def test_responses_are_counted_by_route_kind_and_status(tmp_path, aiohttp_client):
    site = write_site(tmp_path, extra="[server]\nmetrics = true\n")
    client = await aiohttp_client(create_service(site.config(), workers=1))
    feed = await client.get("/feed.atom")
    again = await client.get("/feed.atom", headers={"If-None-Match": feed.headers["ETag"]})
    assert again.status == 304
    assert (await client.head("/feed.rss")).status == 200
    assert (await client.get("/no-such-feed.atom")).status == 404
    assert (await client.get("/wp-login.php")).status == 404
    scrape = await client.get("/metrics")
    assert scrape.status == 200
    assert scrape.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert scrape.headers["Cache-Control"] == "no-store"
    text = await scrape.text()
    requests = "feedsvc_http_requests_total"
    assert value(text, requests, route="feed", status="200") == 2  # the GET and the HEAD
    assert value(text, requests, route="feed", status="304") == 1
    assert value(text, requests, route="feed", status="404") == 1
    assert value(text, requests, route="other", status="404") == 1


async def test_bytes_sent_count_bodies_only(tmp_path, aiohttp_client):
    site = write_site(tmp_path, extra="[server]\nmetrics = true\n")
    client = await aiohttp_client(create_service(site.config(), workers=1))
    identity = {"Accept-Encoding": "identity"}
    first = await client.get("/feed.atom", headers=identity)
    body = await first.read()
    etag = first.headers["ETag"]
    revalidated = await client.get("/feed.atom", headers={**identity, "If-None-Match": etag})
    assert revalidated.status == 304
    assert (await client.head("/feed.atom", headers=identity)).status == 200
    text = await (await client.get("/metrics")).text()
    assert value(text, "feedsvc_http_response_bytes_total", route="feed") == len(body)


async def test_rebuilds_are_counted_with_their_duration_and_feeds(tmp_path, aiohttp_client):
    site = write_site(tmp_path, extra="[server]\nmetrics = true\n")
    app = create_service(site.config(), workers=1)
    client = await aiohttp_client(app)
    publisher = app[PUBLISHER]
    site.write_post("en/b.md", "---\ntitle: Post b, edited\ndate: 2024-02-05\n---\nNew.\n")
    before = await (await client.get("/metrics")).text()
    await publisher.rebuild(["posts"], "test")
    after = await (await client.get("/metrics")).text()
    rerendered = publisher.status().last_rebuild.feeds_rendered
    assert rerendered > 0

    def grew(name: str) -> float:
        return value(after, name) - value(before, name)

    assert grew("feedsvc_rebuild_duration_seconds_count") == 1
    assert grew("feedsvc_rebuild_duration_seconds_sum") > 0
    assert grew("feedsvc_rebuild_feeds_rerendered_total") == rerendered


async def test_a_token_protects_metrics(tmp_path, aiohttp_client, monkeypatch):
    extra = '[server]\nmetrics = true\nmetrics_token_env = "FEEDSVC_TEST_METRICS"\n'
    site = write_site(tmp_path, extra=extra)
    client = await aiohttp_client(create_service(site.config(), workers=1))
    monkeypatch.delenv("FEEDSVC_TEST_METRICS", raising=False)
    unset = await client.get("/metrics")
    assert unset.status == 404
    assert "FEEDSVC_TEST_METRICS" in await unset.text()
    monkeypatch.setenv("FEEDSVC_TEST_METRICS", "s3cret")
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert right.status == 200
    assert "feedsvc_http_requests_total" in await right.text()
    assert (await client.post("/metrics")).status == 405


async def test_fetches_are_counted_by_outcome_and_lease_takeovers(feed_server, tmp_path, pg_url):
    async def validated(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        body = partner_feed([item(1)])
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    feed_server.handle("/p", validated)
    config = make_config(tmp_path, [partner("p", feed_server.url("/p"))], store=pg_url)
    metrics = Metrics()
    clock = FakeClock()
    async with running(config, clock=clock, metrics=metrics) as agg:
        await agg.refresh("p")  # 200
        await agg.refresh("p")  # 304: the server honours If-None-Match
        feed_server.serve("/p", status=500)
        await agg.refresh("p")
        # a replica that claimed p and died: its lease is taken over once it ends
        clock.advance(3600)
        dead = open_store(pg_url)
        url = feed_server.url("/p")
        assert dead.claim(
            PartnerRecord("p", url, url),
            owner="dead",
            now=clock(),
            lease_until=clock() + timedelta(seconds=120),
            per_host=2,
            host_retry=clock(),
            force=True,
        ).granted
        dead.close()
        clock.advance(121)
        await agg.refresh("p")
    text = metrics.exposition().decode()
    fetches = "feedsvc_partner_fetch_duration_seconds_count"
    assert value(text, fetches, outcome="ok") == 1
    assert value(text, fetches, outcome="not_modified") == 1
    assert value(text, fetches, outcome="error") == 2
    assert value(text, "feedsvc_lease_takeovers_total") == 1


def test_websub_deliveries_are_read_from_the_hub_when_scraped():
    counts = {"delivered": 3, "retried": 2, "failed": 1}
    metrics = Metrics()

    def status() -> WebsubStatus:
        hub_status = HubStatus("https://feeds.example/websub", 4, 0, 5, 0, **counts, topics=())
        return WebsubStatus(hub=hub_status, external_hubs=None)

    metrics.follow_websub(status)
    text = metrics.exposition().decode()
    for outcome, count in counts.items():
        assert value(text, "feedsvc_websub_deliveries_total", outcome=outcome) == count
    assert value(text, "feedsvc_websub_subscriptions") == 4
    counts["delivered"] = 7  # read again at each scrape
    text = metrics.exposition().decode()
    assert value(text, "feedsvc_websub_deliveries_total", outcome="delivered") == 7
