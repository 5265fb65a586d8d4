"""The snapshot file: everything served, and what an incremental rebuild needs, on disk.

One file, written under a temporary name beside the old one and renamed over it, so a
reader finds the old snapshot or the new one, never half of one (after a power cut, a file
the disk had not yet been given whole fails its checks and is ignored):

    feedsvc-snapshot 1\\n           magic: this layout
    header                         JSON padded to HEADER_SIZE bytes: stamp, counts, checksums
    status                         one JSON line: the /status of the build
    documents                      one JSON line per served document (path, headers, ETags)
    bodies                         each document's gzip bytes, then its br bytes, in order
    state                          one JSON line per record of feedsvc.warm.state

The served part (status, documents, bodies) is read before serving; the state only after
serving has begun, so it has a checksum of its own. Reading is bounded: the file is refused
past ``max_bytes``, every line is read with a limit, every length is checked against what
is left of the file before anything is allocated, and every line is decoded into a typed
record (msgspec), so a damaged or hostile file is refused, never served and never grown in
memory past its own size.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from feedsvc.errors import SnapshotError
from feedsvc.status import BuildStatus
from feedsvc.store import Caching, InflatedRepresentation, LazyBrotli, Representation, Resource

MAGIC = b"feedsvc-snapshot 1\n"
HEADER_SIZE = 1024
# A snapshot of the 10,000-post benchmark site is about 250 MB.
MAX_BYTES = 2 * 1024**3
# One line holds one post (its raw text and its HTML) or a folder's file list.
MAX_LINE = 64 * 1024**2


class Header(msgspec.Struct, forbid_unknown_fields=True):
    version: str  # feedsvc and the libraries whose output is stored (feedsvc.warm.stamp)
    config: str  # hash of the config and of the working folder paths are relative to
    documents: int
    bodies: int  # bytes
    records: int
    served_crc: int  # CRC-32 of status, documents and bodies
    state_crc: int  # CRC-32 of the state lines


class DocumentEntry(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    path: str
    content_type: str
    last_modified: datetime | None
    max_age: int
    stale_while_revalidate: int
    stale_if_error: int
    cors: bool
    identity_etag: str
    identity_length: int
    gzip_etag: str
    gzip_length: int
    br_etag: str
    br_length: int
    links: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Served:
    """The served part of a snapshot file, and the file, left open at its state records."""

    resources: dict[str, Resource]
    status: BuildStatus
    records: int
    state_crc: int
    file: IO[bytes]


def write_snapshot(
    path: Path,
    version: str,
    config: str,
    resources: Mapping[str, Resource],
    status: BuildStatus,
    records: Iterable[bytes],
) -> None:
    """Write a snapshot to ``path`` atomically (a temporary file renamed over it).

    ``records`` are encoded state lines (without their newline).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + b" " * (HEADER_SIZE - 1) + b"\n")
            served = _CrcWriter(out)
            served.line(msgspec.json.encode(status))
            paths = sorted(resources)
            for url_path in paths:
                served.line(msgspec.json.encode(_entry(url_path, resources[url_path])))
            total = 0
            for url_path in paths:
                gzipped, br = resources[url_path].gzip.body, _br_made(resources[url_path])
                served.write(gzipped)
                served.write(br)
                total += len(gzipped) + len(br)
            state = _CrcWriter(out)
            count = 0
            for record in records:
                state.line(record)
                count += 1
            header = Header(version, config, len(paths), total, count, served.crc, state.crc)
            encoded = msgspec.json.encode(header)
            if len(encoded) >= HEADER_SIZE:
                raise SnapshotError(str(path), "header too long")  # a bug: fixed fields
            out.seek(len(MAGIC))
            out.write(encoded.ljust(HEADER_SIZE - 1) + b"\n")
        # No fsync before the rename: after a crash the new name may hold a torn file, which
        # its sizes and checksums refuse (a cold build then), and a snapshot is a cache, so
        # waiting for the disk buys nothing; it cost `feedsvc build` 0.15–0.2 s per run.
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _br_made(resource: Resource) -> bytes:
    """The br bytes, or none when they are left to the first request (LazyBrotli): the
    snapshot stores what was made, and a warm start leaves to requests what a cold one
    would."""
    br = resource.br
    return b"" if isinstance(br, LazyBrotli) and not br.compressed else br.body


def _entry(url_path: str, resource: Resource) -> DocumentEntry:
    br = _br_made(resource)
    identity = resource.identity
    return DocumentEntry(
        path=url_path,
        content_type=resource.content_type,
        last_modified=resource.last_modified,
        max_age=resource.caching.max_age,
        stale_while_revalidate=resource.caching.stale_while_revalidate,
        stale_if_error=resource.caching.stale_if_error,
        cors=resource.cors,
        identity_etag=identity.etag,
        identity_length=len(identity.body)
        if isinstance(identity, Representation)
        else identity.length,
        gzip_etag=resource.gzip.etag,
        gzip_length=len(resource.gzip.body),
        br_etag=resource.br.etag if br else "",
        br_length=len(br),
        links=resource.links,
    )


class _CrcWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.crc = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.crc = zlib.crc32(data, self.crc)

    def line(self, data: bytes) -> None:
        if b"\n" in data:
            raise ValueError("a snapshot line holds no newline")  # JSON escapes it
        self.write(data + b"\n")


def read_served(path: Path, version: str, config: str, max_bytes: int = MAX_BYTES) -> Served:
    """The served part of the snapshot at ``path``; SnapshotError says why it cannot be used
    (missing, another version or config, damaged, too large). The caller closes ``file``."""
    where = str(path)
    try:
        file = open(path, "rb")  # noqa: SIM115 - handed to the caller, who reads the state
    except FileNotFoundError as e:
        raise SnapshotError(where, "none yet") from e
    except OSError as e:
        raise SnapshotError(where, f"cannot read: {e.strerror or e}") from e
    try:
        return _read_served(file, where, version, config, max_bytes)
    except BaseException:
        file.close()
        raise


def _read_served(file: IO[bytes], where: str, version: str, config: str, limit: int) -> Served:
    size = os.fstat(file.fileno()).st_size
    if size > limit:
        raise SnapshotError(where, f"{size} bytes, more than the limit of {limit}")
    if file.read(len(MAGIC)) != MAGIC:
        raise SnapshotError(where, "not a feedsvc snapshot of this format")
    header = _decode(file.read(HEADER_SIZE), Header, where, "header")
    if header.version != version:
        raise SnapshotError(where, f"made by another version ({header.version}, not {version})")
    if header.config != config:
        raise SnapshotError(where, "made for another config or working folder")
    left = size - len(MAGIC) - HEADER_SIZE
    if header.bodies > left or header.documents > left or header.records > left:
        raise SnapshotError(where, "damaged: counts larger than the file")
    reader = _LineReader(file, where)
    status = _decode(reader.line(), BuildStatus, where, "status")
    entries = [
        _decode(reader.line(), DocumentEntry, where, "document") for _ in range(header.documents)
    ]
    lengths = sum(e.gzip_length + e.br_length for e in entries)
    if lengths != header.bodies or any(
        min(e.gzip_length, e.br_length, e.identity_length) < 0 for e in entries
    ):
        raise SnapshotError(where, "damaged: document lengths do not add up")
    resources = {}
    for entry in entries:
        gzipped = reader.exactly(entry.gzip_length)
        br = reader.exactly(entry.br_length)
        resources[entry.path] = Resource(
            content_type=entry.content_type,
            last_modified=entry.last_modified,
            identity=InflatedRepresentation(gzipped, entry.identity_etag, entry.identity_length),
            gzip=Representation(gzipped, entry.gzip_etag),
            br=Representation(br, entry.br_etag) if br else LazyBrotli(gzipped),
            caching=Caching(entry.max_age, entry.stale_while_revalidate, entry.stale_if_error),
            cors=entry.cors,
            links=entry.links,
        )
    if reader.crc != header.served_crc:
        raise SnapshotError(where, "damaged: checksum of the served part does not match")
    return Served(resources, status, header.records, header.state_crc, file)


def read_state(served: Served, where: str) -> Iterator[bytes]:
    """The state lines after the served part, one at a time. SnapshotError comes at the end
    when their checksum does not match: a caller keeps what it decoded only once the
    iteration ended without one."""
    reader = _LineReader(served.file, where)
    for _ in range(served.records):
        yield reader.line()
    if reader.crc != served.state_crc:
        raise SnapshotError(where, "damaged: checksum of the state does not match")
    if served.file.read(1):
        raise SnapshotError(where, "damaged: bytes after the last record")


class _LineReader:
    def __init__(self, file: IO[bytes], where: str) -> None:
        self.file = file
        self.where = where
        self.crc = 0

    def line(self) -> bytes:
        data = self.file.readline(MAX_LINE)
        if not data.endswith(b"\n"):
            raise SnapshotError(self.where, "damaged: a line is cut short or too long")
        self.crc = zlib.crc32(data, self.crc)
        return data[:-1]

    def exactly(self, count: int) -> bytes:
        data = self.file.read(count)
        if len(data) != count:
            raise SnapshotError(self.where, "damaged: the file ends early")
        self.crc = zlib.crc32(data, self.crc)
        return data


def _decode(data: bytes, kind: Any, where: str, what: str) -> Any:
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as e:
        raise SnapshotError(where, f"damaged: {what}: {e}") from e
    except msgspec.DecodeError as e:
        raise SnapshotError(where, f"damaged: {what} is not valid JSON") from e
