"""Everything WebSub does in a running service, behind one object the app composes: the
built-in hub (hub.py) and the pings to external hubs (publish.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.live import Rebuilt
from feedsvc.status import WebsubStatus
from feedsvc.store import SnapshotRef
from feedsvc.web.errors import guard_async
from feedsvc.websub.hub import PATH, Hub
from feedsvc.websub.publish import ExternalHubs

__all__ = ["WebSub"]


class WebSub:
    """The parts ``[websub]`` turns on. ``rebuilt`` is the Publisher's rebuild listener."""

    def __init__(
        self,
        config: Config,
        ref: SnapshotRef,
        *,
        clock: Clock = system_clock,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        websub = config.websub
        self.hub = Hub(config, ref, clock=clock, sleep=sleep) if websub.builtin else None
        self.external = (
            ExternalHubs(config, clock=clock, sleep=sleep) if websub.external_hubs else None
        )

    async def start(self) -> None:
        if self.hub is not None:
            await self.hub.start()
        if self.external is not None:
            await self.external.start()

    async def stop(self) -> None:
        if self.external is not None:
            await self.external.stop()
        if self.hub is not None:
            await self.hub.stop()

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: WebSub runs while the app serves."""
        await self.start()
        yield
        await self.stop()

    async def idle(self) -> None:
        """Wait until nothing is in flight (tests, benchmarks)."""
        if self.hub is not None:
            await self.hub.idle()
        if self.external is not None:
            await self.external.idle()

    def add_routes(self, app: web.Application) -> None:
        if self.hub is not None:
            app.router.add_route("*", PATH, guard_async(self.hub.handle))

    def rebuilt(self, rebuilt: Rebuilt) -> None:
        if self.hub is not None:
            self.hub.rebuilt(rebuilt)
        if self.external is not None:
            self.external.rebuilt(rebuilt)

    def status(self) -> WebsubStatus:
        return WebsubStatus(
            hub=self.hub.status() if self.hub is not None else None,
            external_hubs=self.external.status() if self.external is not None else None,
        )
