"""The application factory and every route, in one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from aiohttp import web

from feedsvc.clock import Clock, system_clock
from feedsvc.status import BuildStatus, ServiceStatus
from feedsvc.store import SnapshotRef
from feedsvc.web.embed import ROUTE as EMBED_ROUTE
from feedsvc.web.embed import EmbedFragments
from feedsvc.web.errors import guard, guard_async
from feedsvc.web.handlers import Handlers
from feedsvc.web.hooks import PATH as HOOK_PATH
from feedsvc.web.hooks import Rebuilder, RebuildHook
from feedsvc.websub import WebSub

# The box holding what is served; background tasks (live updates) swap ref.current.
SNAPSHOT_REF = web.AppKey("snapshot_ref", SnapshotRef)


class EveryPath(web.PlainResource):
    """A route resource matching every path: the current snapshot decides what exists.

    The paths served change with each snapshot (a new category brings new feeds), so they
    cannot be routes fixed at start-up. A ``/{path:.*}`` DynamicResource would do, but
    runs a regex and builds a match dict per request, ~0.6 µs of the hot path; matching
    unconditionally (aiohttp's ``_match`` hook) costs nothing. The router tries it last,
    after every more specific path (/healthz, /status).
    """

    def __init__(self) -> None:
        super().__init__("/")

    def _match(self, path: str) -> dict[str, str] | None:
        return {}

    def raw_match(self, path: str) -> bool:
        return True


def create_app(
    ref: SnapshotRef,
    *,
    clock: Clock = system_clock,
    status: Callable[[], BuildStatus] | None = None,
    rebuilder: Rebuilder | None = None,
    websub: WebSub | None = None,
) -> web.Application:
    """The web app serving ``ref.current``. ``clock`` only dates RFC 850 two-digit years;
    ``status`` gives /status live (default: the status of the current snapshot);
    ``rebuilder`` (the Publisher) serves ``POST /hooks/rebuild``; ``websub`` serves
    ``POST /websub`` (the built-in hub) and adds its state to /status."""
    # No middleware: errors.guard wraps each handler instead (see errors.py for the cost).
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
    # Feeds, "/" and "/feeds.opml": whatever paths the current snapshot holds.
    every_path = EveryPath()
    app.router.register_resource(every_path)
    every_path.add_route("*", guard(handlers.resource))
    return app


def _with_websub(status: Callable[[], BuildStatus], websub: WebSub) -> Callable[[], BuildStatus]:
    """``status`` with WebSub's state as ``websub`` (a running service's status only)."""

    def combined() -> BuildStatus:
        current = status()
        if not isinstance(current, ServiceStatus):
            return current
        return dataclasses.replace(current, websub=websub.status())

    return combined
