"""Remote sources under a running Publisher: re-read on their interval (driven by an injected
sleep, never the real clock), conditionally, and a source that starts failing keeps its last
good posts, reports the error, and clears it when it answers again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from live_support import ManualSleep, etags, source_status, until

from feedsvc.configfile import parse_config
from feedsvc.live import Publisher
from feedsvc.live.watch import WATCHING_INOTIFY, WATCHING_POLLING

SITE = {
    "title": "Remote Site",
    "url": "https://site.example/",
    "id_authority": "site.example,2020",
    "timezone": "UTC",
}


def json_posts(*titles: str) -> bytes:
    posts = [
        {
            "id": f"post-{i}",
            "title": title,
            "date": f"2024-03-{10 + i:02d}",
            "categories": ["News"],
            "content_html": f"<p>{title}</p>",
        }
        for i, title in enumerate(titles)
    ]
    return json.dumps(posts).encode()


def rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://old.example/{i}/</link>"
        f"<guid>https://old.example/{i}/</guid>"
        f"<pubDate>Mon, {10 + i:02d} Mar 2024 10:00:00 +0000</pubDate></item>"
        for i, title in enumerate(titles)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Old</title>'
        f"<link>https://old.example/</link>{items}</channel></rss>"
    ).encode()


@dataclass
class Document:
    """What the local server answers at /doc; tests change it between reads."""

    body: bytes
    content_type: str
    status: int = 200
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return f'"{hash(self.body) & 0xFFFFFFFF:x}"'

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.headers))
        if self.status != 200:
            return web.Response(status=self.status, text="down for maintenance")
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers={"ETag": self.etag})
        return web.Response(
            body=self.body, content_type=self.content_type, headers={"ETag": self.etag}
        )


KINDS = {
    "json": (json_posts, "application/json"),
    "feed": (rss, "application/rss+xml"),
}


@pytest.fixture(params=sorted(KINDS))
async def remote(request, aiohttp_server, tmp_path):
    """(kind, document, publisher with a ManualSleep, sleep) for a json or feed source."""
    kind = request.param
    make, content_type = KINDS[kind]
    document = Document(make("First", "Second"), content_type)
    app = web.Application()
    app.router.add_get("/doc", document.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    config = parse_config(
        {
            "site": SITE,
            "sources": [
                {
                    "type": kind,
                    "name": "remote",
                    "url": str(server.make_url("/doc")),
                    "interval": "1m",
                }
            ],
        },
        base_dir=tmp_path,
    )
    sleep = ManualSleep()
    publisher = Publisher(config, workers=1, sleep=sleep)
    await publisher.build_async()  # build() would block the loop this server runs on
    await publisher.start()
    try:
        yield make, document, publisher, sleep
    finally:
        await publisher.stop()


def titles(publisher: Publisher) -> list[str]:
    body = publisher.ref.current.resources["/feed.json"].identity.body
    return sorted(item["title"] for item in json.loads(body)["items"])


async def test_the_interval_re_reads_and_publishes_a_change(remote):
    make, document, publisher, sleep = remote
    assert titles(publisher) == ["First", "Second"]
    await until(lambda: sleep.durations, what="the interval task to sleep")
    assert sleep.durations == [60.0]
    document.body = make("First", "Second", "Third")

    await sleep.tick()

    assert titles(publisher) == ["First", "Second", "Third"]
    assert publisher.status().last_rebuild.trigger == "interval"
    assert source_status(publisher, "remote").interval == "1m"


async def test_the_interval_read_is_conditional_and_a_304_renders_nothing(remote):
    _, document, publisher, sleep = remote
    before = etags(publisher)
    rebuilt = publisher.status().last_rebuild

    await sleep.tick()

    assert document.requests[-1].get("If-None-Match") == document.etag
    assert etags(publisher) == before
    assert publisher.status().last_rebuild == rebuilt  # nothing changed: no re-render
    assert source_status(publisher, "remote").error is None


async def test_a_failing_source_keeps_its_last_good_posts_until_it_recovers(remote):
    make, document, publisher, sleep = remote
    before = etags(publisher)
    document.status = 500

    await sleep.tick()

    status = source_status(publisher, "remote")
    assert "HTTP 500" in status.error
    assert status.posts == 2
    assert titles(publisher) == ["First", "Second"]
    assert etags(publisher) == before
    assert any("HTTP 500" in p.message for p in publisher.status().skipped)

    document.status = 200
    document.body = make("First", "Second", "Back")
    await sleep.tick()

    assert source_status(publisher, "remote").error is None
    assert titles(publisher) == ["Back", "First", "Second"]
    assert publisher.status().skipped == ()


async def test_a_local_json_file_is_watched(tmp_path):
    posts = tmp_path / "data"
    posts.mkdir()
    file = posts / "posts.json"
    file.write_bytes(json_posts("Local"))
    config = parse_config(
        {"site": SITE, "sources": [{"type": "json", "name": "file", "path": "data/posts.json"}]},
        base_dir=tmp_path,
    )
    publisher = Publisher(config, workers=1)
    publisher.build()
    await publisher.start()
    try:
        assert source_status(publisher, "file").watch in (WATCHING_INOTIFY, WATCHING_POLLING)
        (posts / "other.json").write_text("[]")  # another file in the folder: ignored
        # Saved the way editors save: a new file renamed over the old one.
        (posts / "posts.json.tmp").write_bytes(json_posts("Local", "Saved"))
        (posts / "posts.json.tmp").replace(file)
        await until(lambda: titles(publisher) == ["Local", "Saved"], what="the saved file")
    finally:
        await publisher.stop()


def test_a_source_unreachable_at_start_up_is_reported_and_the_site_still_builds(tmp_path):
    config = parse_config(
        {
            "site": SITE,
            "sources": [{"type": "json", "name": "down", "url": "http://127.0.0.1:9/doc"}],
        },
        base_dir=tmp_path,
    )
    publisher = Publisher(config, workers=1)
    publisher.build()
    status = source_status(publisher, "down")
    assert status.error
    assert status.posts == 0


async def test_a_timer_that_dies_is_logged_and_shown_on_status(tmp_path, caplog):
    config = parse_config(
        {
            "site": SITE,
            "sources": [{"type": "json", "name": "down", "url": "http://127.0.0.1:9/doc"}],
        },
        base_dir=tmp_path,
    )

    async def sleep_that_breaks(seconds: float) -> None:
        raise ValueError("the clock said something odd")

    publisher = Publisher(config, workers=1, sleep=sleep_that_breaks)
    await publisher.build_async()
    await publisher.start()
    try:
        error = await until(lambda: source_status(publisher, "down").watch_error)
    finally:
        await publisher.stop()
    assert "the clock said something odd" in error
    assert "watching stopped" in caplog.text
