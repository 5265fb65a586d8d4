"""The store: precompressed representations, strong ETags, precomputed headers, snapshots."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import brotli
import pytest
from factories import make_build_status

from feedsvc.store import (
    BR,
    GZIP,
    IDENTITY,
    Caching,
    LazyBrotli,
    Snapshot,
    SnapshotRef,
    changed_paths,
    encode,
    http_date,
    make_resource,
    resource_from,
    strong_etag,
)

REPO = Path(__file__).resolve().parents[1]
ATOM = "application/atom+xml; charset=utf-8"
UPDATED = datetime(2022, 9, 1, 12, 30, 15, tzinfo=UTC)
BODY = b'<?xml version="1.0" encoding="utf-8"?>\n<feed>' + b"<entry>caf\xc3\xa9</entry>" * 200


def test_each_coding_has_its_own_strong_etag_and_decodes_to_the_same_bytes():
    resource = make_resource(BODY, ATOM, UPDATED, Caching(300), cors=True)
    assert resource.identity.body == BODY
    assert gzip.decompress(resource.gzip.body) == BODY
    assert brotli.decompress(resource.br.body) == BODY
    etags = {resource.identity.etag, resource.gzip.etag, resource.br.etag}
    assert len(etags) == 3
    for etag in etags:
        # RFC 9110 §8.8.3: a strong entity-tag, no W/ prefix; 128 bits in base64url.
        assert re.fullmatch(r'"[A-Za-z0-9_-]{22}"', etag)
    assert resource.gzip.etag == strong_etag(resource.gzip.body)
    assert resource.br.etag == strong_etag(resource.br.body)
    assert resource.identity.etag == strong_etag(BODY)


def test_compressed_bytes_and_etags_are_deterministic():
    one = make_resource(BODY, ATOM, UPDATED, Caching(300), cors=True)
    two = make_resource(BODY, ATOM, UPDATED, Caching(300), cors=True)
    assert one.gzip.body == two.gzip.body
    assert one.br.body == two.br.body
    assert one == two
    # RFC 1952 §2.3: MTIME is zero and no FNAME flag, so no process detail leaks in.
    header = one.gzip.body[:10]
    assert header[4:8] == b"\0\0\0\0"
    assert header[3] & 0x08 == 0


def test_same_bytes_give_the_same_etag_in_another_process():
    code = (
        "import sys; from feedsvc.store import Caching, make_resource; "
        "r = make_resource(sys.stdin.buffer.read(), 'text/plain', None, Caching(0), False); "
        "print(r.identity.etag, r.gzip.etag, r.br.etag)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=BODY,
        capture_output=True,
        check=True,
        # Another hash seed: nothing may depend on Python's per-process hashing.
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)},
        cwd="/",
    ).stdout.decode()
    here = make_resource(BODY, "text/plain", None, Caching(0), False)
    assert out.split() == [here.identity.etag, here.gzip.etag, here.br.etag]


def test_different_bytes_give_different_etags():
    assert strong_etag(b"a") != strong_etag(b"b")


def test_headers_are_precomputed_per_coding():
    resource = make_resource(BODY, ATOM, UPDATED, Caching(600), cors=True)
    assert resource.http_last_modified == "Thu, 01 Sep 2022 12:30:15 GMT"
    assert resource.cache_control == "public, max-age=600"
    br = dict(resource.variants[BR].headers)
    assert br == {
        "Content-Type": ATOM,
        "Content-Encoding": "br",
        "ETag": resource.br.etag,
        "Last-Modified": "Thu, 01 Sep 2022 12:30:15 GMT",
        "Cache-Control": "public, max-age=600",
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
    }
    assert dict(resource.variants[GZIP].headers)["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in dict(resource.variants[IDENTITY].headers)
    # RFC 9110 §15.4.5: a 304 carries the validators and caching fields, not the body's.
    not_modified = dict(resource.variants[GZIP].not_modified_headers)
    assert not_modified == {
        "ETag": resource.gzip.etag,
        "Last-Modified": "Thu, 01 Sep 2022 12:30:15 GMT",
        "Cache-Control": "public, max-age=600",
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
    }


def test_no_cors_and_no_last_modified():
    resource = make_resource(
        b"<html></html>", "text/html; charset=utf-8", None, Caching(60), cors=False
    )
    headers = dict(resource.variants[IDENTITY].headers)
    assert "Access-Control-Allow-Origin" not in headers
    assert "Last-Modified" not in headers
    assert resource.http_last_modified is None
    assert resource.last_modified_seconds is None


def test_last_modified_is_sent_and_compared_at_one_second_precision():
    moment = UPDATED + timedelta(microseconds=999_999)
    resource = make_resource(BODY, ATOM, moment, Caching(300), cors=False)
    assert resource.http_last_modified == "Thu, 01 Sep 2022 12:30:15 GMT"
    assert resource.last_modified_seconds == int(UPDATED.timestamp())


def test_http_date_converts_to_gmt_and_refuses_naive_datetimes():
    plus_two = datetime(2022, 9, 1, 14, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    assert http_date(plus_two) == "Thu, 01 Sep 2022 12:30:15 GMT"
    with pytest.raises(ValueError, match="naive"):
        make_resource(BODY, ATOM, datetime(2022, 9, 1), Caching(300), cors=False)


@pytest.mark.parametrize(
    ("caching", "header"),
    [
        (Caching(300), "public, max-age=300"),
        (Caching(0, 0, 60), "public, max-age=0, stale-if-error=60"),
        (
            Caching(300, 300, 86400),
            "public, max-age=300, stale-while-revalidate=300, stale-if-error=86400",
        ),
    ],
)
def test_cache_control_names_the_stale_directives_set(caching, header):
    resource = make_resource(BODY, ATOM, UPDATED, caching, cors=False)
    assert resource.cache_control == header
    assert ("Cache-Control", header) in resource.variants[IDENTITY].headers
    assert ("Cache-Control", header) in resource.variants[GZIP].not_modified_headers


@pytest.mark.parametrize("field", ["max_age", "stale_while_revalidate", "stale_if_error"])
def test_negative_cache_lifetimes_are_refused(field):
    with pytest.raises(ValueError, match=field):
        Caching(**{"max_age": 0, field: -1})


def test_snapshot_is_an_immutable_copy():
    resource = make_resource(BODY, ATOM, UPDATED, Caching(300), cors=True)
    resources = {"/feed.atom": resource}
    snapshot = Snapshot(resources, make_build_status())
    resources["/other.atom"] = resource
    assert list(snapshot.resources) == ["/feed.atom"]
    with pytest.raises(TypeError):
        snapshot.resources["/x"] = resource  # type: ignore[index]


def test_snapshot_serializes_its_status_once():
    snapshot = Snapshot({}, make_build_status(posts=7))
    assert json.loads(snapshot.status_json)["posts"] == 7


def test_snapshot_ref_swaps_atomically():
    first, second = Snapshot({}, make_build_status()), Snapshot({}, make_build_status())
    ref = SnapshotRef(first)
    assert ref.current is first
    ref.current = second
    assert ref.current is second


def test_changed_paths_compares_bytes_not_objects():
    kept = make_resource(BODY, ATOM, UPDATED, Caching(300), cors=True)
    same_bytes = make_resource(BODY, ATOM, UPDATED, Caching(300), cors=True)
    edited = make_resource(BODY + b"<!-- edited -->", ATOM, UPDATED, Caching(300), cors=True)
    before = Snapshot({"/a.atom": kept, "/b.atom": kept, "/c.atom": kept}, make_build_status())
    after = Snapshot(
        {"/a.atom": kept, "/b.atom": same_bytes, "/c.atom": edited, "/new.atom": kept},
        make_build_status(),
    )
    assert changed_paths(before, after) == (("/c.atom", "/new.atom"), ())
    assert changed_paths(after, before) == (("/c.atom",), ("/new.atom",))


def test_lazy_brotli_gives_the_bytes_etag_and_headers_of_brotli_ahead():
    links = ("<https://h/>; rel=hub",)
    ahead = make_resource(BODY, ATOM, UPDATED, Caching(300), cors=True, links=links)
    lazy = resource_from(
        encode(BODY, br_ahead=False), ATOM, UPDATED, Caching(300), cors=True, links=links
    )
    assert isinstance(lazy.br, LazyBrotli) and not lazy.br.compressed
    # The 304's fields hold the ETag: asking for them compresses, once.
    assert lazy.variants[BR].not_modified_headers == ahead.variants[BR].not_modified_headers
    assert lazy.br.compressed
    assert lazy.variants[BR].headers == ahead.variants[BR].headers
    assert lazy.variants[BR].representation.body == ahead.br.body
    assert lazy.br.body is lazy.br.body  # kept once made
    assert brotli.decompress(lazy.br.body) == BODY
    for coding in (GZIP, IDENTITY):
        assert lazy.variants[coding].headers == ahead.variants[coding].headers
