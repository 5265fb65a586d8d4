"""What cutting a summary costs (normalize/text.truncate_summary, issue 7 item 13), per
call, side by side in one run with two baselines: a hard cut at the limit (what a cut that
ignores graphemes and words costs) and UAX #29 segmentation with regex's plain ``\\X``
to the last boundary that fits, in one match (what truncate_summary's path for runs of
characters that never join saves; it finds no word boundary).

    .venv/bin/python bench/summaries.py [--rounds 20000] [--limit 280]

Texts: English, Spanish (accents, « »), Japanese (no spaces), Hindi (conjuncts, vowel
signs), and emoji-heavy text (ZWJ families, flags, skin tones), each twice the limit long.
Prints microseconds per call, the fastest of 5 interleaved batches; figures go in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feedsvc.normalize.text import truncate_summary  # noqa: E402

SAMPLES = {
    "English": "The quick brown fox jumps over the lazy dog, and keeps on running. ",
    "Spanish": "Él dijo «¿qué?» y se fué. Niño, café, corazón, acción y pingüino. ",
    "Japanese": "日本語の文章には単語の間に空白がありません。次の文も続きます。",
    "Hindi": "नमस्ते दुनिया, क्षत्रिय और विद्यार्थी पुस्तकालय में पढ़ते हैं। ",
    "emoji": "Family 👨‍👩‍👧‍👦 in Spain 🇪🇸, thumbs 👍🏽 up! ",
}
# Every cluster that ends before the limit, in one match (as truncate_summary's, without
# its path for runs of characters that never join).
_CLUSTERS = regex.compile(r"(?:\X(?=.))*", regex.DOTALL)


def hard_cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_segmentation(text: str, limit: int) -> str:
    """The cut at the last cluster boundary that fits, found with \\X alone (no words)."""
    if len(text) <= limit:
        return text
    match = _CLUSTERS.match(text, 0, limit)
    assert match is not None
    return text[: match.end()] + "…"


def per_call(cut: Callable[[str, int], str], text: str, limit: int, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        cut(text, limit)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=280)
    args = parser.parse_args()
    cuts = {"hard cut": hard_cut, "\\X alone": plain_segmentation, "truncate": truncate_summary}
    print(f"{'text':10}" + "".join(f"{name:>12}" for name in cuts) + "   (µs per call)")
    for name, sample in SAMPLES.items():
        text = (sample * (2 * args.limit // len(sample) + 1))[: 2 * args.limit]
        best = dict.fromkeys(cuts, float("inf"))
        for _ in range(5):
            for label, cut in cuts.items():
                best[label] = min(best[label], per_call(cut, text, args.limit, args.rounds // 5))
        print(f"{name:10}" + "".join(f"{best[label]:12.2f}" for label in cuts))


if __name__ == "__main__":
    main()
