"""Telling external hubs that feeds changed (the publisher's side of WebSub).

The Recommendation leaves the publisher-to-hub ping to each hub (W3C WebSub §6: "the
method … is not defined"); the hubs in use (Google's, Superfeedr, WebSub.rocks, Switchboard)
all take the PubSubHubbub 0.4 form: a form-encoded POST with ``hub.mode=publish`` and the
topic as ``hub.url``. We send ``hub.topic`` too, which the newer hubs read instead.

After each rebuild, every feed whose bytes changed is published to every external hub, one
request per feed, in the background; a failure is retried with a doubling wait, within
``websub.retries``. A newer change of the same feed replaces a retry in waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.errors import FetchError
from feedsvc.live import Rebuilt
from feedsvc.remote.fetch import Fetcher
from feedsvc.status import ExternalHubStatus, WebsubFailure
from feedsvc.websub.protocol import RECENT_FAILURES, retry_delay, websub_fetch_policy

__all__ = ["ExternalHubs"]

log = logging.getLogger("feedsvc.websub")

_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class _Outcomes:
    """What one external hub answered lately, for /status."""

    def __init__(self) -> None:
        self.published = 0
        self.retried = 0
        self.failed = 0
        self.last_success: datetime | None = None
        self.recent_failures: deque[WebsubFailure] = deque(maxlen=RECENT_FAILURES)


class ExternalHubs:
    """Publishes changed feeds to ``websub.hubs``' external hubs."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = system_clock,
        fetcher: Fetcher | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        websub = config.websub
        self._hubs = websub.external_hubs
        self._public_url = config.public_url
        self._retries = websub.retries
        self._backoff = websub.retry_backoff.seconds
        self._max_backoff = websub.max_backoff.seconds
        self._clock = clock
        self._sleep = sleep
        self._fetcher = fetcher or Fetcher(websub_fetch_policy(config), clock=clock)
        self._outcomes = {hub: _Outcomes() for hub in self._hubs}
        self._generation: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._open = False

    async def start(self) -> None:
        await self._fetcher.__aenter__()
        self._open = True

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._open:
            await self._fetcher.__aexit__(None, None, None)
            self._open = False

    async def idle(self) -> None:
        """Wait until no ping is in flight or waiting to be retried (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def rebuilt(self, rebuilt: Rebuilt) -> None:
        """After a rebuild: publish every feed whose bytes changed to every external hub."""
        for path in rebuilt.changed:
            if not rebuilt.snapshot.resources[path].links:
                continue  # not a feed (the index page, the OPML)
            topic = self._public_url + path.lstrip("/")
            for hub in self._hubs:
                key = (hub, topic)
                generation = self._generation[key] = self._generation.get(key, 0) + 1
                self._spawn(self._ping(hub, topic, generation))

    async def _ping(self, hub: str, topic: str, generation: int) -> None:
        outcomes = self._outcomes[hub]
        body = urlencode({"hub.mode": "publish", "hub.url": topic, "hub.topic": topic}).encode()
        attempt = 0
        while self._generation.get((hub, topic)) == generation:
            try:
                result = await self._fetcher.post(hub, body, _FORM_HEADERS)
                error = None if 200 <= result.status < 300 else f"answered {result.status}"
            except FetchError as e:
                error = e.message
            if error is None:
                outcomes.published += 1
                outcomes.last_success = self._now()
                return
            attempt += 1
            if attempt > self._retries:
                outcomes.failed += 1
                outcomes.recent_failures.append(WebsubFailure(self._now(), topic, error))
                log.warning("websub: publishing %s to %s failed: %s", topic, hub, error)
                return
            outcomes.retried += 1
            await self._sleep(retry_delay(attempt, self._backoff, self._max_backoff))

    def status(self) -> tuple[ExternalHubStatus, ...]:
        return tuple(
            ExternalHubStatus(
                url=hub,
                published=o.published,
                retried=o.retried,
                failed=o.failed,
                last_success=o.last_success,
                recent_failures=tuple(o.recent_failures),
            )
            for hub, o in self._outcomes.items()
        )

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
