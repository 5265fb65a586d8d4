"""The serial start of a cold `feedsvc build`: process start → the first normalize worker's
fork, this tree against another revision, alternated; run by hand.

    python bench/gensite.py                     # once: the 10,000-post synthetic site
    python bench/start.py [--against main] [--rounds 10] [--config bench/out/site/feeds.toml]

Until the first fork one core is idle, so every 0.1 s here is 0.1 s of a build's wall time.
Each round starts `feedsvc build` once with this tree's package and once with ``--against``'s
(``git archive``d to a temporary folder, put first on PYTHONPATH), with no snapshot; the
child stops itself at its first fork. Both trees are byte-compiled first, as an installed
package is: with PYTHONDONTWRITEBYTECODE set (as in some shells) every module whose
``.pyc`` is missing or stale would be compiled again on every run (~0.05 s). Printed per
tree, median (and min) over the rounds, wall seconds since the process started and CPU
seconds the process had used:

- ``imported``: ``feedsvc.__main__`` imported (what every command imports);
- ``read0`` / ``read``: a folder source's read starts / ends (the imports of ``build``
  itself and the config load come before ``read0``);
- ``fork``: the first worker is about to be forked.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in the child, with T0 (the parent's clock just before starting it) in the environment.
CHILD = """
import os, sys, time
T0 = float(os.environ["T0"])
marks = []

def mark(name):
    marks.append((name, time.time() - T0, time.process_time()))

def at_fork():
    mark("fork")
    print(" ".join(f"{n}={wall:.4f},{cpu:.4f}" for n, wall, cpu in marks), flush=True)
    os._exit(0)

import feedsvc.__main__
mark("imported")
from feedsvc.sources.folder import FolderReader
read = FolderReader.read

def timed_read(self):
    mark("read0")
    result = read(self)
    mark("read")
    return result

FolderReader.read = timed_read
os.register_at_fork(before=at_fork)
feedsvc.__main__.main(["build", "--config", sys.argv[1], "--out", sys.argv[2]])
"""


def run_once(package_parent: Path, config: Path, out: Path) -> dict[str, tuple[float, float]]:
    shutil.rmtree(config.parent / "var", ignore_errors=True)  # no snapshot: a cold build
    env = dict(os.environ, PYTHONPATH=str(package_parent), T0=repr(time.time()))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(config), str(out)],
        cwd=out.parent,  # not this checkout: `-c` puts the working directory first on sys.path
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = done.stdout.split()
    if not lines:
        raise SystemExit(f"the child did not reach a fork:\n{done.stderr[-2000:]}")
    marks = {}
    for item in lines:
        name, _, values = item.partition("=")
        wall, cpu = values.split(",")
        marks[name] = (float(wall), float(cpu))
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="main", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--config", type=Path, default=ROOT / "bench/out/site/feeds.toml")
    args = parser.parse_args()
    config = args.config.resolve()
    with tempfile.TemporaryDirectory(prefix="feedsvc-start-") as scratch:
        other = Path(scratch) / "against"
        other.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.against, "feedsvc"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(other)], input=archive, check=True)
        trees = {"this tree": ROOT, args.against: other}
        for parent in trees.values():
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(parent / "feedsvc")], check=True
            )
        runs: dict[str, list[dict[str, tuple[float, float]]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, parent in trees.items():
                runs[name].append(run_once(parent, config, Path(scratch) / "out"))
    for name, marks in runs.items():
        print(f"{name}:")
        for mark in marks[0]:
            walls = [m[mark][0] for m in marks]
            cpus = [m[mark][1] for m in marks]
            print(
                f"  {mark:9s} wall {statistics.median(walls):.3f} s (min {min(walls):.3f})"
                f"   cpu {statistics.median(cpus):.3f} s (min {min(cpus):.3f})"
            )


if __name__ == "__main__":
    main()
