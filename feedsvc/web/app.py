"""The application factory and every route, in one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from aiohttp import hdrs, web
from yarl import URL

from feedsvc.clock import Clock, system_clock
from feedsvc.metrics import Metrics
from feedsvc.status import BuildStatus, ServiceStatus
from feedsvc.store import SnapshotRef
from feedsvc.web.embed import ROUTE as EMBED_ROUTE
from feedsvc.web.embed import EmbedFragments
from feedsvc.web.errors import guard, guard_async, quiet_bad_requests
from feedsvc.web.handlers import Handlers
from feedsvc.web.hooks import PATH as HOOK_PATH
from feedsvc.web.hooks import Rebuilder, RebuildHook
from feedsvc.web.metrics import add_metrics

if TYPE_CHECKING:  # websub/ imports web/errors.py: only the type is needed here
    from feedsvc.websub import WebSub

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The box holding what is served; background tasks (live updates) swap ref.current.
SNAPSHOT_REF = web.AppKey("snapshot_ref", SnapshotRef)


class EveryPath(web.AbstractResource):
    """The catch-all: a resource that takes every path and every method, for the current
    snapshot decides what exists (feeds, "/", "/feeds.opml").

    The paths served change with each snapshot (a new category brings new feeds), so they
    cannot be routes fixed at start-up. A ``/{path:.*}`` variable route would do, but runs a
    regex and unquotes the path into a match dict on every request, on the hot path
    (bench/routing.py). This implements aiohttp's public ``AbstractResource`` interface
    instead (``register_resource`` is for custom resources), so an upgrade that changes
    aiohttp's internals cannot silently change routing; tests/test_http.py pins which
    handler answers which path. Its canonical path is "/", so the router tries it last,
    after every more specific path (/healthz, /status).
    """

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self._route = web.ResourceRoute(hdrs.METH_ANY, handler, self)

    @property
    def canonical(self) -> str:
        return "/"

    def url_for(self, **kwargs: str) -> URL:
        return URL.build(path=kwargs.get("path", "/"))

    async def resolve(self, request: web.Request) -> tuple[web.UrlMappingMatchInfo, set[str]]:
        return web.UrlMappingMatchInfo({}, self._route), {hdrs.METH_ANY}

    def add_prefix(self, prefix: str) -> None:
        raise RuntimeError("the catch-all serves the whole application, not a prefix of it")

    # aiohttp types this as its private _InfoDict, a TypedDict whose "path" is this str.
    def get_info(self) -> dict[str, str]:  # type: ignore[override]
        return {"path": "/"}

    def raw_match(self, path: str) -> bool:
        return True

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[web.AbstractRoute]:
        return iter((self._route,))


def create_app(
    ref: SnapshotRef,
    *,
    clock: Clock = system_clock,
    status: Callable[[], BuildStatus] | None = None,
    rebuilder: Rebuilder | None = None,
    websub: WebSub | None = None,
    metrics: Metrics | None = None,
    metrics_token_env: str = "",
) -> web.Application:
    """The web app serving ``ref.current``. ``clock`` only dates RFC 850 two-digit years;
    ``status`` gives /status live (default: the status of the current snapshot);
    ``rebuilder`` (the Publisher) serves ``POST /hooks/rebuild``; ``websub`` serves
    ``POST /websub`` (the built-in hub) and adds its state to /status; ``metrics``, if
    given, is served at ``GET /metrics`` (with ``metrics_token_env``'s bearer token) and
    counts every response."""
    # No middleware: errors.guard wraps each handler instead (see errors.py for the cost).
    quiet_bad_requests()
    app = web.Application()
    app[SNAPSHOT_REF] = ref
    if websub is not None:
        status = _with_websub(status or (lambda: ref.current.status), websub)
    handlers = Handlers(ref, clock, status)
    # Every route takes every method ("*") and answers 405 itself: the catch-all would
    # otherwise turn "POST /healthz" into a 404. Allowed everywhere: GET, HEAD, OPTIONS.
    app.router.add_route("*", "/healthz", guard(handlers.healthz))
    app.router.add_route("*", "/status", guard(handlers.status))
    embeds = EmbedFragments(ref, handlers)
    app.router.add_route("*", EMBED_ROUTE, guard(embeds.fragment))
    if rebuilder is not None:
        app.router.add_route("*", HOOK_PATH, guard_async(RebuildHook(rebuilder)))
    if websub is not None:
        websub.add_routes(app)
    if metrics is not None:
        add_metrics(app, metrics, metrics_token_env)
    # Feeds, "/" and "/feeds.opml": whatever paths the current snapshot holds.
    app.router.register_resource(EveryPath(guard(handlers.resource)))
    return app


def _with_websub(status: Callable[[], BuildStatus], websub: WebSub) -> Callable[[], BuildStatus]:
    """``status`` with WebSub's state as ``websub`` (a running service's status only)."""

    def combined() -> BuildStatus:
        current = status()
        if not isinstance(current, ServiceStatus):
            return current
        return dataclasses.replace(current, websub=websub.status())

    return combined
