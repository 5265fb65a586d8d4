"""The Publisher's extension point: what each rebuild changed, told to whoever listens.

After each rebuild that swaps in a new snapshot (not the start-up build), on the event
loop, every listener is called in the order added with a ``Rebuilt``. A listener must
return at once, starting a task for slow work (WebSub deliveries, writing to disk); one
that raises is logged and neither undoes the swap nor keeps the others from being called.
Listeners are added in the composition root (feedsvc/service.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from feedsvc.store import Snapshot, changed_paths

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """One rebuild's swap, as listeners see it.

    ``changed`` are the served paths (``/lang/es.atom``, ``/``) whose bytes changed or that
    are new, ``removed`` those no longer served; both sorted, and both empty when the
    rebuild re-rendered feeds to the same bytes.
    """

    snapshot: Snapshot  # served from now on
    previous: Snapshot  # served until now
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    trigger: str  # what asked for the rebuild: "watch", "webhook", "partners+reload"…


RebuildListener = Callable[[Rebuilt], None]


class RebuildListeners:
    def __init__(self) -> None:
        self._listeners: list[RebuildListener] = []

    def add(self, listener: RebuildListener) -> None:
        self._listeners.append(listener)

    def tell(self, previous: Snapshot, snapshot: Snapshot, trigger: str) -> None:
        """Call every listener with what changed from ``previous`` to ``snapshot``."""
        if not self._listeners:
            return
        changed, removed = changed_paths(previous, snapshot)
        rebuilt = Rebuilt(snapshot, previous, changed, removed, trigger)
        for listener in self._listeners:
            try:
                listener(rebuilt)
            except Exception:
                log.exception("rebuild listener %r failed", listener)
