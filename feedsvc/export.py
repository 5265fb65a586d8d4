"""`feedsvc build --out DIR`: every served document as files, swapped in atomically.

Each document gets `.gz` and `.br` siblings (nginx `gzip_static`, `brotli_static`)
and its modification time set to its feed's updated time, so nginx on every
replica derives the same Last-Modified and ETag (docs/architecture.md "Determinism"). An
updated time in the future (a post's `updated` date) is set to the build's time instead:
nginx sends the mtime as Last-Modified, which must never be later than the answer's Date
(RFC 9110 §8.8.2.1).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType

from feedsvc.pipeline import Document
from feedsvc.render.embed import (
    DEFAULT_LIMIT,
    default_fragments,
    fragment_path,
    render_feed_embed,
)
from feedsvc.store import Resource, brotli_bytes, encode

INDEX_FILE = "index.html"


class Tree:
    """The files of one build, written into a temporary folder beside ``out`` and swapped in
    whole by ``finish``; a tree not finished is removed on leaving the ``with`` block.

    The render workers write each document as they render it (``write_rendered``; the Tree
    is inherited by the forked workers, never pickled), from the bytes they hold, while the
    other worker renders: the parent then has only the documents no worker rendered to
    write (a warm build's kept ones). ``now`` is the latest modification time a file gets.
    """

    def __init__(self, out: Path, now: datetime) -> None:
        self.out = out.resolve()
        self.now = now
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))

    def __enter__(self) -> Tree:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)  # gone already once swapped in

    def write_rendered(self, document: Document, body: bytes) -> None:
        """Write a document just rendered (``body``: its identity bytes) and, for a JSON
        Feed, its embed fragment: the files ``finish`` would write for its Resource."""
        encoded = document.encoded
        # An archive's br is left to the first request when served (store.LazyBrotli); a
        # tree has every .br, made here from the identity bytes at hand (no inflating).
        br = encoded.br if encoded.br is not None else brotli_bytes(body)
        self._write(document.path, document.last_modified, (body, encoded.gzip, br))
        fragment = fragment_path(document.path, document.content_type)
        if fragment is not None:
            html = render_feed_embed(body, DEFAULT_LIMIT)
            coded = encode(html)
            assert coded.br is not None  # br_ahead
            self._write(fragment, document.last_modified, (html, coded.gzip, coded.br))

    def finish(self, resources: Mapping[str, Resource], written: Collection[str]) -> int:
        """Write every resource not in ``written`` (already written by ``write_rendered``)
        and the embed fragment of each such JSON Feed, then swap the tree in. Returns the
        number of documents in the tree."""
        kept = {path: resource for path, resource in resources.items() if path not in written}
        for url_path, resource in sorted({**kept, **default_fragments(kept)}.items()):
            bodies = (resource.identity.body, resource.gzip.body, resource.br.body)
            self._write(url_path, resource.last_modified, bodies)
        os.chmod(self.staging, 0o755)
        _swap_in(self.staging, self.out)
        fragments = sum(
            fragment_path(path, resource.content_type) is not None
            for path, resource in resources.items()
        )
        return len(resources) + fragments

    def _write(
        self, url_path: str, last_modified: datetime | None, bodies: tuple[bytes, bytes, bytes]
    ) -> None:
        """A document and its .gz and .br siblings, each dated ``last_modified``."""
        relative = url_path.lstrip("/") or INDEX_FILE
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        stamp = None if last_modified is None else min(last_modified, self.now).timestamp()
        for suffix, body in zip(("", ".gz", ".br"), bodies, strict=True):
            path = target.with_name(target.name + suffix)
            path.write_bytes(body)
            if stamp is not None:
                os.utime(path, (stamp, stamp))


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` so that a reader sees the old tree or the new one.

    A new ``out`` is one rename(2). An existing one is exchanged with
    renameat2(RENAME_EXCHANGE) on Linux, atomic like rename(2); elsewhere two
    renames leave a moment with no tree, which is the best POSIX offers.
    """
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging)  # now holds the old tree
        return
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux renameat2; False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0
