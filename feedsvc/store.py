"""Rendered representations: the bytes served for each URL, precompressed, with validators.

Everything a request needs is computed here once, when a feed is rendered, so that
serving is a lookup (docs/architecture.md "Render ahead, serve by lookup"): the identity, gzip and
br bytes, a strong ETag for each, the HTTP-date of Last-Modified, Cache-Control, and the header
fields of a 200 and of a 304 for each content coding.

Pure: no I/O, no clock, no web framework. The same bytes give the same ETags in
any process (docs/architecture.md "Determinism"), because gzip output carries no timestamp or
file name and each ETag is a hash of the bytes it names.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache, partial
from types import MappingProxyType

import brotli
from multidict import istr

from feedsvc.status import BuildStatus, status_json

# Header names as multidict's case-insensitive strings (a str subclass; multidict is the
# data-structure library under aiohttp, not the web framework). aiohttp copies these
# without case-folding each name again: measured ~0.3 µs of a ~20 µs request.
_CONTENT_TYPE = istr("Content-Type")
_CONTENT_ENCODING = istr("Content-Encoding")
_ETAG = istr("ETag")
_LAST_MODIFIED = istr("Last-Modified")
_CACHE_CONTROL = istr("Cache-Control")
_VARY = istr("Vary")
_ALLOW_ORIGIN = istr("Access-Control-Allow-Origin")
_LINK = istr("Link")

# Levels measured on the synthetic 10,000-post site's feeds (bench/; one core), where the
# whole site renders to about 300 MB of identity bytes in 2,200 documents:
#   gzip 1: 247 MB/s, ratio 4.6   gzip 4: 149 MB/s, 5.1   gzip 6: 41 MB/s, 5.6
#   br 1: 140 MB/s, 4.8   br 4: 138 MB/s, 4.9   br 5: 51 MB/s, 5.4   br 11: ~4 MB/s
# gzip 6 and br 5 cost 13 s of CPU for that site, gzip 4 and br 4 about 4 s, for output
# 10% larger: the cold-start target (≤ 10 s) decides. A feed is compressed once per change.
GZIP_LEVEL = 4
BROTLI_QUALITY = 4

# Identity bytes are the largest and the least asked for (every feed reader sends
# Accept-Encoding), so they are kept gzipped and inflated on demand; the most recently
# asked-for ones stay inflated. This keeps a 10,000-post site under 400 MB.
INFLATED_CACHE_SIZE = 64

IDENTITY = "identity"
GZIP = "gzip"
BR = "br"
CODINGS = (BR, GZIP, IDENTITY)


def strong_etag(body: bytes) -> str:
    """A strong entity tag for exactly these bytes (RFC 9110 §8.8.3).

    128 bits of SHA-256, base64url without padding: short, and stable across processes,
    so every replica and every restart gives the same validator for the same bytes.
    """
    digest = hashlib.sha256(body).digest()[:16]
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") + '"'


def http_date(moment: datetime) -> str:
    """IMF-fixdate, the preferred HTTP-date form (RFC 9110 §5.6.7)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: HTTP dates need a time zone")
    return format_datetime(moment.astimezone(UTC), usegmt=True)


@dataclass(frozen=True, slots=True)
class Representation:
    """One content coding of a resource: the bytes sent and their strong ETag."""

    body: bytes = field(repr=False)
    etag: str


@dataclass(frozen=True, slots=True)
class InflatedRepresentation:
    """The identity coding, held as its gzip bytes and inflated when a request needs it."""

    gzipped: bytes = field(repr=False)
    etag: str
    length: int

    @property
    def body(self) -> bytes:
        return _inflate(self.gzipped)


@lru_cache(maxsize=INFLATED_CACHE_SIZE)
def _inflate(gzipped: bytes) -> bytes:
    return gzip.decompress(gzipped)


class LazyBrotli:
    """The br coding of a body held as gzip, compressed when it is first asked for.

    Every feed's, since issue 12: on the 10,000-post benchmark site, compressing the 360
    archives with brotli ahead took 1.4 s of CPU and kept 27 MB that nobody may ask for,
    and the subscription feeds' 1.1 s and 35 MB, which pushed the start-up build past
    400 MB; on request it is ~0.8 ms for an 80 KB subscription feed and 3-7 ms for a
    month's archive, once per build. The bytes, hence the ETag, are those ``encode`` would
    give (brotli is deterministic), so a build, a restart and every replica agree. Two
    threads asking at once may both compress; they compute the same bytes.
    """

    __slots__ = ("_body", "_etag", "gzipped")

    def __init__(self, gzipped: bytes) -> None:
        self.gzipped = gzipped
        self._body: bytes | None = None
        self._etag: str | None = None

    @property
    def compressed(self) -> bool:
        return self._body is not None

    @property
    def body(self) -> bytes:
        body = self._body
        if body is None:
            body = self._body = brotli_bytes(_inflate(self.gzipped))
        return body

    @property
    def etag(self) -> str:
        etag = self._etag
        if etag is None:
            etag = self._etag = strong_etag(self.body)
        return etag

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyBrotli):
            return self.gzipped == other.gzipped
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.gzipped)


@dataclass(frozen=True, slots=True)
class Encoded:
    """A body compressed, with each coding's validator: what a worker process sends back
    (plain bytes and strings pickle cheaply; a Resource does not pickle). The ETags are
    made where the bytes are, in the workers, not one after the other in the parent once
    they are all back. ``br`` is None when the br coding is left to the first request that
    asks for it (LazyBrotli)."""

    identity_etag: str
    identity_length: int
    gzip: bytes = field(repr=False)
    gzip_etag: str
    br: bytes | None = field(repr=False)
    br_etag: str | None


def brotli_bytes(body: bytes) -> bytes:
    """The br coding of ``body``, at the one quality every br coding is made with."""
    return brotli.compress(body, quality=BROTLI_QUALITY)


def encode(body: bytes, br_ahead: bool = True) -> Encoded:
    """Compress ``body`` (with gzip, and with brotli unless not ``br_ahead``);
    deterministic, so every replica gets the same bytes."""
    # mtime=0 and no file name: the gzip header is the same in every process (RFC 1952 §2.3).
    gzipped = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    br = brotli_bytes(body) if br_ahead else None
    return Encoded(
        identity_etag=strong_etag(body),
        identity_length=len(body),
        gzip=gzipped,
        gzip_etag=strong_etag(gzipped),
        br=br,
        br_etag=None if br is None else strong_etag(br),
    )


@dataclass(frozen=True, slots=True)
class Caching:
    """How long caches may keep a response (``Cache-Control``, in seconds; 0 leaves a
    directive out). ``stale_while_revalidate`` and ``stale_if_error`` (RFC 5861) let a cache
    in front of the replicas answer from a stale copy while it fetches a fresh one in the
    background, or while the origin is failing."""

    max_age: int
    stale_while_revalidate: int = 0
    stale_if_error: int = 0

    def __post_init__(self) -> None:
        for name in ("max_age", "stale_while_revalidate", "stale_if_error"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")

    @property
    def header(self) -> str:
        value = f"public, max-age={self.max_age}"
        if self.stale_while_revalidate:
            value += f", stale-while-revalidate={self.stale_while_revalidate}"
        if self.stale_if_error:
            value += f", stale-if-error={self.stale_if_error}"
        return value


@dataclass(frozen=True, slots=True)
class Variant:
    """A representation with the header fields to send it, computed once.

    ``headers`` are those of a 200 (Content-Length is left to the server, which counts
    the body it sends; a HEAD gets the same value, RFC 9110 §9.3.2). ``not_modified_headers``
    are those of a 304: RFC 9110 §15.4.5 requires the ETag, Cache-Control and Vary a 200
    would carry; Last-Modified is kept for caches updating their stored response.
    """

    coding: str
    representation: Representation | InflatedRepresentation | LazyBrotli
    headers: tuple[tuple[str, str], ...]
    not_modified_headers: tuple[tuple[str, str], ...]


class LazyVariant:
    """The Variant of a LazyBrotli, made when a request first asks for it: its header
    fields hold the ETag, which needs the compressed bytes (RFC 9110 §8.8.3)."""

    __slots__ = ("_make", "_variant")

    def __init__(self, make: Callable[[], Variant]) -> None:
        self._make = make
        self._variant: Variant | None = None

    def _made(self) -> Variant:
        variant = self._variant
        if variant is None:
            variant = self._variant = self._make()
        return variant

    @property
    def coding(self) -> str:
        return BR

    @property
    def representation(self) -> Representation | InflatedRepresentation | LazyBrotli:
        return self._made().representation

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return self._made().headers

    @property
    def not_modified_headers(self) -> tuple[tuple[str, str], ...]:
        return self._made().not_modified_headers


@dataclass(frozen=True, slots=True)
class Resource:
    """Everything served at one URL path, in every content coding.

    ``content_type`` is the full field value, with ``; charset=utf-8`` for text types.
    ``last_modified`` must be time-zone aware; it is served with a one-second precision,
    and ``last_modified_seconds`` is that truncated value, the one validators compare with.
    """

    content_type: str
    last_modified: datetime | None
    identity: Representation | InflatedRepresentation
    gzip: Representation
    br: Representation | LazyBrotli
    caching: Caching
    cors: bool
    # Link field values (RFC 8288) sent on 200, 304 and HEAD: a feed's WebSub hubs and self.
    links: tuple[str, ...] = ()
    # Derived in __post_init__; left out of ==, hash and repr, which the fields above decide.
    http_last_modified: str | None = field(init=False, compare=False, repr=False)
    last_modified_seconds: int | None = field(init=False, compare=False, repr=False)
    cache_control: str = field(init=False, compare=False, repr=False)
    variants: Mapping[str, Variant | LazyVariant] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        lm = self.last_modified
        http_lm = None if lm is None else http_date(lm)
        # HTTP-dates have one-second precision (RFC 9110 §5.6.7); compare what was sent.
        seconds = None if lm is None else int(lm.replace(microsecond=0).timestamp())
        cache_control = self.caching.header
        variants = {
            coding: LazyVariant(partial(_variant, self, coding, rep, http_lm, cache_control))
            if isinstance(rep, LazyBrotli)
            else _variant(self, coding, rep, http_lm, cache_control)
            for coding, rep in ((BR, self.br), (GZIP, self.gzip), (IDENTITY, self.identity))
        }
        # A frozen dataclass sets its derived fields through object.__setattr__.
        object.__setattr__(self, "http_last_modified", http_lm)
        object.__setattr__(self, "last_modified_seconds", seconds)
        object.__setattr__(self, "cache_control", cache_control)
        object.__setattr__(self, "variants", MappingProxyType(variants))


def _variant(
    resource: Resource,
    coding: str,
    rep: Representation | InflatedRepresentation | LazyBrotli,
    http_last_modified: str | None,
    cache_control: str,
) -> Variant:
    validators: list[tuple[str, str]] = [(_ETAG, rep.etag)]
    if http_last_modified is not None:
        validators.append((_LAST_MODIFIED, http_last_modified))
    # RFC 9110 §12.5.5: the response depends on Accept-Encoding, so caches must key on it.
    validators += [(_CACHE_CONTROL, cache_control), (_VARY, "Accept-Encoding")]
    if resource.cors:
        # Any page may read the feed (docs/urls.md "HTTP behaviour of `feedsvc serve`"). A browser
        # revalidates it through its own HTTP cache, so the ETag needs no
        # Access-Control-Expose-Headers.
        validators.append((_ALLOW_ORIGIN, "*"))
    # W3C WebSub §4: discovery headers on every answer, a 304 included (a subscriber may
    # only ever revalidate).
    validators += [(_LINK, link) for link in resource.links]
    headers = [(_CONTENT_TYPE, resource.content_type)]
    if coding != IDENTITY:
        headers.append((_CONTENT_ENCODING, coding))
    return Variant(
        coding=coding,
        representation=rep,
        headers=tuple(headers + validators),
        not_modified_headers=tuple(validators),
    )


def make_resource(
    body: bytes,
    content_type: str,
    last_modified: datetime | None,
    caching: Caching,
    cors: bool,
    links: tuple[str, ...] = (),
) -> Resource:
    """Compress ``body`` both ways and compute every validator and header of it."""
    return resource_from(encode(body), content_type, last_modified, caching, cors, links)


def resource_from(
    encoded: Encoded,
    content_type: str,
    last_modified: datetime | None,
    caching: Caching,
    cors: bool,
    links: tuple[str, ...] = (),
) -> Resource:
    """The Resource of an already encoded body."""
    return Resource(
        content_type=content_type,
        last_modified=last_modified,
        identity=InflatedRepresentation(
            encoded.gzip, encoded.identity_etag, encoded.identity_length
        ),
        gzip=Representation(encoded.gzip, encoded.gzip_etag),
        br=LazyBrotli(encoded.gzip)
        if encoded.br is None or encoded.br_etag is None
        else Representation(encoded.br, encoded.br_etag),
        caching=caching,
        cors=cors,
        links=links,
    )


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """An immutable view of everything served: URL path → Resource, plus the status of the
    build that made it, serialized once (what /status serves when nothing live is added)."""

    resources: Mapping[str, Resource]
    status: BuildStatus
    status_json: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "resources", MappingProxyType(dict(self.resources)))
        object.__setattr__(self, "status_json", status_json(self.status))


class SnapshotRef:
    """The box the web layer reads from and the pipeline swaps.

    Replacing ``current`` is a single attribute store, atomic under asyncio: a request
    sees the old snapshot or the new one, never a mix; the last good snapshot keeps
    serving until a whole new one is ready (docs/architecture.md "Render ahead, serve by lookup").
    """

    __slots__ = ("current",)

    def __init__(self, current: Snapshot) -> None:
        self.current = current


def changed_paths(before: Snapshot, after: Snapshot) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(paths whose bytes differ in ``after`` or that are new, paths ``after`` no longer
    serves), each sorted. A resource a rebuild kept is the same object: no bytes compared."""
    old = before.resources
    changed = []
    for path, resource in after.resources.items():
        kept = old.get(path)
        if kept is not resource and (kept is None or kept.identity.etag != resource.identity.etag):
            changed.append(path)
    removed = [path for path in old if path not in after.resources]
    return tuple(sorted(changed)), tuple(sorted(removed))
