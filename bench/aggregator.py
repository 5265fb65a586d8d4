"""The aggregator's benchmark, run by hand; figures go to docs/benchmarks.md.

    pip install -r bench/requirements.txt      # reader, for the side-by-side column
    python bench/aggregator.py [--partners 200] [--entries 50] [--site-posts 500]

Measures, in one run, against one partner server on 127.0.0.1 (issue 3, "Benchmark"):

1. feedsvc, in-process: the real ``Publisher`` (site build, Aggregator, re-render on change)
   served by aiohttp on a local port. Each refresh is ``await aggregator.refresh_all()``,
   which returns once every partner is fetched, parsed (in the parser pool), merged and
   stored *and* the merged feeds are re-rendered and swapped in: ``refresh`` awaits
   ``on_change`` (``Publisher.partners_changed``), and changes landing during a rebuild are
   coalesced into one more rebuild that the same gather awaits. The served /partners.atom
   ETag is checked before and after, to show the swap happened inside the timed span.
   Scenarios: first fetch (every partner new), after ``/_bump`` (every partner changed),
   and again with nothing changed (every partner answers 304).
2. the same three scenarios with the ``reader`` library: ``make_reader`` on a fresh
   database, ``add_feed`` the same URLs, ``update_feeds_iter(scheduled=False)``.
3. peak memory (VmHWM) of each engine's process, and of feedsvc's parser pool processes;
4. latency of /feed.atom and /partners.atom requested from a separate process at a fixed
   rate (open loop: a stalled server delays every request in flight) while feedsvc
   refreshes, with an idle baseline; and, inside feedsvc, how late its event loop wakes a
   10 ms sleeper (time the loop spent blocked or waiting for the GIL).

The partner server and the latency probe run in their own processes, pinned to CPU 1 (when
there is more than one CPU); feedsvc is not pinned, so its parser workers can spread. Each
engine runs in a fresh process of its own, so peaks do not mix. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import html
import json
import logging
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from gensite import WORDS, generate, sentence  # noqa: E402
from run import peak_rss_mb, platform_line, wait_for  # noqa: E402

PYTHON = sys.executable
HELPER_CPU = "1"  # partner server and latency probe; the measured process is not pinned
REFRESH_LIMIT = 180.0  # seconds: one refresh, either engine
ENGINE_LIMIT = 420.0  # seconds: one engine's whole run
PROBE_PATHS = ("/feed.atom", "/partners.atom")
BASE_DATE = datetime(2025, 1, 1, tzinfo=UTC)
BODY_POOL = 400  # distinct entry bodies the partner server draws from


# --- the partner server (a subprocess) ----------------------------------------------------


def entry_body(rng: random.Random, i: int) -> str:
    """An entry's HTML, 2–4 KB: paragraphs, links (one relative), an image, and in some
    a tracking pixel or a script for the sanitizer to remove."""
    parts = []
    for p in range(rng.randint(4, 7)):
        text = " ".join(sentence(rng) for _ in range(rng.randint(3, 5)))
        if p == 1:
            text += f' See <a href="https://partner.example/reports/{i}">the full report</a>.'
        if p == 2:
            text += f' Download <a href="/data/{i}.csv">the data</a>.'
        parts.append(f"<p>{text}</p>")
        if p == 0:
            parts.append(
                f'<p><img src="/media/figure-{i}.jpg" alt="Figure {i}" width="640" height="360">'
                "</p>"
            )
    if i % 5 == 0:
        parts.append(f'<img src="https://stats.example/t.gif?e={i}" width="1" height="1">')
    if i % 10 == 0:
        parts.append("<script>track()</script>")
    if i % 3 == 0:
        items = "".join(f"<li>{rng.choice(WORDS)} {rng.choice(WORDS)}</li>" for _ in range(4))
        parts.append(f"<ul>{items}</ul>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Document:
    etag: str
    last_modified: str
    content_type: str
    body: bytes
    gzipped: bytes


class PartnerSite:
    """``partners`` feeds of ``entries`` entries; each bump publishes ``new`` more entries
    in every feed (the oldest ``new`` fall off), with a new ETag and Last-Modified."""

    def __init__(self, partners: int, entries: int, new: int, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.partners, self.entries, self.new = partners, entries, new
        self.bodies = [html.escape(entry_body(rng, i)) for i in range(BODY_POOL)]
        self.titles = [html.escape(sentence(rng)[:70]) for _ in range(BODY_POOL)]
        self.version = 0
        self.docs: dict[int, Document] = {}
        self.render()

    def bump(self) -> None:
        self.version += 1
        self.render()

    def render(self) -> None:
        modified = format_datetime(BASE_DATE + timedelta(days=self.version), usegmt=True)
        for n in range(self.partners):
            atom = n % 2 == 1
            body = (self.atom if atom else self.rss)(n).encode()
            content_type = "application/atom+xml" if atom else "application/rss+xml"
            etag = f'"p{n}-v{self.version}"'
            self.docs[n] = Document(etag, modified, content_type, body, gzip.compress(body, 6))

    def window(self, n: int) -> range:
        """Entry numbers in partner n's feed now, newest first."""
        first = self.version * self.new
        return range(first + self.entries - 1, first - 1, -1)

    def _entry(self, n: int, k: int) -> tuple[str, str, str, datetime]:
        pick = (n * 7919 + k * 104729) % BODY_POOL
        url = f"https://partner-{n}.example/posts/{k}"
        title = f"Partner {n}, post {k}: {self.titles[pick]}"
        return url, title, self.bodies[pick], BASE_DATE + timedelta(hours=k)

    def rss(self, n: int) -> str:
        items = []
        for k in self.window(n):
            url, title, body, date = self._entry(n, k)
            items.append(
                f"<item><title>{title}</title><link>{url}.html</link>"
                f'<guid isPermaLink="false">{url}</guid>'
                f"<pubDate>{format_datetime(date)}</pubDate>"
                f"<description>{body}</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Partner {n}</title><link>https://partner-{n}.example/</link>"
            f"<description>News from partner {n}</description><language>en</language>"
            f"{''.join(items)}</channel></rss>"
        )

    def atom(self, n: int) -> str:
        entries = []
        for k in self.window(n):
            url, title, body, date = self._entry(n, k)
            entries.append(
                f'<entry><title>{title}</title><link rel="alternate" href="{url}.html"/>'
                f"<id>{url}</id><published>{date.isoformat()}</published>"
                f"<updated>{date.isoformat()}</updated>"
                f"<author><name>Writer {k % 7}</name></author>"
                f'<content type="html">{body}</content></entry>'
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
            f"<title>Partner {n}</title><id>https://partner-{n}.example/</id>"
            f'<link rel="alternate" href="https://partner-{n}.example/"/>'
            f"<updated>{BASE_DATE.isoformat()}</updated>{''.join(entries)}</feed>"
        )

    async def feed(self, request: web.Request) -> web.Response:
        try:
            doc = self.docs[int(request.match_info["n"])]
        except (KeyError, ValueError):
            raise web.HTTPNotFound() from None
        headers = {"ETag": doc.etag, "Last-Modified": doc.last_modified, "Vary": "Accept-Encoding"}
        if not_modified(request, doc):
            return web.Response(status=304, headers=headers)
        body = doc.body
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = doc.gzipped, "gzip"
        headers["Content-Type"] = f"{doc.content_type}; charset=utf-8"
        return web.Response(body=body, headers=headers)

    async def bump_handler(self, request: web.Request) -> web.Response:
        self.bump()
        return web.json_response({"version": self.version})

    async def version_handler(self, request: web.Request) -> web.Response:
        return web.json_response({"version": self.version})


def not_modified(request: web.Request, doc: Document) -> bool:
    # RFC 9110 §13.1.2: If-None-Match wins over If-Modified-Since.
    none_match = request.headers.get("If-None-Match")
    if none_match is not None:
        return doc.etag in (tag.strip() for tag in none_match.split(","))
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return parsedate_to_datetime(doc.last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def serve_partners(args: argparse.Namespace) -> None:
    site = PartnerSite(args.partners, args.entries, args.new)
    app = web.Application()
    app.router.add_get("/p/{n}.xml", site.feed)
    app.router.add_get("/_bump", site.bump_handler)
    app.router.add_get("/_version", site.version_handler)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


# --- the latency probe (a subprocess) ------------------------------------------------------


async def probe(base: str, rate: float, out: Path) -> None:
    """Request PROBE_PATHS in turn, ``rate`` times a second without waiting for answers,
    until SIGTERM; then write one [wall-clock start, path, status, ms] row per request."""
    import aiohttp

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    rows: list[tuple[float, str, int, float]] = []
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(path: str) -> None:
            wall, started = time.time(), loop.time()
            try:
                headers = {"Accept-Encoding": "gzip"}
                async with session.get(base + path, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            rows.append((wall, path, status, (loop.time() - started) * 1000))

        due, i = loop.time(), 0
        while not stop.is_set():
            delay = due - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            task = asyncio.create_task(one(PROBE_PATHS[i % len(PROBE_PATHS)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            due, i = due + 1 / rate, i + 1
        if tasks:
            await asyncio.wait(tasks, timeout=10)
    out.write_text(json.dumps(rows))


async def watch_loop(lags: list[tuple[float, float]], period: float = 0.01) -> None:
    """How late the event loop wakes a sleeper, in ms: time it spent blocked or GIL-starved."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(period)
        lags.append((time.time(), (loop.time() - started - period) * 1000))


def loop_lag(lags: Sequence[tuple[float, float]], start: float, end: float) -> dict[str, float]:
    ms = sorted(lag for wall, lag in lags if start <= wall <= end)
    if not ms:
        return {}
    return {"p99": ms[max(0, math.ceil(0.99 * len(ms)) - 1)], "max": ms[-1]}


def latency(rows: Sequence[Sequence[Any]], start: float, end: float) -> dict[str, Any]:
    """p50/p99/max per path of the probe requests started in [start, end]."""
    result: dict[str, Any] = {}
    for path in PROBE_PATHS:
        picked = [r for r in rows if r[1] == path and start <= r[0] <= end]
        ms = sorted(r[3] for r in picked)
        if not ms:
            result[path] = None
            continue
        result[path] = {
            "n": len(ms),
            "p50": ms[len(ms) // 2],
            "p99": ms[max(0, math.ceil(0.99 * len(ms)) - 1)],
            "max": ms[-1],
            "not_200": sum(r[2] != 200 for r in picked),
        }
    return result


# --- feedsvc (a subprocess) ----------------------------------------------------------------


def write_config(folder: Path, server: str, partners: int) -> Path:
    """gensite's site, plus aggregator mode with every partner (defaults otherwise)."""
    config = folder / "feeds.toml"
    lines = [
        "",
        "[aggregator]",
        "enabled = true",
        'store = "var/aggregator.sqlite3"',
        "allow_private_addresses = true",
    ]
    for n in range(partners):
        lines += [
            "",
            "[[partners]]",
            f'name = "partner-{n:03d}"',
            f'url = "{server}/p/{n}.xml"',
            f'title = "Partner {n}"',
            f'home = "https://partner-{n}.example/"',
            'categories = ["Partners"]',
        ]
    with config.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_mb(pid: int) -> float:
    try:
        return peak_rss_mb(pid)
    except OSError:
        return float("nan")


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def process_role(pid: int) -> str:
    """What a process of the parser pool is, from its command line and parent."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return "process"
    if parent != os.getpid():
        return "worker"
    if b"resource_tracker" in command:
        return "resource tracker"
    return "forkserver" if b"forkserver" in command else "process"


def pin(command: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", HELPER_CPU, *command]
    return command


def bump(server: str) -> int:
    with urllib.request.urlopen(f"{server}/_bump", timeout=60) as response:
        return json.load(response)["version"]


async def timed_refresh(publisher: Any, served_etag: Any) -> dict[str, Any]:
    """One ``refresh_all``, timed, with what it did; the served /partners.atom ETag before
    and after shows whether the re-render was swapped in within the timed span."""
    aggregator = publisher.aggregator
    before, rebuilds = await served_etag(), len(publisher.rebuild_times)
    wall, started = time.time(), time.perf_counter()
    async with asyncio.timeout(REFRESH_LIMIT):
        await aggregator.refresh_all()
    seconds = time.perf_counter() - started
    window = (wall, time.time())
    after = await served_etag()
    status = aggregator.status()
    done = publisher.rebuild_times[rebuilds:]
    return {
        "seconds": seconds,
        "window": window,
        "etag_changed": before != after,
        "rebuilds": len(done),
        "rebuild_seconds": sum(done),
        "states": dict(Counter(s.state for s in status)),
        "http": dict(Counter(str(s.last_status) for s in status)),
        "entries": sum(s.entries for s in status),
    }


async def run_feedsvc(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    from feedsvc.configfile import load_config
    from feedsvc.live import Publisher
    from feedsvc.web.app import create_app

    class TimedPublisher(Publisher):
        """Records how long each re-render after a partner change takes."""

        rebuild_times: list[float]

        async def partners_changed(self) -> None:
            started = time.perf_counter()
            await super().partners_changed()
            self.rebuild_times.append(time.perf_counter() - started)

    tmp = Path(args.tmp)
    generate(tmp / "site", args.site_posts, categories=20, months=24, seed=1)
    config = load_config(write_config(tmp / "site", args.server, args.partners))
    publisher = TimedPublisher(config)
    publisher.rebuild_times = []
    started = time.perf_counter()
    ref = publisher.build()
    build_seconds = time.perf_counter() - started
    runner = web.AppRunner(create_app(ref, status=publisher.status), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    await publisher.start(schedule=False)
    result: dict[str, Any] = {
        "build_seconds": build_seconds,
        "parse_workers": config.aggregator.parse_workers,
        "per_host": config.aggregator.per_host,
        "hwm_before_mb": vm_hwm_mb(os.getpid()),
    }
    probe_out = tmp / "probe.json"
    command = [PYTHON, __file__, "--role", "probe", "--server", base, "--out", str(probe_out)]
    probe_proc = subprocess.Popen(pin([*command, "--rate", str(args.rate)]))
    windows: dict[str, tuple[float, float]] = {}
    scenarios: dict[str, Any] = {}
    lags: list[tuple[float, float]] = []
    watcher = asyncio.create_task(watch_loop(lags))
    try:
        async with aiohttp.ClientSession() as session:

            async def served_etag() -> str:
                async with session.get(f"{base}/partners.atom") as response:
                    await response.read()
                    return response.headers.get("ETag", "")

            await asyncio.to_thread(wait_for, f"{base}/healthz", 30)
            await asyncio.sleep(1)  # the probe's first connections
            idle_start = time.time()
            await asyncio.sleep(args.idle)
            windows["idle"] = (idle_start, time.time())
            for name in ("first", "changed", "unchanged"):
                if name == "changed":
                    await asyncio.to_thread(bump, args.server)
                scenarios[name] = await timed_refresh(publisher, served_etag)
                windows[name] = scenarios[name].pop("window")
                await asyncio.sleep(1)
        result["hwm_mb"] = vm_hwm_mb(os.getpid())
        result["pool_hwm_mb"] = {
            f"{process_role(pid)} {pid}": vm_hwm_mb(pid)
            for pid in descendants(os.getpid())
            if pid != probe_proc.pid
        }
    finally:
        watcher.cancel()
        probe_proc.send_signal(signal.SIGTERM)
        try:
            probe_proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            probe_proc.kill()
        await publisher.stop()
        await runner.cleanup()
    rows = json.loads(probe_out.read_text()) if probe_out.exists() else []
    for name, (start, end) in windows.items():
        scenarios.setdefault(name, {})["latency"] = latency(rows, start, end)
        scenarios[name]["loop_lag"] = loop_lag(lags, start, end)
    result["scenarios"] = scenarios
    return result


# --- reader (a subprocess) -----------------------------------------------------------------


def run_reader(args: argparse.Namespace) -> dict[str, Any]:
    import reader

    db = Path(args.tmp) / "reader.sqlite3"
    r = reader.make_reader(str(db))
    for n in range(args.partners):
        r.add_feed(f"{args.server}/p/{n}.xml")
    result: dict[str, Any] = {
        "version": reader.__version__,
        "workers": args.reader_workers,
        "hwm_before_mb": vm_hwm_mb(os.getpid()),
    }
    scenarios: dict[str, Any] = {}
    for name in ("first", "changed", "unchanged"):
        if name == "changed":
            bump(args.server)
        outcomes: Counter[str] = Counter()
        new = modified = 0
        started = time.perf_counter()
        for _url, value in r.update_feeds_iter(scheduled=False, workers=args.reader_workers):
            if value is None:
                outcomes["not modified"] += 1
            elif isinstance(value, Exception):
                outcomes[type(value).__name__] += 1
            else:
                outcomes["updated"] += 1
                new, modified = new + value.new, modified + value.modified
        seconds = time.perf_counter() - started
        if seconds > REFRESH_LIMIT:
            raise RuntimeError(f"reader took {seconds:.0f} s")
        scenarios[name] = {
            "seconds": seconds,
            "outcomes": dict(outcomes),
            "new": new,
            "modified": modified,
            "entries": r.get_entry_counts().total,
        }
    r.close()
    result["hwm_mb"] = vm_hwm_mb(os.getpid())
    result["scenarios"] = scenarios
    return result


# --- the run ---------------------------------------------------------------------------------


def engine(role: str, args: argparse.Namespace, server: str, tmp: Path) -> dict[str, Any]:
    folder = tmp / role
    folder.mkdir()
    command = [PYTHON, __file__, "--role", role, "--server", server, "--tmp", str(folder)]
    command += ["--partners", str(args.partners), "--site-posts", str(args.site_posts)]
    command += ["--reader-workers", str(args.reader_workers), "--rate", str(args.rate)]
    command += ["--idle", str(args.idle)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=ENGINE_LIMIT, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{role} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description="feedsvc's aggregator against reader")
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50, help="entries per partner feed")
    parser.add_argument("--new", type=int, default=5, help="new entries per feed on a bump")
    parser.add_argument("--site-posts", type=int, default=500, help="posts of the site itself")
    parser.add_argument("--reader-workers", type=int, default=1)
    parser.add_argument("--rate", type=float, default=100.0, help="probe requests per second")
    parser.add_argument("--idle", type=float, default=3.0, help="idle probe seconds")
    # Internal: the run starts this same file in other roles.
    hidden = argparse.SUPPRESS
    parser.add_argument("--role", default="bench", help=hidden)
    parser.add_argument("--server", help=hidden)
    parser.add_argument("--tmp", help=hidden)
    parser.add_argument("--port", type=int, help=hidden)
    parser.add_argument("--out", type=Path, help=hidden)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.role == "server":
        serve_partners(args)
    elif args.role == "probe":
        asyncio.run(probe(args.server, args.rate, args.out))
    elif args.role == "feedsvc":
        print(json.dumps(asyncio.run(run_feedsvc(args))))
    elif args.role == "reader":
        print(json.dumps(run_reader(args)))
    else:
        bench(args)


def bench(args: argparse.Namespace) -> None:
    load_before = uptime()
    tmp = Path(tempfile.mkdtemp(prefix="feedsvc-aggbench-"))
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    command = [PYTHON, __file__, "--role", "server", "--port", str(port)]
    command += ["--partners", str(args.partners), "--entries", str(args.entries)]
    partners = subprocess.Popen(pin([*command, "--new", str(args.new)]))
    try:
        wait_for(f"{server}/_version", timeout=120)
        sample = urllib.request.urlopen(f"{server}/p/0.xml", timeout=10).read()
        ours = engine("feedsvc", args, server, tmp)
        theirs = engine("reader", args, server, tmp)
    finally:
        partners.terminate()
        partners.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, ours, theirs, len(sample), load_before, uptime())


def report(
    args: argparse.Namespace,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    sample_bytes: int,
    load_before: str,
    load_after: str,
) -> None:
    def secs(engine: dict[str, Any], name: str) -> str:
        return f"{engine['scenarios'][name]['seconds']:.2f} s"

    def p99(name: str, path: str) -> str:
        lat = ours["scenarios"][name]["latency"][path]
        if lat is None:
            return "–"
        return f"{lat['p99']:.1f} ms (p50 {lat['p50']:.1f}, max {lat['max']:.0f}, n={lat['n']})"

    pool = ours["pool_hwm_mb"]
    n, e = args.partners, args.entries
    print(f"machine: {os.cpu_count()} cores, {platform_line()}")
    print(f"load average before {load_before}, after {load_after}")
    print(f"command: {' '.join(['python', 'bench/aggregator.py', *sys.argv[1:]])}")
    print(
        f"{n} partners × {e} entries (RSS and Atom, every other), ~{sample_bytes // 1024} KB "
        f"per feed; a bump adds {args.new} entries to every feed; site: {args.site_posts} posts"
    )
    print(
        f"feedsvc: parse_workers={ours['parse_workers']}, per_host={ours['per_host']} "
        f"(every partner is on 127.0.0.1: one host); reader {theirs['version']}, "
        f"workers={theirs['workers']}"
    )
    print()
    print("| scenario | feedsvc | reader | target |")
    print("|---|---|---|---|")
    print(
        f"| all changed, first fetch ({n * e:,} new entries) | {secs(ours, 'first')} "
        f"| {secs(theirs, 'first')} | ≤ 20 s, faster than reader |"
    )
    print(
        f"| all changed, after /_bump ({n * args.new:,} new entries) "
        f"| {secs(ours, 'changed')} | {secs(theirs, 'changed')} | ≤ 20 s, faster than reader |"
    )
    print(f"| all 304 | {secs(ours, 'unchanged')} | {secs(theirs, 'unchanged')} | ≤ 2 s |")
    pool_line = ", ".join(f"{k.rsplit(' ', 1)[0]} {v:.0f}" for k, v in pool.items())
    print(
        f"| peak memory (VmHWM) | {ours['hwm_mb']:.0f} MB "
        f"(after start-up {ours['hwm_before_mb']:.0f}); parser pool: {pool_line} MB "
        f"| {theirs['hwm_mb']:.0f} MB (after add_feed "
        f"{theirs['hwm_before_mb']:.0f}) | – |"
    )
    for path in PROBE_PATHS:
        for name, label in (("idle", "idle"), ("first", "first fetch"), ("changed", "bump")):
            target = "≤ 50 ms" if name != "idle" else "–"
            print(f"| p99 {path}, {label} | {p99(name, path)} | – | {target} |")
    lag = {name: ours["scenarios"][name]["loop_lag"] for name in ("idle", "first", "changed")}
    print(
        "| event-loop lag p99 / max: idle, first fetch, bump | "
        + ", ".join(f"{v['p99']:.0f} / {v['max']:.0f} ms" for v in lag.values())
        + " | – | – |"
    )
    print()
    for name in ("first", "changed", "unchanged"):
        s = ours["scenarios"][name]
        print(
            f"feedsvc {name}: states {s['states']}, HTTP {s['http']}, {s['entries']} entries, "
            f"{s['rebuilds']} on_change re-renders ({s['rebuild_seconds']:.2f} s), "
            f"/partners.atom ETag changed: {s['etag_changed']}"
        )
    for name in ("first", "changed", "unchanged"):
        s = theirs["scenarios"][name]
        print(
            f"reader {name}: {s['outcomes']}, {s['new']} new, {s['modified']} modified, "
            f"{s['entries']} entries"
        )
    print(f"feedsvc start-up build: {ours['build_seconds']:.2f} s")


if __name__ == "__main__":
    main()
