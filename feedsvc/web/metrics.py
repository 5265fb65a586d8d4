"""``GET /metrics`` (docs/urls.md "/metrics"), and the count of every response behind it.

Off unless ``server.metrics`` is true: then the route exists, and a response signal counts
each response by route kind and status. With ``server.metrics_token_env``, a scrape must
send that token as ``Authorization: Bearer …`` (compared in constant time); 404 while the
variable is unset, as for the webhook.
"""

from __future__ import annotations

import hmac
import os

from aiohttp import hdrs, web

from feedsvc.metrics import CONTENT_TYPE, Metrics
from feedsvc.urls import FORMAT_SUFFIX
from feedsvc.web.embed import ROUTE as EMBED_ROUTE
from feedsvc.web.errors import echo, error_response
from feedsvc.web.hooks import PATH as HOOK_PATH
from feedsvc.web.hooks import bearer

__all__ = ["PATH", "add_metrics", "route_kind"]

PATH = "/metrics"
# The built-in hub's path (websub/hub.py PATH, which imports the web layer: a test pins the
# two equal) and its subscribers' callbacks below it.
WEBSUB_PATH = "/websub"
_EMBED_PREFIX = EMBED_ROUTE.split("{", 1)[0]
_FEED_SUFFIXES = tuple(FORMAT_SUFFIX.values())
_FIXED = {
    "/healthz": "healthz",
    "/status": "status",
    PATH: "metrics",
    HOOK_PATH: "hook",
    WEBSUB_PATH: "websub",
    "/": "page",
}
_NO_TOKEN = (("WWW-Authenticate", 'Bearer realm="feedsvc-metrics"'),)


def route_kind(path: str) -> str:
    """What a path is, as a label of few values: feed, page, embed, healthz, status,
    metrics, hook, websub, other (any path that is none of these: a 404)."""
    kind = _FIXED.get(path)
    if kind is not None:
        return kind
    if path.startswith(_EMBED_PREFIX):
        return "embed"
    if path.endswith(_FEED_SUFFIXES):
        return "feed"
    if path.endswith((".opml", ".html")):
        return "page"
    if path.startswith(WEBSUB_PATH + "/"):
        return "websub"
    return "other"


def add_metrics(app: web.Application, metrics: Metrics, token_env: str = "") -> None:
    """Serve ``metrics`` at /metrics and count every response of ``app`` into it.
    ``token_env``: the environment variable holding the bearer token a scrape must send
    (read at each scrape); empty: none needed."""

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        sent = 0 if request.method == hdrs.METH_HEAD else response.content_length or 0
        metrics.request(route_kind(request.path), response.status, sent)

    async def scrape(request: web.Request) -> web.StreamResponse:
        if request.method not in (hdrs.METH_GET, hdrs.METH_HEAD):
            return error_response(
                405,
                f"{echo(request.method)} is not allowed on {PATH}; use GET",
                (("Allow", "GET, HEAD"),),
            )
        if token_env:
            token = os.environ.get(token_env)
            if not token:
                return error_response(
                    404, f"no metrics: server.metrics_token_env names {token_env}, which is unset"
                )
            if not _authorized(request, token):
                return error_response(
                    401, "send the metrics token as 'Authorization: Bearer …'", _NO_TOKEN
                )
        return web.Response(
            body=metrics.exposition(),
            headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"},
        )

    app.on_response_prepare.append(count)
    app.router.add_route("*", PATH, scrape)


def _authorized(request: web.Request, token: str) -> bool:
    given = bearer(request.headers.get(hdrs.AUTHORIZATION, ""))
    # Header text that is not UTF-8 keeps its bytes (surrogateescape); it never matches.
    return given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), token.encode()
    )
