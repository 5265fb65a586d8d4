"""URL slugs for categories and posts: ``Children and Youth`` → ``children-and-youth``."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from feedsvc.model import Category

# Letters that Unicode decomposition does not reduce to ASCII but that have a usual spelling.
_TRANSLITERATIONS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ł": "l",
        "Ł": "l",
        "ı": "i",
    }
)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


# Labels come back on every post of a category and in every feed entry (tags); slugs are a
# pure function of the label, so the latest ones are remembered, a bounded number.
SLUG_CACHE_SIZE = 4096


@lru_cache(maxsize=SLUG_CACHE_SIZE)
def slugify(label: str) -> str:
    """Lowercase ASCII words joined by "-"; accents folded (``Niñez`` → ``ninez``).

    Never empty: a label with no ASCII letters or digits (``儿童``) gets ``x-`` and a short
    hash of its text, the same in every process, so its URL is stable.
    """
    folded = unicodedata.normalize("NFKD", label.translate(_TRANSLITERATIONS))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if slug:
        return slug
    digest = hashlib.sha256(label.strip().encode("utf-8", "surrogatepass")).hexdigest()
    return f"x-{digest[:8]}"


def unique_labels(
    labels: Iterable[str], clean: Callable[[str], str] = lambda label: label
) -> tuple[str, ...]:
    """Each label once per slug, cleaned, empty ones dropped, the first spelling kept:
    labels that differ only in case or spacing are one (docs/architecture.md "Normalization")."""
    by_slug: dict[str, str] = {}
    for label in map(clean, labels):
        if label:
            by_slug.setdefault(slugify(label), label)
    return tuple(by_slug.values())


def categories_of(
    labels: Iterable[str], clean: Callable[[str], str] = lambda label: label
) -> tuple[Category, ...]:
    """``unique_labels`` as Categories with their slugs."""
    return tuple(Category(label, slugify(label)) for label in unique_labels(labels, clean))
