"""The CPU of normalizing the bench site's posts, this tree against a baseline commit (issue 12).

    .venv/bin/python bench/gensite.py     # bench/out/site, once
    .venv/bin/python bench/normalize.py [--baseline c1e94c4] [--rounds 3]

Each round runs the baseline (``git archive`` of the commit's feedsvc/ into a temporary
folder) and this tree alternately, each in a fresh interpreter: read the site's posts,
normalize each in-process (what one normalize worker does, ``normalize_one``), then pickle
every result and unpickle it again (what crosses from a worker to the parent). Prints CPU
seconds (``time.process_time``) of each step per round, then the best of the rounds; the
figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE_CONFIG = ROOT / "bench" / "out" / "site" / "feeds.toml"

# Run in a child with the tree to measure first on sys.path.
_CHILD = """
import pickle, sys, time
sys.path.insert(0, sys.argv[1])
from feedsvc.configfile import load_config
from feedsvc.normalize.batch import normalize_one
from feedsvc.normalize.language import with_known_languages
from feedsvc.pipeline import read_sources, run_sync
config = load_config(sys.argv[2])
raws = [raw for state in run_sync(read_sources(config)).values() for raw in state.result.posts]
config = with_known_languages(config, raws)
for raw in raws[:300]:  # warm: first calls compile patterns and fill caches
    normalize_one(raw, config)
started = time.process_time()
posts = [normalize_one(raw, config) for raw in raws]
normalize = time.process_time() - started
started = time.process_time()
blobs = [pickle.dumps(post, pickle.HIGHEST_PROTOCOL) for post in posts]
dump = time.process_time() - started
started = time.process_time()
for blob in blobs:
    pickle.loads(blob)
load = time.process_time() - started
print(len(raws), normalize, dump, load)
"""
STEPS = ("normalize", "pickle", "unpickle")


def measure(tree: Path) -> tuple[float, ...]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree), str(SITE_CONFIG)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    return tuple(map(float, out[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="c1e94c4", help="commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not SITE_CONFIG.exists():
        sys.exit(f"{SITE_CONFIG} is missing: run bench/gensite.py first")
    with tempfile.TemporaryDirectory(prefix="normalize-baseline-") as baseline:
        archive = subprocess.run(
            ["git", "archive", args.baseline, "feedsvc"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", baseline], input=archive, check=True)
        trees = {f"baseline {args.baseline}": Path(baseline), "this tree": ROOT}
        results: dict[str, list[tuple[float, ...]]] = {name: [] for name in trees}
        for round_number in range(1, args.rounds + 1):
            for name, tree in trees.items():
                figures = measure(tree)
                results[name].append(figures)
                shown = "  ".join(
                    f"{step} {s:.3f} s" for step, s in zip(STEPS, figures, strict=True)
                )
                print(f"round {round_number}, {name}: {shown}", flush=True)
    for name, rounds in results.items():
        best = "  ".join(
            f"{step} {min(r[i] for r in rounds):.3f} s" for i, step in enumerate(STEPS)
        )
        print(f"best of {args.rounds}, {name}: {best}")


if __name__ == "__main__":
    main()
