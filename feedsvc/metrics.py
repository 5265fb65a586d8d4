"""What one process counts, for ``GET /metrics`` in the Prometheus text format
(docs/urls.md "/metrics").

Each ``Metrics`` has a registry of its own rather than prometheus-client's global one, so
two services in one process (the tests) never mix their counts. The parts of the service
report into it (the Publisher its rebuilds, the Aggregator its fetches and lease
takeovers, the web app its responses); WebSub's counts are read from the hub's status when
scraped. Counting costs a few microseconds per event; the web app counts responses only
when ``/metrics`` is on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from feedsvc.status import WebsubStatus

__all__ = ["CONTENT_TYPE", "Metrics"]

# The text exposition format, version 0.0.4 (what prometheus_client writes).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Fetches take milliseconds on a LAN to the whole aggregator.timeout (30 s by default).
_FETCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# A rebuild after one partner changed takes milliseconds; a full one, seconds.
_REBUILD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The counters and histograms of one service."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._requests = Counter(
            "feedsvc_http_requests",
            "HTTP responses, by route kind and status code (304 is its own status)",
            ["route", "status"],
            registry=registry,
        )
        self._bytes = Counter(
            "feedsvc_http_response_bytes",
            "Body bytes sent, by route kind (a HEAD or a 304 sends none)",
            ["route"],
            registry=registry,
        )
        self._rebuilds = Histogram(
            "feedsvc_rebuild_duration_seconds",
            "Rebuilds that swapped in a new snapshot, and how long each took",
            buckets=_REBUILD_BUCKETS,
            registry=registry,
        )
        self._rerendered = Counter(
            "feedsvc_rebuild_feeds_rerendered",
            "Feeds rendered again by rebuilds (those whose posts changed)",
            registry=registry,
        )
        self._fetches = Histogram(
            "feedsvc_partner_fetch_duration_seconds",
            "Partner fetches by outcome (ok, not_modified, error, backoff, gone, lease_lost), "
            "with the time from request to stored outcome",
            ["outcome"],
            buckets=_FETCH_BUCKETS,
            registry=registry,
        )
        self._takeovers = Counter(
            "feedsvc_lease_takeovers",
            "Partner leases taken from a replica that never released them (it died or "
            "stalled past aggregator.lease)",
            registry=registry,
        )

    def request(self, route: str, status: int, sent: int) -> None:
        self._requests.labels(route, str(status)).inc()
        if sent:
            self._bytes.labels(route).inc(sent)

    def rebuild(self, seconds: float, rerendered: int) -> None:
        self._rebuilds.observe(seconds)
        self._rerendered.inc(rerendered)

    def fetch(self, outcome: str, seconds: float) -> None:
        self._fetches.labels(outcome).observe(seconds)

    def lease_takeover(self) -> None:
        self._takeovers.inc()

    def follow_websub(self, status: Callable[[], WebsubStatus]) -> None:
        """Report the built-in hub's deliveries and subscriptions, read when scraped."""
        self.registry.register(_WebsubCollector(status))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _WebsubCollector(Collector):
    """The hub's counts since start-up, as its status gives them."""

    def __init__(self, status: Callable[[], WebsubStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        hub = self._status().hub
        if hub is None:
            return
        deliveries = CounterMetricFamily(
            "feedsvc_websub_deliveries",
            "Content distributions of the built-in hub, by outcome (a retried one counts "
            "once per retry, then once as delivered or failed)",
            labels=["outcome"],
        )
        for outcome, count in (
            ("delivered", hub.delivered),
            ("retried", hub.retried),
            ("failed", hub.failed),
        ):
            deliveries.add_metric([outcome], count)
        yield deliveries
        subscriptions = GaugeMetricFamily(
            "feedsvc_websub_subscriptions", "Active subscriptions of the built-in hub"
        )
        subscriptions.add_metric([], hub.active)
        yield subscriptions
