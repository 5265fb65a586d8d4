"""Where a `feedsvc build` spends its time: the parent's phases and each worker's chunks.

Runs `feedsvc build` in this process with its steps wrapped in `time.perf_counter` marks,
and prints, on stderr, when each step ended (seconds since start) with the parent's CPU in
it, and for each chunk a forked worker ran: when it started, how long it took, its CPU.
Run by hand, cold (no snapshot: move `var/` beside the config aside first), e.g.

    mv bench/out/site/var /tmp/var-$RANDOM
    .venv/bin/python bench/phases.py --config bench/out/site/feeds.toml --out /tmp/public

To compare two trees, alternate runs with `PYTHONPATH=<tree>`, moving outputs aside rather
than deleting them (docs/benchmarks.md, "Warm start, memory and Hugo side by side", item 6).
"""

from __future__ import annotations

import importlib
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

STARTED = time.perf_counter()

# (module, attribute path): the steps of a cold build, in the order they run; each wrapped
# where it is looked up when called (the builder imports the pipeline's steps by name).
STEPS = [
    ("feedsvc.live.reading", "SourceReads.read_all"),
    ("feedsvc.live.builder", "normalize_sources"),
    ("feedsvc.live.builder", "all_feeds"),
    ("feedsvc.pipeline", "load_locales"),
    ("feedsvc.pipeline", "render_plan"),
    ("feedsvc.pipeline", "parallel_map"),
    ("feedsvc.pipeline", "render_pages"),
    ("feedsvc.live.builder", "SiteBuilder.assemble"),
    ("feedsvc.warm.keeper", "write_snapshot"),
    ("feedsvc.export", "Tree.finish"),
]


def cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def say(line: str) -> None:
    print(f"{time.perf_counter() - STARTED:6.2f}  {line}", file=sys.stderr, flush=True)


def timed(label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user, system = cpu()
        try:
            return func(*args, **kwargs)
        finally:
            now_user, now_system = cpu()
            say(f"{label} done, parent CPU {now_user - user:.2f} u + {now_system - system:.2f} s")

    return wrapper


def main() -> int:
    import feedsvc.__main__ as cli
    import feedsvc.parallel as parallel

    say("imported")
    for module_name, path in STEPS:
        owner_path, _, name = path.rpartition(".")
        module = importlib.import_module(module_name)
        owner = getattr(module, owner_path) if owner_path else module
        setattr(owner, name, timed(path, getattr(owner, name)))
    run_chunk = parallel._run_chunk

    def chunk(conn: Any, start: int, stop: int) -> bool:
        began, (user, system) = time.perf_counter(), cpu()
        try:
            return run_chunk(conn, start, stop)
        finally:
            now_user, now_system = cpu()
            print(
                f"{began - STARTED:6.2f}  chunk {start}-{stop}: "
                f"{time.perf_counter() - began:.2f} s, CPU {now_user - user:.2f} u + "
                f"{now_system - system:.2f} s",
                file=sys.stderr,
                flush=True,
            )

    parallel._run_chunk = chunk  # looked up by the worker loop at each chunk
    sys.argv = ["feedsvc", "build", *sys.argv[1:]]
    status = cli.main()
    user, system = cpu()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    say(
        f"main returned; CPU parent {user:.2f} u + {system:.2f} s, "
        f"workers {children.ru_utime:.2f} u + {children.ru_stime:.2f} s"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
