"""The web layer through a real aiohttp app: negotiation, headers, errors, status, swaps."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import logging
from datetime import UTC, datetime

import brotli
import pytest
from factories import make_build_status
from yarl import URL

from feedsvc.config import Duration
from feedsvc.model import Problem
from feedsvc.service import runner_options
from feedsvc.status import BuildStatus, SourceStatus
from feedsvc.store import (
    BROTLI_QUALITY,
    Caching,
    Snapshot,
    SnapshotRef,
    encode,
    make_resource,
    resource_from,
    strong_etag,
)
from feedsvc.web import SNAPSHOT_REF, create_app
from feedsvc.web.app import EveryPath
from feedsvc.web.negotiation import choose_coding, parse_accept_encoding, prefers_html, weights

UPDATED = datetime(2022, 9, 1, 12, 30, 15, tzinfo=UTC)
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
ATOM = b'<?xml version="1.0" encoding="utf-8"?><feed>' + b"<entry>caf\xc3\xa9</entry>" * 300
JSON_FEED = b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'
INDEX = b"<!DOCTYPE html><title>Feeds</title>"
FIREFOX_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def site(status: BuildStatus | None = None) -> Snapshot:
    return Snapshot(
        {
            "/feed.atom": make_resource(ATOM, ATOM_TYPE, UPDATED, Caching(300), cors=True),
            "/category/children-and-youth.json": make_resource(
                JSON_FEED, JSON_FEED_TYPE, UPDATED, Caching(300), cors=True
            ),
            "/": make_resource(INDEX, "text/html; charset=utf-8", UPDATED, Caching(60), cors=False),
            # An archive: its br coding is made by the first request asking for it.
            "/archive/2024/05.atom": resource_from(
                encode(ATOM, br_ahead=False), ATOM_TYPE, UPDATED, Caching(300), cors=True
            ),
        },
        status if status is not None else make_build_status(),
    )


@pytest.fixture
def ref() -> SnapshotRef:
    return SnapshotRef(site())


@pytest.fixture
async def client(aiohttp_client, ref):
    # Bodies are checked as sent: the client must not decompress them.
    return await aiohttp_client(create_app(ref), auto_decompress=False)


# ---- Accept-Encoding, RFC 9110 §12.5.3 ----------------------------------------------


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        ("gzip, deflate, br", "br"),
        ("br", "br"),
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("GZIP", "gzip"),
        ("deflate", "identity"),
        ("identity", "identity"),
        ("", "identity"),  # an empty value asks for no coding
        ("*", "br"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),  # the higher weight wins…
        ("gzip;q=0.8, br;q=0.8", "br"),  # …and ties go to br
        ("br;q=0, gzip", "gzip"),
        ("br;q=0, gzip;q=0", "identity"),
        ("*;q=0, identity", "identity"),
        ("*;q=0.5, br;q=0", "gzip"),
        ("gzip;q=0.001", "gzip"),  # listed at any weight beats an unlisted identity
        ("identity;q=0.5, gzip;q=0.1", "identity"),
        ("gzip;q=2", "identity"),  # an invalid qvalue drops the member
        ("identity;q=0", None),  # nothing acceptable: 406
        ("*;q=0", None),
        ("deflate, identity;q=0", None),
    ],
)
def test_choose_coding(accept_encoding, coding):
    assert choose_coding(accept_encoding) == coding


def test_one_parser_reads_every_weighted_list():
    assert weights("Text/HTML;q=0.9, */*;q=0.8, text/html;level=1, a;q=x, b;q=1.5, ,c;q=0") == {
        "text/html": 1.0,
        "*/*": 0.8,
        "c": 0.0,
    }


def test_parse_accept_encoding():
    assert parse_accept_encoding(" gzip ; q=0.5 ,br;Q=1, ,x-gzip;q=0.7") == {
        "gzip": 0.7,
        "br": 1.0,
    }


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [("br, gzip", "br"), ("gzip", "gzip"), ("identity", None), ("deflate", None)],
)
async def test_each_coding_is_sent_with_its_own_etag(client, ref, accept_encoding, coding):
    resource = ref.current.resources["/feed.atom"]
    response = await client.get("/feed.atom", headers={"Accept-Encoding": accept_encoding})
    assert response.status == 200
    body = await response.read()
    assert response.headers.get("Content-Encoding") == coding
    assert response.headers["Content-Length"] == str(len(body))
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding](body)
    assert decoded == ATOM
    representation = {"br": resource.br, "gzip": resource.gzip, None: resource.identity}[coding]
    assert response.headers["ETag"] == representation.etag


async def test_an_archive_is_br_compressed_by_its_first_request_and_revalidates(client, ref):
    resource = ref.current.resources["/archive/2024/05.atom"]
    assert not resource.br.compressed
    gzipped = await client.get("/archive/2024/05.atom", headers={"Accept-Encoding": "gzip"})
    assert gzipped.status == 200 and not resource.br.compressed  # gzip was made ahead
    first = await client.get("/archive/2024/05.atom", headers={"Accept-Encoding": "br"})
    assert first.status == 200 and first.headers["Content-Encoding"] == "br"
    assert brotli.decompress(await first.read()) == ATOM
    assert first.headers["ETag"] == strong_etag(brotli.compress(ATOM, quality=BROTLI_QUALITY))
    again = await client.get(
        "/archive/2024/05.atom",
        headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]},
    )
    assert again.status == 304 and again.headers["ETag"] == first.headers["ETag"]


async def test_no_accept_encoding_gets_identity(client):
    response = await client.get("/feed.atom", skip_auto_headers=["Accept-Encoding"])
    assert "Content-Encoding" not in response.headers
    assert await response.read() == ATOM


async def test_nothing_acceptable_is_406(client):
    response = await client.get("/feed.atom", headers={"Accept-Encoding": "identity;q=0"})
    assert response.status == 406
    assert response.headers["Vary"] == "Accept-Encoding"
    assert await response.text() == (
        "406 Not Acceptable: no acceptable content coding; this server sends br, gzip or identity\n"
    )


# ---- the headers of a 200 -----------------------------------------------------------


async def test_feed_headers(client, ref):
    response = await client.get("/feed.atom", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Type"] == ATOM_TYPE
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["ETag"] == ref.current.resources["/feed.atom"].gzip.etag
    assert response.headers["Last-Modified"] == "Thu, 01 Sep 2022 12:30:15 GMT"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_json_feed_has_its_type_and_cors(client):
    response = await client.get("/category/children-and-youth.json")
    assert response.headers["Content-Type"] == JSON_FEED_TYPE
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_a_resource_without_cors_has_no_cors_header(client):
    response = await client.get("/", headers={"Accept-Encoding": "identity"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert await response.read() == INDEX


async def test_percent_encoded_path_is_the_same_feed(client):
    response = await client.get("/%66eed.atom", headers={"Accept-Encoding": "identity"})
    assert await response.read() == ATOM


async def test_head_is_get_without_the_body(client):
    for coding in ("br", "gzip", "identity"):
        get = await client.get("/feed.atom", headers={"Accept-Encoding": coding})
        head = await client.head("/feed.atom", headers={"Accept-Encoding": coding})
        assert head.status == 200
        assert await head.read() == b""
        ignored = {"Date"}
        assert {k: v for k, v in head.headers.items() if k not in ignored} == {
            k: v for k, v in get.headers.items() if k not in ignored
        }
        assert head.headers["Content-Length"] == str(len(await get.read()))


# ---- OPTIONS and CORS preflight -----------------------------------------------------


async def test_cors_preflight_on_a_feed(client):
    response = await client.options(
        "/feed.atom",
        headers={
            "Origin": "https://partner.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "*"
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert await response.read() == b""


async def test_options_without_cors_lists_methods_only(client):
    response = await client.options("/")
    assert response.status == 204
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "Access-Control-Allow-Origin" not in response.headers


# ---- errors: one body shape ---------------------------------------------------------


async def test_unknown_path_is_404_with_a_helpful_body(client):
    response = await client.get("/nope.atom?x=1")
    assert response.status == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.text() == (
        "404 Not Found: no feed at /nope.atom — every feed is listed at /\n"
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_known_path_with_a_wrong_method_is_405(client, method):
    response = await client.request(method, "/feed.atom")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == (
        f"405 Method Not Allowed: {method} is not allowed on /feed.atom; use GET or HEAD\n"
    )


@pytest.mark.parametrize("path", ["/healthz", "/status"])
async def test_wrong_method_on_builtin_paths_is_405(client, path):
    response = await client.post(path)
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


async def test_wrong_method_on_an_unknown_path_is_404(client):
    response = await client.post("/nope")
    assert response.status == 404


async def test_a_trailing_slash_is_another_path(client):
    assert (await client.get("/healthz/")).status == 404
    assert (await client.get("/feed.atom/")).status == 404


# Which handler answers which request: the routes of create_app, pinned so that a change of
# how the catch-all is routed (or an aiohttp upgrade) cannot move a path silently. A 404 or
# 405 in our body shape shows our handler answered, not the router's own error.
ROUTING = [
    ("GET", "/", 200, "<!DOCTYPE html>"),
    ("GET", "/feed.atom", 200, "<?xml"),
    ("GET", "/category/children-and-youth.json", 200, '{"version"'),
    ("GET", "/healthz", 200, "ok"),
    ("GET", "/status", 200, "{"),
    ("GET", "/nope", 404, "404 Not Found: no feed at /nope "),
    ("GET", "/x/y/z", 404, "404 Not Found: no feed at /x/y/z "),
    ("GET", "/status/x", 404, "404 Not Found: no feed at /status/x "),
    ("GET", "/healthz%2F", 404, "404 Not Found: no feed at /healthz%2F "),
    ("GET", "/a%0Ab", 404, "404 Not Found: no feed at /a\\x0ab "),
    ("GET", "/caf%C3%A9", 404, "404 Not Found: no feed at /café "),
    ("GET", "/%", 404, "404 Not Found: no feed at /%25 "),
    ("GET", "/" + "a" * 5000, 404, "404 Not Found: no feed at /aaa"),
    ("DELETE", "/", 405, "405 Method Not Allowed: DELETE is not allowed on /;"),
    ("DELETE", "/healthz", 405, "405 Method Not Allowed: DELETE is not allowed on /healthz;"),
    ("PURGE", "/feed.atom", 405, "405 Method Not Allowed: PURGE is not allowed on /feed.atom;"),
    ("DELETE", "/a%0Ab", 404, "404 Not Found: no feed at /a\\x0ab "),
]


@pytest.mark.parametrize(("method", "path", "status", "start"), ROUTING)
async def test_every_path_reaches_its_handler(client, method, path, status, start):
    response = await client.request(method, path, headers={"Accept-Encoding": "identity"})
    assert response.status == status
    assert (await response.text()).startswith(start)


def test_the_catch_all_is_an_ordinary_public_resource(ref):
    app = create_app(ref)
    (every_path,) = [r for r in app.router.resources() if isinstance(r, EveryPath)]
    assert every_path.canonical == "/"
    assert every_path.raw_match("/any/thing")
    assert every_path.get_info() == {"path": "/"}
    assert every_path.url_for(path="/feed.atom") == URL("/feed.atom")
    assert [route.method for route in every_path] == ["*"]
    with pytest.raises(RuntimeError, match="not a prefix"):
        every_path.add_prefix("/sub")


async def test_unexpected_error_is_500_in_the_same_shape_and_logged(aiohttp_client, caplog):
    class BrokenRef:
        @property
        def current(self) -> Snapshot:
            raise RuntimeError("boom")

    client = await aiohttp_client(create_app(BrokenRef()))  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="feedsvc.web"):
        response = await client.get("/feed.atom")
    assert response.status == 500
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == (
        "500 Internal Server Error: the server failed to answer; the error is logged\n"
    )
    assert "GET /feed.atom" in caplog.text
    assert "RuntimeError: boom" in caplog.text


# ---- /healthz and /status -----------------------------------------------------------


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == "ok"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html;q=0.5, */*"])
async def test_status_json(client, accept):
    headers = {} if accept is None else {"Accept": accept}
    response = await client.get("/status", headers=headers, skip_auto_headers=["Accept"])
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Vary"] == "Accept"
    # No validator to revalidate with (RFC 9111 §5.2.2.5).
    assert response.headers["Cache-Control"] == "no-store"
    status = json.loads(await response.read())
    assert status["posts"] == 3
    assert status["built_at"] == "2024-01-01T12:00:00+00:00"
    assert [source["name"] for source in status["sources"]] == ["posts"]


async def test_status_html_for_browsers_escapes_everything(aiohttp_client):
    hostile = '<script>alert("x")</script>'
    problem = Problem(hostile, 1, "a & b")
    source = SourceStatus(hostile, "folder", 0, None, hostile)
    ref = SnapshotRef(site(make_build_status(skipped=(problem,), sources=(source,))))
    client = await aiohttp_client(create_app(ref))
    response = await client.get("/status", headers={"Accept": FIREFOX_ACCEPT})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "a &amp; b" in page


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (FIREFOX_ACCEPT, True),
        ("text/html", True),
        ("text/*", True),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/html;q=0.9", False),
        ("text/html, application/json", False),  # a tie goes to JSON
        ("text/html;q=0.9, application/*;q=0.5", True),
        ("", False),
        ("text/html;q=2, application/json;q=0.5", False),  # an invalid qvalue drops the member
    ],
)
def test_prefers_html(accept, html):
    assert prefers_html(accept) is html


# ---- what is served is ref.current --------------------------------------------------


async def test_swapping_the_snapshot_is_seen_by_the_next_request(client, ref):
    assert (await client.get("/feeds.opml")).status == 404
    opml = make_resource(b"<opml/>", "text/x-opml; charset=utf-8", UPDATED, Caching(300), cors=True)
    ref.current = Snapshot({"/feeds.opml": opml}, make_build_status(posts=0))
    response = await client.get("/feeds.opml", headers={"Accept-Encoding": "identity"})
    assert response.status == 200
    assert await response.read() == b"<opml/>"
    assert (await client.get("/feed.atom")).status == 404
    assert json.loads(await (await client.get("/status")).read())["posts"] == 0


async def test_the_ref_is_on_the_app(ref):
    assert create_app(ref)[SNAPSHOT_REF] is ref


# ---- error bodies and idle connections (aiohttp's own answers: test_server_errors.py) -----


async def test_control_characters_from_the_path_are_escaped(client):
    response = await client.get("/a%01b%1b[31m%7f")
    assert response.status == 404
    body = await response.text()
    assert body.startswith("404 Not Found: no feed at /a\\x01b\\x1b[31m\\x7f ")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in body.rstrip("\n"))


def test_the_idle_keepalive_default_is_under_75_seconds(config):
    # 75 s is aiohttp's own default, which this key exists to shorten.
    assert runner_options(config)["keepalive_timeout"] == 15


async def test_an_idle_connection_is_closed_after_server_keepalive_timeout(
    aiohttp_server, ref, config
):
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, keepalive_timeout=Duration.parse("1s"))
    )
    server = await aiohttp_server(create_app(ref), host="127.0.0.1", **runner_options(config))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"keep-alive" not in head.lower()
    assert await reader.readexactly(2) == b"ok"
    # The server closes the idle connection: EOF, well before aiohttp's 75 s.
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
