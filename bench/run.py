"""feedsvc's benchmark, run by hand; figures go to docs/benchmarks.md.

    python bench/gensite.py                   # once: the 10,000-post synthetic site
    python bench/run.py [--config bench/out/site/feeds.toml] [--seconds 10]

Needs wrk and nginx (Debian: apt-get install wrk nginx-light). Measures, in one run:

1. cold start: `feedsvc serve` from process start to its first answer on /healthz
   (load, normalize, render and compress everything), and its peak memory (VmHWM);
2. requests per second and p99 latency for one feed, 200 and 304, gzip and identity,
   served side by side by feedsvc, by a bare aiohttp handler returning the same bytes
   (bench/bare.py), and by nginx serving `feedsvc build` output; with the ratio of
   feedsvc to the bare handler.

Every server is pinned to CPU 0 and wrk to CPU 1, so they do not compete for a core.
Traffic goes to 127.0.0.1 only, bounded by --seconds per run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SERVER_CPU, LOAD_CPU = "0", "1"


def wait_for(url: str, timeout: float = 120.0, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(poll)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fetch(url: str, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request) as response:
        return response.read(), dict(response.headers)


def wrk(url: str, seconds: int, headers: dict[str, str]) -> tuple[float, float]:
    """Requests per second and p99 latency in ms."""
    args = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if re.search(r"Non-2xx or 3xx responses", out):
        raise RuntimeError(f"wrk saw errors from {url}:\n{out}")
    return rps, float(p99.group(1)) * scale


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  types {{
    application/atom+xml atom;
    application/rss+xml rss;
    application/feed+json json;
    text/html html;
    text/x-opml opml;
  }}
  charset utf-8;
  charset_types application/atom+xml application/rss+xml application/feed+json text/x-opml;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    gzip_static on;
    etag on;
    add_header Vary Accept-Encoding;
    add_header Cache-Control "public, max-age=300";
    add_header Access-Control-Allow-Origin *;
  }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="feedsvc benchmark")
    parser.add_argument("--config", type=Path, default=ROOT / "bench/out/site/feeds.toml")
    parser.add_argument("--feed", default="/feed.atom")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    tmp.chmod(0o755)  # nginx's workers run as an unprivileged user and read the tree
    procs: list[subprocess.Popen] = []
    try:
        run(args, tmp, procs)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path, procs: list[subprocess.Popen]) -> None:
    ours, bare, nginx = 18080, 18081, 18082
    print(f"machine: {os.cpu_count()} cores, {platform_line()}")
    started = time.monotonic()
    # Start-up uses every core (it renders in one worker per core); the server is pinned
    # to one core only afterwards, for the load tests.
    server = subprocess.Popen(
        [PYTHON, "-m", "feedsvc", "serve", "--config", str(args.config), "--port", str(ours)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    procs.append(server)
    wait_for(f"http://127.0.0.1:{ours}/healthz", poll=0.005)
    cold = time.monotonic() - started
    print(
        f"cold start to serving every feed: {cold:.2f} s; peak RSS {peak_rss_mb(server.pid):.0f} MB"
    )
    pin = ["taskset", "-a", "-p", "-c", SERVER_CPU, str(server.pid)]
    subprocess.run(pin, check=True, capture_output=True)

    url = f"http://127.0.0.1:{ours}{args.feed}"
    identity, identity_headers = fetch(url, {"Accept-Encoding": "identity"})
    gzipped, gzip_headers = fetch(url, {"Accept-Encoding": "gzip"})
    print(f"feed {args.feed}: {len(identity):,} B identity, {len(gzipped):,} B gzip")

    out = tmp / "tree"
    subprocess.run(
        [PYTHON, "-m", "feedsvc", "build", "--config", str(args.config), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=nginx, root=out))
    procs.append(subprocess.Popen(["taskset", "-c", SERVER_CPU, "nginx", "-c", str(conf)], cwd=tmp))
    wait_for(f"http://127.0.0.1:{nginx}{args.feed}")

    rows = []
    for coding, body, headers in (
        ("gzip", gzipped, gzip_headers),
        ("identity", identity, identity_headers),
    ):
        body_file = tmp / f"body.{coding}"
        body_file.write_bytes(body)
        bare_proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, PYTHON, str(ROOT / "bench/bare.py"), str(body_file)]
            + [headers["Content-Type"], headers["ETag"], str(bare)]
            + ([coding] if coding != "identity" else []),
        )
        procs.append(bare_proc)
        wait_for(f"http://127.0.0.1:{bare}/")
        _, nginx_headers = fetch(
            f"http://127.0.0.1:{nginx}{args.feed}", {"Accept-Encoding": coding}
        )
        for status in (200, 304):
            results = {}
            for name, port, etag in (
                ("feedsvc", ours, headers["ETag"]),
                ("bare aiohttp", bare, headers["ETag"]),
                ("nginx", nginx, nginx_headers["ETag"]),
            ):
                request_headers = {"Accept-Encoding": coding}
                if status == 304:
                    request_headers["If-None-Match"] = etag
                results[name] = wrk(
                    f"http://127.0.0.1:{port}{args.feed}", args.seconds, request_headers
                )
            rows.append((status, coding, results))
        bare_proc.terminate()
        bare_proc.wait()
        procs.remove(bare_proc)

    print()
    print(
        "| status | coding | feedsvc req/s | bare aiohttp req/s | nginx req/s | feedsvc ÷ bare "
        "| p99 feedsvc | p99 bare | p99 nginx |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for status, coding, r in rows:
        ratio = r["feedsvc"][0] / r["bare aiohttp"][0]
        print(
            f"| {status} | {coding} | {r['feedsvc'][0]:,.0f} | {r['bare aiohttp'][0]:,.0f} "
            f"| {r['nginx'][0]:,.0f} | {ratio:.2f} | {r['feedsvc'][1]:.2f} ms "
            f"| {r['bare aiohttp'][1]:.2f} ms | {r['nginx'][1]:.2f} ms |"
        )


def platform_line() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    main()
