"""CPU of rendering the bench site's feeds, this tree's renderers against another commit's,
alternated in one process (issue 12; docs/benchmarks.md).

Every document is rendered as `feedsvc build` renders it (render_plan.render_plan for 2
workers, a FragmentCache of the plan's size, uncached jobs without it; a fresh cache per
chunk, where a build's worker keeps one from chunk to chunk: the same hits, as the cache
is keyed by format and each format's cached jobs are one chunk),
and each JSON Feed's embed fragment made from its bytes (embed.render_feed_embed, or the
whole document decoded where a side has no such function); CPU time per format is summed
with time.process_time. Both sides must give the same bytes, which is checked first.

    .venv/bin/python bench/gensite.py
    .venv/bin/python bench/render_ab.py --against main --rounds 6
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from feedsvc.configfile import load_config
from feedsvc.model import Feed
from feedsvc.pipeline import all_feeds, load_posts, render_context
from feedsvc.render import RenderContext
from feedsvc.render_plan import RenderPlan, render_plan

MODULES = ("common", "atom", "rss", "jsonfeed", "embed")
PARTS = ("atom", "rss", "json", "embed")


def old_renderers(ref: str, into: Path) -> dict[str, ModuleType]:
    """feedsvc/render/* of ``ref`` as the package ``oldrender`` (its own common.py)."""
    package = into / "oldrender"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in MODULES:
        source = subprocess.run(
            ["git", "show", f"{ref}:feedsvc/render/{name}.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        source = source.replace("feedsvc.render.common", "oldrender.common")
        (package / f"{name}.py").write_text(source)
    sys.path.insert(0, str(into))
    return {name: importlib.import_module(f"oldrender.{name}") for name in MODULES}


def new_renderers() -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"feedsvc.render.{name}") for name in MODULES}


Side = tuple[dict[str, Callable[..., bytes]], type, Callable[[bytes, int], bytes]]


def side(modules: dict[str, ModuleType]) -> Side:
    renderers = {
        "atom": modules["atom"].render_atom,
        "rss": modules["rss"].render_rss,
        "json": modules["jsonfeed"].render_json,
    }
    embed = modules["embed"]
    # A JSON Feed's bytes to its fragment: render_feed_embed where the side has it, else
    # what export.Tree.write_rendered did before it (the whole document decoded).
    fragment = getattr(embed, "render_feed_embed", None) or (
        lambda body, limit: embed.render_embed(json.loads(body), limit)
    )
    return renderers, modules["common"].FragmentCache, fragment


def render_all(
    what: Side, feeds: tuple[Feed, ...], ctx: RenderContext, plan: RenderPlan
) -> tuple[dict[str, float], dict[tuple[int, str], bytes]]:
    renderers, fragment_cache, render_fragment = what
    seconds = dict.fromkeys(PARTS, 0.0)
    out = {}
    for chunk in plan.chunks:
        cache = fragment_cache(ctx, plan.kept)
        for index, fmt, cached in chunk:
            feed = feeds[index]
            start = time.process_time()
            body = renderers[fmt](feed, ctx, cache=cache if cached else None)
            rendered = time.process_time()
            seconds[fmt] += rendered - start
            out[(index, fmt)] = body
            if fmt == "json":
                out[(index, "embed")] = render_fragment(body, 5)
                seconds["embed"] += time.process_time() - rendered
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="main", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--config", default="bench/out/site/feeds.toml")
    args = parser.parse_args()
    config = load_config(args.config)
    feeds = all_feeds(load_posts(config, datetime.now(UTC), workers=2).posts, config)
    ctx = render_context(config)
    plan = render_plan(feeds, config.feeds.formats, workers=2)
    with tempfile.TemporaryDirectory() as scratch:
        sides = {
            "old": side(old_renderers(args.against, Path(scratch))),
            "new": side(new_renderers()),
        }
        _, old_out = render_all(sides["old"], feeds, ctx, plan)
        _, new_out = render_all(sides["new"], feeds, ctx, plan)
        differ = [key for key in old_out if old_out[key] != new_out.get(key)]
        print(f"{len(old_out)} documents, {len(differ)} differ {differ[:5]}")
        best: dict[str, dict[str, float]] = {}
        for round_ in range(args.rounds):
            for name in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
                gc.collect()
                seconds, _ = render_all(sides[name], feeds, ctx, plan)
                line = " ".join(f"{part} {seconds[part]:.3f}" for part in PARTS)
                print(f"{name}: {line}  total {sum(seconds.values()):.3f} s", flush=True)
                if name not in best or sum(seconds.values()) < sum(best[name].values()):
                    best[name] = seconds
        for name, seconds in best.items():
            line = " ".join(f"{part} {seconds[part]:.3f}" for part in PARTS)
            print(f"best {name}: {line}  total {sum(seconds.values()):.3f} s")


if __name__ == "__main__":
    main()
