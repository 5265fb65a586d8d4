"""`feedsvc build` side by side with Hugo on the same generated site; run by hand.

    python bench/gensite.py                     # once: the 10,000-post synthetic site
    apt-get install -y hugo                     # Debian's Hugo (0.111 on Debian 12)
    python bench/hugo.py [--config bench/out/site/feeds.toml] [--rounds 3]

The script writes a Hugo site from the same posts (bench/out/hugo: the same Markdown
bodies; front matter with the categories, and the language, language×category and month
as taxonomies) whose templates publish the feeds feedsvc publishes: the site, each
category, each language, each language×category (the newest 20 entries, full content) and
each month (every entry of the month), in RSS 2.0, Atom and JSON Feed. Then, in alternating
rounds, each round in a fresh state:

- ``feedsvc build`` with no snapshot (a cold build: read, normalize, render, compress,
  write every file with its .gz and .br siblings);
- ``hugo`` into an empty folder; then an equal compression pass over Hugo's output: gzip
  level 4 and brotli quality 4 (feedsvc's levels, feedsvc/store.py) into .gz and .br
  siblings, in one process per core as feedsvc does;

measuring wall time. After the first round it checks that both wrote the same feeds, each
with the same items (by post), and stops if not. It prints the median times and the ratios of
feedsvc to Hugo alone and to Hugo plus the compression pass. Then each tool runs once more
under a PSS sampler (bench/pss.py), for its peak memory only: the sampler reads
/proc/PID/smaps_rollup of every process every 50 ms, which takes each process's mmap lock
and stalls its page faults meanwhile, and that costs a tool of many forked, page-faulting
workers far more than one process (measured: feedsvc 9.08 s unsampled against 10.60 s
sampled, Hugo 6.81 s against 7.04 s), so timed rounds run unsampled.

A tool's previous output is moved aside before it runs again, and everything moved aside
is deleted after the last round: on this machine's ext4 (no journal) a new file skips every
inode freed in the last minutes (ext4 ``recently_deleted``, one inode table lookup each), so
a tree deleted just before a run made creating feedsvc's 8,724 files cost it 6.5 s more of
kernel CPU and 3.5 s more wall time (perf: find_get_block, recently_deleted, find_inode_bit),
work neither tool does. ``--delete-before`` deletes it just before the run instead, as this
script did before 2026-12-04.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import brotli
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from pss import measure  # noqa: E402

# feedsvc's levels (feedsvc/store.py GZIP_LEVEL, BROTLI_QUALITY), for the equal pass.
GZIP_LEVEL = 4
BROTLI_QUALITY = 4
ENTRIES = 20
FORMATS = {"rss": "rss", "atom": "atom", "json": "json"}

HUGO_CONFIG = """\
baseURL = "https://synthetic.example/"
title = "Synthetic Site"
languageCode = "en"
disableKinds = ["section", "taxonomy", "404", "robotsTXT", "sitemap"]
ignoreErrors = ["error-disable-taxonomy"]
timeZone = "UTC"

[taxonomies]
  category = "categories"
  lang = "langs"
  langcat = "langcats"
  month = "months"

[mediaTypes."application/x-bench-rss"]
  suffixes = ["rss"]
[mediaTypes."application/x-bench-atom"]
  suffixes = ["atom"]
[mediaTypes."application/x-bench-json"]
  suffixes = ["json"]

[outputFormats.BenchRSS]
  mediaType = "application/x-bench-rss"
  baseName = "index"
  isPlainText = true
[outputFormats.BenchAtom]
  mediaType = "application/x-bench-atom"
  baseName = "index"
  isPlainText = true
[outputFormats.BenchJSON]
  mediaType = "application/x-bench-json"
  baseName = "index"
  isPlainText = true

[outputs]
  home = ["BenchRSS", "BenchAtom", "BenchJSON"]
  term = ["BenchRSS", "BenchAtom", "BenchJSON"]
"""

# Posts are rendered into the feeds, never as pages of their own: with no layout for a
# single page, Hugo writes none.
CONTENT_INDEX = """\
---
title: Synthetic Site
---
"""

# The entries of one feed: the whole month for a month, else the newest 20.
PAGES = """\
{{- $pages := .Pages -}}
{{- if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end -}}
{{- $pages = $pages.ByDate.Reverse -}}
{{- if not (and .Data.Plural (eq .Data.Plural "months")) -}}
{{- $pages = first ENTRIES $pages }}{{ end -}}
""".replace("ENTRIES", str(ENTRIES))

TEMPLATES = {
    "list.benchrss.rss": PAGES
    + """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>{{ .Title | htmlEscape }}</title>
<link>{{ .Permalink }}</link>
<description>{{ .Site.Title | htmlEscape }}</description>
{{- range $pages }}
<item>
<title>{{ .Title | htmlEscape }}</title>
<link>{{ .Permalink }}</link>
<guid isPermaLink="false">{{ .File.BaseFileName }}</guid>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>
{{- range .Params.categories }}
<category>{{ . | htmlEscape }}</category>
{{- end }}
<description>{{ .Content | htmlEscape }}</description>
</item>
{{- end }}
</channel></rss>
""",
    "list.benchatom.atom": PAGES
    + """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>{{ .Title | htmlEscape }}</title>
<id>{{ .Permalink }}</id>
<link rel="self" href="{{ .Permalink }}index.atom"/>
{{- with index $pages 0 }}
<updated>{{ .Lastmod.Format "2006-01-02T15:04:05Z07:00" }}</updated>
{{- end }}
{{- range $pages }}
<entry>
<id>{{ .File.BaseFileName }}</id>
<title>{{ .Title | htmlEscape }}</title>
<link href="{{ .Permalink }}"/>
<published>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</published>
<updated>{{ .Lastmod.Format "2006-01-02T15:04:05Z07:00" }}</updated>
{{- range .Params.categories }}
<category term="{{ . | htmlEscape }}"/>
{{- end }}
<summary>{{ .Summary | plainify | htmlEscape }}</summary>
<content type="html">{{ .Content | htmlEscape }}</content>
</entry>
{{- end }}
</feed>
""",
    "list.benchjson.json": PAGES
    + """{"version": "https://jsonfeed.org/version/1.1", "title": {{ .Title | jsonify }}, \
"home_page_url": {{ .Permalink | jsonify }}, "items": [
{{- range $i, $p := $pages }}{{ if $i }},{{ end }}
{"id": {{ $p.File.BaseFileName | jsonify }}, "url": {{ $p.Permalink | jsonify }}, \
"title": {{ $p.Title | jsonify }}, "summary": {{ $p.Summary | plainify | jsonify }}, \
"content_html": {{ $p.Content | jsonify }}, \
"date_published": {{ $p.Date.Format "2006-01-02T15:04:05Z07:00" | jsonify }}, \
"tags": {{ $p.Params.categories | jsonify }}}
{{- end }}]}
""",
}


def write_hugo_site(posts: Path, hugo: Path) -> int:
    """The Hugo site of ``posts``: the same bodies, the front matter Hugo needs."""
    shutil.rmtree(hugo, ignore_errors=True)
    content = hugo / "content"
    content.mkdir(parents=True)
    (hugo / "config.toml").write_text(HUGO_CONFIG)
    (content / "_index.md").write_text(CONTENT_INDEX)
    layouts = hugo / "layouts" / "_default"
    layouts.mkdir(parents=True)
    for name, text in TEMPLATES.items():
        (layouts / name).write_text(text)
    count = 0
    for post in sorted(posts.rglob("*.md")):
        text = post.read_text(encoding="utf-8")
        _, front, body = text.split("---\n", 2)
        meta = yaml.safe_load(front)
        date = meta["date"]
        lang = meta["lang"]
        front_matter = {
            "title": meta["title"],
            "date": date.isoformat() if hasattr(date, "isoformat") else str(date),
            "categories": meta["categories"],
            "langs": [lang],
            "langcats": [f"{lang}--{category}" for category in meta["categories"]],
            "months": [f"{date:%Y-%m}"],
        }
        target = content / post.relative_to(posts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            "---\n" + yaml.safe_dump(front_matter, allow_unicode=True) + "---\n" + body,
            encoding="utf-8",
        )
        count += 1
    return count


def _compress(path: str) -> int:
    data = Path(path).read_bytes()
    Path(path + ".gz").write_bytes(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
    Path(path + ".br").write_bytes(brotli.compress(data, quality=BROTLI_QUALITY))
    return len(data)


def compression_pass(folder: Path) -> tuple[float, int]:
    """gzip and br siblings of every file under ``folder``, one process per core."""
    files = [str(p) for p in folder.rglob("*") if p.is_file()]
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(len(os.sched_getaffinity(0))) as pool:
        total = sum(pool.imap_unordered(_compress, files, chunksize=16))
    return time.monotonic() - started, total


# --- the same feeds, the same items --------------------------------------------------------

_POST = re.compile(rb"post-(\d{5})")


def items(path: Path) -> frozenset[str]:
    """The posts of one feed document, by number, from its entry ids."""
    data = path.read_bytes()
    if path.suffix == ".json":
        ids = [item["id"] for item in json.loads(data)["items"]]
        return frozenset(m.group(1).decode() for i in ids if (m := _POST.search(i.encode())))
    pattern = rb"<guid[^>]*>([^<]*)</guid>" if path.suffix == ".rss" else rb"<id>([^<]*)</id>"
    return frozenset(
        m.group(1).decode() for found in re.findall(pattern, data) if (m := _POST.search(found))
    )


def feedsvc_feeds(out: Path) -> dict[tuple[str, ...], Path]:
    """(kind, key…, format) → file, for the feeds Hugo publishes too."""
    feeds: dict[tuple[str, ...], Path] = {}
    for fmt in FORMATS:
        feeds[("site", fmt)] = out / f"feed.{fmt}"
        for path in (out / "category").glob(f"*.{fmt}"):
            feeds[("category", path.stem, fmt)] = path
        for path in (out / "lang").glob(f"*.{fmt}"):
            feeds[("lang", path.stem.lower(), fmt)] = path
        for path in (out / "lang").glob(f"*/category/*.{fmt}"):
            feeds[("langcat", path.parts[-3].lower(), path.stem, fmt)] = path
        for path in (out / "archive").glob(f"*/*.{fmt}"):
            feeds[("month", f"{path.parent.name}-{path.stem}", fmt)] = path
    return feeds


def hugo_feeds(public: Path) -> dict[tuple[str, ...], Path]:
    feeds: dict[tuple[str, ...], Path] = {}
    for fmt in FORMATS:
        feeds[("site", fmt)] = public / f"index.{fmt}"
        for path in (public / "categories").glob(f"*/index.{fmt}"):
            feeds[("category", path.parent.name, fmt)] = path
        for path in (public / "langs").glob(f"*/index.{fmt}"):
            feeds[("lang", path.parent.name, fmt)] = path
        for path in (public / "langcats").glob(f"*/index.{fmt}"):
            lang, _, category = path.parent.name.partition("--")
            feeds[("langcat", lang, category, fmt)] = path
        for path in (public / "months").glob(f"*/index.{fmt}"):
            feeds[("month", path.parent.name, fmt)] = path
    return feeds


def same_feeds(out: Path, public: Path) -> int:
    """How many feed documents both wrote with the same items; SystemExit on a difference."""
    ours, theirs = feedsvc_feeds(out), hugo_feeds(public)
    if ours.keys() != theirs.keys():
        only_ours = sorted(ours.keys() - theirs.keys())[:5]
        only_theirs = sorted(theirs.keys() - ours.keys())[:5]
        raise SystemExit(f"different feeds: only feedsvc {only_ours}, only Hugo {only_theirs}")
    counts: dict[str, int] = defaultdict(int)
    for key, path in ours.items():
        mine, hugos = items(path), items(theirs[key])
        if mine != hugos or not mine:
            raise SystemExit(f"{key}: feedsvc {len(mine)} items, Hugo {len(hugos)}, differ")
        counts[key[0]] += 1
    print("same feeds, same items:", ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return len(ours)


# --- the rounds ----------------------------------------------------------------------------


class Outputs:
    """Clears a tool's output before it runs: moved aside into ``aside`` (deleted by
    ``clear``, after the last round), or with ``delete_before``, deleted at once."""

    def __init__(self, aside: Path, delete_before: bool) -> None:
        self.aside = aside
        self.delete_before = delete_before
        self.moved = 0

    def remove(self, path: Path) -> None:
        if not path.exists():
            return
        if self.delete_before:
            shutil.rmtree(path)
            return
        self.moved += 1
        # Under this run's own folder: one an interrupted run left holds the same names.
        into = self.aside / str(os.getpid()) / f"{self.moved}-{path.name}"
        into.parent.mkdir(parents=True, exist_ok=True)
        path.rename(into)

    def clear(self) -> None:
        shutil.rmtree(self.aside, ignore_errors=True)


def run(command: list[str], sampled: bool, **popen: Any) -> tuple[float, float]:
    """Run ``command``: (wall seconds, peak PSS in MB, or 0 when not ``sampled``)."""
    if sampled:
        seconds, peak, status = measure(command, **popen)
        pss = peak.mb
    else:
        started = time.monotonic()
        status = subprocess.run(command, check=False, **popen).returncode
        seconds, pss = time.monotonic() - started, 0.0
    if status != 0:
        raise SystemExit(f"{command[0]} failed ({status})")
    return seconds, pss


def run_feedsvc(
    config: Path, out: Path, outputs: Outputs, sampled: bool = False
) -> tuple[float, float]:
    shutil.rmtree(config.parent / "var", ignore_errors=True)  # no snapshot: a cold build
    outputs.remove(out)
    command = [sys.executable, "-m", "feedsvc", "build", "--config", str(config)]
    return run([*command, "--out", str(out)], sampled, cwd=config.parent, stderr=subprocess.DEVNULL)


def run_hugo(hugo: Path, outputs: Outputs, sampled: bool = False) -> tuple[float, float, float]:
    public = hugo / "public"
    outputs.remove(public)
    outputs.remove(hugo / "resources")
    command = ["hugo", "--quiet", "--source", str(hugo), "--destination", str(public)]
    seconds, pss = run(command, sampled)
    compressing, _ = compression_pass(public)
    return seconds, compressing, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "bench/out/site/feeds.toml")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--delete-before",
        action="store_true",
        help="delete each tool's previous output just before it runs (see the docstring)",
    )
    args = parser.parse_args()
    config = args.config.resolve()
    work = config.parent.parent
    hugo, out = work / "hugo", work / "feedsvc-public"
    outputs = Outputs(work / "previous-outputs", args.delete_before)  # also any left behind
    posts = write_hugo_site(config.parent / "posts", hugo)
    # As an installed package is (pip writes the .pyc files): without them, and with
    # PYTHONDONTWRITEBYTECODE set as on this machine, every run would compile feedsvc again.
    compileall.compile_dir(ROOT / "feedsvc", quiet=1)
    version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout
    print(f"{posts} posts; {version.strip()}")

    ours: list[float] = []
    theirs: list[float] = []
    compress: list[float] = []
    for round_ in range(args.rounds):
        order = ("feedsvc", "hugo") if round_ % 2 == 0 else ("hugo", "feedsvc")
        for tool in order:
            if tool == "feedsvc":
                seconds, _ = run_feedsvc(config, out, outputs)
                ours.append(seconds)
                print(f"round {round_ + 1}: feedsvc build {seconds:.2f} s")
            else:
                seconds, compressing, _ = run_hugo(hugo, outputs)
                theirs.append(seconds)
                compress.append(compressing)
                print(f"round {round_ + 1}: hugo {seconds:.2f} s + compression {compressing:.2f} s")
        if round_ == 0:
            same_feeds(out, hugo / "public")
    # Memory, in runs of their own (see the docstring: the sampler slows what it samples).
    sampled_ours, our_pss = run_feedsvc(config, out, outputs, sampled=True)
    sampled_theirs, _, their_pss = run_hugo(hugo, outputs, sampled=True)
    print(f"sampled: feedsvc build {sampled_ours:.2f} s, peak PSS {our_pss:.0f} MB")
    print(f"sampled: hugo {sampled_theirs:.2f} s, peak PSS {their_pss:.0f} MB")
    outputs.clear()

    feedsvc_s, hugo_s = statistics.median(ours), statistics.median(theirs)
    both = statistics.median(h + c for h, c in zip(theirs, compress, strict=True))
    print()
    print(f"| | median of {args.rounds} rounds | peak PSS (a sampled run) |")
    print("|---|---|---|")
    print(f"| feedsvc build (cold, with .gz and .br) | {feedsvc_s:.2f} s | {our_pss:.0f} MB |")
    print(f"| Hugo | {hugo_s:.2f} s | {their_pss:.0f} MB |")
    print(f"| Hugo + compression pass | {both:.2f} s | – |")
    print(f"| feedsvc ÷ Hugo | **{feedsvc_s / hugo_s:.2f}** | |")
    print(f"| feedsvc ÷ (Hugo + compression) | **{feedsvc_s / both:.2f}** | target ≤ 0.7 |")
    # Each round's own ratios: the two tools ran back to back, under the same load.
    alone = [f"{f / h:.2f}" for f, h in zip(ours, theirs, strict=True)]
    paired = [f"{f / (h + c):.2f}" for f, h, c in zip(ours, theirs, compress, strict=True)]
    print(f"per round: ÷ Hugo {', '.join(alone)}; ÷ (Hugo + compression) {', '.join(paired)}")


if __name__ == "__main__":
    main()
