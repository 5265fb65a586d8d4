"""The start-up build's parallel map gives what a plain map gives, in order."""

from __future__ import annotations

import os
from functools import partial
from itertools import accumulate, groupby

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.parallel import (
    BATCH_BYTES,
    MIN_ITEMS,
    default_chunk_sizes,
    parallel_map,
    tapered_sizes,
)


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


def fail_at(n: int, at: int) -> int:
    if n == at:
        raise ValueError(f"failed at {n}")
    return n


# In a worker's first chunk, and in a later chunk of a worker that did others before.
@pytest.mark.parametrize(("at", "count"), [(7, MIN_ITEMS + 1), (9_000, 10_000)])
def test_a_worker_error_reaches_the_caller(at, count):
    with pytest.raises(ValueError, match=f"failed at {at}$"):
        parallel_map(partial(fail_at, at=at), list(range(count)), 2)


def numbered_block(n: int) -> bytes:
    return n.to_bytes(4, "big") * (BATCH_BYTES // 16)  # a quarter of a batch


def test_results_larger_than_a_batch_come_back_whole_and_in_order():
    items = list(range(MIN_ITEMS))
    assert parallel_map(numbered_block, items, 2, [MIN_ITEMS]) == [numbered_block(n) for n in items]


def shared_inside(n: int) -> tuple[object, ...]:
    # One object twice in one result: pickled once, then referred back to (BINGET).
    label = f"item {n}"
    parts = [label] * (n % 3 + 1)
    return (parts, label, {"n": n, "label": label}) if n % 2 else (label, parts)


def test_results_referring_back_to_their_own_parts_come_back_as_made():
    # Many results per batch, of different shapes: each must be read with its own memo.
    items = list(range(MIN_ITEMS * 2))
    assert parallel_map(shared_inside, items, 2) == [shared_inside(n) for n in items]


def block_then_fail(n: int) -> bytes:
    if n == MIN_ITEMS - 1:
        raise ValueError(f"the last of {n + 1}")
    return numbered_block(n)


def test_an_error_after_whole_batches_of_results_reaches_the_caller():
    with pytest.raises(ValueError, match=f"the last of {MIN_ITEMS}"):
        parallel_map(block_then_fail, list(range(MIN_ITEMS)), 2, [MIN_ITEMS])


def test_given_chunks_run_each_in_one_worker_in_order():
    items = list(range(MIN_ITEMS + 50))
    sizes = [150, 1, 99]
    results = parallel_map(square_with_pid, items, 2, sizes)
    assert [value for value, _ in results] == [n * n for n in items]
    pids = [pid for _, pid in results]
    chunks = [set(pids[:150]), set(pids[150:151]), set(pids[151:])]
    assert [len(chunk) for chunk in chunks] == [1, 1, 1]
    assert len(set.union(*chunks)) == 2  # the third chunk went to a worker done with one


@given(total=st.integers(0, 20_000), workers=st.integers(1, 16), largest=st.integers(1, 1_000))
def test_tapered_chunks_cut_the_items_and_shrink_towards_the_end(total, workers, largest):
    sizes = tapered_sizes(total, workers, largest)
    assert sum(sizes) == total
    assert all(1 <= size <= largest for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # never larger than the one before
    smallest = max(1, largest // 8)
    assert all(size >= smallest for size in sizes[:-1])  # only the remainder is smaller
    if total >= 4 * workers * largest:
        assert sizes[0] == largest
        # The last chunks are small, so the workers finish within one small chunk.
        assert sizes[-1] <= max(smallest, -(-largest // 2))


def test_by_default_each_chunk_is_a_quarter_of_a_workers_share_then_smaller():
    assert default_chunk_sizes(10_000, 2) == tapered_sizes(10_000, 2, 1250)


def test_each_worker_takes_chunk_after_chunk():
    results = parallel_map(square_with_pid, list(range(10_000)), 2)
    assert [value for value, _ in results] == [n * n for n in range(10_000)]
    pids = [pid for _, pid in results]
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two workers for 16 chunks
    # A worker's run of items ends where a chunk ends.
    ends = set(accumulate(default_chunk_sizes(10_000, 2)))
    runs = list(accumulate(len(list(run)) for _, run in groupby(pids)))
    assert set(runs) <= ends and len(runs) > 2


def test_the_bench_sites_posts_end_in_small_chunks():
    # parallel_map's default for 10,000 posts on two workers: a quarter of each one's share.
    sizes = tapered_sizes(10_000, 2, 1250)
    assert sizes[:5] == [1250] * 5
    assert sizes[-4:] == [156, 156, 156, 31]
    assert len(sizes) == 16  # 8 equal chunks would leave one worker up to 0.2 s alone


@pytest.mark.parametrize("largest, workers", [(0, 2), (10, 0)])
def test_tapered_chunks_hold_something(largest, workers):
    with pytest.raises(ValueError, match="at least one"):
        tapered_sizes(100, workers, largest)


@pytest.mark.parametrize("sizes", [[100, 100], [MIN_ITEMS + 1, 0], [MIN_ITEMS, 2, -1]])
def test_chunk_sizes_that_do_not_cut_the_items_are_refused(sizes):
    with pytest.raises(ValueError, match="do not cut"):
        parallel_map(square_with_pid, list(range(MIN_ITEMS + 1)), 2, sizes)


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not picklable")


def fail_unpicklably_on_seven(n: int) -> int:
    if n == 7:
        raise Unpicklable("seven, unpicklably")
    return n


def test_an_error_that_does_not_pickle_still_reaches_the_caller():
    with pytest.raises(RuntimeError, match="Unpicklable: seven, unpicklably"):
        parallel_map(fail_unpicklably_on_seven, list(range(MIN_ITEMS + 1)), 2)


def die_on_seven(n: int) -> int:
    if n == 7:
        os._exit(3)
    return n


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="a worker died \\(exit code 3\\)"):
        parallel_map(die_on_seven, list(range(MIN_ITEMS + 1)), 2)
