"""Language tags: BCP 47 (RFC 5646) syntax checked and cased the canonical way."""

from __future__ import annotations

import re

# RFC 5646 §2.1 ABNF for langtag and privateuse, as one anchored, case-insensitive pattern.
# One deliberate narrowing: the ABNF also allows 4-letter (reserved) and 5–8-letter primary
# language subtags, but the IANA registry holds none, and in front matter they are the
# mistake "lang: English" or "lang: Spanish", which we want reported, not published.
_LANGTAG = re.compile(
    r"""
    ^(?:
      (?:
        [a-z]{2,3}(?:-[a-z]{3}){0,3}                        # language, with extlang
        (?:-[a-z]{4})?                                      # script
        (?:-(?:[a-z]{2}|[0-9]{3}))?                         # region
        (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*            # variants
        (?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*                 # extensions
        (?:-x(?:-[a-z0-9]{1,8})+)?                          # private use
      )
      |x(?:-[a-z0-9]{1,8})+                                 # private use only
    )$
    """,
    re.IGNORECASE | re.VERBOSE,
)

# RFC 5646 §2.2.8: grandfathered tags that the ABNF above does not match.
_IRREGULAR = frozenset(
    {
        "en-gb-oed",
        "i-ami",
        "i-bnn",
        "i-default",
        "i-enochian",
        "i-hak",
        "i-klingon",
        "i-lux",
        "i-mingo",
        "i-navajo",
        "i-pwn",
        "i-tao",
        "i-tay",
        "i-tsu",
        "sgn-be-fr",
        "sgn-be-nl",
        "sgn-ch-de",
    }
)


def normalize_lang(tag: str) -> str:
    """``tag`` in canonical BCP 47 case: ``en_US`` → ``en-US``, ``zh-hant-tw`` → ``zh-Hant-TW``.

    Underscores (POSIX locales, ``en_US``) become hyphens. Raises ValueError for text that
    is not a well-formed tag. Tags are not checked against the IANA registry, so ``no``
    (Norwegian) and new subtags pass untouched.
    """
    candidate = tag.strip().replace("_", "-")
    if not (_LANGTAG.match(candidate) or candidate.lower() in _IRREGULAR):
        raise ValueError(f"{tag!r} is not a BCP 47 language tag (like 'en', 'es' or 'pt-BR')")
    return _canonical_case(candidate)


def _canonical_case(tag: str) -> str:
    # RFC 5646 §2.1.1: lowercase, except that after the first subtag and before any singleton,
    # two-letter subtags (regions) are uppercase and four-letter subtags (scripts) titlecase.
    subtags = tag.lower().split("-")
    out = [subtags[0]]
    after_singleton = False
    for subtag in subtags[1:]:
        if len(subtag) == 1:
            after_singleton = True
        elif not after_singleton and len(subtag) == 2:
            subtag = subtag.upper()
        elif not after_singleton and len(subtag) == 4 and subtag.isalpha():
            subtag = subtag.title()
        out.append(subtag)
    return "-".join(out)
