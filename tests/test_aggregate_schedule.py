"""schedule.py: what a fetch's outcome means and when the next one is. Table-driven, pure."""

from __future__ import annotations

import random

import pytest

from feedsvc.aggregate.schedule import (
    RETRY_AFTER_CAP,
    Outcome,
    Redirect,
    SchedulePolicy,
    State,
    classify,
    next_delay,
    track_redirect,
)
from feedsvc.errors import AddressRefused, BodyTooLarge, FeedParseError, FetchTimeout
from feedsvc.remote.response import FetchResult, Validators

POLICY = SchedulePolicy(interval=900, max_backoff=6 * 3600)


def result(status: int, retry_after: float | None = None, permanent: str | None = None):
    return FetchResult(
        status=status,
        url="https://p.example/feed",
        permanent_url=permanent,
        body=b"",
        headers={},
        validators=Validators(),
        retry_after=retry_after,
        elapsed=0.1,
    )


@pytest.mark.parametrize(
    ("status", "state", "modified"),
    [
        (200, State.OK, True),
        (203, State.OK, True),
        (304, State.OK, False),
        (410, State.GONE, False),
        (429, State.BACKOFF, False),
        (503, State.BACKOFF, False),
        (404, State.ERROR, False),
        (500, State.ERROR, False),
        (403, State.ERROR, False),
    ],
)
def test_http_statuses(status, state, modified):
    outcome = classify(result(status))
    assert outcome.state is state
    assert outcome.status == status
    assert outcome.modified is modified
    assert (outcome.error is None) is (state is State.OK)


@pytest.mark.parametrize(
    "error",
    [
        AddressRefused("https://p.example/", "10.0.0.1", "private (RFC 1918)"),
        BodyTooLarge("https://p.example/", 10),
        FetchTimeout("https://p.example/", "too slow"),
        FeedParseError("https://p.example/", "not a feed"),
    ],
)
def test_our_errors_are_errors_with_their_message(error):
    outcome = classify(error)
    assert outcome == Outcome(State.ERROR, None, str(error))


def test_a_bug_is_an_error_too_never_silent():
    outcome = classify(KeyError("x"))
    assert outcome.state is State.ERROR
    assert outcome.error == "internal error: KeyError: 'x'"


def test_success_waits_the_interval_with_jitter():
    rng = random.Random(0)
    delays = [next_delay(classify(result(200)), 0, POLICY, rng) for _ in range(200)]
    assert all(810 <= d <= 990 for d in delays)
    assert max(delays) - min(delays) > 100  # jitter spreads them


def test_failures_back_off_exponentially_up_to_the_cap():
    rng = random.Random(0)
    failed = classify(result(500))
    bases = [900 * 2**n for n in range(5)] + [6 * 3600] * 30  # 900 s … 4 h, then 6 h
    for failures, base in enumerate(bases, start=1):
        delay = next_delay(failed, failures, POLICY, rng)
        assert delay is not None
        assert base * 0.9 <= delay <= base * 1.1, failures
    assert next_delay(failed, 10**6, POLICY, rng) <= 6 * 3600 * 1.1  # no overflow


def test_the_cap_is_never_below_the_interval():
    policy = SchedulePolicy(interval=3600, max_backoff=60)
    delay = next_delay(classify(result(500)), 5, policy, random.Random(1))
    assert 3600 * 0.9 <= delay <= 3600 * 1.1


@pytest.mark.parametrize(
    ("retry_after", "low"),
    [(7200.0, 7200.0), (10.0, 900.0), (10 * 365 * 86400.0, RETRY_AFTER_CAP)],
)
def test_retry_after_is_honoured_never_sooner(retry_after, low):
    rng = random.Random(2)
    outcome = classify(result(429, retry_after=retry_after))
    for failures in (1, 5):
        delay = next_delay(outcome, failures, POLICY, rng)
        assert low <= delay <= low * 1.1


def test_429_without_retry_after_backs_off_like_an_error():
    delay = next_delay(classify(result(503)), 3, POLICY, random.Random(3))
    assert 3600 * 0.9 <= delay <= 3600 * 1.1


def test_gone_has_no_next_fetch():
    assert next_delay(classify(result(410)), 0, POLICY, random.Random()) is None


# --- permanent redirects ------------------------------------------------------------------

OK = classify(result(200))
OLD, NEW = "https://old.example/feed", "https://new.example/feed"


def test_a_permanent_redirect_must_repeat_before_the_url_changes():
    first = track_redirect(Redirect(OLD), OK, NEW)
    assert first == Redirect(OLD, NEW, 1)
    second = track_redirect(first, OK, NEW)
    assert second == Redirect(NEW, moved=True)


def test_an_interrupted_redirect_starts_over():
    first = track_redirect(Redirect(OLD), OK, NEW)
    assert track_redirect(first, OK, None) == Redirect(OLD)  # not redirected this time
    other = track_redirect(first, OK, "https://other.example/")
    assert other == Redirect(OLD, "https://other.example/", 1)  # elsewhere: counts anew


def test_a_redirect_to_a_failing_url_does_not_count():
    first = track_redirect(Redirect(OLD), OK, NEW)
    assert track_redirect(first, classify(result(500)), NEW) == Redirect(OLD)
