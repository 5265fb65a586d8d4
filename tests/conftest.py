"""Fixtures shared by every test module (a module that needs another ``config`` defines its
own, which pytest prefers to this one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aggregate_support import FeedServer
from pg_support import Cluster, cluster
from server_support import Serve, ServerFactory, recording_server
from source_support import site_config

from feedsvc.config import Config
from feedsvc.remote.fetch import Fetcher
from feedsvc.sources import source_fetch_policy


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A site in New York time (so that a date read in the wrong zone shows), no sources."""
    return site_config(tmp_path)


@pytest.fixture
async def fetcher(config: Config) -> AsyncIterator[Fetcher]:
    """A fetcher under the sources' policy (private addresses allowed: 127.0.0.1 here)."""
    async with Fetcher(source_fetch_policy(config)) as f:
        yield f


@pytest.fixture
def serve(aiohttp_server: ServerFactory) -> Serve:
    """Start a local server with GET routes; ``server.app[SEEN]`` lists the requests it got
    (server_support.py)."""
    return recording_server(aiohttp_server)


@pytest.fixture
async def feed_server(aiohttp_server: ServerFactory) -> FeedServer:
    """A local server of partner feeds: ``feed_server.serve(path, body)``, then
    ``feed_server.url(path)`` (aggregate_support.py)."""
    feeds = FeedServer()
    feeds.server = await aiohttp_server(feeds.app(), host="127.0.0.1")
    return feeds


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the session (started on first use)."""
    with cluster() as running:
        yield running


@pytest.fixture
def pg_url(postgres: Cluster) -> str:
    """A new empty database on the session's server."""
    return postgres.database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The aggregator store's URL, once for each implementation."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return request.getfixturevalue("pg_url")
