"""Generate a synthetic site for the benchmarks: Markdown posts with front matter.

    python bench/gensite.py --out bench/out/site --posts 10000

Defaults: 10,000 posts, 100 categories, 5 languages, 120 months, realistic bodies
(3–8 paragraphs, lists, links, images; about 3–5 KB of Markdown each), one in five
posts a translation of another. Deterministic for a given --seed.

The words are English whatever a post's ``lang``; with ``--natural`` each post's title and
sentences are real ones in its language (bench/langtext.py), and every other post leaves
``lang`` out, as an author who forgets it would: what language detection needs to be
measured on (bench/langdetect.py).
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from langtext import SENTENCES

LANGS = ("en", "es", "fr", "pt-BR", "de")
WORDS = (
    "community outreach survivors advocacy hotline report data policy workers rights "
    "training volunteers partners funding research safety housing shelter legal aid "
    "campaign awareness network families youth employers supply chain audit evidence "
    "recovery support services outreach coalition grant program story voices action "
    "trafficking labor recruitment visa debt wages inspection justice dignity hope"
).split()


def sentence(rng: random.Random, lang: str | None = None) -> str:
    """Word salad from WORDS, or with ``lang`` a real sentence in that language."""
    if lang is not None:
        return rng.choice(SENTENCES[lang])
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, lang: str | None) -> str:
    return " ".join(sentence(rng, lang) for _ in range(rng.randint(3, 6)))


def body(rng: random.Random, n: int, lang: str | None = None) -> str:
    parts = []
    for i in range(rng.randint(3, 8)):
        parts.append(paragraph(rng, lang))
        roll = rng.random()
        if roll < 0.2:
            items = (f"- {sentence(rng, lang)}" for _ in range(rng.randint(2, 5)))
            parts.append("\n".join(items))
        elif roll < 0.3:
            parts.append(f"![Figure {i}](images/figure-{n}-{i}.png)")
        elif roll < 0.45:
            parts.append(f"Read [the full report](../reports/{n}/) or [the data](/data/{i}.csv).")
        elif roll < 0.5:
            parts.append(f"## {sentence(rng, lang)[:40]}")
    return "\n\n".join(parts) + "\n"


def generate(
    out: Path, posts: int, categories: int, months: int, seed: int, natural: bool = False
) -> None:
    rng = random.Random(seed)
    cats = [f"Topic {i:03d} {rng.choice(WORDS).title()}" for i in range(categories)]
    start = datetime(2016, 1, 1, tzinfo=UTC)
    span = timedelta(days=months * 30.4)
    out.mkdir(parents=True, exist_ok=True)
    (out / "feeds.toml").write_text(
        f"""[site]
title = "Synthetic Site"
url = "https://synthetic.example/"
id_authority = "synthetic.example,2016"
description = "A generated site of {posts} posts for benchmarks"
language = "en"
timezone = "UTC"
author = "Bench Writer"

[feeds]
entries = 20

[[sources]]
type = "folder"
name = "posts"
path = "posts"
""",
        encoding="utf-8",
    )
    folder = out / "posts"
    for n in range(posts):
        lang = LANGS[n % len(LANGS)]
        published = start + span * rng.random()
        chosen = rng.sample(cats, rng.randint(1, 3))
        key = f"pair-{n // 2}" if n % 5 < 2 else None
        text_lang = lang if natural else None
        front = [
            "---",
            f"title: {sentence(rng, text_lang)[:70]!r}",
            f"date: {published.isoformat()}",
            *([] if natural and n % 10 >= 5 else [f"lang: {lang}"]),
            "categories:",
            *[f"  - {c}" for c in chosen],
        ]
        if key:
            front.append(f"translation_key: {key}")
        if n % 7 == 0:
            front.append(f"image: https://synthetic.example/images/{n}.jpg")
        front.append("---")
        path = folder / f"{published:%Y}" / f"post-{n:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(front) + "\n\n" + body(rng, n, text_lang)
        path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/site"))
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=100)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--natural", action="store_true", help="real sentences per language; half without lang"
    )
    args = parser.parse_args()
    generate(args.out, args.posts, args.categories, args.months, args.seed, args.natural)
    print(f"wrote {args.posts} posts to {args.out / 'posts'}; config {args.out / 'feeds.toml'}")


if __name__ == "__main__":
    main()
