"""The web layer: a thin edge serving the rendered snapshot
(docs/urls.md "HTTP behaviour of `feedsvc serve`")."""

from __future__ import annotations

from feedsvc.web.app import SNAPSHOT_REF, create_app

__all__ = ["SNAPSHOT_REF", "create_app"]
