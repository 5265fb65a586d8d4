"""normalize_lang: BCP 47 (RFC 5646) syntax and canonical casing."""

from __future__ import annotations

import pytest

from feedsvc.lang import normalize_lang


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en_US", "en-US"),
        ("en-us", "en-US"),
        ("PT-br", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("sr-latn", "sr-Latn"),
        ("es-419", "es-419"),
        ("no", "no"),
        ("nb-NO", "nb-NO"),
        ("de-ch-1901", "de-CH-1901"),
        ("zh-yue-hk", "zh-yue-HK"),
        # RFC 5646 §2.1.1: after a singleton, two- and four-letter subtags stay lowercase.
        ("en-CA-x-CA", "en-CA-x-ca"),
        ("az-Latn-x-LATN", "az-Latn-x-latn"),
        ("en-a-bbb-x-a-ccc", "en-a-bbb-x-a-ccc"),
        ("x-Private", "x-private"),
        ("i-klingon", "i-klingon"),
        (" es ", "es"),
    ],
)
def test_valid_tags_get_canonical_case(tag: str, expected: str) -> None:
    assert normalize_lang(tag) == expected


@pytest.mark.parametrize(
    "tag", ["", "e", "en-", "-en", "en--US", "en US", "English", "español", "en-US-", "x", "12"]
)
def test_invalid_tags_raise_value_error(tag: str) -> None:
    with pytest.raises(ValueError, match="not a BCP 47 language tag"):
        normalize_lang(tag)
