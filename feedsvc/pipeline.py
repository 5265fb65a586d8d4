"""The pipeline, end to end: sources → normalize → feeds → render → store.

Reading sources is the only I/O here; everything after it is a pure function of
the posts and the config, which is what makes the output byte-identical across
processes and replicas (SPEC §7 "Determinism").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.errors import SourceError
from feedsvc.feeds import build_feeds, newest_update
from feedsvc.model import Feed, Post, Problem
from feedsvc.normalize import normalize_posts
from feedsvc.parallel import parallel_map
from feedsvc.render import RENDERERS, FragmentCache, RenderContext
from feedsvc.render.html import render_index
from feedsvc.render.opml import render_opml
from feedsvc.sources import read_source
from feedsvc.store import Encoded, Resource, Snapshot, encode, resource_from
from feedsvc.urls import MEDIA_TYPES, feed_path


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Every post that will be published, and every problem met on the way."""

    posts: tuple[Post, ...]
    problems: tuple[Problem, ...]
    drafts: int
    sources: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Document:
    """One served document, rendered and encoded: what a render worker sends back."""

    path: str
    content_type: str
    last_modified: datetime | None
    cors: bool
    encoded: Encoded


def load_posts(config: Config, workers: int | None = None) -> LoadResult:
    """Read every source and normalize its posts; a bad post or source is a Problem.

    ``workers`` processes normalize (default: one per core; 1 keeps it in-process).
    """
    raws = []
    problems: list[Problem] = []
    sources = []
    for source in config.sources:
        try:
            result = read_source(source)
        except SourceError as e:
            problems.append(Problem(source.path or source.url, 0, e.message))
            sources.append({"name": source.name, "type": source.type, "error": e.message})
            continue
        raws.extend(result.posts)
        problems.extend(result.problems)
        sources.append(
            {"name": source.name, "type": source.type, "posts": len(result.posts), "error": None}
        )
    normalized = normalize_posts(
        raws, config, mapper=lambda func, items: parallel_map(func, items, workers)
    )
    return LoadResult(
        posts=normalized.posts,
        problems=(*problems, *normalized.problems),
        drafts=normalized.drafts,
        sources=tuple(sources),
    )


def render_documents(
    feeds: Sequence[Feed], config: Config, workers: int | None = None
) -> list[Document]:
    """Every feed in every configured format, plus the index page and the OPML, encoded.

    Feeds render and compress in ``workers`` processes (default: one per core).
    """
    ctx = RenderContext(
        site=config.site,
        feeds=config.feeds,
        public_url=config.public_url,
        formats=config.feeds.formats,
    )
    # A post sits in up to five feeds (site, category, language, both, archive): its
    # entry is rendered once per format (per worker) and spliced into each.
    cache = FragmentCache(ctx)
    jobs = [(index, fmt) for index in range(len(feeds)) for fmt in config.feeds.formats]
    render = partial(_render_feed, feeds=feeds, ctx=ctx, cache=cache)
    documents = parallel_map(render, jobs, workers)
    site_updated = newest_update(p for feed in feeds for p in feed.posts)
    documents.append(
        Document(
            "/", "text/html; charset=utf-8", site_updated, False, encode(render_index(feeds, ctx))
        )
    )
    documents.append(
        Document(
            "/feeds.opml",
            "text/x-opml; charset=utf-8",
            site_updated,
            True,
            encode(render_opml(feeds, ctx)),
        )
    )
    return documents


def _render_feed(
    job: tuple[int, str], feeds: Sequence[Feed], ctx: RenderContext, cache: FragmentCache
) -> Document:
    index, fmt = job
    feed = feeds[index]
    body = RENDERERS[fmt](feed, ctx, cache=cache)
    content_type = f"{MEDIA_TYPES[fmt]}; charset=utf-8"
    return Document(feed_path(feed.path, fmt), content_type, feed.updated, True, encode(body))


def status_of(loaded: LoadResult, feeds: Sequence[Feed], built_at: datetime) -> dict[str, Any]:
    """The JSON served at /status."""
    return {
        "posts": len(loaded.posts),
        "drafts": loaded.drafts,
        "feeds": len(feeds),
        "built_at": built_at.isoformat(),
        "skipped": [
            {"path": p.path, "line": p.line, "message": p.message, "severity": p.severity.value}
            for p in loaded.problems
        ],
        "sources": list(loaded.sources),
    }


def build_snapshot(
    config: Config, clock: Clock = system_clock, workers: int | None = None
) -> Snapshot:
    """Load, normalize, group, render and compress everything served."""
    loaded = load_posts(config, workers)
    feeds = build_feeds(loaded.posts, config)
    max_age = config.feeds.max_age
    resources: dict[str, Resource] = {
        d.path: resource_from(d.encoded, d.content_type, d.last_modified, max_age, d.cors)
        for d in render_documents(feeds, config, workers)
    }
    return Snapshot(resources=resources, status=status_of(loaded, feeds, clock()))
