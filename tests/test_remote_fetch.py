"""The fetcher against real local aiohttp servers: never the internet."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from ipaddress import ip_network

import brotli
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from server_support import SEEN, Handler

from feedsvc.errors import (
    AddressRefused,
    BodyTooLarge,
    ConnectionFailed,
    ContentDecodingFailed,
    FetchError,
    FetchTimeout,
    TooManyRedirects,
    UnsupportedScheme,
)
from feedsvc.remote.fetch import ACCEPT, Fetcher, FetchPolicy, user_agent
from feedsvc.remote.response import Validators, parse_retry_after

FEED = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>'
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
OPEN = FetchPolicy(allow_private_addresses=True, total_timeout=5.0)


def url(server: TestServer, path: str = "/feed") -> str:
    return str(server.make_url(path))


async def feed(request: web.Request) -> web.Response:
    return web.Response(
        body=FEED,
        content_type="application/atom+xml",
        headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )


# --- 200, 304, headers --------------------------------------------------------------------


async def test_200_returns_body_validators_and_headers(serve) -> None:
    server = await serve({"/feed": feed})
    policy = FetchPolicy(
        allow_private_addresses=True, user_agent=user_agent("https://org.example/")
    )
    async with Fetcher(policy) as fetcher:
        result = await fetcher.fetch(url(server))
    assert result.status == 200
    assert result.body == FEED
    assert result.url == url(server)
    assert result.permanent_url is None
    assert result.validators == Validators(ETAG, LAST_MODIFIED)
    assert result.headers["content-type"] == "application/atom+xml"
    assert result.headers["etag"] == ETAG
    assert result.retry_after is None
    assert result.elapsed >= 0
    [request] = server.app[SEEN]
    assert request.headers["User-Agent"] == "feedsvc/0.1.0 (+https://org.example/)"
    assert request.headers["Accept"] == ACCEPT
    assert request.headers["Accept-Encoding"] == "gzip, deflate, br"
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in request.headers


def test_user_agent_names_feedsvc_and_the_site() -> None:
    assert user_agent("https://site.example/") == "feedsvc/0.1.0 (+https://site.example/)"
    assert FetchPolicy().user_agent.startswith("feedsvc/")


async def test_304_when_validators_match(serve) -> None:
    async def conditional(request: web.Request) -> web.StreamResponse:
        # RFC 9110 §13.2.2: If-None-Match is evaluated first.
        if request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        return await feed(request)

    server = await serve({"/feed": conditional})
    sent = Validators(ETAG, LAST_MODIFIED)
    async with Fetcher(OPEN) as fetcher:
        result = await fetcher.fetch(url(server), sent)
    assert result.status == 304
    assert result.body == b""
    assert result.validators == sent
    [request] = server.app[SEEN]
    assert request.headers["If-None-Match"] == ETAG
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED


# --- redirects ----------------------------------------------------------------------------


def redirect_chain(statuses: list[int]) -> dict[str, Handler]:
    """/hop/0 → /hop/1 → … → /feed, hop i answering with statuses[i]."""

    async def hop(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        # Alternate relative and absolute Location values (RFC 9110 §10.2.2 allows both).
        target = "/feed" if i + 1 == len(statuses) else f"/hop/{i + 1}"
        location = target if i % 2 else str(request.url.with_path(target))
        return web.Response(status=statuses[i], headers={"Location": location})

    return {"/hop/{i}": hop, "/feed": feed}


@pytest.mark.parametrize(
    ("statuses", "permanent"),
    [
        ([301], True),
        ([308], True),
        ([301, 308, 301], True),
        ([302], False),
        ([303], False),
        ([307], False),
        ([301, 302], False),
        ([302, 301], False),
    ],
)
async def test_permanent_url_only_when_every_hop_is_permanent(
    serve, statuses: list[int], permanent: bool
) -> None:
    server = await serve(redirect_chain(statuses))
    async with Fetcher(OPEN) as fetcher:
        result = await fetcher.fetch(url(server, "/hop/0"))
    assert result.status == 200
    assert result.body == FEED
    assert result.url == url(server, "/feed")
    assert result.permanent_url == (url(server, "/feed") if permanent else None)


async def test_redirect_loop_is_cut_at_max_redirects(serve) -> None:
    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    server = await serve({"/loop": loop})
    async with Fetcher(FetchPolicy(allow_private_addresses=True, max_redirects=3)) as fetcher:
        with pytest.raises(TooManyRedirects, match="more than 3 redirects") as info:
            await fetcher.fetch(url(server, "/loop"))
    assert info.value.url == url(server, "/loop")
    assert len(server.app[SEEN]) == 4  # the request and three redirects followed


async def test_max_redirects_hops_are_followed(serve) -> None:
    server = await serve(redirect_chain([301] * 5))
    async with Fetcher(OPEN) as fetcher:
        result = await fetcher.fetch(url(server, "/hop/0"))
    assert result.status == 200


@pytest.mark.parametrize("location", ["ftp://files.example/feed.xml", "file:///etc/passwd"])
async def test_redirect_to_another_scheme_is_refused(serve, location: str) -> None:
    async def away(request: web.Request) -> web.Response:
        return web.Response(status=301, headers={"Location": location})

    server = await serve({"/feed": away})
    async with Fetcher(OPEN) as fetcher:
        with pytest.raises(UnsupportedScheme, match="only http and https") as info:
            await fetcher.fetch(url(server))
    assert info.value.hop == location


@pytest.mark.parametrize("bad", ["ftp://files.example/feed.xml", "javascript:alert(1)", "/feed"])
async def test_a_non_http_url_is_refused_before_any_request(bad: str) -> None:
    async with Fetcher(OPEN) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.fetch(bad)


# --- error statuses and Retry-After -------------------------------------------------------

NOW = datetime(2015, 10, 21, 7, 26, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (410, None, None),
        (429, "120", 120.0),
        (503, "Wed, 21 Oct 2015 07:28:00 GMT", 120.0),
        (503, "Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
        (500, None, None),
        (429, "soon", None),
    ],
)
async def test_error_statuses_are_results_with_retry_after(
    serve, status: int, retry_after: str | None, expected: float | None
) -> None:
    async def failing(request: web.Request) -> web.Response:
        headers = {"Retry-After": retry_after} if retry_after else {}
        return web.Response(status=status, text="go away", headers=headers)

    server = await serve({"/feed": failing})
    async with Fetcher(OPEN, clock=lambda: NOW) as fetcher:
        result = await fetcher.fetch(url(server), Validators(ETAG, None))
    assert result.status == status
    assert result.retry_after == expected
    assert result.body == b""
    assert result.validators == Validators(ETAG, None)  # nothing new learned


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        (" 3600 ", 3600.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 120.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:28:00 GMT", 120.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:28:00 2015", 120.0),  # obsolete asctime form
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


# --- timeouts and network failures --------------------------------------------------------


async def test_a_trickling_server_is_cut_off_by_the_total_timeout(serve) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for _ in range(100):  # "forever", bounded so a broken test still ends
            await response.write(b"<")
            await asyncio.sleep(0.2)
        return response

    server = await serve({"/feed": trickle})
    policy = FetchPolicy(allow_private_addresses=True, total_timeout=1.0)
    async with Fetcher(policy) as fetcher:
        # Without the total timeout the body ends after 20 s and is returned: no error.
        with pytest.raises(FetchTimeout, match="within 1 s"):
            await fetcher.fetch(url(server))


@pytest.fixture
def never_accepting() -> Iterator[tuple[str, int]]:
    """A listening socket whose accept queue is full, so new connections hang in SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.settimeout(0.2)
        fillers.append(filler)
        try:
            filler.connect(address)
        except TimeoutError:
            break
    else:
        pytest.skip("the kernel kept accepting connections")
    yield address
    for sock in [*fillers, listener]:
        sock.close()


async def test_a_host_that_never_accepts_hits_the_connect_timeout(never_accepting) -> None:
    host, port = never_accepting
    policy = FetchPolicy(allow_private_addresses=True, connect_timeout=0.3)
    async with Fetcher(policy) as fetcher:
        # Without the connect timeout, the total timeout (30 s) would end it, saying so.
        with pytest.raises(FetchTimeout, match="could not connect"):
            await fetcher.fetch(f"http://{host}:{port}/feed")


async def test_a_refused_connection_raises_connection_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Fetcher(OPEN) as fetcher:
        with pytest.raises(ConnectionFailed) as info:
            await fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert info.value.__cause__ is not None


async def test_fetch_outside_the_context_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        await Fetcher(OPEN).fetch("http://127.0.0.1/")


# --- body cap and decompression -----------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_oversized_plain_body_is_refused(serve, chunked: bool) -> None:
    big = b"x" * 300_000

    async def oversized(request: web.Request) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=big)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(0, len(big), 10_000):
            await response.write(big[i : i + 10_000])
        return response

    server = await serve({"/feed": oversized})
    policy = FetchPolicy(allow_private_addresses=True, max_body_bytes=100_000)
    async with Fetcher(policy) as fetcher:
        with pytest.raises(BodyTooLarge, match="100000 bytes"):
            await fetcher.fetch(url(server))
    exactly = FetchPolicy(allow_private_addresses=True, max_body_bytes=len(big))
    async with Fetcher(exactly) as fetcher:  # a body exactly at the cap is fine
        assert (await fetcher.fetch(url(server))).body == big


def gzip_of_zeros(mib: int) -> bytes:
    """A valid one-member gzip of ``mib`` MiB of zeros, built in milliseconds.

    After a full flush deflate starts afresh, so each 1 MiB block compresses to the same
    bytes (RFC 1951 §3.2.3 blocks), and the block can be repeated instead of recompressed.
    """
    block = bytes(1 << 20)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    compressed_block = deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # RFC 1952 §2.3
    final_block = b"\x03\x00"  # an empty final static block
    trailer = struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)
    return header + compressed_block * mib + final_block + trailer


def test_gzip_of_zeros_is_valid_gzip() -> None:
    assert gzip.decompress(gzip_of_zeros(3)) == bytes(3 << 20)


async def test_a_gzip_bomb_stops_at_the_cap_with_bounded_memory(serve) -> None:
    bomb = gzip_of_zeros(1024)  # 1 GiB of zeros in about 1 MB

    async def bombing(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    server = await serve({"/feed": bombing})
    cap = 1 << 20
    policy = FetchPolicy(allow_private_addresses=True, max_body_bytes=cap)
    async with Fetcher(policy) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(BodyTooLarge):
                await fetcher.fetch(url(server))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * cap  # inflating it all would take 1 GiB


async def test_a_brotli_bomb_stops_at_the_cap(serve) -> None:
    compressor = brotli.Compressor(quality=5)
    block = bytes(1 << 20)
    bomb = b"".join(compressor.process(block) for _ in range(256)) + compressor.finish()

    async def bombing(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "br"})

    server = await serve({"/feed": bombing})
    policy = FetchPolicy(allow_private_addresses=True, max_body_bytes=1 << 20)
    async with Fetcher(policy) as fetcher:
        with pytest.raises(BodyTooLarge):
            await fetcher.fetch(url(server))


def raw_deflate(data: bytes) -> bytes:
    deflater = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflater.compress(data) + deflater.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("br", brotli.compress),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # RFC 9110 §8.4.1.2: zlib-wrapped
        ("deflate", raw_deflate),  # what some servers send instead
        ("gzip", lambda data: gzip.compress(data[:10]) + gzip.compress(data[10:])),  # 2 members
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),  # applied in order
        ("identity", lambda data: data),
    ],
)
async def test_encoded_bodies_are_decoded(
    serve, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = FEED * 50

    async def encoded(request: web.Request) -> web.Response:
        return web.Response(
            body=encode(body),
            headers={"Content-Encoding": coding, "Content-Type": "application/atom+xml"},
        )

    server = await serve({"/feed": encoded})
    async with Fetcher(OPEN) as fetcher:
        result = await fetcher.fetch(url(server))
    assert result.body == body
    assert "content-encoding" not in result.headers  # the body is no longer encoded
    assert "content-length" not in result.headers


@pytest.mark.parametrize(
    ("coding", "payload", "message"),
    [
        ("gzip", b"not gzip at all", "cannot decode"),
        ("gzip", gzip.compress(FEED * 50)[:-20], "truncated"),
        ("br", b"\xff\xff\xff garbage", "cannot decode"),
        ("compress", FEED, "unsupported Content-Encoding 'compress'"),
    ],
)
async def test_undecodable_bodies_raise(serve, coding: str, payload: bytes, message: str) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(body=payload, headers={"Content-Encoding": coding})

    server = await serve({"/feed": broken})
    async with Fetcher(OPEN) as fetcher:
        with pytest.raises(ContentDecodingFailed, match=message):
            await fetcher.fetch(url(server))


# --- address policy -----------------------------------------------------------------------


class TableResolver(AbstractResolver):
    """DNS from a table, so tests can point names anywhere without the internet."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"no such name {host}")
        return [
            ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
            for a in self.table[host]
        ]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/feed",
        "http://[::ffff:127.0.0.1]:{port}/feed",
        "http://[::1]:{port}/feed",
        "http://localhost:{port}/feed",
        "http://2130706433:{port}/feed",
        "http://0x7f.1:{port}/feed",
        "http://127.0.0.1.:{port}/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/feed",
        "http://100.64.0.1/feed",
        "http://0.0.0.0:{port}/feed",
        "http://[fe80::1%25lo]:{port}/feed",
    ],
)
async def test_non_public_addresses_are_refused_without_connecting(serve, target: str) -> None:
    server = await serve({"/feed": feed})
    target = target.format(port=server.port)
    async with Fetcher(FetchPolicy()) as fetcher:
        with pytest.raises(AddressRefused, match="refusing to connect") as info:
            await fetcher.fetch(target)
    assert info.value.url == target
    assert server.app[SEEN] == []


async def bind_second_server(serve, routes: dict[str, Handler]) -> TestServer:
    try:
        return await serve(routes, host="127.0.0.2")
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")


@pytest.mark.parametrize("refused", ["127.0.0.2", "169.254.169.254"])
async def test_a_redirect_to_a_refused_address_is_refused_at_the_hop(serve, refused: str) -> None:
    inside = await bind_second_server(serve, {"/secret": feed})
    location = f"http://{refused}:{inside.port}/secret"

    async def to_inside(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": location})

    outside = await serve({"/feed": to_inside})
    policy = FetchPolicy(allowed_networks=(ip_network("127.0.0.1/32"),))
    async with Fetcher(policy) as fetcher:
        with pytest.raises(AddressRefused) as info:
            await fetcher.fetch(url(outside))
    assert info.value.address == refused
    assert info.value.hop == location
    assert len(outside.app[SEEN]) == 1
    assert inside.app[SEEN] == []


async def test_names_are_checked_on_the_addresses_connected_to(serve) -> None:
    # DNS rebinding: the partner's name is fine, the name it redirects to resolves inside.
    inside = await bind_second_server(serve, {"/secret": feed})

    async def to_inside(request: web.Request) -> web.Response:
        return web.Response(
            status=301, headers={"Location": f"http://rebound.test:{inside.port}/secret"}
        )

    outside = await serve({"/feed": feed, "/moved": to_inside})
    resolver = TableResolver(
        {
            "partner.test": ["127.0.0.1"],
            "rebound.test": ["127.0.0.2"],
            "mixed.test": ["127.0.0.1", "127.0.0.2"],
        }
    )
    policy = FetchPolicy(allowed_networks=(ip_network("127.0.0.1/32"),))
    async with Fetcher(policy, resolver=resolver) as fetcher:
        ok = await fetcher.fetch(f"http://partner.test:{outside.port}/feed")
        assert ok.body == FEED  # the resolver really is the one connections use
        with pytest.raises(AddressRefused, match=r"127\.0\.0\.2") as info:
            await fetcher.fetch(f"http://partner.test:{outside.port}/moved")
        assert info.value.hop == f"http://rebound.test:{inside.port}/secret"
        with pytest.raises(AddressRefused):
            await fetcher.fetch(f"http://mixed.test:{outside.port}/feed")
    assert inside.app[SEEN] == []
    assert len(outside.app[SEEN]) == 2


async def test_an_unresolvable_name_raises_connection_failed() -> None:
    async with Fetcher(FetchPolicy(), resolver=TableResolver({})) as fetcher:
        with pytest.raises(ConnectionFailed, match=r"cannot resolve nowhere\.test"):
            await fetcher.fetch("http://nowhere.test/feed")


# --- politeness ---------------------------------------------------------------------------


async def test_per_host_limit_caps_concurrent_requests(serve) -> None:
    active = peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.15)
        active -= 1
        return await feed(request)

    server = await serve({"/feed": slow})
    policy = FetchPolicy(allow_private_addresses=True, per_host_limit=2)
    async with Fetcher(policy) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(url(server)) for _ in range(6)))
    assert [r.status for r in results] == [200] * 6
    assert peak == 2


def test_policy_defaults_and_validation() -> None:
    policy = FetchPolicy()
    assert (policy.connect_timeout, policy.total_timeout) == (10.0, 30.0)
    assert policy.max_body_bytes == 10 * 1024 * 1024
    assert (policy.max_redirects, policy.per_host_limit) == (5, 2)
    assert policy.allow_private_addresses is False
    with pytest.raises(ValueError):
        FetchPolicy(total_timeout=0)
    with pytest.raises(ValueError):
        FetchPolicy(per_host_limit=0)
