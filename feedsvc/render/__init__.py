"""Renderers: one module per output format, each a pure function Feed → bytes."""

from __future__ import annotations

from dataclasses import dataclass

from feedsvc.config import FeedsConfig, SiteConfig


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What every renderer needs besides the feed itself."""

    site: SiteConfig
    feeds: FeedsConfig
    public_url: str  # where the feeds are served, ends with "/"
    formats: tuple[str, ...]  # formats published, for alternate links
