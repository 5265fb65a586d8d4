"""The web layer: a thin edge serving the rendered snapshot (SPEC §7)."""

from __future__ import annotations

from feedsvc.web.app import SNAPSHOT_REF, create_app

__all__ = ["SNAPSHOT_REF", "create_app"]
