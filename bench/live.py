"""Live updates benchmark (docs/architecture.md "Live updates"), run by hand; figures go to
docs/benchmarks.md.

    python bench/gensite.py                   # once: the 10,000-post synthetic site
    python bench/live.py [--site bench/out/site] [--edits 5] [--connections 8]

Needs wrk (Debian: apt-get install wrk). Copies the site to a temporary folder, starts
`feedsvc serve` on the copy (a subprocess on 127.0.0.1, pinned to CPU 0 where taskset
exists; wrk and this script run on CPU 1), waits for it to answer, then for each of the
newest posts in turn:

1. starts wrk for `--window` seconds on a mix of feeds, some the edit touches and some not;
2. saves an edit of the post's body the way editors do (a new file renamed over the old);
3. polls the post's monthly archive feed (If-None-Match: a 304 until it changes) until the
   edit is served: **time to served**;
4. reads /status: **feeds re-rendered** by that rebuild, checked to be only feeds the post is
   in (site, its language, its categories, language × category, its month's archive);
5. reads wrk's **p99 latency** over the window, which holds the whole rebuild (it starts with
   the save and lasts longer than the rebuild), next to a window without an edit.

Targets: time to served ≤ 1 s; only touched feeds re-rendered; p99 during the rebuild ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feedsvc.lang import normalize_lang  # noqa: E402
from feedsvc.normalize import slugify  # noqa: E402

SERVER_CPU, CLIENT_CPU = "0", "1"

# wrk requests these in turn (one per request, round robin): touched and untouched feeds.
WRK_SCRIPT = """
paths = {%s}
n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {["Accept-Encoding"] = "gzip"})
end
"""


@dataclass
class Target:
    """A post to edit, and every feed it is in."""

    file: Path
    archive: str
    feeds: set[str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(command: list[str], cpu: str) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *command]
    return command


def front_matter(file: Path) -> dict[str, Any]:
    text = file.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n", 2)[1])


def newest_posts(posts: Path, count: int) -> list[Target]:
    """The ``count`` newest posts (the ones an editor fixes a typo in), with their feeds."""
    dated = []
    for file in posts.rglob("*.md"):
        meta = front_matter(file)
        dated.append((meta["date"], file, meta))
    dated.sort(key=lambda item: str(item[0]), reverse=True)
    targets = []
    for date, file, meta in dated[:count]:
        when = date if not isinstance(date, str) else None
        month = f"{when:%Y/%m}" if when else str(date)[:7].replace("-", "/")
        lang = normalize_lang(meta["lang"])
        slugs = [slugify(label) for label in meta["categories"]]
        feeds = {"feed", f"lang/{lang}", f"archive/{month}"}
        feeds |= {f"category/{s}" for s in slugs} | {f"lang/{lang}/category/{s}" for s in slugs}
        targets.append(Target(file, f"archive/{month}", feeds))
    return targets


def save_edit(file: Path, marker: str) -> None:
    """Append a paragraph, written as editors write: a new file renamed over the old."""
    text = file.read_text(encoding="utf-8") + f"\nEdited: {marker}.\n"
    temporary = file.with_name(f".{file.name}.swp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, file)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), b""


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def status(base: str) -> dict[str, Any]:
    return json.loads(get(f"{base}/status", {"Accept": "application/json"})[2])


def start_wrk(base: str, script: Path, seconds: int, connections: int) -> subprocess.Popen:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    return subprocess.Popen(pinned([*command, base], CLIENT_CPU), stdout=subprocess.PIPE, text=True)


def wrk_result(process: subprocess.Popen) -> dict[str, float]:
    out, _ = process.communicate(timeout=60)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if p99 is None or rps is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p99_ms": round(float(p99.group(1)) * scale, 1),
        "rps": round(float(rps.group(1))),
        "errors": int(errors.group(1)) if errors else 0,
    }


def served_after_edit(base: str, target: Target, marker: str) -> float:
    """Save the edit; seconds until the archive feed serves it."""
    url = f"{base}/{target.archive}.json"
    etag = get(url)[1]["ETag"]
    saved = time.perf_counter()
    save_edit(target.file, marker)
    while time.perf_counter() - saved < 30:
        code, headers, body = get(url, {"If-None-Match": etag})
        if code == 200:
            if marker.encode() in body:
                return time.perf_counter() - saved
            etag = headers["ETag"]  # another change; keep waiting for this one
        time.sleep(0.005)
    raise RuntimeError(f"the edit of {target.file} was not served after 30 s")


def measure(base: str, targets: list[Target], args: argparse.Namespace, tmp: Path) -> dict:
    wait_for(f"{base}/healthz", timeout=300)
    time.sleep(3)  # the watcher's first read after start-up (a no-op) settles
    touched = sorted({f"/{feed}.atom" for t in targets for feed in t.feeds})[:8]
    untouched = ["/lang/en.atom", "/lang/fr.rss", "/feeds.opml", "/archive/2016/03.json"]
    script = tmp / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in touched + untouched))
    baseline = wrk_result(start_wrk(base, script, args.window, args.connections))
    edits = []
    for index, target in enumerate(targets):
        time.sleep(0.5)
        before = status(base)
        load = start_wrk(base, script, args.window, args.connections)
        time.sleep(0.1)  # wrk has connected and is sending
        served = served_after_edit(base, target, f"bench-{time.time_ns()}-{index}")
        latency = wrk_result(load)
        after = status(base)
        last = after["last_rebuild"]
        edits.append(
            {
                "post": target.file.name,
                "served_s": round(served, 3),
                "rebuild_s": last["seconds"],
                "feeds_rendered": last["feeds_rendered"],
                "feeds_the_post_is_in": len(target.feeds),
                "only_touched": set(last["rendered"]) <= target.feeds,
                "posts_normalized": last["posts_normalized"],
                "rebuilds": after["rebuilds"] - before["rebuilds"],
                **latency,
            }
        )
    return {"baseline": baseline, "edits": edits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "bench" / "out" / "site")
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=2, help="seconds of wrk per edit")
    args = parser.parse_args()
    if not (args.site / "feeds.toml").exists():
        sys.exit(f"no site at {args.site}: run python bench/gensite.py first")
    if not shutil.which("wrk"):
        sys.exit("needs wrk (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="feedsvc-live-") as name:
        tmp = Path(name)
        site = tmp / "site"
        shutil.copytree(args.site, site)
        targets = newest_posts(site / "posts", args.edits)
        port = free_port()
        command = [sys.executable, "-m", "feedsvc", "serve", "--config", str(site / "feeds.toml")]
        with open(tmp / "server.log", "w") as log:
            server = subprocess.Popen(
                pinned([*command, "--port", str(port)], SERVER_CPU),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            try:
                results = measure(f"http://127.0.0.1:{port}", targets, args, tmp)
            finally:
                server.terminate()
                server.wait(timeout=30)
    print("without an edit:", json.dumps(results["baseline"]))
    for edit in results["edits"]:
        print(json.dumps(edit))
    edits = results["edits"]
    served = [e["served_s"] for e in edits]
    p99 = [e["p99_ms"] for e in edits]
    print(
        f"time to served: median {statistics.median(served):.3f} s, max {max(served):.3f} s "
        f"(target ≤ 1 s); feeds re-rendered: {[e['feeds_rendered'] for e in edits]}, "
        f"only touched: {all(e['only_touched'] for e in edits)}; p99 of feed requests over "
        f"{args.window:g} s from each save: median {statistics.median(p99):.1f} ms, "
        f"max {max(p99):.1f} ms (target ≤ 50 ms; {results['baseline']['p99_ms']} ms without "
        "an edit)"
    )


if __name__ == "__main__":
    main()
