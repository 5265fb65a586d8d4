"""The aggregator's store (aggregate/state/): the same tests against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from feedsvc.aggregate.merge import StoredEntry
from feedsvc.aggregate.state import PartnerRecord, open_store, postgres, sqlite
from feedsvc.errors import LeaseLost, StoreError
from feedsvc.model import Author

WHEN = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def stored(n: int) -> StoredEntry:
    return StoredEntry(
        key=f"id:urn:{n}",
        id=f"urn:{n}",
        link=f"https://p.example/{n}",
        title=f"Entry {n} – ünïcode",
        summary="s",
        content_html="<p>c</p>",
        published=WHEN,
        updated=WHEN,
        first_seen=WHEN,
        lang=None,
        authors=(Author("Ann", "ann@p.example", None), Author("Bo")),
        tags=("a", "b"),
        image_url="https://p.example/i.png",
    )


RECORD = PartnerRecord(
    name="p",
    config_url="https://p.example/old",
    url="https://p.example/new",
    etag='"x"',
    last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
    state="backoff",
    last_status=429,
    last_error="slow down",
    bozo="malformed XML",
    failures=3,
    last_fetch=WHEN,
    last_success=WHEN,
    next_fetch=WHEN,
    pending_url="https://p.example/newer",
    pending_count=1,
    moved_at=WHEN,
    moved_from="https://p.example/old",
    feed_link="https://p.example/",
    fingerprint="abc",
    id_memory=(("https://p.example/1", "urn:1"),),
    unstable_ids=True,
)


def fresh(name: str, url: str = "https://p.example/feed") -> PartnerRecord:
    return PartnerRecord(name=name, config_url=url, url=url)


@contextlib.contextmanager
def opened(url: str):
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


def claim(store, record, owner, now=WHEN, *, per_host=2, force=False):
    return store.claim(
        record,
        owner=owner,
        now=now,
        lease_until=now + LEASE,
        per_host=per_host,
        force=force,
        host_retry=now + timedelta(seconds=1),
    )


def test_records_and_entries_round_trip_exactly(store_url):
    with opened(store_url) as store:
        store.save(RECORD, [stored(1), stored(2)])
        store.save(replace(RECORD, failures=4), [replace(stored(2), title="new")], ["id:urn:1"])
    with opened(store_url) as store:  # a second open migrates nothing and reads it all
        assert store.partners() == {"p": replace(RECORD, failures=4)}
        assert store.entries() == {"p": {"id:urn:2": replace(stored(2), title="new")}}
        assert store.partner("p") == (
            replace(RECORD, failures=4),
            {"id:urn:2": replace(stored(2), title="new")},
        )
        assert store.partner("missing") == (None, {})


def test_dates_come_back_as_utc(store_url):
    local = WHEN.astimezone(timezone(timedelta(hours=2)))
    with opened(store_url) as store:
        store.save(replace(RECORD, last_fetch=local), [replace(stored(1), published=local)])
        record = store.partners()["p"]
        published = store.entries()["p"]["id:urn:1"].published
    assert record.last_fetch == published == WHEN
    assert record.last_fetch.utcoffset() == published.utcoffset() == timedelta(0)


def test_sqlite_is_wal_and_versioned(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    open_store(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == sqlite.SCHEMA_VERSION
    finally:
        db.close()


def test_a_sqlite_file_of_schema_1_is_migrated_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    db = sqlite3.connect(path)
    db.executescript(sqlite._MIGRATIONS[0])
    db.execute("INSERT INTO partners (name, config_url, url, state) VALUES ('p', 'u', 'u', 'ok')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with opened(path) as store:
        assert store.partners() == {"p": PartnerRecord("p", "u", "u")}
        assert claim(store, fresh("p", "u"), "a").granted


def test_a_store_from_a_newer_feedsvc_is_refused(store_url):
    if store_url.startswith("postgresql://"):
        open_store(store_url).close()
        with psycopg.connect(store_url, autocommit=True) as db:
            db.execute("UPDATE feedsvc_schema SET version = %s", (postgres.SCHEMA_VERSION + 1,))
    else:
        db = sqlite3.connect(store_url)
        db.execute(f"PRAGMA user_version = {sqlite.SCHEMA_VERSION + 1}")
        db.close()
    with pytest.raises(StoreError, match="newer feedsvc"):
        open_store(store_url)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match=str(path)):
        open_store(str(path))


def test_a_postgresql_server_that_does_not_answer_is_a_store_error_naming_the_url(postgres):
    url = f"postgresql://feedsvc@127.0.0.1:{postgres.port}/no_such_database"
    with pytest.raises(StoreError, match="no_such_database"):
        open_store(url)


def test_replicas_starting_together_migrate_once(pg_url):
    stores = [open_store(pg_url) for _ in range(3)]
    for store in stores:
        store.close()
    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT * FROM feedsvc_schema").fetchall() == [
            ("aggregator", postgres.SCHEMA_VERSION)
        ]


# --- leases -------------------------------------------------------------------------------


def test_a_new_partner_is_stored_and_leased_to_the_first_claimer(store_url):
    with opened(store_url) as store:
        first = claim(store, fresh("p"), "a")
        second = claim(store, fresh("p"), "b")
    assert first.granted and not first.took_over
    assert first.record == fresh("p")
    assert not second.granted
    assert second.retry_at == WHEN + LEASE  # when a's lease ends


def test_saving_releases_the_lease_and_the_schedule_decides_the_next_claim(store_url):
    with opened(store_url) as store:
        assert claim(store, fresh("p"), "a").granted
        later = WHEN + timedelta(minutes=15)
        store.save(replace(fresh("p"), last_fetch=WHEN, next_fetch=later), owner="a")
        early = claim(store, fresh("p"), "b", WHEN + timedelta(seconds=5))
        assert not early.granted
        assert early.retry_at == later
        assert early.record.last_fetch == WHEN  # b learns what a stored
        assert claim(store, fresh("p"), "b", later).granted


def test_an_explicit_refresh_ignores_the_schedule_but_not_a_live_lease(store_url):
    with opened(store_url) as store:
        store.save(replace(fresh("p"), next_fetch=WHEN + timedelta(hours=1)))
        assert claim(store, fresh("p"), "a", force=True).granted
        assert not claim(store, fresh("p"), "b", force=True).granted


def test_a_lease_not_released_is_taken_over_after_it_ends(store_url):
    with opened(store_url) as store:
        assert claim(store, fresh("p"), "a").granted  # and a dies
        assert not claim(store, fresh("p"), "b", WHEN + LEASE - timedelta(seconds=1)).granted
        takeover = claim(store, fresh("p"), "b", WHEN + LEASE + timedelta(seconds=1))
        assert takeover.granted and takeover.took_over
        # a wakes up and reports its fetch: too late, b's will replace it
        with pytest.raises(LeaseLost, match="'p'"):
            store.save(replace(fresh("p"), etag='"from-a"'), [stored(1)], owner="a")
        assert store.partner("p") == (fresh("p"), {})
        store.save(replace(fresh("p"), etag='"from-b"'), [stored(2)], owner="b")
        assert store.partners()["p"].etag == '"from-b"'


def test_the_owner_may_claim_its_own_lease_again(store_url):
    with opened(store_url) as store:
        assert claim(store, fresh("p"), "a").granted
        again = claim(store, fresh("p"), "a", force=True)
        assert again.granted and not again.took_over


def test_a_gone_partner_is_never_claimed(store_url):
    with opened(store_url) as store:
        store.save(replace(fresh("p"), state="gone", next_fetch=None))
        for force in (False, True):
            refused = claim(store, fresh("p"), "a", force=force)
            assert not refused.granted and refused.retry_at is None


def test_the_per_host_limit_holds_across_claimers(store_url):
    with opened(store_url) as store:
        assert claim(store, fresh("p1", "https://h.example/1"), "a", per_host=2).granted
        assert claim(store, fresh("p2", "https://H.example/2"), "b", per_host=2).granted
        full = claim(store, fresh("p3", "https://h.example/3"), "c", per_host=2)
        assert not full.granted
        assert full.retry_at == WHEN + timedelta(seconds=1)
        # another host is not limited by this one
        assert claim(store, fresh("q", "https://other.example/1"), "c", per_host=2).granted
        # a lease that ended no longer counts
        after = WHEN + LEASE + timedelta(seconds=1)
        assert claim(store, fresh("p3", "https://h.example/3"), "c", after, per_host=2).granted
        # a released one neither
        store.save(fresh("p1", "https://h.example/1"), owner="a")
        assert claim(store, fresh("p4", "https://h.example/4"), "d", after, per_host=2).granted


def test_a_row_being_claimed_elsewhere_is_skipped_not_waited_for(pg_url):
    with opened(pg_url) as store:
        store.save(fresh("p"))
        with psycopg.connect(pg_url) as other:  # another replica, mid-claim
            other.execute("SELECT * FROM partners WHERE name = 'p' FOR UPDATE")
            skipped = claim(store, fresh("p"), "a")
            assert not skipped.granted
            assert skipped.record == fresh("p")
        assert claim(store, fresh("p"), "a").granted


async def test_a_save_notifies_listeners_after_its_commit(pg_url):
    heard: list[tuple[str, str | None]] = []
    connected = asyncio.Event()
    got = asyncio.Event()

    async def on_change(partner: str, by: str | None) -> None:
        heard.append((partner, by))
        got.set()

    async def on_connect() -> None:
        connected.set()

    store = open_store(pg_url)
    task = asyncio.create_task(postgres.listen(pg_url, on_change, on_connect))
    try:
        await asyncio.wait_for(connected.wait(), 10)
        with pytest.raises(LeaseLost):  # a refused save notifies nobody
            assert claim(store, fresh("p"), "a").granted
            assert claim(store, fresh("p"), "b", WHEN + 2 * LEASE).granted
            await asyncio.to_thread(store.save, fresh("p"), [stored(1)], owner="a")
        await asyncio.to_thread(store.save, fresh("p"), [stored(1)], owner="b")
        await asyncio.wait_for(got.wait(), 10)
        assert heard == [("p", "b")]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        store.close()
