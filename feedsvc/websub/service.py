"""Everything WebSub does in a running service, behind one object the app composes: the
built-in hub (hub.py), the pings to external hubs (publish.py) and the aggregator's
subscriptions to partners' hubs (subscriber.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from feedsvc.aggregate.service import Aggregator
from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.live import Rebuilt
from feedsvc.status import WebsubStatus
from feedsvc.store import SnapshotRef
from feedsvc.web.errors import guard_async
from feedsvc.websub.hub import Hub
from feedsvc.websub.protocol import PATH
from feedsvc.websub.publish import ExternalHubs
from feedsvc.websub.subscriber import CALLBACK_PATH, PartnerHubs

__all__ = ["WebSub"]


class WebSub:
    """The parts ``[websub]`` turns on. ``rebuilt`` is the Publisher's rebuild listener;
    with an ``aggregator``, partners' hubs are subscribed to (before it starts)."""

    def __init__(
        self,
        config: Config,
        ref: SnapshotRef,
        *,
        aggregator: Aggregator | None = None,
        clock: Clock = system_clock,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        websub = config.websub
        self.hub = Hub(config, ref, clock=clock, sleep=sleep) if websub.builtin else None
        self.external = (
            ExternalHubs(config, clock=clock, sleep=sleep) if websub.external_hubs else None
        )
        self.subscriber = (
            PartnerHubs(config, aggregator, clock=clock, sleep=sleep)
            if aggregator is not None
            else None
        )

    async def start(self, *, schedule: bool = True) -> None:
        """Start every part; ``schedule=False`` leaves lease renewals to explicit calls."""
        if self.hub is not None:
            await self.hub.start()
        if self.external is not None:
            await self.external.start()
        if self.subscriber is not None:
            await self.subscriber.start(schedule=schedule)

    async def stop(self) -> None:
        if self.subscriber is not None:
            await self.subscriber.stop()
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
        if self.subscriber is not None:
            await self.subscriber.idle()

    def add_routes(self, app: web.Application) -> None:
        if self.hub is not None:
            app.router.add_route("*", PATH, guard_async(self.hub.handle))
        if self.subscriber is not None:
            app.router.add_route("*", CALLBACK_PATH, guard_async(self.subscriber.handle))

    def rebuilt(self, rebuilt: Rebuilt) -> None:
        if self.hub is not None:
            self.hub.rebuilt(rebuilt)
        if self.external is not None:
            self.external.rebuilt(rebuilt)

    def status(self) -> WebsubStatus:
        return WebsubStatus(
            hub=self.hub.status() if self.hub is not None else None,
            external_hubs=self.external.status() if self.external is not None else None,
            partner_hubs=self.subscriber.status() if self.subscriber is not None else None,
        )
