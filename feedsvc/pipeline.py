"""The pipeline, end to end: sources → normalize → feeds → render → store.

Reading sources is the only I/O here; everything after it is a pure function of
the posts and the config, which is what makes the output byte-identical across
processes and replicas (docs/architecture.md "Determinism").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config, SourceConfig
from feedsvc.errors import SourceError
from feedsvc.feeds import EPOCH, build_feeds, build_partner_feeds
from feedsvc.model import Feed, Post, Problem, RawPost, newest_first
from feedsvc.normalize import normalize_posts
from feedsvc.normalize.cache import NormalizeCache
from feedsvc.normalize.language import with_known_languages
from feedsvc.parallel import default_workers, parallel_map
from feedsvc.render import RENDERERS, FragmentCache, RenderContext
from feedsvc.render.common import self_url
from feedsvc.render.embed import EMBED_ASSETS, embed_asset, load_locales
from feedsvc.render.html import render_index
from feedsvc.render.opml import render_opml
from feedsvc.render_plan import RenderJob, render_plan
from feedsvc.sources import (
    Reader,
    SourceResult,
    is_remote,
    read_remote_source,
    read_source,
    source_fetcher,
)
from feedsvc.status import BuildStatus, LanguageStatus, ScheduledPost, SourceStatus
from feedsvc.store import Caching, Encoded, Resource, Snapshot, encode, resource_from
from feedsvc.urls import MEDIA_TYPES, discovery_links, feed_path

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Every post that will be published, and every problem met on the way."""

    posts: tuple[Post, ...]
    problems: tuple[Problem, ...]
    drafts: int
    sources: tuple[SourceStatus, ...]
    # Posts dated after the build's time, oldest first: published when their date comes.
    scheduled: tuple[Post, ...] = ()
    # site.detect_language's candidates in effect; None: detection is off.
    language_candidates: tuple[str, ...] | None = None

    def next_due(self) -> datetime | None:
        """When the first scheduled post is due, if any is."""
        return self.scheduled[0].published if self.scheduled else None


def hold_scheduled(loaded: LoadResult, now: datetime) -> LoadResult:
    """``loaded`` with the posts dated after ``now`` moved to ``scheduled``: a post dated in
    the future is a scheduled post, as in WordPress and Hugo (which leaves out future posts
    by default), and appears when its date comes, not before."""
    everything = (*loaded.posts, *loaded.scheduled)
    later = [post for post in everything if post.published > now]
    if not later and not loaded.scheduled:
        return loaded  # nearly every build: nothing dated in the future
    due = newest_first(post for post in everything if post.published <= now)
    # Oldest first: the first is the next due.
    return replace(loaded, posts=tuple(due), scheduled=tuple(reversed(newest_first(later))))


@dataclass(frozen=True, slots=True)
class Document:
    """One served document, rendered and encoded: what a render worker sends back."""

    path: str
    content_type: str
    last_modified: datetime | None
    cors: bool
    encoded: Encoded
    links: tuple[str, ...] = ()  # Link header values (WebSub discovery)


@dataclass(frozen=True, slots=True)
class SourceState:
    """One source's last good read, and its last error (None when the last read worked).

    A source that fails keeps its last good posts (docs/architecture.md "Last good wins").
    """

    name: str
    type: str
    result: SourceResult | None
    error: str | None = None
    last_success: datetime | None = None

    def status(self) -> SourceStatus:
        posts = len(self.result.posts) if self.result else 0
        return SourceStatus(self.name, self.type, posts, self.last_success, self.error)


async def read_sources(
    config: Config,
    previous: Mapping[str, SourceState] | None = None,
    *,
    only: Collection[str] | None = None,
    clock: Clock = system_clock,
    read_local: Reader = read_source,
) -> dict[str, SourceState]:
    """Read every source (or those named in ``only``), concurrently; remote ones through
    the one Fetcher and conditionally against their previous result. ``read_local`` reads
    a local source in a thread (a running service passes one that remembers files)."""
    previous = previous or {}
    wanted = [s for s in config.sources if only is None or s.name in only]
    needs_fetcher = any(is_remote(s) for s in wanted)
    async with contextlib.AsyncExitStack() as stack:
        fetcher = None
        if needs_fetcher:
            fetcher = await stack.enter_async_context(source_fetcher(config))

        async def read(source: SourceConfig) -> SourceState:
            old = previous.get(source.name)
            last = old.result if old else None
            try:
                if is_remote(source):
                    assert fetcher is not None
                    result = await read_remote_source(source, fetcher, last)
                else:
                    result = await asyncio.to_thread(read_local, source, config.posts)
            except SourceError as e:
                return SourceState(
                    source.name, source.type, last, e.message, old.last_success if old else None
                )
            return SourceState(source.name, source.type, result, None, clock())

        fresh = await asyncio.gather(*(read(source) for source in wanted))
    states = {state.name: state for state in fresh}
    return {
        s.name: states.get(s.name) or previous.get(s.name) or SourceState(s.name, s.type, None)
        for s in config.sources
    }


def normalize_sources(
    states: Mapping[str, SourceState],
    config: Config,
    workers: int | None = None,
    cache: NormalizeCache | None = None,
) -> LoadResult:
    """Normalize every source's last good posts; a bad post or a failing source is a
    Problem. ``workers`` processes normalize (default: one per core; 1: in-process), unless
    ``cache`` (a running service's NormalizeCache, with its own workers) is given."""
    raws: list[RawPost] = []
    problems: list[Problem] = []
    for source in config.sources:
        state = states[source.name]
        if state.error is not None:
            problems.append(Problem(source.path or source.url, 0, state.error))
        if state.result is not None:
            raws.extend(state.result.posts)
            problems.extend(state.result.problems)
    # Detection's default candidates are the languages the posts carry: known only now, and
    # part of the config the cache is keyed on, so a new language re-detects every post.
    config = with_known_languages(config, raws)
    # Without a cache, a fresh one: every post is a miss, normalized by ``workers``
    # processes, with the language model read first when detection is on (one path).
    mapper = (cache if cache is not None else NormalizeCache(workers)).mapper(config)
    normalized = normalize_posts(raws, config, mapper=mapper)
    site = config.site
    return LoadResult(
        posts=normalized.posts,
        problems=(*problems, *normalized.problems),
        drafts=normalized.drafts,
        sources=tuple(states[s.name].status() for s in config.sources),
        language_candidates=site.detect_languages if site.detect_language else None,
    )


def load_posts(config: Config, now: datetime, workers: int | None = None) -> LoadResult:
    """Read every source and normalize its posts, those dated after ``now`` held back as
    scheduled: the synchronous entry point."""
    loaded = normalize_sources(run_sync(read_sources(config)), config, workers)
    return hold_scheduled(loaded, now)


def run_sync(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to the end from synchronous code, even under a running loop
    (then in a thread of its own, as one loop per thread is all asyncio allows)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coroutine).result()
    results: list[_T] = []

    async def keep_result() -> None:
        results.append(await coroutine)

    # The main task returns None, not the result: on the main thread, Python 3.11's
    # asyncio.run puts its task in a SIGINT handler, and restoring the handler formats the
    # repr of that handler, hence of the task and its result (signal._int_to_enum's failed
    # enum lookup): 0.5 s for the source states of a 10,000-post site.
    asyncio.run(keep_result())
    return results[0]


def render_context(config: Config) -> RenderContext:
    return RenderContext(
        site=config.site,
        feeds=config.feeds,
        public_url=config.public_url,
        formats=config.feeds.formats,
        hubs=config.hub_urls,
    )


# Told of each document as it is rendered, with its identity bytes, in the process that
# rendered it (a forked worker, most often): `feedsvc build` writes the files there, from
# the bytes at hand, while the other worker renders (export.Tree.write_rendered).
OnRendered = Callable[[Document, bytes], None]


def render_documents(
    feeds: Sequence[Feed],
    config: Config,
    workers: int | None = None,
    on_rendered: OnRendered | None = None,
) -> list[Document]:
    """Every given feed in every configured format, encoded, in ``workers`` processes."""
    ctx = render_context(config)
    if on_rendered is not None and "json" in config.feeds.formats:
        # `feedsvc build`'s writer (export.Tree.write_rendered) makes each JSON Feed's embed
        # fragment in the worker that rendered it, writing dates in its items' languages:
        # read once here, before the workers fork, not once per worker. A running service
        # makes fragments on request, and a rebuild need not wait for them (0.18 s).
        load_locales({config.site.language, *(p.lang for feed in feeds for p in feed.posts)})
    plan = render_plan(feeds, config.feeds.formats, workers or default_workers())
    # A post sits in up to five feeds (site, category, language, both, archive): its
    # entry is rendered once per format (per chunk of jobs) and spliced into each.
    cache = FragmentCache(ctx, plan.kept)
    jobs = [job for chunk in plan.chunks for job in chunk]
    render = partial(_render_feed, feeds=feeds, ctx=ctx, cache=cache, on_rendered=on_rendered)
    documents = parallel_map(render, jobs, workers, [len(chunk) for chunk in plan.chunks])
    # In the order of the feeds, each in the order of the formats, whatever the chunks.
    order = {fmt: position for position, fmt in enumerate(config.feeds.formats)}
    ranked = sorted(zip(jobs, documents, strict=True), key=lambda d: (d[0][0], order[d[0][1]]))
    return [document for _, document in ranked]


PAGE_PATHS = ("/", "/feeds.opml", *(path for path, _, _ in EMBED_ASSETS))


def render_pages(
    feeds: Sequence[Feed], config: Config, on_rendered: OnRendered | None = None
) -> list[Document]:
    """The index page and the OPML, which list every feed, and the embed component's
    files (the index page's previews use them; `feedsvc build` writes them too)."""
    ctx = render_context(config)
    site_updated = max((feed.updated for feed in feeds), default=EPOCH)
    pages = [
        ("/", "text/html; charset=utf-8", False, render_index(feeds, ctx)),
        ("/feeds.opml", "text/x-opml; charset=utf-8", True, render_opml(feeds, ctx)),
        # Dated like the pages: `feedsvc build` sets every file's mtime from it, so every
        # replica's nginx sends the same Last-Modified (docs/urls.md "mtime").
        *(
            (path, content_type, True, embed_asset(name))
            for path, content_type, name in EMBED_ASSETS
        ),
    ]
    documents = []
    for path, content_type, cors, body in pages:
        document = Document(path, content_type, site_updated, cors, encode(body))
        if on_rendered is not None:
            on_rendered(document, body)
        documents.append(document)
    return documents


def _render_feed(
    job: RenderJob,
    feeds: Sequence[Feed],
    ctx: RenderContext,
    cache: FragmentCache,
    on_rendered: OnRendered | None,
) -> Document:
    index, fmt, cached = job
    feed = feeds[index]
    if not cached and len(cache):
        # The worker has moved on to archives that share no post (render_plan): what the
        # cache holds would be asked for again only by a format's subscription chunk, done
        # by now in this worker. Let go (and given back after the chunk, parallel.py), it
        # is ~30 MB less in that worker on the bench site.
        cache.clear()
    body = RENDERERS[fmt](feed, ctx, cache=cache if cached else None)
    content_type = f"{MEDIA_TYPES[fmt]}; charset=utf-8"
    links = discovery_links(ctx.hubs, self_url(ctx, feed, fmt))
    path = feed_path(feed.path, fmt)
    # Compression where it pays: gzip now, as every client takes it; br on the first
    # request that asks for it (store.LazyBrotli: ~0.8 ms for a subscription feed of the
    # bench site, once per feed and rebuild, the same bytes and ETag). Made ahead, the br
    # codings of subscription feeds took the start-up build 1.1 s of CPU and 35 MB; an
    # archive's had been lazy from the start. `feedsvc build`'s writer makes every one for
    # the .br files (export.Tree.write_rendered).
    encoded = encode(body, br_ahead=False)
    document = Document(path, content_type, feed.updated, True, encoded, links)
    if on_rendered is not None:
        on_rendered(document, body)
    return document


def status_of(loaded: LoadResult, feeds: Sequence[Feed], built_at: datetime) -> BuildStatus:
    """What /status says of one build."""
    return BuildStatus(
        posts=len(loaded.posts),
        drafts=loaded.drafts,
        scheduled=tuple(
            ScheduledPost(post.source_path, post.id, post.title, post.published)
            for post in loaded.scheduled
        ),
        feeds=len(feeds),
        built_at=built_at,
        skipped=loaded.problems,
        sources=loaded.sources,
        languages=None
        if loaded.language_candidates is None
        else LanguageStatus.of(loaded.posts, loaded.language_candidates),
    )


@dataclass(frozen=True, slots=True)
class RenderedSite:
    """Every feed by path and every served resource, as one build left them."""

    feeds: Mapping[str, Feed]
    resources: Mapping[str, Resource]
    # Paths of the feeds this build rendered; the others kept their bytes and ETags.
    rerendered: tuple[str, ...]


def all_feeds(
    site_posts: Sequence[Post], config: Config, partner_posts: Sequence[Post] = ()
) -> tuple[Feed, ...]:
    """The site's feeds and, in aggregator mode, the partners' and the network's."""
    return build_feeds(site_posts, config, partner_posts) + build_partner_feeds(
        site_posts, partner_posts, config
    )


def render_site(
    feeds: Sequence[Feed],
    config: Config,
    previous: RenderedSite | None = None,
    workers: int | None = None,
    on_rendered: OnRendered | None = None,
) -> RenderedSite:
    """Render the feeds that differ from ``previous``; reuse the others' resources.
    ``on_rendered`` is told of every document rendered, in the process that rendered it.

    Feeds are frozen values, so "differs" is plain equality: a feed whose posts, title
    and links are all equal renders to the same bytes, so it keeps its bytes and ETag.
    """
    old = previous.feeds if previous is not None else {}
    changed = [feed for feed in feeds if old.get(feed.path) != feed]
    changed_paths = {feed.path for feed in changed}
    resources: dict[str, Resource] = {}
    if previous is not None:
        for feed in feeds:
            if feed.path not in changed_paths:
                for fmt in config.feeds.formats:
                    path = feed_path(feed.path, fmt)
                    resources[path] = previous.resources[path]
    documents = render_documents(changed, config, workers, on_rendered)
    if previous is not None and _listings(previous.feeds.values()) == _listings(feeds):
        # The index and the OPML list each feed's title, links, language and updated time,
        # not its posts: an edit to a post's body leaves them as they were.
        for path in PAGE_PATHS:
            resources[path] = previous.resources[path]
    else:
        documents += render_pages(feeds, config, on_rendered)
    caching = Caching(
        config.feeds.max_age,
        config.feeds.stale_while_revalidate,
        config.feeds.stale_if_error,
    )
    for d in documents:
        resources[d.path] = resource_from(
            d.encoded, d.content_type, d.last_modified, caching, d.cors, d.links
        )
    return RenderedSite(
        feeds={feed.path: feed for feed in feeds},
        resources=resources,
        rerendered=tuple(feed.path for feed in changed),
    )


def _listings(feeds: Iterable[Feed]) -> list[tuple[Any, ...]]:
    """What the index page and the OPML show of each feed (render/html.py, render/opml.py)."""
    return [(f.kind, f.path, f.title, f.description, f.html_url, f.lang, f.updated) for f in feeds]


def build_snapshot(
    config: Config, clock: Clock = system_clock, workers: int | None = None
) -> Snapshot:
    """Load, normalize, group, render and compress everything served (no partners)."""
    now = clock()
    loaded = load_posts(config, now, workers)
    feeds = all_feeds(loaded.posts, config)
    rendered = render_site(feeds, config, workers=workers)
    return Snapshot(resources=rendered.resources, status=status_of(loaded, feeds, now))
