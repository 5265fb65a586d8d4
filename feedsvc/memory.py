"""The process's heap: the cyclic garbage collector kept off the start-up build, and memory
freed by a rebuild or a build worker's chunk given back to the system.

A rebuild allocates in its own thread, and glibc serves each thread from its own arena; what
a large post's Markdown, HTML and feeds took is freed when the post goes, but stays in the
arena, counted in the process's resident size (a 5 MB post added and deleted left the
server 200 MB larger, though nothing held it); a build worker's chunk frees each feed's
buffers among the fragments it keeps, which pin the heap around them. glibc's
``malloc_trim(0)`` returns the free pages of every arena to the system; it takes well
under a millisecond. Elsewhere (musl, macOS) there is no such call, and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the start-up build, which nothing runs beside,
    and what it made frozen (``gc.freeze``) after it.

    The build makes objects that live on and hold no cycles: RawPosts, Posts, feeds and
    resources, about two million for the 10,000-post bench site, of which a cold build
    leaves fewer than 600 (imports' leftovers) as cyclic garbage. Their count alone set off
    hundreds of collections in `feedsvc build`'s parent, two over the whole heap among them
    (0.13-0.18 s in all, with a core idle); were they only deferred, the first collections
    after it would walk them all at once. Frozen, no collection walks them (as the
    service's heap after start-up, ``Publisher.start``); refcounting still frees each when
    it is let go. (``parallel_map`` unfreezes when its workers are done; the build's end
    freezes again.)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Return the memory malloc holds free to the system, where the C library can."""
    if _TRIM is not None:
        _TRIM(0)
