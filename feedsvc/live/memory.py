"""Giving memory freed by a rebuild back to the system.

A rebuild allocates in its own thread, and glibc serves each thread from its own arena; what
a large post's Markdown, HTML and feeds took is freed when the post goes, but stays in the
arena, counted in the process's resident size (a 5 MB post added and deleted left the
server 200 MB larger, though nothing held it). glibc's ``malloc_trim(0)`` returns the free
pages of every arena to the system; it takes well under a millisecond. Elsewhere (musl,
macOS) there is no such call, and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


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
