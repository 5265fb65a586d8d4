"""The start-up build's parallel map gives what a plain map gives, in order."""

from __future__ import annotations

import os

import pytest

from feedsvc.parallel import MIN_ITEMS, parallel_map


def square_with_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_match_a_plain_map_in_order(workers):
    items = list(range(MIN_ITEMS * 3 + 7))
    results = parallel_map(square_with_pid, items, workers)
    assert [value for value, _ in results] == [n * n for n in items]
    pids = {pid for _, pid in results}
    if workers == 1:
        assert pids == {os.getpid()}
    else:
        assert os.getpid() not in pids  # the work really ran in forked workers


def test_small_inputs_stay_in_process():
    results = parallel_map(square_with_pid, list(range(10)), 2)
    assert {pid for _, pid in results} == {os.getpid()}


def fail_on_seven(n: int) -> int:
    if n == 7:
        raise ValueError("seven")
    return n


def test_a_worker_error_reaches_the_caller():
    with pytest.raises(ValueError, match="seven"):
        parallel_map(fail_on_seven, list(range(MIN_ITEMS + 1)), 2)
