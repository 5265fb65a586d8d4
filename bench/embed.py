"""Embed sizes and costs (docs/urls.md "Embeds for partner sites"), run by hand; figures go
to docs/benchmarks.md.

    python bench/embed.py [--config feeds.toml] [--feed category/helpline]

Prints, side by side in one run:

1. the bytes of /embed.js and /embed.css as served (identity, gzip, br) and gzip -9: the
   component's bound is 5 KB gzipped;
2. what a partner page downloads for one feed in each form: the fragment (limit 5) against
   the JSON Feed the component fetches plus the component itself;
3. the cost of a fragment request: the first one for a (feed, limit), which renders and
   compresses it, against a repeated one, which is a lookup (in-process, no network).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import make_mocked_request

from feedsvc.configfile import load_config
from feedsvc.pipeline import build_snapshot
from feedsvc.render.embed import embed_asset
from feedsvc.store import SnapshotRef
from feedsvc.web.embed import EmbedFragments
from feedsvc.web.handlers import Handlers

REPO = Path(__file__).resolve().parents[1]


def sizes(label: str, identity: int, gz: int, br: int, gz9: int | None = None) -> str:
    best = "" if gz9 is None else f"{gz9:>8,}"
    return f"{label:<34}{identity:>10,}{gz:>10,}{br:>10,}{best}"


def request(feed: str, limit: int) -> Any:
    return make_mocked_request(
        "GET",
        f"/embed/{feed}.html?limit={limit}",
        headers={"Accept-Encoding": "gzip, deflate, br"},
        match_info={"feed": feed},
    )


def timed(call: Callable[[], None], repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "feeds.toml"))
    parser.add_argument("--feed", default="category/helpline")
    args = parser.parse_args()
    snapshot = build_snapshot(load_config(args.config), workers=1)
    resources = snapshot.resources

    print(f"{'bytes':<34}{'identity':>10}{'gzip':>10}{'br':>10}{'gzip -9':>8}")
    for path in ("/embed.js", "/embed.css"):
        served = resources[path]
        body = embed_asset(path[1:])
        print(
            sizes(
                path,
                len(body),
                len(served.gzip.body),
                len(served.br.body),
                len(gzip.compress(body, 9, mtime=0)),
            )
        )

    ref = SnapshotRef(snapshot)
    embeds = EmbedFragments(ref, Handlers(ref))
    fragment = embeds.fragment(request(args.feed, 5))
    json_feed = resources[f"/{args.feed}.json"]
    js = resources["/embed.js"]
    print()
    print(f"{'one feed, 5 items, downloaded':<34}{'identity':>10}{'gzip':>10}{'br':>10}")
    fragment_resource = embeds._resource(json_feed, 5)  # the one just served, from the cache
    for label, parts in (
        (f"fragment /embed/{args.feed}.html", (fragment_resource,)),
        (f"JSON Feed /{args.feed}.json", (json_feed,)),
        ("component: embed.js + JSON Feed", (js, json_feed)),
    ):
        print(
            sizes(
                label,
                sum(len(r.identity.body) for r in parts),
                sum(len(r.gzip.body) for r in parts),
                sum(len(r.br.body) for r in parts),
            )
        )
    assert fragment.status == 200

    print()
    limits = list(range(1, 51))
    # Requests made ahead: the timings are the handler's alone.
    requests = [request(args.feed, limit) for limit in limits]

    def first_requests() -> None:
        fresh = EmbedFragments(ref, Handlers(ref))
        for one in requests:
            fresh.fragment(one)

    def repeated_requests() -> None:
        for one in requests:
            embeds.fragment(one)

    repeated_requests()  # fills the cache
    first = timed(first_requests, 5) / len(limits)
    repeat = timed(repeated_requests, 20) / len(limits)
    print(f"fragment request, first per (feed, limit): {first * 1e6:8.0f} µs  (renders)")
    print(f"fragment request, repeated:                {repeat * 1e6:8.0f} µs  (lookup)")


if __name__ == "__main__":
    main()
