"""The aggregator as a WebSub subscriber (W3C WebSub §5, §7, §8; subscriber side).

The Aggregator tells ``PartnerHubs`` of the hub each partner's feed names (Link header or
document, aggregate/service.py). A partner with a hub is subscribed to with a callback of
its own, ``{public_url}websub/{token}``, where the token is random and unguessable, and a
random ``hub.secret``:

- **Verification of intent** (§5.3): a GET to the callback is confirmed (the challenge is
  echoed) only for a subscription we asked for, with the exact topic; everything else is
  ``404``. A denial (§5.2, ``hub.mode=denied``) is recorded.
- **Content distribution** (§7, §8): a POST whose ``X-Hub-Signature`` is missing or wrong is
  acknowledged (``2xx``, as §8 asks) and ignored, and counted on /status; a valid one goes
  to ``Aggregator.push``, exactly the parse, clean and merge path of a fetch. A POST to a
  callback we no longer use gets ``410 Gone`` (§7), which ends it at the hub.
- **Leases** are renewed a fifth of the lease before they end (at least a minute).
- The aggregator keeps polling a pushed partner, at ``websub.backup_interval``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from feedsvc.aggregate.service import Aggregator
from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.errors import FetchError, StoreError
from feedsvc.remote.fetch import Fetcher
from feedsvc.status import PartnerHubStatus
from feedsvc.web.errors import error_response
from feedsvc.websub.protocol import PATH, SUBSCRIBE, UNSUBSCRIBE, signature_ok, websub_fetch_policy
from feedsvc.websub.store import PartnerSubscription, SubscriptionStore, open_subscriptions

__all__ = ["CALLBACK_PATH", "PartnerHubs"]

_T = TypeVar("_T")

log = logging.getLogger("feedsvc.websub")

CALLBACK_PATH = PATH + "/{token}"
# Renewal loop: how often it looks at the clock at most (seconds).
MAX_NAP = 60.0
MIN_RENEWAL_MARGIN = 60.0
SUBSCRIBING, ACTIVE, DENIED, FAILED = "subscribing", "active", "denied", "failed"
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)


class PartnerHubs:
    """The aggregator's subscriptions to partners' hubs; an ``aggregate.PushSource``."""

    def __init__(
        self,
        config: Config,
        aggregator: Aggregator,
        *,
        clock: Clock = system_clock,
        fetcher: Fetcher | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        open_store: Callable[[str], SubscriptionStore] = open_subscriptions,
    ) -> None:
        self._config = config
        self._aggregator = aggregator
        self._clock = clock
        self._sleep = sleep
        self._open_store = open_store
        self._fetcher = fetcher or Fetcher(websub_fetch_policy(config), clock=clock)
        self._lease = int(config.websub.lease.seconds)
        self._callback_base = config.public_url + PATH.lstrip("/") + "/"
        self._max_body = config.aggregator.max_body
        self._partners = {partner.name for partner in config.partners}
        self._subscriptions: dict[str, PartnerSubscription] = {}
        self._renewing: set[str] = set()
        self._counts: dict[str, dict[str, int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._store: SubscriptionStore | None = None
        # SQLite from one dedicated thread, as the hub and the aggregator do.
        self._io: ThreadPoolExecutor | None = None
        aggregator.use_push(self)

    # --- life cycle -----------------------------------------------------------------------

    async def start(self, *, schedule: bool = True) -> None:
        """Open the store and the fetcher; with ``schedule``, renew leases in the background."""
        self._io = ThreadPoolExecutor(1, thread_name_prefix="feedsvc-websub-sub")
        self._store = await self._in_io(self._open_store, self._config.websub.store)
        for subscription in await self._in_io(self._store.load_partners):
            if subscription.partner in self._partners:
                self._subscriptions[subscription.partner] = subscription
        await self._fetcher.__aenter__()
        if schedule:
            self._spawn(self._renew_forever())

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        store, self._store = self._store, None
        if store is not None:
            await self._fetcher.__aexit__(None, None, None)
            await self._in_io(store.close)
        io, self._io = self._io, None
        if io is not None:
            io.shutdown(wait=True)

    async def idle(self) -> None:
        """Wait until no subscription request or pushed body is being handled (tests)."""
        while pending := [t for t in self._tasks if t.get_name() != "renewals"]:
            await asyncio.gather(*pending, return_exceptions=True)

    # --- told by the aggregator (aggregate.PushSource) ------------------------------------

    def discovered(self, partner: str, hub: str | None, topic: str) -> None:
        current = self._subscriptions.get(partner)
        if hub is None:
            return  # an existing subscription runs out with its lease, unrenewed
        same = current is not None and (current.hub, current.topic) == (hub, topic)
        if same and current is not None and current.state in (SUBSCRIBING, ACTIVE):
            return
        # A new hub or topic (or one that refused us before): a new callback and secret,
        # so that the old subscription's deliveries are told 410 and end.
        subscription = PartnerSubscription(
            partner=partner,
            hub=hub,
            topic=topic,
            token=secrets.token_urlsafe(32),
            secret=secrets.token_urlsafe(32),
            state=SUBSCRIBING,
        )
        self._subscriptions[partner] = subscription
        self._spawn(self._subscribe(subscription))

    def pushed(self, partner: str) -> bool:
        subscription = self._subscriptions.get(partner)
        return (
            subscription is not None
            and subscription.state == ACTIVE
            and not _expired(subscription, self._now())
        )

    # --- subscribing (§5.1) ---------------------------------------------------------------

    async def _subscribe(self, subscription: PartnerSubscription) -> None:
        """Ask the hub; the answer comes later, as a verification GET to the callback."""
        await self._save(subscription)
        form = {
            "hub.mode": SUBSCRIBE,
            "hub.topic": subscription.topic,
            "hub.callback": self._callback_base + subscription.token,
            "hub.secret": subscription.secret,
            "hub.lease_seconds": str(self._lease),
        }
        body = urlencode(form).encode()
        try:
            result = await self._fetcher.post(subscription.hub, body, _FORM_HEADERS)
            error = None if 200 <= result.status < 300 else f"the hub answered {result.status}"
        except FetchError as e:
            error = e.message
        finally:
            self._renewing.discard(subscription.partner)
        if error is not None and self._subscriptions.get(subscription.partner) is subscription:
            # Tried again when the next fetch names the hub again.
            log.warning(
                "websub: subscribing to %s for %s: %s",
                subscription.hub,
                subscription.partner,
                error,
            )
            await self._update(subscription, state=FAILED, error=error)

    async def renew_due(self) -> None:
        """Renew every active lease that ends within a fifth of its length."""
        now = self._now()
        for partner, subscription in list(self._subscriptions.items()):
            if subscription.state != ACTIVE or subscription.expires_at is None:
                continue
            margin = max(MIN_RENEWAL_MARGIN, (subscription.lease_seconds or 0) / 5)
            due = subscription.expires_at - timedelta(seconds=margin)
            if now >= due and partner not in self._renewing:
                self._renewing.add(partner)
                self._spawn(self._subscribe(subscription))

    async def _renew_forever(self) -> None:
        while True:
            await self.renew_due()
            await self._sleep(MAX_NAP)

    # --- the callbacks: GET /websub/{token} and POST /websub/{token} ---------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        subscription = next(
            (s for s in self._subscriptions.values() if secrets.compare_digest(s.token, token)),
            None,
        )
        if request.method == "GET":
            return await self._verify(subscription, request)
        if request.method == "POST":
            return await self._receive(subscription, request)
        return error_response(405, f"use GET or POST on {PATH}/…", (("Allow", "GET, POST"),))

    async def _verify(
        self, subscription: PartnerSubscription | None, request: web.Request
    ) -> web.StreamResponse:
        query = request.query
        mode = query.get("hub.mode", "")
        if subscription is None or query.get("hub.topic") != subscription.topic:
            return error_response(404, "no such subscription")
        if mode == "denied":
            # §5.2: the hub refused; it may say why.
            reason = query.get("hub.reason", "no reason given")
            await self._update(subscription, state=DENIED, error=f"denied by the hub: {reason}")
            return web.Response(text="ok", headers=_TEXT)
        if mode == UNSUBSCRIBE or mode != SUBSCRIBE:
            return error_response(404, "we did not ask for that")  # we never unsubscribe
        lease_text = query.get("hub.lease_seconds", "")
        if not lease_text.isdigit():
            return error_response(404, "hub.lease_seconds is missing")  # §5.3: required
        lease = int(lease_text)
        expires = self._now() + timedelta(seconds=lease)
        await self._update(
            subscription, state=ACTIVE, lease_seconds=lease, expires_at=expires, error=None
        )
        log.info(
            "websub: subscribed to %s for %s (%d s)", subscription.hub, subscription.partner, lease
        )
        return web.Response(text=query.get("hub.challenge", ""), headers=_TEXT)

    async def _receive(
        self, subscription: PartnerSubscription | None, request: web.Request
    ) -> web.StreamResponse:
        if subscription is None:
            return error_response(410, "this callback is no longer used")  # §7: ends it
        body = await request.content.read(self._max_body + 1)
        if len(body) > self._max_body:
            return error_response(413, f"the body exceeds {self._max_body} bytes")
        counts = self._counts_of(subscription.partner)
        if not signature_ok(subscription.secret, body, request.headers.get("X-Hub-Signature")):
            # §8: acknowledged, so the hub does not retry, but ignored.
            counts["bad_signatures"] += 1
            log.warning(
                "websub: %s: a delivery without a valid signature ignored", subscription.partner
            )
            return web.Response(status=202, text="ignored", headers=_TEXT)
        counts["deliveries"] += 1
        headers = {"content-type": request.headers.get("Content-Type", "")}
        self._spawn(self._aggregator.push(subscription.partner, body, headers))
        return web.Response(status=202, text="accepted", headers=_TEXT)

    # --- /status --------------------------------------------------------------------------

    def status(self) -> tuple[PartnerHubStatus, ...]:
        now = self._now()
        return tuple(
            PartnerHubStatus(
                partner=s.partner,
                hub=s.hub,
                topic=s.topic,
                state="expired" if s.state == ACTIVE and _expired(s, now) else s.state,
                expires_at=s.expires_at,
                error=s.error,
                **self._counts_of(s.partner),
            )
            for s in sorted(self._subscriptions.values(), key=lambda s: s.partner)
        )

    # --- helpers --------------------------------------------------------------------------

    def _counts_of(self, partner: str) -> dict[str, int]:
        return self._counts.setdefault(partner, {"deliveries": 0, "bad_signatures": 0})

    async def _update(self, subscription: PartnerSubscription, **changes: Any) -> None:
        """Change a subscription that is still the partner's current one, and keep it."""
        current = self._subscriptions.get(subscription.partner)
        if current is None or current.token != subscription.token:
            return
        new = replace(current, **changes)
        self._subscriptions[subscription.partner] = new
        await self._save(new)

    async def _save(self, subscription: PartnerSubscription) -> None:
        if self._store is None:
            return
        try:
            await self._in_io(self._store.save_partner, subscription)
        except StoreError as e:
            log.error("websub: %s", e)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        name = "renewals" if getattr(work, "__name__", "") == "_renew_forever" else "work"
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    async def _in_io(self, func: Callable[..., _T], *args: Any) -> _T:
        if self._io is None:
            raise StoreError(self._config.websub.store, "WebSub is stopped")
        return await asyncio.get_running_loop().run_in_executor(self._io, func, *args)


def _expired(subscription: PartnerSubscription, now: datetime) -> bool:
    return subscription.expires_at is not None and subscription.expires_at <= now
