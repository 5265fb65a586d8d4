"""Renderers: one module per output format, each a pure function Feed → bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from feedsvc.config import FeedsConfig, SiteConfig
from feedsvc.model import Feed


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What every renderer needs besides the feed itself."""

    site: SiteConfig
    feeds: FeedsConfig
    public_url: str  # where the feeds are served, ends with "/"
    formats: tuple[str, ...]  # formats published, for alternate links
    hubs: tuple[str, ...] = ()  # WebSub hubs every feed names (W3C WebSub §4)


# The format modules import RenderContext for type hints only, so importing them after
# it is defined is safe, and `from feedsvc.render import RENDERERS` gives everything.
from feedsvc.render.atom import render_atom  # noqa: E402
from feedsvc.render.common import FragmentCache  # noqa: E402
from feedsvc.render.jsonfeed import render_json  # noqa: E402
from feedsvc.render.rss import render_rss  # noqa: E402


class FeedRenderer(Protocol):
    """``render(feed, ctx)`` → the document's bytes. Rendering many feeds, pass one
    ``cache=FragmentCache(ctx)`` to all of them: each post's entry is then built once
    per format instead of once per feed (same bytes either way)."""

    def __call__(
        self, feed: Feed, ctx: RenderContext, *, cache: FragmentCache | None = None
    ) -> bytes: ...


# One renderer per feed format (config.FORMATS), keyed like urls.FORMAT_SUFFIX.
RENDERERS: dict[str, FeedRenderer] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json,
}

__all__ = [
    "RENDERERS",
    "FeedRenderer",
    "FragmentCache",
    "RenderContext",
    "render_atom",
    "render_json",
    "render_rss",
]
