"""Peak PSS of a process and its children, summed from /proc/PID/smaps_rollup.

PSS (proportional set size) counts each page shared by N processes as 1/N in each, so the
sum over a parent and its forked workers is what they cost the machine together; RSS would
count the pages they share once per process.

    python bench/pss.py COMMAND ARGS...     # runs COMMAND, prints its wall time and peak PSS
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant (from /proc/PID/task/*/children)."""
    found = [pid]
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += process_tree(int(child))
    return found


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakPss:
    """Samples the PSS of ``pid``'s tree every ``interval`` s until ``stop``; ``mb`` is the
    peak sum, ``parts`` each process's share at that moment."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.mb = 0.0
        self.parts: list[float] = []
        self._stopped = False

    def sample(self) -> None:
        parts = [pss_kb(pid) / 1024 for pid in process_tree(self.pid)]
        if sum(parts) > self.mb:
            self.mb = sum(parts)
            self.parts = parts

    def run(self) -> None:
        while not self._stopped:
            self.sample()
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stopped = True


def measure(command: list[str], **popen) -> tuple[float, PeakPss, int]:
    """Run ``command`` to its end: (wall seconds, its peak PSS, its exit status)."""
    started = time.monotonic()
    process = subprocess.Popen(command, **popen)
    peak = PeakPss(process.pid)
    while process.poll() is None:
        peak.sample()
        time.sleep(peak.interval)
    return time.monotonic() - started, peak, process.returncode


if __name__ == "__main__":
    seconds, peak, status = measure(sys.argv[1:])
    parts = ", ".join(f"{part:.0f}" for part in peak.parts)
    print(f"exit {status}, {seconds:.2f} s, peak PSS {peak.mb:.0f} MB ({parts})", file=sys.stderr)
    sys.exit(status)
