"""A large post added to and deleted from a served folder, again and again: the server's
resident size after each step, for feedsvc as it is and, side by side in the same run, with
what it had before issue 7 (cmarkgfm's own Markdown function, which leaks, and no
malloc_trim after a rebuild).

    .venv/bin/python bench/post_memory.py [--cycles 4] [--megabytes 5]

Each variant runs in a process of its own: a live Publisher (as `feedsvc serve` has) over
the five-post test site, the post given a raised posts.max_file_size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_VARIANT = """
import asyncio, sys, tempfile
from pathlib import Path
from live_support import post_text, write_site
import cmarkgfm
import feedsvc.live.publisher as publisher_module
import feedsvc.normalize.body as body_module
from feedsvc.live import Publisher

baseline, cycles, megabytes = sys.argv[1] == "baseline", int(sys.argv[2]), int(sys.argv[3])
if baseline:
    body_module.gfm_to_html = lambda text, options=0: cmarkgfm.github_flavored_markdown_to_html(
        text, options=options
    )
    publisher_module.release_free_memory = lambda: None

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

async def main(root):
    site = write_site(root, extra='watch = "off"')
    with site.config_file.open("a") as config:
        config.write("\\n[posts]\\nmax_file_size = 100000000\\n")
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    await publisher.start(schedule=False)
    await publisher.rebuild(None, "manual")
    steps = [("start", rss_mb())]
    for cycle in range(1, cycles + 1):
        body = ("words of a long report " * 40 + "\\n\\n") * (1000 * megabytes)
        site.write_post("en/big.md", post_text("Big", "en", ["Policy"], "2024-03-25", body))
        del body
        await publisher.rebuild(None, "manual")
        steps.append((f"add {cycle}", rss_mb()))
        (site.posts / "en" / "big.md").unlink()
        await publisher.rebuild(None, "manual")
        steps.append((f"delete {cycle}", rss_mb()))
    await publisher.stop()
    print(" ".join(f"{name}={mb}" for name, mb in steps))

with tempfile.TemporaryDirectory() as root:
    asyncio.run(main(Path(root)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--megabytes", type=int, default=5)
    args = parser.parse_args()
    print(f"a {args.megabytes} MB post added and deleted {args.cycles} times; RSS in MB")
    for variant in ("feedsvc", "baseline"):
        result = subprocess.run(
            [sys.executable, "-c", _VARIANT, variant, str(args.cycles), str(args.megabytes)],
            cwd=ROOT / "tests",
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"{variant:9} {result.stdout.strip()}")


if __name__ == "__main__":
    main()
