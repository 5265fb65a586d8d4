"""Conditional requests, table-driven: the pure helpers, then the same rules through HTTP.

RFC 9110 §13.1.1–§13.1.4 (the validators) and §13.2.2 (the order they are evaluated in).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict

from feedsvc.store import Caching, Snapshot, SnapshotRef, make_resource
from feedsvc.web import create_app
from feedsvc.web.conditional import (
    NOT_MODIFIED,
    PRECONDITION_FAILED,
    PROCEED,
    evaluate_preconditions,
    if_none_match_matches,
    parse_entity_tags,
    parse_http_date,
    strong_match,
    weak_match,
)

UPDATED = datetime(2022, 9, 1, 12, 30, 15, tzinfo=UTC)
LM = "Thu, 01 Sep 2022 12:30:15 GMT"
LM_SECONDS = int(UPDATED.timestamp())
EARLIER = "Thu, 01 Sep 2022 12:30:14 GMT"
LATER = "Fri, 02 Sep 2022 00:00:00 GMT"
TAG = '"abc"'


def fixed_clock() -> datetime:
    return datetime(2026, 6, 1, tzinfo=UTC)


# ---- HTTP-date parsing, RFC 9110 §5.6.7 ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # The three forms a recipient must accept, for the same instant.
        ("Sun, 06 Nov 1994 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sun Nov  6 08:49:37 1994", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sun Nov 16 08:49:37 1994", datetime(1994, 11, 16, 8, 49, 37, tzinfo=UTC)),
        # RFC 850 two-digit years: no more than 50 years in the future (clock: 2026).
        ("Monday, 01-Jan-74 00:00:00 GMT", datetime(2074, 1, 1, tzinfo=UTC)),
        ("Friday, 01-Jan-77 00:00:00 GMT", datetime(1977, 1, 1, tzinfo=UTC)),
        # The rule compares the whole date, not the year: 50 years on is 2076-06-01.
        ("Wednesday, 01-Jul-76 00:00:00 GMT", datetime(1976, 7, 1, tzinfo=UTC)),
        ("Monday, 01-Jun-76 00:00:00 GMT", datetime(2076, 6, 1, tzinfo=UTC)),
        ("Sunday, 31-May-76 23:59:59 GMT", datetime(2076, 5, 31, 23, 59, 59, tzinfo=UTC)),
        # A leap second is read as the second before it.
        ("Sat, 31 Dec 2016 23:59:60 GMT", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        # Not HTTP-dates: ignored by callers.
        ("yesterday", None),
        ("", None),
        ("2022-09-01T12:30:15Z", None),
        ("Thu, 01 Sep 2022 12:30:15 UTC", None),
        ("thu, 01 sep 2022 12:30:15 gmt", None),  # HTTP-date is case-sensitive
        ("Thu, 1 Sep 2022 12:30:15 GMT", None),  # IMF-fixdate has a 2-digit day
        ("Thu, 31 Feb 2022 12:30:15 GMT", None),
        ("Thu, 01 Sep 2022 25:30:15 GMT", None),
        ("Thu, 01 Sep 2022 12:30:15 GMT, Fri, 02 Sep 2022 12:30:15 GMT", None),
    ],
)
def test_parse_http_date(value, expected):
    assert parse_http_date(value, clock=fixed_clock) == expected


# ---- entity-tags, RFC 9110 §8.8.3 ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"a"', ['"a"']),
        ('W/"a"', ['W/"a"']),
        ('"a", W/"b" ,"c"', ['"a"', 'W/"b"', '"c"']),
        ('"a,b", "c"', ['"a,b"', '"c"']),  # a comma is an etagc
        ('"a",,"b"', ['"a"', '"b"']),  # empty list elements are skipped (§5.6.1)
        ('""', ['""']),
        ("a", None),
        ('"a" "b"', None),
        ('"a', None),
        ('w/"a"', None),
    ],
)
def test_parse_entity_tags(value, expected):
    assert parse_entity_tags(value) == expected


@pytest.mark.parametrize(
    ("a", "b", "weak", "strong"),
    # RFC 9110 §8.8.3.2, the comparison table.
    [
        ('W/"1"', 'W/"1"', True, False),
        ('W/"1"', 'W/"2"', False, False),
        ('W/"1"', '"1"', True, False),
        ('"1"', '"1"', True, True),
    ],
)
def test_weak_and_strong_comparison(a, b, weak, strong):
    assert weak_match(a, b) is weak
    assert strong_match(a, b) is strong


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        (TAG, True),
        ("W/" + TAG, True),
        ('"x", ' + TAG, True),
        ('"x", W/' + TAG + ', "y"', True),
        ("*", True),
        ('"x"', False),
        ("abc", False),  # unquoted: not an entity-tag
        ("", False),
    ],
)
def test_if_none_match_matches(value, matches):
    assert if_none_match_matches(value, TAG) is matches


# ---- the order of evaluation, RFC 9110 §13.2.2 --------------------------------------

PRECONDITION_TABLE = [
    # (case, method, headers, expected)
    ("no validators", "GET", {}, PROCEED),
    ("exact If-None-Match", "GET", {"if_none_match": TAG}, NOT_MODIFIED),
    ("weak form of the tag", "GET", {"if_none_match": "W/" + TAG}, NOT_MODIFIED),
    ("list with the tag", "GET", {"if_none_match": '"x", ' + TAG}, NOT_MODIFIED),
    ("star", "GET", {"if_none_match": "*"}, NOT_MODIFIED),
    ("HEAD like GET", "HEAD", {"if_none_match": TAG}, NOT_MODIFIED),
    ("stale tag", "GET", {"if_none_match": '"old"'}, PROCEED),
    (
        "If-None-Match wins over a matching If-Modified-Since",
        "GET",
        {"if_none_match": '"old"', "if_modified_since": LM},
        PROCEED,
    ),
    (
        "matching If-None-Match with an old If-Modified-Since",
        "GET",
        {"if_none_match": TAG, "if_modified_since": EARLIER},
        NOT_MODIFIED,
    ),
    ("If-Modified-Since equal", "GET", {"if_modified_since": LM}, NOT_MODIFIED),
    ("If-Modified-Since later", "GET", {"if_modified_since": LATER}, NOT_MODIFIED),
    ("If-Modified-Since earlier", "GET", {"if_modified_since": EARLIER}, PROCEED),
    (
        "If-Modified-Since in RFC 850 form",
        "GET",
        {"if_modified_since": "Thursday, 01-Sep-22 12:30:15 GMT"},
        NOT_MODIFIED,
    ),
    (
        "If-Modified-Since in asctime form",
        "GET",
        {"if_modified_since": "Thu Sep  1 12:30:15 2022"},
        NOT_MODIFIED,
    ),
    ("garbage If-Modified-Since", "GET", {"if_modified_since": "yesterday"}, PROCEED),
    ("If-Modified-Since on POST is ignored", "POST", {"if_modified_since": LM}, PROCEED),
    ("If-None-Match on an unsafe method", "POST", {"if_none_match": "*"}, PRECONDITION_FAILED),
    ("If-Match with the tag", "GET", {"if_match": TAG}, PROCEED),
    ("If-Match star", "GET", {"if_match": "*"}, PROCEED),
    ("If-Match another tag", "GET", {"if_match": '"x"'}, PRECONDITION_FAILED),
    ("If-Match is strong: W/ never matches", "GET", {"if_match": "W/" + TAG}, PRECONDITION_FAILED),
    (
        "If-Match passes, then If-None-Match decides",
        "GET",
        {"if_match": TAG, "if_none_match": TAG},
        NOT_MODIFIED,
    ),
    ("If-Unmodified-Since earlier", "GET", {"if_unmodified_since": EARLIER}, PRECONDITION_FAILED),
    ("If-Unmodified-Since equal", "GET", {"if_unmodified_since": LM}, PROCEED),
    ("garbage If-Unmodified-Since", "GET", {"if_unmodified_since": "soon"}, PROCEED),
    (
        "If-Match wins over If-Unmodified-Since",
        "GET",
        {"if_match": TAG, "if_unmodified_since": EARLIER},
        PROCEED,
    ),
]


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [row[1:] for row in PRECONDITION_TABLE],
    ids=[row[0] for row in PRECONDITION_TABLE],
)
def test_evaluate_preconditions(method, headers, expected):
    outcome = evaluate_preconditions(
        method, TAG, LM_SECONDS, http_last_modified=LM, clock=fixed_clock, **headers
    )
    assert outcome == expected


def test_if_modified_since_without_a_last_modified_is_ignored():
    outcome = evaluate_preconditions("GET", TAG, None, if_modified_since=LATER)
    assert outcome == PROCEED


def test_if_modified_since_is_parsed_when_not_the_exact_string_sent():
    # The same instant written by hand: parsed, not just compared as a string.
    outcome = evaluate_preconditions("GET", TAG, LM_SECONDS, if_modified_since=LM)
    assert outcome == NOT_MODIFIED


# ---- the same rules through HTTP ----------------------------------------------------

BODY = b'<?xml version="1.0" encoding="utf-8"?><feed>' + b"<entry>x</entry>" * 100
RESOURCE = make_resource(
    BODY, "application/atom+xml; charset=utf-8", UPDATED, Caching(300), cors=True
)
# The client below asks for gzip: the validator that counts is the gzip one.
GZ = RESOURCE.gzip.etag


@pytest.fixture
async def client(aiohttp_client):
    ref = SnapshotRef(Snapshot({"/feed.atom": RESOURCE}, {}))
    return await aiohttp_client(create_app(ref, clock=fixed_clock), auto_decompress=False)


HTTP_TABLE = [
    # (case, method, path, headers, status)
    ("exact match", "GET", "/feed.atom", {"If-None-Match": GZ}, 304),
    ("W/ form", "GET", "/feed.atom", {"If-None-Match": "W/" + GZ}, 304),
    ("list containing the tag", "GET", "/feed.atom", {"If-None-Match": f'"x", {GZ}'}, 304),
    ("star", "GET", "/feed.atom", {"If-None-Match": "*"}, 304),
    ("HEAD", "HEAD", "/feed.atom", {"If-None-Match": GZ}, 304),
    (
        "stale If-None-Match, matching If-Modified-Since",
        "GET",
        "/feed.atom",
        {"If-None-Match": '"stale"', "If-Modified-Since": LM},
        200,
    ),
    ("garbage If-Modified-Since", "GET", "/feed.atom", {"If-Modified-Since": "yesterday"}, 200),
    ("If-Modified-Since equal", "GET", "/feed.atom", {"If-Modified-Since": LM}, 304),
    ("If-Modified-Since later", "GET", "/feed.atom", {"If-Modified-Since": LATER}, 304),
    ("If-Modified-Since earlier", "GET", "/feed.atom", {"If-Modified-Since": EARLIER}, 200),
    (
        "the ETag of another coding does not match",
        "GET",
        "/feed.atom",
        {"If-None-Match": RESOURCE.identity.etag},
        200,
    ),
    ("unknown feed with If-None-Match: *", "GET", "/nope.atom", {"If-None-Match": "*"}, 404),
    ("wrong method with If-None-Match: *", "POST", "/feed.atom", {"If-None-Match": "*"}, 405),
    ("If-Match another tag", "GET", "/feed.atom", {"If-Match": '"x"'}, 412),
    ("unparseable If-Match matches nothing", "GET", "/feed.atom", {"If-Match": "x"}, 412),
    ("If-Unmodified-Since earlier", "GET", "/feed.atom", {"If-Unmodified-Since": EARLIER}, 412),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [row[1:] for row in HTTP_TABLE],
    ids=[row[0] for row in HTTP_TABLE],
)
async def test_conditional_requests_over_http(client, method, path, headers, status):
    response = await client.request(method, path, headers={"Accept-Encoding": "gzip", **headers})
    assert response.status == status
    if status == 200:
        assert response.headers["ETag"] == GZ
        assert await response.read() == RESOURCE.gzip.body


async def test_repeated_if_none_match_lines_are_one_list(client):
    # RFC 9110 §5.3: the feed's tag on the second line counts as much as on the first.
    headers = CIMultiDict([("Accept-Encoding", "gzip"), ("If-None-Match", '"x"')])
    headers.add("If-None-Match", GZ)
    response = await client.get("/feed.atom", headers=headers)
    assert response.status == 304


async def test_a_304_carries_the_validators_and_no_body(client):
    response = await client.get(
        "/feed.atom", headers={"Accept-Encoding": "gzip", "If-None-Match": GZ}
    )
    assert response.status == 304
    # RFC 9110 §15.4.5: the fields a 200 would have carried for caching.
    assert response.headers["ETag"] == GZ
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Last-Modified"] == LM
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    # No body, and no Content-Length describing one.
    assert "Content-Length" not in response.headers
    assert "Content-Encoding" not in response.headers
    assert await response.read() == b""


async def test_revalidating_with_what_a_200_gave_gives_304(client):
    for coding in ("br", "gzip", "identity"):
        first = await client.get("/feed.atom", headers={"Accept-Encoding": coding})
        again = await client.get(
            "/feed.atom",
            headers={"Accept-Encoding": coding, "If-None-Match": first.headers["ETag"]},
        )
        assert again.status == 304, coding
        by_date = await client.get(
            "/feed.atom",
            headers={
                "Accept-Encoding": coding,
                "If-Modified-Since": first.headers["Last-Modified"],
            },
        )
        assert by_date.status == 304, coding
