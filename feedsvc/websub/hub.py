"""The built-in WebSub hub at ``POST /websub`` (W3C WebSub Recommendation §5–§7).

- **Subscribing** (§5.1): a form-encoded request is checked at once (400 with a reason, or
  202), then the subscriber's intent is verified in the background (§5.3): a GET to the
  callback with the mode, the exact topic, a single-use challenge and the lease; only a 2xx
  whose body is the challenge makes the subscription active (or ends it, for unsubscribe).
  A new request for the same (topic, callback) replaces the old one in place.
- **Distributing** (§7): when a rebuild changes a feed's bytes, every active subscriber of
  that feed gets a POST of the whole new document, with its Content-Type, the Link rel=hub
  and rel=self values its GET carries, and ``X-Hub-Signature`` when it gave a secret (§8).
  Failures are retried with a doubling wait, within ``websub.retries``; a 410 ends the
  subscription; an expired lease ends it too.
- **Limits**, so the hub cannot be aimed at someone: the address policy of partner fetches
  for every callback, checked when the request comes and again at every connection (the one
  Fetcher); a cap on subscriptions per topic and in total; at most ``websub.concurrency``
  requests in flight and ``websub.per_host`` to one host; timeouts; a request body cap.

Subscriptions live in a ``SubscriptionStore`` (SQLite by default), so they survive restarts.
Time comes from the injected clock and waiting from the injected ``sleep``.

Over 400 lines: subscribing, verifying and distributing share one subscription table, its
pending verifications and its in-flight limits; the pure protocol rules are protocol.py's,
the storage store.py's.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import hdrs, web

from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.errors import AddressRefused, FetchError, HubRequestError, StoreError
from feedsvc.live import Rebuilt
from feedsvc.remote.addresses import AddressPolicy, PolicyResolver
from feedsvc.remote.fetch import Fetcher
from feedsvc.status import HubStatus, TopicStatus, WebsubFailure
from feedsvc.store import SnapshotRef
from feedsvc.web.errors import error_response
from feedsvc.websub.protocol import (
    PATH,
    RECENT_FAILURES,
    SUBSCRIBE,
    LeasePolicy,
    SubscriptionRequest,
    parse_request,
    retry_delay,
    signature,
    verification_params,
    websub_fetch_policy,
    with_query,
)
from feedsvc.websub.store import Subscription, SubscriptionStore, open_subscriptions

__all__ = ["Hub"]

log = logging.getLogger("feedsvc.websub")

_FORM = "application/x-www-form-urlencoded"
_ACCEPTED_HEADERS = (("Content-Type", "text/plain; charset=utf-8"),)

_T = TypeVar("_T")
Key = tuple[str, str]  # (topic, callback): what identifies a subscription (§5.1)


@dataclass(frozen=True, slots=True)
class _Content:
    """One document to distribute: the bytes and headers of the topic at a rebuild."""

    topic: str
    body: bytes
    etag: str  # the same on every replica: what a delivery is claimed by
    content_type: str
    links: tuple[str, ...]


class Hub:
    """The hub of one service: the /websub handler, verification and distribution."""

    def __init__(
        self,
        config: Config,
        ref: SnapshotRef,
        *,
        clock: Clock = system_clock,
        fetcher: Fetcher | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        open_store: Callable[[str], SubscriptionStore] = open_subscriptions,
    ) -> None:
        websub = config.websub
        self._config = config
        self._ref = ref
        self._clock = clock
        self._sleep = sleep
        self._open_store = open_store
        self._fetcher = fetcher or Fetcher(websub_fetch_policy(config), clock=clock)
        self._addresses = AddressPolicy(websub.allow_private_addresses, websub.allowed_networks)
        self._leases = LeasePolicy(
            default=int(websub.lease.seconds),
            minimum=int(websub.min_lease.seconds),
            maximum=int(websub.max_lease.seconds),
        )
        self._backoff = websub.retry_backoff.seconds
        self._max_backoff = websub.max_backoff.seconds
        self._public_url = config.public_url
        self.url = self._public_url + PATH.lstrip("/")
        self._active: dict[str, dict[str, Subscription]] = {}
        self._pending: dict[Key, str] = {}  # what is being verified: the mode asked for
        # Each request and each distribution of a (topic, callback) takes the next number:
        # a verification or a retry that a newer one overtook stops.
        self._generation: dict[Key, int] = {}
        self._failures: dict[str, deque[WebsubFailure]] = {}
        self._counts = {"delivered": 0, "failed": 0, "retried": 0, "verified": 0, "refused": 0}
        self._slots = asyncio.Semaphore(websub.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._io: ThreadPoolExecutor | None = None
        self._store: SubscriptionStore | None = None

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store and the fetcher; what the store holds is active again."""
        if self._io is not None:
            raise RuntimeError("Hub already started")
        self._io = ThreadPoolExecutor(1, thread_name_prefix="feedsvc-websub")
        path = self._config.websub.store
        self._store = await self._in_io(self._open_store, path)
        for subscription in await self._in_io(self._store.load):
            self._active.setdefault(subscription.topic, {})[subscription.callback] = subscription
        await self._fetcher.__aenter__()
        await self._expire()

    async def stop(self) -> None:
        """Cancel verifications and deliveries in flight; close the fetcher and the store."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._io is None:
            return
        await self._fetcher.__aexit__(None, None, None)
        store, self._store = self._store, None
        if store is not None:
            await self._in_io(store.close)
        io, self._io = self._io, None
        io.shutdown(wait=True)

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: the hub runs while the app serves."""
        await self.start()
        yield
        await self.stop()

    async def idle(self) -> None:
        """Wait until no verification or delivery is in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- POST /websub ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """§5.1: 202 when the request is accepted (verification follows), 400 with the
        reason when not; 405 for another method, 413 past ``websub.max_request``."""
        if request.method != hdrs.METH_POST:
            return error_response(
                405,
                f"{request.method[:20]} is not allowed on {PATH}; use POST",
                (("Allow", "POST"),),
            )
        limit = self._config.websub.max_request
        if request.content_length is not None and request.content_length > limit:
            return error_response(413, f"the request body exceeds {limit} bytes")
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            return error_response(413, f"the request body exceeds {limit} bytes")
        if request.content_type != _FORM:
            return error_response(400, f"the body must be {_FORM} (W3C WebSub §5.1)")
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            subscription = parse_request(form, self._is_topic)
            await self._check_callback(subscription.callback)
            await self._expire()  # a lease that ran out holds no place
            self._check_capacity(subscription)
        except UnicodeDecodeError:
            return error_response(400, "the body is not UTF-8 text")
        except HubRequestError as e:
            self._counts["refused"] += 1
            return error_response(400, str(e))
        key = (subscription.topic, subscription.callback)
        self._pending[key] = subscription.mode
        self._spawn(self._verify(subscription, self._next_generation(key)))
        return web.Response(status=202, body=b"202 Accepted\n", headers=_ACCEPTED_HEADERS)

    def _is_topic(self, url: str) -> bool:
        """Topics are this service's own feed URLs, any format (the documents that name
        this hub in their Link headers)."""
        if not url.startswith(self._public_url):
            return False
        resource = self._ref.current.resources.get("/" + url[len(self._public_url) :])
        return resource is not None and bool(resource.links)

    async def _check_callback(self, callback: str) -> None:
        """The address policy of partner fetches (docs/urls.md "WebSub"): refused now, with
        a reason, rather than at verification. The Fetcher checks again at every connection."""
        host = urlsplit(callback).hostname or ""
        resolver = PolicyResolver(self._addresses, aiohttp.ThreadedResolver())
        try:
            await resolver.resolve(host, 0, socket.AF_UNSPEC)
        except AddressRefused as e:
            raise HubRequestError(
                "hub.callback", f"{host} is {e.address}, {e.reason}: refused by the address policy"
            ) from e
        except OSError as e:
            raise HubRequestError("hub.callback", f"cannot resolve {host}: {e}") from e
        finally:
            await resolver.close()

    def _check_capacity(self, request: SubscriptionRequest) -> None:
        if request.mode != SUBSCRIBE:
            return
        key = (request.topic, request.callback)
        if request.callback in self._active.get(request.topic, {}) or key in self._pending:
            return  # a renewal takes no new place
        websub = self._config.websub
        on_topic = len(self._active.get(request.topic, {})) + sum(
            1 for topic, _ in self._pending if topic == request.topic
        )
        if on_topic >= websub.max_per_topic:
            raise HubRequestError(
                "hub.topic", f"this feed has the most subscriptions allowed ({on_topic})"
            )
        total = sum(map(len, self._active.values())) + len(self._pending)
        if total >= websub.max_subscriptions:
            raise HubRequestError("hub.callback", "the hub has the most subscriptions it takes")

    # --- verification of intent (§5.3) ----------------------------------------------------

    async def _verify(self, request: SubscriptionRequest, generation: int) -> None:
        key = (request.topic, request.callback)
        lease = self._leases.grant(request.lease_seconds) if request.mode == SUBSCRIBE else None
        challenge = secrets.token_urlsafe(32)  # single use: a new one for every verification
        url = with_query(
            request.callback, verification_params(request.mode, request.topic, challenge, lease)
        )
        try:
            async with self._slots:
                result = await self._fetcher.fetch(url)
            if not 200 <= result.status < 300:
                raise FetchError(request.callback, f"answered {result.status} to verification")
            if result.body != challenge.encode("ascii"):
                raise FetchError(request.callback, "did not echo hub.challenge")
        except FetchError as e:
            # The challenge stays secret even after the failure: /status is public.
            reason = e.message.replace(challenge, "…")
            self._fail(request.topic, request.callback, f"{request.mode} not verified: {reason}")
            return
        finally:
            if self._generation.get(key) == generation:
                self._pending.pop(key, None)
        if self._generation.get(key) != generation:
            return  # a newer request for this subscription decides
        self._counts["verified"] += 1
        if request.mode == SUBSCRIBE:
            assert lease is not None
            expires = self._now() + timedelta(seconds=lease)
            subscription = Subscription(
                request.topic, request.callback, request.secret, lease, expires
            )
            self._active.setdefault(request.topic, {})[request.callback] = subscription
            await self._persist(self._store_save, subscription)
            log.info("websub: %s subscribed to %s for %d s", request.callback, request.topic, lease)
        else:
            self._drop(key)
            await self._persist(self._store_delete, key)
            log.info("websub: %s unsubscribed from %s", request.callback, request.topic)

    # --- content distribution (§7) --------------------------------------------------------

    def rebuilt(self, rebuilt: Rebuilt) -> None:
        """After a rebuild: every active subscriber of a feed whose bytes changed gets the
        new document, in the background (never on the request path). Only a change of
        bytes is news (W3C WebSub §6). With a shared store, the subscriptions other
        replicas took or ended are read first."""
        if self._store is not None and self._store.shared:
            self._spawn(self._reload_then_distribute(rebuilt))
        else:
            self._distribute(rebuilt)

    async def _reload_then_distribute(self, rebuilt: Rebuilt) -> None:
        store = self._store
        try:
            stored = await self._in_io(store.load) if store is not None else []
        except StoreError as e:
            log.error("websub: %s; distributing to the subscriptions known here", e)
        else:
            self._active = {}
            for subscription in stored:
                self._active.setdefault(subscription.topic, {})[subscription.callback] = (
                    subscription
                )
        self._distribute(rebuilt)

    def _distribute(self, rebuilt: Rebuilt) -> None:
        topics = {self._path(topic): topic for topic in self._active}
        for path in rebuilt.changed:
            if path not in topics:
                continue
            resource = rebuilt.snapshot.resources[path]
            identity = resource.identity
            content = _Content(
                topics[path], identity.body, identity.etag, resource.content_type, resource.links
            )
            for subscription in list(self._active.get(content.topic, {}).values()):
                key = (subscription.topic, subscription.callback)
                self._spawn(self._deliver(subscription, content, self._next_generation(key)))

    async def _deliver(
        self, subscription: Subscription, content: _Content, generation: int
    ) -> None:
        key = (subscription.topic, subscription.callback)
        headers = {"Content-Type": content.content_type, "Link": ", ".join(content.links)}
        if subscription.secret:
            headers["X-Hub-Signature"] = signature(subscription.secret, content.body)
        if not await self._claim(subscription, content):
            return  # another replica delivers this change
        attempt = 0
        while True:
            current = self._active.get(subscription.topic, {}).get(subscription.callback)
            if current is None or self._generation.get(key) != generation:
                return  # unsubscribed, or a newer document is on its way
            if current.expired(self._now()):
                await self._end(key, "lease expired")
                return
            try:
                async with self._slots:
                    result = await self._fetcher.post(subscription.callback, content.body, headers)
                status: int | None = result.status
                error = f"answered {result.status}"
            except FetchError as e:
                status, error = None, e.message
            if status is not None and 200 <= status < 300:
                self._counts["delivered"] += 1
                return
            if status == 410:
                # §7: "If the subscriber returns 410 Gone, the hub MAY terminate the subscription."
                await self._end(key, "callback answered 410 Gone")
                return
            attempt += 1
            if attempt > self._config.websub.retries:
                self._counts["failed"] += 1
                self._fail(subscription.topic, subscription.callback, f"delivery failed: {error}")
                return
            self._counts["retried"] += 1
            await self._sleep(retry_delay(attempt, self._backoff, self._max_backoff))

    async def _end(self, key: Key, why: str) -> None:
        self._drop(key)
        self._fail(key[0], key[1], f"subscription ended: {why}")
        await self._persist(self._store_delete, key)

    async def _expire(self) -> None:
        """End every subscription whose lease has run out."""
        now = self._now()
        for topic, subscriptions in list(self._active.items()):
            for callback, subscription in list(subscriptions.items()):
                if subscription.expired(now):
                    await self._end((topic, callback), "lease expired")

    # --- /status --------------------------------------------------------------------------

    def status(self) -> HubStatus:
        """Per topic: active and pending subscriptions and recent failures; and counts."""
        now = self._now()
        pending_topics = [topic for topic, _ in self._pending]
        topics = sorted(set(self._active) | set(pending_topics) | set(self._failures))

        def active(topic: str) -> int:
            return sum(not s.expired(now) for s in self._active.get(topic, {}).values())

        return HubStatus(
            url=self.url,
            active=sum(active(topic) for topic in self._active),
            pending=len(self._pending),
            **self._counts,
            topics=tuple(
                TopicStatus(
                    topic,
                    active(topic),
                    pending_topics.count(topic),
                    tuple(self._failures.get(topic, ())),
                )
                for topic in topics
            ),
        )

    # --- helpers --------------------------------------------------------------------------

    def _path(self, topic: str) -> str:
        return "/" + topic[len(self._public_url) :]

    def _next_generation(self, key: Key) -> int:
        generation = self._generation.get(key, 0) + 1
        self._generation[key] = generation
        return generation

    def _drop(self, key: Key) -> None:
        topic, callback = key
        subscriptions = self._active.get(topic, {})
        subscriptions.pop(callback, None)
        if not subscriptions:
            self._active.pop(topic, None)

    def _fail(self, topic: str, callback: str, message: str) -> None:
        log.warning("websub: %s, %s: %s", topic, callback, message)
        failures = self._failures.setdefault(topic, deque(maxlen=RECENT_FAILURES))
        failures.append(WebsubFailure(self._now(), callback, message))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim(self, subscription: Subscription, content: _Content) -> bool:
        """Whether this replica delivers ``content``: the first to claim its ETag does. A
        store that fails to answer is logged and the change delivered (better twice than
        never)."""
        store = self._store
        if store is None:
            return True
        try:
            return await self._in_io(
                store.claim, subscription.topic, subscription.callback, content.etag
            )
        except StoreError as e:
            log.error("websub: %s", e)
            return True

    def _store_save(self, subscription: Subscription) -> None:
        if self._store is not None:
            self._store.save(subscription)

    def _store_delete(self, key: Key) -> None:
        if self._store is not None:
            self._store.delete(*key)

    async def _persist(self, write: Callable[[Any], None], item: Any) -> None:
        """A change written through; a store that fails is logged, the hub goes on from
        memory (the subscription holds until a restart)."""
        try:
            await self._in_io(write, item)
        except StoreError as e:
            log.error("websub: %s", e)

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    async def _in_io(self, func: Callable[..., _T], *args: Any) -> _T:
        if self._io is None:
            raise StoreError(self._config.websub.store, "the WebSub hub is stopped")
        return await asyncio.get_running_loop().run_in_executor(self._io, func, *args)
