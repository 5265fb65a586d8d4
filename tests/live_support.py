"""Shared by the live-update tests: a small bilingual site on disk, a Publisher over it, and
waiting for a condition with a deadline (never a fixed sleep).

    site = write_site(tmp_path)                 # posts/ and feeds.toml
    publisher = Publisher(site.config(), workers=1)
    before = etags(publisher)
    ...
    await until(lambda: etags(publisher) != before)
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedsvc.config import Config
from feedsvc.configfile import load_config
from feedsvc.live import Publisher
from feedsvc.status import SourceStatus

SITE_TOML = """\
[site]
title = "{title}"
url = "https://site.example/"
id_authority = "site.example,2020"
language = "en"
timezone = "UTC"

[feeds]
entries = 20

[[sources]]
type = "folder"
name = "posts"
path = "posts"
{extra}
"""

# (file, language, categories, date): two languages, two categories, three months.
POSTS = {
    "en/a.md": ("en", ["Labor Trafficking"], "2024-01-10"),
    "en/b.md": ("en", ["Policy"], "2024-02-05"),
    "es/c.md": ("es", ["Labor Trafficking"], "2024-02-14"),
    "es/d.md": ("es", ["Policy"], "2024-03-01"),
    "en/e.md": ("en", ["Labor Trafficking", "Policy"], "2024-03-20"),
}


def post_text(title: str, lang: str, categories: list[str], date: str, body: str = "") -> str:
    cats = ", ".join(categories)
    body = body or f"The body of {title}."
    return f"---\ntitle: {title}\ndate: {date}\nlang: {lang}\ncategories: [{cats}]\n---\n{body}\n"


@dataclass
class Site:
    root: Path

    @property
    def posts(self) -> Path:
        return self.root / "posts"

    @property
    def config_file(self) -> Path:
        return self.root / "feeds.toml"

    def write_config(self, title: str = "Live Site", extra: str = "") -> None:
        self.config_file.write_text(SITE_TOML.format(title=title, extra=extra))

    def config(self) -> Config:
        return load_config(self.config_file)

    def write_post(self, relative: str, text: str) -> Path:
        path = self.posts / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


def write_site(root: Path, extra: str = "") -> Site:
    """The five POSTS (titled "Post a" … "Post e") and a feeds.toml reading them."""
    site = Site(root)
    for relative, (lang, categories, date) in POSTS.items():
        name = Path(relative).stem
        site.write_post(relative, post_text(f"Post {name}", lang, categories, date))
    site.write_config(extra=extra)
    return site


def etags(publisher: Publisher) -> dict[str, str]:
    """Every served path → the ETag of its identity bytes."""
    resources = publisher.ref.current.resources
    return {path: resource.identity.etag for path, resource in resources.items()}


def changed_feeds(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """Feed paths (``lang/es``, without the format suffix) and pages (``/``, ``/feeds.opml``)
    whose ETag changed, or that appeared or disappeared."""
    paths = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return {_feed_of(path) for path in paths}


def _feed_of(path: str) -> str:
    stem, _, suffix = path.rpartition(".")
    return stem.lstrip("/") if suffix in ("atom", "rss", "json") else path


async def until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``condition`` (a function, or a coroutine function) until it gives a truthy
    value, and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.02)


def source_status(publisher: Publisher, name: str = "posts") -> SourceStatus:
    return next(s for s in publisher.status().sources if s.name == name)


class ManualSleep:
    """An injected ``sleep`` the test releases by hand: ``await sleep.tick()`` ends the
    current sleep and returns once the sleeper has done its work and sleeps again."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[float, asyncio.Future[None]]] = asyncio.Queue()
        self.durations: list[float] = []

    async def __call__(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.durations.append(seconds)
        await self._queue.put((seconds, future))
        await future

    async def tick(self, timeout: float = 10.0) -> None:
        _, future = await asyncio.wait_for(self._queue.get(), timeout)
        future.set_result(None)
        # The sleeper is back asleep: what it did after waking up is done.
        seconds, again = await asyncio.wait_for(self._queue.get(), timeout)
        await self._queue.put((seconds, again))
