"""Live updates of a folder source (docs/architecture.md "Live updates"): a running Publisher with
its watcher on sees files edited, added, renamed and deleted, re-renders exactly the feeds they
touch, and keeps the last good output when a post or the folder goes bad."""

from __future__ import annotations

import shutil

import feedparser
import pytest
from live_support import (
    POSTS,
    Site,
    changed_feeds,
    etags,
    post_text,
    source_status,
    until,
    write_site,
)

import feedsvc.live.watch as watch_module
from feedsvc.live import Publisher, Rebuilt
from feedsvc.service import PUBLISHER, create_service


@pytest.fixture
def site(tmp_path) -> Site:
    return write_site(tmp_path)


@pytest.fixture
async def running(site: Site, aiohttp_client) -> Publisher:
    """The Publisher of the service as `feedsvc serve` wires it, serving (watchers on)."""
    app = create_service(site.config(), workers=1)
    await aiohttp_client(app)
    return app[PUBLISHER]


def titles(publisher: Publisher, path: str) -> list[str]:
    body = publisher.ref.current.resources[path].identity.body
    return [entry.title for entry in feedparser.parse(body).entries]


async def next_rebuild(publisher: Publisher, before: dict[str, str]) -> dict[str, str]:
    await until(lambda: etags(publisher) != before, what="a rebuild that changes the feeds")
    return etags(publisher)


async def test_an_edit_re_renders_exactly_the_feeds_the_post_is_in(running, site):
    before = etags(running)
    lang, categories, date = POSTS["es/c.md"]
    site.write_post("es/c.md", post_text("Post c", lang, categories, date, "Edited body."))

    after = await next_rebuild(running, before)

    # A Spanish post in Labor Trafficking, February 2024: the site, Spanish, the category,
    # Spanish × the category and the month's archive; no other feed, and not the index
    # pages (no feed appeared, none changed its title or updated time).
    assert changed_feeds(before, after) == {
        "feed",
        "lang/es",
        "category/labor-trafficking",
        "lang/es/category/labor-trafficking",
        "archive/2024/02",
    }
    last = running.status().last_rebuild
    assert last.feeds_rendered == 5
    assert last.posts_normalized == 1
    assert last.trigger == "watch"
    assert "Edited body." in running.ref.current.resources["/lang/es.json"].identity.body.decode()


async def test_served_etags_change_only_for_touched_feeds(site, aiohttp_client):
    client = await aiohttp_client(create_service(site.config(), workers=1))
    untouched = (await client.get("/lang/en.atom")).headers["ETag"]
    touched = (await client.get("/lang/es.atom")).headers["ETag"]
    site.write_post("es/d.md", post_text("Post d, edited", "es", ["Policy"], "2024-03-01"))

    async def es_changed() -> bool:
        return (await client.get("/lang/es.atom")).headers["ETag"] != touched

    await until(es_changed, what="the edit to be served")
    again = await client.get("/lang/en.atom", headers={"If-None-Match": untouched})
    assert again.status == 304
    status = await (await client.get("/status")).json()
    assert status["last_rebuild"]["feeds_rendered"] == 5


async def test_an_added_post_appears_in_new_and_existing_feeds(running, site):
    before = etags(running)
    site.write_post("en/f.md", post_text("Post f", "en", ["Research"], "2024-04-02"))

    after = await next_rebuild(running, before)

    assert changed_feeds(before, after) == {
        "feed",
        "lang/en",
        "category/research",
        "lang/en/category/research",
        "archive/2024/04",
        # RFC 5005: March's archive now links to April's as its next archive.
        "archive/2024/03",
        # New feeds are listed on the index page and in the OPML.
        "/",
        "/feeds.opml",
    }
    assert titles(running, "/category/research.atom") == ["Post f"]


async def test_a_renamed_post_is_published_under_its_new_path(running, site):
    before = etags(running)
    (site.posts / "en" / "b.md").rename(site.posts / "en" / "b-renamed.md")

    await next_rebuild(running, before)

    body = running.ref.current.resources["/category/policy.json"].identity.body.decode()
    assert "en/b-renamed" in body  # its id is minted from its new path (docs: ids)
    assert 'en/b"' not in body
    assert titles(running, "/category/policy.atom").count("Post b") == 1


async def test_a_deleted_post_leaves_every_feed_and_empty_feeds_go(running, site):
    before = etags(running)
    (site.posts / "es" / "d.md").unlink()

    after = await next_rebuild(running, before)

    assert "/lang/es/category/policy.atom" in before
    assert "/lang/es/category/policy.atom" not in after  # its only post is gone
    assert "Post d" not in titles(running, "/feed.atom")
    assert "Post d" not in titles(running, "/category/policy.atom")


async def test_a_post_that_turns_bad_keeps_its_last_good_version_until_fixed(running, site):
    before = etags(running)
    site.write_post("es/c.md", "---\ntitle: Post c\ndate: not a date\nlang: es\n---\nBroken.\n")

    await until(lambda: running.status().skipped, what="the problem to be reported")

    (problem,) = running.status().skipped
    assert problem.path.endswith("c.md")
    assert "last good version is still published" in problem.message
    assert etags(running) == before  # the good version still publishes, unchanged
    assert "Post c" in titles(running, "/lang/es.atom")

    lang, categories, date = POSTS["es/c.md"]
    site.write_post("es/c.md", post_text("Post c fixed", lang, categories, date))
    await until(lambda: "Post c fixed" in titles(running, "/lang/es.atom"))
    assert running.status().skipped == ()


async def test_broken_front_matter_keeps_the_last_good_version_too(running, site):
    before = etags(running)
    site.write_post("en/a.md", "---\ntitle: [unclosed\n---\nBody\n")

    await until(lambda: running.status().skipped, what="the problem to be reported")

    (problem,) = running.status().skipped
    assert "invalid YAML" in problem.message
    assert "last good version is still published" in problem.message
    assert etags(running) == before


async def test_a_folder_that_disappears_keeps_its_posts_and_recovers(running, site):
    before = etags(running)
    backup = site.root / "backup"
    shutil.copytree(site.posts, backup)
    shutil.rmtree(site.posts)

    await until(lambda: source_status(running).error, what="the source error")

    status = source_status(running)
    assert "no such folder" in status.error
    assert status.posts == len(POSTS)
    assert etags(running) == before
    assert any("no such folder" in p.message for p in running.status().skipped)

    shutil.copytree(backup, site.posts)
    site.write_post("en/g.md", post_text("Post g", "en", ["Policy"], "2024-03-25"))
    # The watcher notices the folder is back (within a second) and reads it.
    await until(lambda: "Post g" in titles(running, "/feed.atom"), what="the folder's return")
    assert source_status(running).error is None
    assert running.status().skipped == ()


async def test_status_shows_each_source_and_how_it_is_watched(running):
    (status,) = running.status().sources
    assert status.name == "posts"
    assert status.type == "folder"
    assert status.posts == len(POSTS)
    assert status.last_success is not None
    assert status.error is None
    assert status.watch in ("inotify", "polling")


async def test_polling_sees_changes_too(tmp_path):
    site = write_site(tmp_path)
    site.write_config(extra='watch = "poll"')
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    await publisher.start()
    try:
        assert source_status(publisher).watch == "polling"
        site.write_post("en/h.md", post_text("Post h", "en", ["Policy"], "2024-03-26"))
        await until(lambda: "Post h" in titles(publisher, "/feed.atom"))
    finally:
        await publisher.stop()


async def test_without_inotify_the_watcher_falls_back_to_polling(tmp_path, monkeypatch):
    real_awatch = watch_module.awatch

    def awatch_without_inotify(*paths, force_polling=False, **kwargs):
        if not force_polling:
            raise OSError(28, "OS file watch limit reached")
        return real_awatch(*paths, force_polling=True, **kwargs)

    monkeypatch.setattr(watch_module, "awatch", awatch_without_inotify)
    site = write_site(tmp_path)
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    await publisher.start()
    try:
        await until(lambda: source_status(publisher).watch == "polling")
        site.write_post("en/h.md", post_text("Post h", "en", ["Policy"], "2024-03-26"))
        await until(lambda: "Post h" in titles(publisher, "/feed.atom"))
    finally:
        await publisher.stop()


async def test_watch_off_leaves_rebuilds_to_explicit_calls(tmp_path):
    site = write_site(tmp_path)
    site.write_config(extra='watch = "off"')
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    await publisher.start()
    try:
        assert source_status(publisher).watch is None
        site.write_post("en/h.md", post_text("Post h", "en", ["Policy"], "2024-03-26"))
        await publisher.rebuild()
        assert "Post h" in titles(publisher, "/feed.atom")
    finally:
        await publisher.stop()


async def test_a_failing_rebuild_keeps_the_last_good_feeds_and_the_next_catches_up(tmp_path):
    site = write_site(tmp_path)
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    before = etags(publisher)
    site.write_post("en/h.md", post_text("Post h", "en", ["Policy"], "2024-03-26"))
    builder = publisher._builder  # a seam: a build that fails as a bug would
    assemble = builder.assemble

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    builder.assemble = broken
    await publisher.rebuild()
    assert etags(publisher) == before
    assert publisher.status().rebuild_error == "RuntimeError: a bug"

    builder.assemble = assemble
    await publisher.rebuild()  # the file did not change again; the change is still seen
    assert "Post h" in titles(publisher, "/feed.atom")
    assert publisher.status().rebuild_error is None


async def test_listeners_hear_which_documents_each_rebuild_changed(tmp_path, caplog):
    site = write_site(tmp_path)
    heard: list[Rebuilt] = []

    def broken(rebuilt: Rebuilt) -> None:
        raise RuntimeError("a listener's bug")

    publisher = Publisher(site.config(), workers=1)
    publisher.add_rebuild_listener(broken)
    publisher.add_rebuild_listener(heard.append)
    publisher.build()
    first = publisher.ref.current
    site.write_post(
        "es/c.md", post_text("Post c", "es", ["Labor Trafficking"], "2024-02-14", "New.")
    )
    (site.posts / "es" / "d.md").unlink()  # the last post of March in Spanish × Policy
    await publisher.rebuild(trigger="test")

    (rebuilt,) = heard  # the broken listener did not keep the next one from hearing
    assert "a listener's bug" in caplog.text
    assert rebuilt.previous is first
    assert rebuilt.snapshot is publisher.ref.current
    assert rebuilt.trigger == "test"
    assert "/lang/es.atom" in rebuilt.changed and "/lang/es.json" in rebuilt.changed
    assert "/lang/en.atom" not in rebuilt.changed  # untouched: same bytes
    assert "/lang/es/category/policy.atom" in rebuilt.removed
    assert not set(rebuilt.changed) & set(rebuilt.removed)
    assert list(rebuilt.changed) == sorted(rebuilt.changed)

    await publisher.rebuild(trigger="again")  # nothing changed: no swap, nothing heard
    assert len(heard) == 1
