"""Injected time: anything that needs "now" takes a Clock, so tests never sleep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real clock, always timezone-aware UTC."""
    return datetime.now(UTC)
