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
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from feedsvc.store import Resource

INDEX_FILE = "index.html"


def write_tree(resources: Mapping[str, Resource], out: Path, now: datetime) -> None:
    """Write every resource under a temporary folder beside ``out``, then swap it in;
    ``now`` is the latest modification time a file gets."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for url_path in sorted(resources):
            _write_resource(staging, url_path, resources[url_path], now)
        os.chmod(staging, 0o755)
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_resource(root: Path, url_path: str, resource: Resource, now: datetime) -> None:
    relative = url_path.lstrip("/") or INDEX_FILE
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix, representation in (
        ("", resource.identity),
        (".gz", resource.gzip),
        (".br", resource.br),
    ):
        path = target.with_name(target.name + suffix)
        path.write_bytes(representation.body)
        if resource.last_modified is not None:
            stamp = min(resource.last_modified, now).timestamp()
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
