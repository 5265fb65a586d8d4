"""pipeline.run_sync: a coroutine run to its end from synchronous code; how render jobs are
cut into chunks."""

from __future__ import annotations

import asyncio
from functools import partial

from factories import make_ctx, make_feed, make_post

from feedsvc import render_plan as render_plan_module
from feedsvc.model import Feed, FeedKind
from feedsvc.pipeline import _render_feed, run_sync
from feedsvc.render import FragmentCache
from feedsvc.render_plan import render_plan


class Result:
    """Counts how often its repr is made (reprlib, which formats a task's result, swallows
    any error a repr raises, so a count is what tells)."""

    formatted = 0

    def __repr__(self) -> str:
        Result.formatted += 1
        return "Result()"


async def make() -> Result:
    await asyncio.sleep(0)
    return Result()


def test_the_result_comes_back_and_is_never_formatted():
    # On the main thread asyncio.run installs a SIGINT handler holding its task; restoring
    # the old handler formatted that handler's repr, the task's result included: 0.5 s for
    # the source states of a 10,000-post site.
    Result.formatted = 0
    assert isinstance(run_sync(make()), Result)
    assert Result.formatted == 0


def test_under_a_running_loop_it_runs_in_a_thread_of_its_own():
    async def inside() -> Result:
        return run_sync(make())

    assert isinstance(asyncio.run(inside()), Result)


def test_archives_mostly_held_by_the_subscription_feeds_render_with_them_from_one_cache(
    monkeypatch,
):
    posts = {n: make_post(n) for n in range(1, 11)}

    def archive(path: str, numbers: list[int]) -> Feed:
        return make_feed(
            [posts[n] for n in numbers], kind=FeedKind.ARCHIVE, path=path, archive=True
        )

    feeds = [
        make_feed([posts[n] for n in (10, 9, 8, 7, 6)]),
        archive("archive/a", [10, 9, 8, 7, 1]),  # 4 of 5 posts already there: joins
        archive("archive/b", [5, 4, 3, 2, 1]),  # none: apart, without the cache
        archive("archive/c", [6, 5]),  # half is not most: apart
    ]
    plan = render_plan(feeds, ("atom", "json"), workers=2)
    assert plan.chunks[:2] == [[(0, fmt, True), (1, fmt, True)] for fmt in ("atom", "json")]
    apart = [job for chunk in plan.chunks[2:] for job in chunk]
    assert sorted(apart) == sorted((i, fmt, False) for i in (2, 3) for fmt in ("atom", "json"))
    assert plan.kept == 6  # posts 10…6 and 1: what the joined chunk asks for again

    monkeypatch.setattr(render_plan_module, "FRAGMENTS_KEPT", 4)  # the memory bound wins
    assert render_plan(feeds, ("atom",), workers=2).kept == 4


def test_a_render_worker_lets_its_fragment_cache_go_when_it_moves_on_to_apart_archives():
    posts = [make_post(n) for n in range(1, 6)]
    feeds = [
        make_feed(posts),
        make_feed(posts[:2], kind=FeedKind.ARCHIVE, path="archive/a", archive=True),
    ]
    ctx = make_ctx()
    cache = FragmentCache(ctx, 10)
    render = partial(_render_feed, feeds=feeds, ctx=ctx, cache=cache, on_rendered=None)

    subscription = render((0, "atom", True))
    assert len(cache) == 5
    render((1, "atom", False))  # an archive apart: it never asks the cache
    assert len(cache) == 0
    assert render((0, "atom", True)) == subscription  # built again, the same
