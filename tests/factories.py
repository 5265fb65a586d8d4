"""Builders for model objects in tests: sensible defaults, override what a test is about.

    post = make_post(title="Hello", categories=(cat("Labor Trafficking"),))
    feed = make_feed([post], kind=FeedKind.CATEGORY, path="category/labor-trafficking")
    ctx = make_ctx(content="summary")

Everything is fixed (dates, URLs, ids), so output built from these is the same in
every run; golden files depend on that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from feedsvc.config import FeedsConfig, SiteConfig
from feedsvc.model import Author, Category, Feed, FeedKind, Image, Origin, Post, Translation
from feedsvc.render import RenderContext
from feedsvc.status import BuildStatus, SourceStatus

SITE_URL = "https://example.org/"
PUBLIC_URL = "https://feeds.example.org/"
AUTHORITY = "example.org,2014"


def dt(text: str) -> datetime:
    """An aware UTC datetime from "2022-09-01T10:00:00" (or a date)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def slugify(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def cat(label: str) -> Category:
    return Category(label=label, slug=slugify(label))


def make_site(**overrides: Any) -> SiteConfig:
    values: dict[str, Any] = {
        "title": "Freedom Network Blog",
        "url": SITE_URL,
        "id_authority": AUTHORITY,
        "description": "News and analysis from the Freedom Network.",
        "language": "en",
        "timezone": ZoneInfo("America/New_York"),
        "author": "Freedom Network",
        "author_email": "",
        "icon": "https://example.org/icon.png",
        "logo": "",
    }
    values.update(overrides)
    return SiteConfig(**values)


def make_ctx(
    *,
    content: str = "full",
    formats: tuple[str, ...] = ("atom", "rss", "json"),
    public_url: str = PUBLIC_URL,
    site: SiteConfig | None = None,
    **feeds: Any,
) -> RenderContext:
    return RenderContext(
        site=site or make_site(),
        feeds=FeedsConfig(content=content, formats=formats, **feeds),  # type: ignore[arg-type]
        public_url=public_url,
        formats=formats,
    )


def make_post(n: int = 1, **overrides: Any) -> Post:
    """Post number ``n``: published on day ``n`` of May 2022 (higher is newer)."""
    slug = overrides.pop("slug", f"post-{n}")
    lang = overrides.get("lang", "en")
    values: dict[str, Any] = {
        "id": f"tag:{AUTHORITY}:posts/{slug}",
        "url": f"{SITE_URL}{lang}/blog/{slug}/",
        "title": f"Post number {n}",
        "published": dt(f"2022-05-{n:02d}T14:30:00"),
        "updated": dt(f"2022-05-{n:02d}T16:00:00"),
        "lang": lang,
        "summary": f"Summary of post {n}.",
        "content_html": f'<p>Body of post {n}, with <a href="{SITE_URL}a">a link</a>.</p>',
    }
    values.update(overrides)
    return Post(**values)


def make_feed(
    posts: Sequence[Post],
    *,
    kind: FeedKind = FeedKind.SITE,
    path: str = "feed",
    **overrides: Any,
) -> Feed:
    """A feed holding ``posts`` in the given order; updated = the newest post's updated."""
    values: dict[str, Any] = {
        "kind": kind,
        "path": path,
        "title": "Freedom Network Blog",
        "description": "News and analysis from the Freedom Network.",
        "html_url": SITE_URL + "blog/",
        "lang": None,
        "posts": tuple(posts),
        "updated": max((p.updated for p in posts), default=dt("2022-01-01T00:00:00")),
    }
    values.update(overrides)
    return Feed(**values)


def sample_posts() -> list[Post]:
    """Three posts, newest first: an English post with categories, an image of known
    size and a Spanish translation; that translation (image of unknown size); and an
    older post by two authors, one with an email, with no image."""
    en_url = f"{SITE_URL}en/blog/survivors-lead/"
    es_url = f"{SITE_URL}es/blog/sobrevivientes-lideran/"
    english = make_post(
        3,
        slug="survivors-lead",
        title="Survivors lead the way & <others> follow",
        url=en_url,
        summary="How survivor leaders are reshaping the response to trafficking.",
        content_html=(
            "<p>Survivor leaders <em>reshape</em> the response.</p>"
            f'<p><img src="{SITE_URL}img/lead.jpg" alt="A meeting"></p>'
        ),
        categories=(cat("Centering Survivors"), cat("Labor Trafficking")),
        authors=(Author("Ana Ruiz", url="https://example.org/people/ana/"),),
        image=Image(
            url=f"{SITE_URL}img/lead.jpg",
            mime_type="image/jpeg",
            length=48213,
            width=1200,
            height=630,
            alt="Survivor leaders at a meeting",
        ),
        translation_key="survivors-lead",
        translations=(Translation("es", es_url, "Las sobrevivientes lideran el camino"),),
    )
    spanish = make_post(
        2,
        slug="sobrevivientes-lideran",
        lang="es",
        title="Las sobrevivientes lideran el camino",
        url=es_url,
        summary="Cómo las líderes sobrevivientes transforman la respuesta a la trata.",
        content_html="<p>Las líderes sobrevivientes <em>transforman</em> la respuesta.</p>",
        categories=(cat("Centering Survivors"),),
        authors=(Author("Ana Ruiz", url="https://example.org/people/ana/"),),
        image=Image(url=f"{SITE_URL}img/lead-es.png"),
        translation_key="survivors-lead",
        translations=(Translation("en", en_url, "Survivors lead the way & <others> follow"),),
    )
    older = make_post(
        1,
        slug="hotline-report",
        title="Hotline report 2021",
        authors=(Author("Sam Lee", email="sam@example.org"), Author("Kim Park")),
        categories=(cat("Trafficking Hotline"),),
    )
    return [english, spanish, older]


def sample_feed(**overrides: Any) -> Feed:
    return make_feed(sample_posts(), **overrides)


def bench_feed(entries: int = 20, body_kb: int = 5) -> Feed:
    """A feed of ``entries`` full posts with ``body_kb`` KB HTML bodies, for timing:

    python -m timeit -s "import sys; sys.path.insert(0, 'tests')
    from factories import bench_feed, make_ctx; from feedsvc.render import render_atom
    feed, ctx = bench_feed(), make_ctx()" "render_atom(feed, ctx)"
    """
    paragraph = (
        "<p>Survivor leaders <em>reshape</em> the response to trafficking &amp; exploitation, "
        f'with <a href="{SITE_URL}reports/">reports</a> and data from the hotline.</p>\n'
    )
    body = paragraph * (body_kb * 1024 // len(paragraph))
    posts = [
        make_post(
            (i % 28) + 1,
            slug=f"bench-{i}",
            title=f"Benchmark post {i}: survivors, data & policy",
            content_html=body,
            categories=(cat("Labor Trafficking"), cat("Public Policy"), cat("Data and Research")),
            authors=(Author("Ana Ruiz", url="https://example.org/people/ana/"),),
            image=Image(url=f"{SITE_URL}img/{i}.jpg", mime_type="image/jpeg", length=48213),
            translations=(Translation("es", f"{SITE_URL}es/blog/bench-{i}/", f"Entrada {i}"),),
        )
        for i in range(entries)
    ]
    return make_feed(posts)


def aggregated(post: Post) -> Post:
    """``post`` as if merged in from a partner's feed."""
    return replace(
        post,
        origin=Origin(
            name="partner-one",
            title="Partner One News",
            feed_url="https://partner.example.net/feed.xml",
            home_url="https://partner.example.net/",
        ),
    )


def make_build_status(**overrides: Any) -> BuildStatus:
    """A build's /status: three posts from one source, nothing skipped."""
    fields: dict[str, Any] = {
        "posts": 3,
        "drafts": 0,
        "scheduled": (),
        "feeds": 1,
        "built_at": dt("2024-01-01T12:00:00"),
        "skipped": (),
        "sources": (SourceStatus("posts", "folder", 3, dt("2024-01-01T12:00:00"), None),),
        "languages": None,
    }
    return BuildStatus(**{**fields, **overrides})
