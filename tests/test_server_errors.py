"""What aiohttp answers before any route of ours runs, in our error shape (web/server.py):
requests its parser refuses, and CONNECT. Over real sockets, with raw bytes, since no HTTP
client sends such requests; the server is the one ``feedsvc serve`` runs (``Runner``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from factories import make_build_status

from feedsvc.store import Snapshot, SnapshotRef
from feedsvc.web import create_app
from feedsvc.web.server import Runner

# Our shape (web/errors.py): one line, "{status} {reason}: {message}".
SHAPE = re.compile(rb"(\d{3}) [A-Z][A-Za-z ]+: [^\n]+\n")
CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[int]:
    """``app`` served by ``Runner`` on 127.0.0.1: the port."""
    runner = Runner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@pytest.fixture
async def port() -> AsyncIterator[int]:
    """A port where ``Runner`` serves feedsvc's app, with no feeds."""
    async with serving(create_app(SnapshotRef(Snapshot({}, make_build_status())))) as port:
        yield port


async def exchange(port: int, request: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """Send ``request`` raw; the status line, headers and body of the answer, read to the
    end: every answer here closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines)}
    return status_line, headers, body


def assert_our_shape(status: int, headers: dict[bytes, bytes], body: bytes) -> str:
    match = SHAPE.fullmatch(body)
    assert match, body
    assert int(match.group(1)) == status
    assert not CONTROL.search(body.rstrip(b"\n")), body
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert int(headers[b"content-length"]) == len(body)
    return body.decode()


@pytest.mark.parametrize(
    ("request_", "said"),
    [
        (b"garbage\r\n\r\n", "Invalid method"),
        (b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", "Invalid method"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad\x01Name: 1\r\n\r\n", "Invalid header token"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", "Invalid header value char"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", "8190 bytes"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "8190 bytes"),
    ],
    ids=["request-line", "method", "header-name", "header-control-char", "header-size", "url-size"],
)
async def test_a_request_aiohttp_cannot_parse_gets_our_400(port, request_, said):
    status_line, headers, body = await exchange(port, request_)
    assert status_line.startswith(b"HTTP/1.0 400 Bad Request")
    text = assert_our_shape(400, headers, body)
    assert text.startswith("400 Bad Request: the request could not be read: ")
    assert said in text
    assert len(body) < 400  # aiohttp's account of the bad bytes is cut, not mirrored


async def test_control_characters_of_an_unparsable_path_are_escaped(port):
    _, headers, body = await exchange(port, b"GET /a\x01b\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n")
    text = assert_our_shape(400, headers, body)
    assert "Invalid char in url path" in text
    assert "/a\\x01b" in text  # escaped, as text


async def test_connect_is_refused_with_405_in_our_shape(port):
    request = b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"
    status_line, headers, body = await exchange(port, request)
    # RFC 9110 §9.3.6: CONNECT is for proxies; §15.5.6: a 405 lists what is allowed.
    assert status_line == b"HTTP/1.1 405 Method Not Allowed"
    assert headers[b"allow"] == b"GET, HEAD, OPTIONS"
    assert headers[b"connection"] == b"close"  # and exchange read it to the end
    text = assert_our_shape(405, headers, body)
    assert text == (
        "405 Method Not Allowed: CONNECT example.org:443 is not allowed: "
        "this server is not a proxy; use GET or HEAD\n"
    )


async def test_connect_with_control_characters_in_its_target_is_escaped(port):
    _, headers, body = await exchange(port, b"CONNECT a\x7fb:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    # aiohttp's parser refuses the byte in the authority: our 400, the byte written \x7f.
    text = assert_our_shape(400, headers, body)
    assert "CONNECT a\\x7fb:443" in text


async def test_a_good_request_on_the_same_server_is_served_and_kept_alive(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(2):  # one connection, two requests: nothing closed it
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert await reader.readexactly(2) == b"ok"
    finally:
        writer.close()


async def test_an_unparsable_request_logs_one_line(port, caplog):
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(records) == 1
    assert records[0].exc_info is None and records[0].levelno == logging.WARNING
    line = records[0].getMessage()
    assert "\n" not in line and line.startswith("bad request from 127.0.0.1: 400 Got more than")


async def test_an_exception_no_handler_caught_gets_our_500(caplog):
    # Every feedsvc handler is guarded (errors.guard); should one escape, aiohttp's own 500
    # would answer, and the Runner gives it our shape too.
    async def broken(request: web.Request) -> web.StreamResponse:
        raise RuntimeError("boom")

    app = web.Application()
    app.router.add_get("/broken", broken)
    with caplog.at_level(logging.ERROR, logger="aiohttp.server"):
        async with serving(app) as port:
            status_line, headers, body = await exchange(
                port, b"GET /broken HTTP/1.1\r\nHost: x\r\n\r\n"
            )
    assert status_line == b"HTTP/1.1 500 Internal Server Error"
    text = assert_our_shape(500, headers, body)
    assert text == "500 Internal Server Error: the server failed to answer; the error is logged\n"
    assert "boom" not in text
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
