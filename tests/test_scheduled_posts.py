"""Dates (issue 7): a post dated in the future is scheduled (held back, listed on /status,
published by a timer when its date comes), and Last-Modified is never later than the time
of the answer (RFC 9110 §8.8.2.1). Time is a fake clock throughout."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import feedparser
from factories import make_build_status, make_post
from fake_time import FakeTime
from live_support import post_text, until, write_site

from feedsvc.live import Publisher
from feedsvc.pipeline import LoadResult, hold_scheduled
from feedsvc.store import Caching, Snapshot, SnapshotRef, http_date, make_resource
from feedsvc.web import create_app

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def loaded(*posts) -> LoadResult:
    return LoadResult(posts=tuple(posts), problems=(), drafts=0, sources=())


def test_posts_dated_after_now_are_held_back_oldest_first_until_due():
    past, soon, later = (
        make_post(1, published=NOW - timedelta(days=1)),
        make_post(2, published=NOW + timedelta(hours=1)),
        make_post(3, published=NOW + timedelta(days=300)),
    )
    held = hold_scheduled(loaded(later, soon, past), NOW)
    assert held.posts == (past,)
    assert held.scheduled == (soon, later)
    assert held.next_due() == soon.published
    # An hour on, the first is published, newest first with the others.
    due = hold_scheduled(held, NOW + timedelta(hours=1))
    assert due.posts == (soon, past)
    assert due.scheduled == (later,)
    # Nothing in the future: the same object back.
    plain = loaded(past)
    assert hold_scheduled(plain, NOW) is plain


# --- the web layer: Last-Modified never later than Date ------------------------------------


async def test_a_last_modified_in_the_future_is_replaced_by_the_time_of_the_answer(
    aiohttp_client,
):
    year_9999 = datetime(9999, 1, 1, tzinfo=UTC)
    feed = make_resource(b"<feed/>", "application/atom+xml", year_9999, Caching(300), cors=True)
    past = make_resource(b"<feed/>", "application/atom+xml", NOW, Caching(300), cors=True)
    snapshot = Snapshot({"/feed.atom": feed, "/past.atom": past}, make_build_status())
    clock = FakeTime()
    clock.now = NOW
    client = await aiohttp_client(create_app(SnapshotRef(snapshot), clock=clock))

    response = await client.get("/feed.atom")
    assert response.headers["Last-Modified"] == http_date(NOW)
    # Revalidated with that date: not modified, and the 304 says the same.
    again = await client.get("/feed.atom", headers={"If-Modified-Since": http_date(NOW)})
    assert again.status == 304
    assert again.headers["Last-Modified"] == http_date(NOW)
    # Time passes: the answer's time again. A reader that kept 9999 got 304 forever, even
    # after the feed changed; one that keeps the answer's time is sent the feed, never a
    # stale 304, and its ETag still saves the body.
    clock.now = NOW + timedelta(hours=1)
    later = await client.get("/feed.atom", headers={"If-Modified-Since": http_date(NOW)})
    assert later.status == 200
    assert later.headers["Last-Modified"] == http_date(NOW + timedelta(hours=1))
    etag = later.headers["ETag"]
    assert (await client.get("/feed.atom", headers={"If-None-Match": etag})).status == 304
    # A date in the past is sent as it is.
    assert (await client.get("/past.atom")).headers["Last-Modified"] == http_date(NOW)


# --- a live service: a scheduled post appears when its date comes ----------------------------


async def test_a_scheduled_post_is_listed_on_status_then_published_by_a_timer(tmp_path):
    site = write_site(tmp_path, extra='watch = "off"')  # only the timer may rebuild
    time = FakeTime()  # 2024-05-01 12:00 UTC; the site's posts are older
    due = time.now + timedelta(days=2)
    site.write_post("en/soon.md", post_text("Soon", "en", ["Policy"], due.isoformat()))
    publisher = Publisher(site.config(), clock=time, sleep=time.sleep, workers=1)
    publisher.build()
    await publisher.start()
    try:
        status = publisher.status()
        assert [(s.title, s.date) for s in status.scheduled] == [("Soon", due)]
        assert status.scheduled[0].path.endswith("soon.md")
        assert "Soon" not in titles(publisher)

        await time.advance_by(2 * 86400 - 60)  # a minute early: nothing yet
        assert publisher.rebuilds == 0

        await time.advance_by(60)
        await until(lambda: "Soon" in titles(publisher), what="the scheduled post")
        assert publisher.status().scheduled == ()
        assert publisher.status().last_rebuild.trigger == "schedule"
        assert publisher.rebuilds == 1
    finally:
        await publisher.stop()


def titles(publisher: Publisher) -> list[str]:
    body = publisher.ref.current.resources["/feed.atom"].identity.body
    return [entry.title for entry in feedparser.parse(body).entries]


def test_check_counts_scheduled_posts_and_build_leaves_them_out(tmp_path):
    site = write_site(tmp_path)
    site.write_post("en/future.md", post_text("Future", "en", ["Policy"], "2999-01-01"))
    check = subprocess.run(
        [sys.executable, "-m", "feedsvc", "check", "--config", str(site.config_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "5 posts ok, 0 drafts, 1 scheduled, 0 errors" in check.stderr
    out = tmp_path / "out"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "feedsvc",
            "build",
            "--config",
            str(site.config_file),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    assert b"Future" not in (out / "feed.atom").read_bytes()


def test_build_never_dates_a_file_after_the_build(tmp_path):
    site = write_site(tmp_path)
    site.write_post("en/edited.md", post_text("Edited", "en", ["Policy"], "2024-03-30"))
    text = (site.posts / "en" / "edited.md").read_text(encoding="utf-8")
    (site.posts / "en" / "edited.md").write_text(
        text.replace("date: 2024-03-30", "date: 2024-03-30\nupdated: 9999-01-01"), encoding="utf-8"
    )
    out = tmp_path / "out"
    command = ["build", "--config", str(site.config_file), "--out", str(out)]
    before = datetime.now(UTC).timestamp()
    built = subprocess.run(
        [sys.executable, "-m", "feedsvc", *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    after = datetime.now(UTC).timestamp()
    feed = out / "feed.atom"
    assert b"<updated>9999-01-01" in feed.read_bytes()  # the feed says what the post says
    assert before - 1 <= feed.stat().st_mtime <= after + 1  # the file, the build's time
    category = out / "category" / "labor-trafficking.atom"  # no post of it is in the future
    assert category.stat().st_mtime < datetime(2024, 4, 1, tzinfo=UTC).timestamp()
