"""The one fetcher: every partner request goes through here, under one network policy.

Like Miniflux's ``fetcher`` package, this owns timeouts, the body cap, redirects,
conditional requests and the address policy, and hands back a plain ``FetchResult``;
deciding what a 410 or a 429 means for a partner is the caller's job.

Failures below HTTP (DNS, refused connections, timeouts, caps) raise a ``FetchError``
subclass; any HTTP status is a result (``response.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from feedsvc import __version__
from feedsvc.clock import Clock, system_clock
from feedsvc.errors import (
    AddressRefused,
    BodyTooLarge,
    ConnectionFailed,
    ContentDecodingFailed,
    FetchTimeout,
    TooManyRedirects,
)
from feedsvc.remote.addresses import AddressPolicy, IPNetwork, PolicyResolver
from feedsvc.remote.decoding import DECODING_ERRORS, decode, decoders_for
from feedsvc.remote.redirects import hop_headers, origin_of, parse_target, same_origin
from feedsvc.remote.response import FetchResult, Validators, parse_retry_after

__all__ = [
    "ACCEPT",
    "DEFAULT_USER_AGENT",
    "FetchPolicy",
    "Fetcher",
    "user_agent",
]

# Feed formats first; generic XML/JSON lower, so servers doing content negotiation
# pick a feed, yet an odd server still answers (RFC 9110 §12.5.1).
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate, br"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# RFC 9110 §15.4.2 and §15.4.9: only these tell the client to update its stored link.
_PERMANENT = frozenset({301, 308})
_CHUNK = 64 * 1024
# The body is decoded, so these no longer describe FetchResult.body.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def user_agent(site_url: str = "") -> str:
    """``feedsvc/0.1.0 (+https://site.example/)``: names us and whom to ask about us."""
    return f"feedsvc/{__version__} (+{site_url})" if site_url else f"feedsvc/{__version__}"


DEFAULT_USER_AGENT = user_agent()


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Hard limits for one fetch. Defaults follow Miniflux and reader's choices."""

    connect_timeout: float = 10.0  # seconds to open the TCP connection (per address tried)
    total_timeout: float = 30.0  # seconds for the whole fetch: every hop and the whole body
    max_body_bytes: int = 10 * 1024 * 1024  # counted after decompression
    max_redirects: int = 5
    allow_private_addresses: bool = False
    # Non-public networks allowed anyway (10.1.2.0/24, 127.0.0.1/32) when the rest stay refused.
    allowed_networks: tuple[IPNetwork, ...] = ()
    user_agent: str = DEFAULT_USER_AGENT  # callers pass user_agent(site.url)
    per_host_limit: int = 2  # concurrent requests to one host name

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.total_timeout) <= 0:
            raise ValueError("fetch timeouts must be positive")
        if self.max_body_bytes < 1 or self.per_host_limit < 1 or self.max_redirects < 0:
            raise ValueError("max_body_bytes and per_host_limit must be >= 1, max_redirects >= 0")


class Fetcher:
    """Fetches URLs under a ``FetchPolicy``; use as ``async with Fetcher(policy) as f``.

    Owns one ``aiohttp.ClientSession`` with its own connector, whose resolver enforces the
    address policy on every connection. ``resolver`` replaces the system resolver under
    that policy (tests use it to make names point where they want).
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        clock: Clock = system_clock,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._clock = clock
        self._resolver = resolver
        self._addresses = AddressPolicy(
            self.policy.allow_private_addresses, self.policy.allowed_networks
        )
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        resolver = PolicyResolver(self._addresses, self._resolver or aiohttp.DefaultResolver())
        connector = aiohttp.TCPConnector(
            resolver=resolver, limit_per_host=self.policy.per_host_limit
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Decoded here, under the body cap: aiohttp would inflate a bomb unbounded.
            auto_decompress=False,
            # Proxies from the environment would bypass the address policy.
            trust_env=False,
            # Partners must not be able to set state that follows us to other partners.
            cookie_jar=aiohttp.DummyCookieJar(),
            # sock_connect, not connect: waiting for a pooled slot is not a connect failure.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.policy.connect_timeout),
            headers={
                "User-Agent": self.policy.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()  # closes the connector, which closes the resolver
            self._session = None

    async def fetch(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        error_body: bool = False,
    ) -> FetchResult:
        """GET ``url`` (conditionally, with ``validators``), following redirects.

        ``headers`` are added to the request (an API's ``Authorization``, ``Accept``); the
        conditional headers of ``validators`` win over them, and credential headers are
        dropped on a redirect to another origin. With ``error_body``, the body of a 4xx/5xx
        answer is read too (under the same cap), for APIs that explain errors in it.
        """
        target = self._target(url)
        return await self._limited(
            url,
            target,
            partial(
                self._follow, url, target, validators or Validators(), headers or {}, error_body
            ),
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> FetchResult:
        """POST ``body`` to ``url`` under the same policy: address checks, timeouts, the
        per-host limit. A redirect is returned, not followed: a body is never re-sent to
        another place unasked (RFC 9110 §15.4). The answer's body is read only for a 2xx."""
        target = self._target(url)
        return await self._limited(url, target, partial(self._send, url, target, body, headers))

    def _target(self, url: str) -> URL:
        if self._session is None:
            raise RuntimeError("use Fetcher inside 'async with'")
        return parse_target(url, url)

    async def _limited(
        self, url: str, target: URL, request: Callable[[], Awaitable[FetchResult]]
    ) -> FetchResult:
        """``request()`` within the host's slot and the total timeout."""
        loop = asyncio.get_running_loop()
        # Queueing behind other fetches to the same host is politeness, not slowness:
        # the total timeout (and ``elapsed``) start once it is our turn.
        async with self._host_slot(target.host or ""):
            started = loop.time()
            try:
                async with asyncio.timeout(self.policy.total_timeout) as deadline:
                    result = await request()
            except TimeoutError as e:
                if deadline.expired():
                    raise FetchTimeout(
                        url, f"no complete response within {self.policy.total_timeout:g} s"
                    ) from e
                raise
        return replace(result, elapsed=loop.time() - started)

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self.policy.per_host_limit)
        return slot

    async def _follow(
        self,
        url: str,
        target: URL,
        validators: Validators,
        extra: Mapping[str, str],
        error_body: bool,
    ) -> FetchResult:
        session = self._session
        assert session is not None
        hops: list[int] = []
        origin = origin_of(target)
        for _ in range(self.policy.max_redirects + 1):
            self._check_literal(url, target, hops)
            headers = hop_headers(extra, same_origin(origin, target))
            headers.update(validators.request_headers())
            with self._client_errors(url, target, hops):
                async with session.get(target, headers=headers, allow_redirects=False) as resp:
                    location = resp.headers.get("Location")
                    if resp.status in _REDIRECTS and location is not None:
                        hops.append(resp.status)
                        # RFC 9110 §10.2.2: Location may be relative to the request's URL.
                        target = parse_target(url, location, base=target)
                        continue
                    return await self._result(url, target, hops, validators, resp, error_body)
        raise TooManyRedirects(url, self.policy.max_redirects)

    async def _send(
        self, url: str, target: URL, body: bytes, headers: Mapping[str, str]
    ) -> FetchResult:
        session = self._session
        assert session is not None
        self._check_literal(url, target, ())
        with self._client_errors(url, target, ()):
            async with session.post(
                target, data=body, headers=headers, allow_redirects=False
            ) as resp:
                result = await self._result(url, target, (), Validators(), resp)
        return result

    @contextlib.contextmanager
    def _client_errors(self, url: str, target: URL, hops: Sequence[int]) -> Iterator[None]:
        """aiohttp's failures below HTTP as this package's FetchErrors."""
        try:
            yield
        except AddressRefused as e:
            raise AddressRefused(url, e.address, e.reason, _hop(target, hops)) from e
        except aiohttp.ConnectionTimeoutError as e:
            raise FetchTimeout(
                url,
                f"could not connect to {target.host} within {self.policy.connect_timeout:g} s",
            ) from e
        except aiohttp.ClientConnectorDNSError as e:
            raise ConnectionFailed(url, f"cannot resolve {target.host}: {e.os_error}") from e
        except aiohttp.ClientError as e:
            raise ConnectionFailed(url, f"{target}: {str(e) or type(e).__name__}") from e

    def _check_literal(self, url: str, target: URL, hops: Sequence[int]) -> None:
        # aiohttp never hands an IP literal to the resolver, so literals are checked here.
        refused = self._addresses.check_host(target.raw_host or "")
        if refused is not None:
            raise AddressRefused(url, str(refused[0]), refused[1], _hop(target, hops))

    async def _result(
        self,
        url: str,
        final: URL,
        hops: Sequence[int],
        sent: Validators,
        resp: aiohttp.ClientResponse,
        error_body: bool = False,
    ) -> FetchResult:
        headers = {
            name.lower(): ", ".join(resp.headers.getall(name))  # RFC 9110 §5.3
            for name in resp.headers
            if name.lower() not in _TRANSFER_HEADERS
        }
        body = b""
        validators = sent
        if resp.status == 304:
            # RFC 9110 §15.4.5: a 304 carries the validators a 200 would have; keep ours if not.
            validators = Validators(
                headers.get("etag", sent.etag), headers.get("last-modified", sent.last_modified)
            )
        elif 200 <= resp.status < 300:
            body = await self._read_body(url, resp)
            validators = Validators(headers.get("etag"), headers.get("last-modified"))
        elif error_body and resp.status >= 400:
            body = await self._read_body(url, resp)
        permanent = bool(hops) and all(status in _PERMANENT for status in hops)
        return FetchResult(
            status=resp.status,
            url=str(final),
            permanent_url=str(final) if permanent and str(final) != url else None,
            body=body,
            headers=headers,
            validators=validators,
            retry_after=parse_retry_after(headers.get("retry-after"), self._clock()),
            elapsed=0.0,
        )

    async def _read_body(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        """Read and decode the body, stopping as soon as it passes the cap."""
        cap = self.policy.max_body_bytes
        try:
            decoders = decoders_for(resp.headers.getall("Content-Encoding", []))
        except ValueError as e:
            raise ContentDecodingFailed(url, str(e)) from e
        if resp.content_length is not None and resp.content_length > cap:
            raise BodyTooLarge(url, cap)  # fail before reading a byte; raw bytes are capped too
        parts: list[bytes] = []
        raw = size = 0
        try:
            async for chunk in resp.content.iter_chunked(_CHUNK):
                # Compressed data is counted too: a stream that inflates to nothing
                # must not be read forever.
                raw += len(chunk)
                if raw > cap:
                    raise BodyTooLarge(url, cap)
                for piece in decode(decoders, chunk):
                    size += len(piece)
                    if size > cap:
                        raise BodyTooLarge(url, cap)
                    parts.append(piece)
            for decoder in decoders:
                decoder.finish()
        except DECODING_ERRORS as e:
            raise ContentDecodingFailed(url, f"cannot decode the body: {e}") from e
        return b"".join(parts)


def _hop(target: URL, hops: Sequence[int]) -> str | None:
    return str(target) if hops else None
