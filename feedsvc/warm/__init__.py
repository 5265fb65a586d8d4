"""Warm start: the snapshot kept on disk between runs (``server.cache_dir``).

After a build, what is served (every representation and its ETag) and what the next
rebuild needs to be incremental (feedsvc.warm.state) go to one file. On start, the service
serves that file's documents at once, then reads its sources and rebuilds only what changed
while it was stopped, as a live edit does. A snapshot is stamped with feedsvc's version (and
its code's and its compressors' versions) and a hash of the config: any other stamp, or a
damaged file, is ignored and said so in the log, and never served.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
from functools import cache
from pathlib import Path

import feedsvc
from feedsvc.config import Config

SNAPSHOT_FILE = "snapshot.bin"

# Libraries whose output the snapshot stores: a new version may render or compress other bytes.
_LIBRARIES = ("Brotli", "lxml", "feedgen", "cmarkgfm", "nh3", "msgspec", "py3langid")


def snapshot_file(config: Config) -> Path | None:
    """Where ``config``'s snapshot lives; None when ``server.cache_dir`` is empty (off)."""
    folder = config.server.cache_dir
    return Path(folder) / SNAPSHOT_FILE if folder else None


@cache
def code_version() -> str:
    """feedsvc's version, a hash of its code, and its renderers' and compressors' versions:
    a snapshot made by other code is never served, even before a version number moves."""
    digest = hashlib.sha256()
    package = Path(feedsvc.__file__).parent
    for file in sorted(package.rglob("*.py")):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    libraries = []
    for name in _LIBRARIES:
        try:
            libraries.append(f"{name}-{importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            libraries.append(f"{name}-?")
    return f"{feedsvc.__version__}+{digest.hexdigest()[:16]} {' '.join(libraries)}"


def config_hash(config: Config) -> str:
    """A hash of every config value that can change what is served, and of the working folder
    that the paths in problem reports are relative to (the config's reprs are plain values,
    the same in every run). Where the server listens counts only through the public URL it
    makes, and the spelling of the config file's path not at all, so `feedsvc build` and
    `feedsvc serve --port …` share a snapshot whenever they would serve the same bytes."""
    listening = dataclasses.replace(
        config.server, host="", port=1, log_level="info", access_log=False
    )
    served = dataclasses.replace(config, server=listening, file="")
    text = f"{served!r}\0{config.public_url}\0{os.getcwd()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
