"""pipeline.run_sync: a coroutine run to its end from synchronous code."""

from __future__ import annotations

import asyncio

from feedsvc.pipeline import run_sync


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
