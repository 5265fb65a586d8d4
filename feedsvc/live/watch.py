"""Watching local sources: a saved, added, renamed or deleted file asks for a rebuild.

inotify (through watchfiles) where the system has it, polling where it does not (some
containers, network file systems, an exhausted inotify watch limit). The watcher only says
"something changed": the source reader then walks the folder and re-reads what changed, so
an event missed or doubled costs nothing but a walk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from typing import Any

from watchfiles import Change, DefaultFilter, awatch

log = logging.getLogger(__name__)
# watchfiles logs every batch of changes at info; the rebuild that follows says more.
logging.getLogger("watchfiles.main").setLevel(logging.WARNING)

# A burst of changes ends after STEP_MS without one (an editor saves with a few quick
# operations: write a temporary file, rename it over the post), or after DEBOUNCE_MS at
# most (a `git pull` touching hundreds of posts is one rebuild, not hundreds).
STEP_MS = 50
DEBOUNCE_MS = 1000
# Polling, where inotify is unavailable: a walk of the folder this often.
POLL_MS = 300
# How often the watcher checks that the watched folder is still the one it watches. inotify
# follows a folder's inode: a folder deleted and made again, or swapped for another by a
# deploy (`mv new posts`), needs a new watch.
CHECK_S = 1.0

# Every mode a watcher can be in, as /status shows it.
WATCHING_INOTIFY = "inotify"
WATCHING_POLLING = "polling"
WAITING = "waiting for the folder to exist"


class Watcher:
    """Watches ``folder`` (recursively) and calls ``on_change`` after each burst of changes.

    ``only``: a file in ``folder``; changes to other files are ignored (a json or feed source
    read from a file watches the file's folder, as editors replace a file by renaming).
    ``polling``: poll from the start instead of trying inotify.
    """

    def __init__(
        self,
        folder: str,
        on_change: Callable[[], Any],
        *,
        only: str | None = None,
        polling: bool = False,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.folder = folder
        self._on_change = on_change
        self._only = only
        self._polling = polling
        self._sleep = sleep
        self._default_filter = DefaultFilter()
        self.mode = WATCHING_POLLING if polling else WATCHING_INOTIFY

    async def run(self) -> None:
        """Watch until cancelled."""
        while True:
            identity = _identity(self.folder)
            if identity is None:
                self.mode = WAITING
                await self._sleep(CHECK_S)
                continue
            self.mode = WATCHING_POLLING if self._polling else WATCHING_INOTIFY
            try:
                await self._watch(identity)
            except FileNotFoundError:
                await self._sleep(CHECK_S)  # gone before the watch started: wait for it
                continue
            except (OSError, RuntimeError) as e:
                if self._polling:
                    log.error("cannot watch %s: %s; trying again", self.folder, e)
                    await self._sleep(CHECK_S)
                    continue
                log.warning(
                    "cannot watch %s with inotify (%s); polling it every %d ms instead",
                    self.folder,
                    e,
                    POLL_MS,
                )
                self._polling = True

    async def _watch(self, identity: tuple[int, int]) -> None:
        """One watch of the folder as it is now; returns when the path names another folder
        (or none)."""
        caught_up = False
        async for changes in awatch(
            self.folder,
            watch_filter=self._wanted,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            rust_timeout=int(CHECK_S * 1000),
            yield_on_timeout=True,
            force_polling=self._polling,
            poll_delay_ms=POLL_MS,
            recursive=self._only is None,
            ignore_permission_denied=True,
        ):
            # The first round (changes, or CHECK_S without any) comes once the watch is in
            # place: one read then catches what changed since the last read and before the
            # watch began (at start-up, or while the folder was away).
            if changes or not caught_up:
                caught_up = True
                self._on_change()
            if _identity(self.folder) != identity:
                return

    def _wanted(self, change: Change, path: str) -> bool:
        if self._only is not None:
            return path == self._only
        # Editor swap and backup files, .git and the like: never posts.
        return self._default_filter(change, path)


def _identity(folder: str) -> tuple[int, int] | None:
    """(device, inode) of the folder at ``folder`` now, or None when there is none."""
    try:
        found = os.stat(folder)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISDIR(found.st_mode) else None
