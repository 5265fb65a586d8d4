"""clean_text, plain_text and summaries: no XML-forbidden characters, no bidi controls."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.normalize import clean_text, html_to_text, plain_text, truncate_words

# XML 1.0 §2.2 Char, as a test oracle independent of the implementation's pattern.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\ufffe", "\uffff", "\ud800",
     "\udfff"],
)  # fmt: skip
def test_clean_text_removes_xml_forbidden_characters(char: str) -> None:
    assert clean_text(f"a{char}b") == "ab"


@pytest.mark.parametrize(
    "char",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_clean_text_removes_bidi_embeddings_overrides_and_isolates(char: str) -> None:
    assert clean_text(f"invoice{char}fdp.exe") == "invoicefdp.exe"


def test_clean_text_keeps_what_xml_allows() -> None:
    text = "tab\there\nline\r\nNiñez 儿童 🎉 \u200f mark \ufffd"
    assert clean_text(text) == text


@given(st.text())
def test_clean_text_output_always_fits_in_xml(text: str) -> None:
    cleaned = clean_text(text)
    assert not _NOT_XML_CHAR.search(cleaned)
    element = ET.Element("title")
    element.text = cleaned
    # ElementTree writes whatever it is given; its parser then refuses non-XML characters.
    ET.fromstring(ET.tostring(element, encoding="unicode"))


def test_plain_text_strips_tags_decodes_entities_and_collapses_space() -> None:
    assert plain_text("  <b>Bold</b>\n &amp;  caf&eacute; <!-- note -->\t") == "Bold & café"


def test_plain_text_keeps_text_that_only_looks_like_markup() -> None:
    assert plain_text("5 < 6 and 7 > 3") == "5 < 6 and 7 > 3"
    assert plain_text("Q&A") == "Q&A"


def test_plain_text_drops_script_and_style_content() -> None:
    assert plain_text("a<script>alert(1)</script><style>p{}</style>b") == "ab"


def test_plain_text_removes_forbidden_characters_even_from_entities() -> None:
    assert plain_text("a&#x1b;b\x00c\u202ed") == "abcd"


def test_html_to_text_separates_blocks_but_not_inline_elements() -> None:
    text = html_to_text("<p>One</p><p>Two<br>Three</p><ul><li>C<sub>2</sub></li></ul>")
    assert text.split() == ["One", "Two", "Three", "C2"]


def test_truncate_words_leaves_short_text_alone() -> None:
    assert truncate_words("short text", 20) == "short text"


def test_truncate_words_cuts_at_a_word_boundary() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    cut = truncate_words(text, 20)
    assert cut == "The quick brown fox…"
    assert len(cut) <= 20


def test_truncate_words_cuts_one_huge_word_hard() -> None:
    assert truncate_words("x" * 50, 10) == "x" * 9 + "…"


@given(st.text(), st.integers(min_value=2, max_value=300))
def test_truncate_words_never_exceeds_the_limit(text: str, limit: int) -> None:
    assert len(truncate_words(text, limit)) <= limit
