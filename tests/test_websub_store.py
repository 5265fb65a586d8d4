"""The WebSub subscription store on both engines (conftest ``store_url``): subscriptions
round-trip, and a delivery claim goes to exactly one claimer per change."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

import psycopg
import pytest

from feedsvc.errors import StoreError
from feedsvc.websub.store import SCHEMA_VERSION, Subscription, open_subscriptions

TOPIC = "https://site.example/feed.atom"
CALLBACK = "https://sub.example/cb"


def test_subscriptions_round_trip(store_url):
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    store = open_subscriptions(store_url)
    try:
        store.save(Subscription(TOPIC, CALLBACK, "s3cret", 3600, expires))
        store.save(Subscription(TOPIC, CALLBACK, None, 7200, expires))  # re-subscribed
        assert store.load() == [Subscription(TOPIC, CALLBACK, None, 7200, expires)]
        store.delete(TOPIC, CALLBACK)
        assert store.load() == []
    finally:
        store.close()


def test_each_change_is_claimed_once_across_replicas(store_url):
    one, two = open_subscriptions(store_url), open_subscriptions(store_url)
    try:
        assert one.claim(TOPIC, CALLBACK, '"a"')
        assert not two.claim(TOPIC, CALLBACK, '"a"')
        assert not one.claim(TOPIC, CALLBACK, '"a"')
        assert two.claim(TOPIC, CALLBACK, '"b"')  # the next change
        assert one.claim(TOPIC, "https://other.example/cb", '"b"')  # another subscription
        assert one.claim(TOPIC, CALLBACK, '"a"')  # the edit undone is a change too
        one.delete(TOPIC, CALLBACK)
        assert two.claim(TOPIC, CALLBACK, '"a"')  # a new subscription starts afresh
    finally:
        one.close()
        two.close()


def test_a_store_of_a_newer_schema_is_refused(store_url):
    open_subscriptions(store_url).close()
    if store_url.startswith("postgresql://"):
        with psycopg.connect(store_url, autocommit=True) as db:
            db.execute(
                "UPDATE feedsvc_schema SET version = %s WHERE component = 'websub'",
                (SCHEMA_VERSION + 1,),
            )
    else:
        with sqlite3.connect(store_url) as db:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=f"schema {SCHEMA_VERSION + 1}"):
        open_subscriptions(store_url)


def test_a_sqlite_file_of_schema_2_gains_the_claims_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "websub.sqlite3")
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE subscriptions (topic TEXT NOT NULL, callback TEXT NOT NULL, "
            "secret TEXT, lease_seconds INTEGER NOT NULL, expires_at TEXT NOT NULL, "
            "PRIMARY KEY (topic, callback)) WITHOUT ROWID;"
            "CREATE TABLE partner_subscriptions (partner TEXT PRIMARY KEY, hub TEXT NOT NULL,"
            " topic TEXT NOT NULL, token TEXT NOT NULL UNIQUE, secret TEXT NOT NULL,"
            " state TEXT NOT NULL, lease_seconds INTEGER, expires_at TEXT, error TEXT);"
            f"INSERT INTO subscriptions VALUES ('{TOPIC}', '{CALLBACK}', NULL, 60, "
            "'2030-01-01T00:00:00+00:00');"
            "PRAGMA user_version = 2;"
        )
    db.close()
    store = open_subscriptions(path)
    try:
        assert [s.callback for s in store.load()] == [CALLBACK]
        assert store.claim(TOPIC, CALLBACK, '"a"')
    finally:
        store.close()


def test_a_postgresql_server_that_does_not_answer_is_named():
    url = "postgresql://feedsvc@127.0.0.1:1/feeds?connect_timeout=2"
    with pytest.raises(StoreError, match=re.escape("127.0.0.1:1")):
        open_subscriptions(url)
