"""How a build's render jobs (each feed in each format) are cut into chunks for the forked
workers (parallel.py): feeds that share posts share a chunk, and so the fragment cache
(render/common.FragmentCache) of the worker running it, which builds each post's entry once
per format. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise

from feedsvc.model import Feed
from feedsvc.parallel import tapered_sizes
from feedsvc.render.common import FRAGMENTS_KEPT

# Archives per chunk of render jobs: they share no post, so any cut costs nothing.
ARCHIVES_PER_CHUNK = 40

# (feed index, format, whether its entries go through the chunk's fragment cache)
RenderJob = tuple[int, str, bool]


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """The render jobs in chunks, each chunk run by one worker, through the fragment cache
    the worker keeps from chunk to chunk (by format and post), and how many fragments that
    cache keeps."""

    chunks: list[list[RenderJob]]
    kept: int


def render_plan(feeds: Sequence[Feed], formats: Sequence[str], workers: int) -> RenderPlan:
    """Chunks cut so that feeds sharing posts share a chunk and its fragment cache.

    Each format's subscription feeds (site, categories, languages, both…), which all hold
    the newest posts, make one chunk, with every archive most of whose posts they hold:
    those entries come from the cache instead of being built again. The other archives,
    each holding its posts once, go in chunks of ARCHIVES_PER_CHUNK without the cache (it
    would only fill a worker's memory), smaller towards the end (parallel.tapered_sizes) so
    that the workers finish together. The cache keeps what the subscription chunk asks for
    again, up to FRAGMENTS_KEPT. On the 10,000-post bench site, 66 of 120 archives join,
    and each format's entries are built 10,462 times instead of 15,523 (the subscription
    feeds alone in the chunk) or 19,646 (chunks of equal size).
    """
    subscription = [i for i, feed in enumerate(feeds) if not feed.archive]
    held = {id(post) for i in subscription for post in feeds[i].posts}
    joined: list[int] = []
    apart: list[int] = []
    for i, feed in enumerate(feeds):
        if feed.archive:
            known = sum(id(post) in held for post in feed.posts)
            (joined if 2 * known > len(feed.posts) else apart).append(i)
    together = subscription + joined
    distinct = len({id(post) for i in together for post in feeds[i].posts})
    chunks = [[(i, fmt, True) for i in together] for fmt in formats]
    archives = [(i, fmt, False) for fmt in formats for i in apart]
    for start, stop in pairwise(
        accumulate(tapered_sizes(len(archives), workers, ARCHIVES_PER_CHUNK), initial=0)
    ):
        chunks.append(archives[start:stop])
    return RenderPlan([chunk for chunk in chunks if chunk], max(1, min(FRAGMENTS_KEPT, distinct)))
