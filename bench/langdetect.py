"""Language detection (site.detect_language): how sure is sure, and what it costs; by hand.

    python bench/langdetect.py [--posts 10000] [--rounds 3]

1. **Threshold.** py3langid on texts of one, two and four real sentences in five languages
   (bench/langtext.py), with every language a candidate and with only "en" and "es" (then
   French, Portuguese and German texts are outsiders, which must keep the default): per
   threshold, the share of candidate-language texts detected (recall), the share of those
   right (precision), and the share of outsiders wrongly given a candidate.
   With ``--gettext``, the same on harder text: the interface strings of the machine's gettext
   catalogues (/usr/share/locale/*/LC_MESSAGES/*.mo: each English msgid and its Spanish,
   French, German, Brazilian Portuguese and Italian translations, Italian the outsider), cut
   to 60, 100 and 200 characters.
2. **Cost.** The ``--natural`` benchmark site (bench/gensite.py: real sentences, half the
   posts without ``lang``) built cold with ``feedsvc build``, detection off and on, in
   alternating rounds: wall time and peak PSS (bench/pss.py) of the build and its workers.
"""

from __future__ import annotations

import argparse
import gettext
import random
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from gensite import generate  # noqa: E402
from langtext import SENTENCES  # noqa: E402
from pss import measure  # noqa: E402

from feedsvc.config import SiteConfig  # noqa: E402
from feedsvc.configfile import parse_config  # noqa: E402
from feedsvc.normalize.language import guess_language  # noqa: E402

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def detecting_site(candidates: tuple[str, ...]) -> SiteConfig:
    raw = {
        "site": {
            "title": "t",
            "url": "https://site.example/",
            "id_authority": "site.example,2020",
            "detect_language": True,
            "detect_languages": list(candidates),
        }
    }
    return parse_config(raw, base_dir=ROOT).site


def cell(results: list[tuple[str, str, float]], candidates: tuple[str, ...], at: float) -> str:
    """Recall / precision (/ outsiders given a candidate) of (true, guessed, confidence)."""
    inside = [r for r in results if r[0] in candidates]
    outside = [r for r in results if r[0] not in candidates]
    kept = [r for r in inside if r[2] >= at]
    right = sum(r[0] == r[1] for r in kept)
    text = f"{len(kept) / len(inside):.1%} / {right / max(1, len(kept)):.1%}"
    if outside:
        text += f" / {sum(r[2] >= at for r in outside) / len(outside):.1%}"
    return text


def threshold_table(per_language: int) -> None:
    rng = random.Random(7)
    print("| candidates | sentences | " + " | ".join(f"≥ {t}" for t in THRESHOLDS) + " |")
    print("|---|---|" + "---|" * len(THRESHOLDS))
    for candidates in (tuple(SENTENCES), ("en", "es")):
        site = detecting_site(candidates)
        for sentences in (1, 2, 4):
            results = []  # (true language, guessed language, confidence)
            for lang, pool in SENTENCES.items():
                for _ in range(per_language):
                    body = " ".join(rng.choice(pool) for _ in range(sentences))
                    guess = guess_language("", f"<p>{body}</p>", site)
                    results.append((lang, guess.lang, guess.confidence))
            cells = [cell(results, candidates, threshold) for threshold in THRESHOLDS]
            label = ", ".join(candidates)
            print(f"| {label} | {sentences} | " + " | ".join(cells) + " |")
    print("\ncells: recall / precision (/ outsiders given a candidate)\n")


GETTEXT_LOCALES = {"es": "es", "fr": "fr", "de": "de", "pt-BR": "pt_BR", "it": "it"}
_PLACEHOLDER = re.compile(r"%[-#0-9.*]*[a-zA-Z]|\{[^}]*\}|<[^>]*>|[_&]")


def catalogue_strings() -> dict[str, list[str]]:
    """Interface strings per language: msgids (English) and each locale's msgstrs."""
    strings: dict[str, list[str]] = {"en": []}
    for lang, locale in GETTEXT_LOCALES.items():
        strings[lang] = []
        for path in sorted(Path("/usr/share/locale", locale, "LC_MESSAGES").glob("*.mo")):
            if path.name.startswith("iso_"):
                continue  # lists of names, not sentences
            try:
                with path.open("rb") as f:
                    catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
            except (OSError, ValueError):
                continue
            for key, value in catalog.items():
                msgid = key[0] if isinstance(key, tuple) else key
                for target, text in ((lang, value), ("en", msgid)):
                    text = " ".join(_PLACEHOLDER.sub(" ", str(text)).split())
                    if len(text.split()) >= 3 and (target != "en" or lang == "es"):
                        strings[target].append(text)
    return strings


def gettext_table(per_language: int) -> None:
    strings = catalogue_strings()
    candidates = ("en", "es", "fr", "de", "pt-BR")
    site = detecting_site(candidates)
    rng = random.Random(7)
    print("| characters | " + " | ".join(f"≥ {t}" for t in THRESHOLDS) + " |")
    print("|---|" + "---|" * len(THRESHOLDS))
    for length in (60, 100, 200):
        results = []
        for lang, pool in strings.items():
            for _ in range(per_language if pool else 0):
                text = ""
                while len(text) < length:
                    text += rng.choice(pool) + ". "
                guess = guess_language("", f"<p>{text[:length]}</p>", site)
                results.append((lang, guess.lang, guess.confidence))
        print(
            f"| {length} | " + " | ".join(cell(results, candidates, t) for t in THRESHOLDS) + " |"
        )
    sizes = ", ".join(f"{lang} {len(pool)}" for lang, pool in strings.items())
    print(f"\nstrings per language: {sizes}; cells as above (Italian the outsider)\n")


def build_rounds(posts: int, rounds: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="langdetect-"))
    try:
        site = work / "site"
        generate(site, posts, 100, 120, 1, natural=True)
        base = (site / "feeds.toml").read_text(encoding="utf-8")
        configs = {
            "off": site / "feeds.toml",
            "on": site / "feeds-detect.toml",
        }
        configs["on"].write_text(
            base.replace('timezone = "UTC"', 'timezone = "UTC"\ndetect_language = true'),
            encoding="utf-8",
        )
        seconds: dict[str, list[float]] = {"off": [], "on": []}
        peaks: dict[str, list[float]] = {"off": [], "on": []}
        for n in range(rounds):
            for mode in ("off", "on") if n % 2 == 0 else ("on", "off"):
                shutil.rmtree(site / "var", ignore_errors=True)  # cold: no snapshot
                out = work / f"out-{mode}"
                command = [
                    str(ROOT / ".venv/bin/feedsvc"),
                    "build",
                    "--config",
                    str(configs[mode]),
                    "--out",
                    str(out),
                ]
                took, peak, status = measure(command, cwd=site)
                if status != 0:
                    raise SystemExit(f"build {mode} failed ({status})")
                seconds[mode].append(took)
                peaks[mode].append(peak.mb)
                print(f"round {n + 1} {mode}: {took:.2f} s, peak PSS {peak.mb:.0f} MB")
        for mode in ("off", "on"):
            print(
                f"{mode}: median {statistics.median(seconds[mode]):.2f} s "
                f"(min {min(seconds[mode]):.2f}), peak PSS max {max(peaks[mode]):.0f} MB"
            )
        es = (work / "out-on" / "lang" / "es.json").stat().st_size
        print(f"/lang/es.json with detection: {es} bytes")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--gettext", action="store_true", help="also the gettext catalogues")
    parser.add_argument("--no-build", action="store_true", help="the tables only")
    args = parser.parse_args()
    threshold_table(args.per_language)
    if args.gettext:
        gettext_table(args.per_language)
    if not args.no_build:
        build_rounds(args.posts, args.rounds)


if __name__ == "__main__":
    main()
