"""Language detection for posts without an explicit language (docs/architecture.md "Languages").

With ``site.detect_language``, a post whose source gave it no language gets the language
py3langid reads in its text, when that is one of the site's candidate languages and its
probability reaches ``site.detect_confidence``; otherwise it keeps the default. Pure: the
model ships inside the py3langid package and is read once per process, before the build's
workers fork, so they share it.

The candidates' probabilities come from the detector's whole model (139 languages), not from
the detector narrowed to the candidates: narrowed, it names the nearest candidate for any
text (a French post among "en" and "es" can come out Spanish at 0.9); whole, a text in another
language leaves every candidate far below the threshold, and the post keeps the default.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from feedsvc.config import Config, SiteConfig
from feedsvc.lang import normalize_lang
from feedsvc.model import Detection, LanguageGuess, RawPost
from feedsvc.normalize.text import clean_text, collapse_whitespace, sanitized_html_to_text

# A post needs this many characters of body text to be guessed: about one sentence. A title
# alone is never enough (titles are short, and often names or slogans in any language).
MIN_BODY_TEXT = 60
# The detector reads at most this many characters (title, then body): the start of a post
# says its language as well as the whole, and a 5 MB post then costs what a short one does.
SAMPLE_LENGTH = 2000

# BCP 47 primary subtags whose py3langid label differs: Norwegian Bokmål is its "no".
_LABEL_ALIASES = {"nb": "no"}
# py3langid's label for text with no language in it (ISO 639-2 "zxx"): never a candidate.
_NO_LANGUAGE = "zxx"


@functools.cache
def _detector() -> Any:
    """py3langid's identifier over its whole model, with probabilities (about 0.7 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def load_detector() -> None:
    """Read the model now, in this process: forked workers then share it, not read it again."""
    _detector()


def release_detector() -> None:
    """Let the model go (about 85 MB); the next detection reads it again."""
    _detector.cache_clear()


def _label(tag: str) -> str:
    """The detector's name for the language of BCP 47 ``tag`` (``pt-BR`` → ``pt``)."""
    primary = tag.split("-", 1)[0].lower()
    return _LABEL_ALIASES.get(primary, primary)


def detector_label(tag: str) -> str:
    """``tag``'s name in the detector, or ValueError when the detector does not know that
    language (reads the model)."""
    label = _label(tag)
    if label == _NO_LANGUAGE or label not in _detector().labels:
        raise ValueError(f"the language detector (py3langid) does not know {tag!r}")
    return label


def with_known_languages(config: Config, raws: Iterable[RawPost]) -> Config:
    """``config`` with its detection candidates spelled out: ``site.detect_languages`` as
    given, or when empty the languages the site knows (docs/config.md "Languages")."""
    site = config.site
    if not site.detect_language or site.detect_languages:
        return config
    return replace(config, site=replace(site, detect_languages=known_languages(config, raws)))


def known_languages(config: Config, raws: Iterable[RawPost]) -> tuple[str, ...]:
    """The site's language, every source's ``lang``, and every explicit language of a post;
    one tag per detected language (the site's, else the one most posts carry: ``pt-BR`` on 9
    posts and ``pt`` on 1 make ``pt-BR``), sorted. Without reading the model: a language the
    detector does not know stays a candidate that is never given."""
    seen: Counter[str] = Counter()
    for raw in raws:
        given = raw.meta.get("lang") or raw.default_lang
        if given:
            try:
                seen[normalize_lang(str(given))] += 1
            except ValueError:
                continue  # normalize_post reports it
    seen.update(source.lang for source in config.sources if source.lang)
    by_label: dict[str, str] = {}
    ranked = sorted(seen, key=lambda tag: (-seen[tag], tag))
    for tag in (config.site.language, *ranked):
        if _label(tag) != _NO_LANGUAGE:  # "zxx", no linguistic content: never a language
            by_label.setdefault(_label(tag), tag)
    return tuple(sorted(by_label.values()))


def detection_sample(title: str, content_html: str) -> str | None:
    """The text the detector reads (title, then body, at most SAMPLE_LENGTH characters), or
    None when the body has too little text to guess from."""
    body = collapse_whitespace(clean_text(sanitized_html_to_text(content_html, SAMPLE_LENGTH)))
    if len(body) < MIN_BODY_TEXT:
        return None
    return f"{title}\n{body}"[:SAMPLE_LENGTH]


def guess_language(title: str, content_html: str, site: SiteConfig) -> LanguageGuess:
    """The likeliest of ``site.detect_languages`` for a post, and whether it is sure enough."""
    sample = detection_sample(title, content_html)
    if sample is None or not site.detect_languages:
        return LanguageGuess(Detection.TOO_SHORT, "", 0.0)
    probabilities = dict(_detector().rank(sample))
    scored = [(round(probabilities.get(_label(tag), 0.0), 4), tag) for tag in site.detect_languages]
    # Highest probability, then the first tag in order: the same guess on every run.
    confidence, lang = min(scored, key=lambda pair: (-pair[0], pair[1]))
    outcome = (
        Detection.DETECTED if confidence >= site.detect_confidence else Detection.LOW_CONFIDENCE
    )
    return LanguageGuess(outcome, lang, confidence)
