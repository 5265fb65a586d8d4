"""What a WordPress site without ``_embedded`` costs: the requests and the time of reading it,
and of reading it again (every answer a 304), side by side in the same run with the same site
answering with ``_embedded`` (no lookups).

    .venv/bin/python bench/wp_lookups.py [--posts 2000] [--media 150] [--reads 3]

The site is the fake WordPress of the tests (tests/wp_support.py) on 127.0.0.1, with ETags:
``--posts`` posts, each in 2 of 300 categories with 4 of 3,000 tags and one of ``--media``
featured images, so the terms take several pages and the images more than one read's cap
(MAX_ID_LOOKUPS). Each read is ``read_wordpress`` with the previous read's result, as a
running service refreshes a source.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from wp_support import MEDIA, FakeWordPress, source_for, wp_post

from feedsvc.remote.fetch import Fetcher, FetchPolicy
from feedsvc.sources import SourceResult
from feedsvc.sources.wordpress import read_wordpress

CATEGORIES = 300
TAGS = 3000


def site(posts: int, media: int) -> list[dict]:
    return [
        wp_post(
            i,
            categories=(f"Category {i % CATEGORIES}", f"Category {i * 7 % CATEGORIES}"),
            tags=tuple(f"tag {(i * 13 + k * 997) % TAGS}" for k in range(4)),
            media={
                **MEDIA,
                "id": 10_000 + i % media,
                "source_url": f"https://wp.example/up/{i % media}.jpg",
            },
        )
        for i in range(1, posts + 1)
    ]


def kind(path: str) -> str:
    return path.split("/wp/v2/", 1)[1].split("/", 1)[0]


async def reads(posts: list[dict], embedded: bool, count: int) -> list[tuple[float, Counter, int]]:
    """(seconds, requests by endpoint, posts with an image) for each read."""
    wordpress = FakeWordPress(posts, embedded=embedded, etags=True)
    seen: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        seen.append(request.path)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_get("/wp-json/wp/v2/posts", wordpress.handle)
    for taxonomy in ("categories", "tags"):
        app.router.add_get(f"/wp-json/wp/v2/{taxonomy}", wordpress.handle_terms)
    for endpoint in ("media", "users"):
        app.router.add_get(f"/wp-json/wp/v2/{endpoint}/{{id}}", wordpress.handle_object)
    rows = []
    async with TestServer(app, host="127.0.0.1") as server:
        source = source_for(server)
        previous: SourceResult | None = None
        async with Fetcher(FetchPolicy(allow_private_addresses=True)) as fetcher:
            for _ in range(count):
                seen.clear()
                started = time.perf_counter()
                previous = await read_wordpress(source, fetcher, previous)
                took = time.perf_counter() - started
                images = sum("image" in post.meta for post in previous.posts)
                rows.append((took, Counter(kind(path) for path in seen), images))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--media", type=int, default=150)
    parser.add_argument("--reads", type=int, default=3)
    args = parser.parse_args()
    posts = site(args.posts, args.media)
    print(f"{args.posts} posts, {CATEGORIES} categories, {TAGS} tags, {args.media} images\n")
    print("| | read | seconds | posts | categories | tags | media | users | with image |")
    print("|---|---|---|---|---|---|---|---|---|")
    for embedded in (True, False):
        label = "with `_embedded` (baseline)" if embedded else "without `_embedded`"
        for number, (took, requests, images) in enumerate(
            await reads(posts, embedded, args.reads), start=1
        ):
            counts = " | ".join(
                str(requests[k]) for k in ("posts", "categories", "tags", "media", "users")
            )
            print(f"| {label} | {number} | {took:.2f} | {counts} | {images} |")


if __name__ == "__main__":
    asyncio.run(main())
