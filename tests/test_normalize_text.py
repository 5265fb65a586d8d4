"""clean_text, plain_text and summaries: no XML-forbidden characters, no bidi controls."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import regex
from hypothesis import example, given
from hypothesis import strategies as st

from feedsvc.normalize import clean_text, html_to_text, plain_text, truncate_summary
from feedsvc.normalize.text import collapse_whitespace, grapheme_boundaries, summarize

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


# The regex passes clean_text and collapse_whitespace were before faster equivalents took
# their place (issue 12): the two must agree on every input.
_UNWANTED_ORACLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
_WHITESPACE_ORACLE = re.compile(r"\s+")
# ASCII and the characters at the edges of both sets: C0 controls, U+001C–U+001F (Python's
# separators), NEL, NBSP, the Unicode spaces, ZWSP and BOM (not whitespace), bidi controls.
_TRICKY = st.sampled_from(
    [chr(c) for c in range(0x80)]
    + list("\x85\xa0\u1680\u180e\u2000\u200a\u200b\u2028\u2029\u202a\u202e\u202f\u205f")
    + list("\u2066\u2069\u3000\ufeff\ufffe\uffff\ud800\udfff\U0001f389é")
)


@given(st.one_of(st.text(), st.text(_TRICKY), st.text(st.characters(max_codepoint=0x7F))))
def test_clean_text_and_collapse_whitespace_agree_with_their_regexes(text: str) -> None:
    assert clean_text(text) == _UNWANTED_ORACLE.sub("", text)
    assert collapse_whitespace(text) == _WHITESPACE_ORACLE.sub(" ", text).strip()


@pytest.mark.parametrize(
    ("text", "cleaned", "collapsed"),
    [
        ("", "", ""),
        ("a\x1bb", "ab", "a\x1bb"),  # ASCII: the byte path
        ("\t\n\r", "\t\n\r", ""),
        ("a\x1c\x1d\x1e\x1fb", "ab", "a b"),  # separators: whitespace, and not XML
        ("a\x85\xa0b\u3000c", "a\x85\xa0b\u3000c", "a b c"),
        ("a\u200b\ufeffb", "a\u200b\ufeffb", "a\u200b\ufeffb"),  # not whitespace
        ("é\x00\u202ex", "éx", "é\x00\u202ex"),  # non-ASCII: the regex path
    ],
)
def test_clean_text_and_collapse_whitespace_at_the_edges(
    text: str, cleaned: str, collapsed: str
) -> None:
    assert clean_text(text) == cleaned
    assert collapse_whitespace(text) == collapsed


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


# --- summaries: cut at a word, else at a grapheme cluster boundary (UAX #29) ----------------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦: 7 code points
FLAG_ES = "\U0001f1ea\U0001f1f8"  # 🇪🇸: two regional indicators
THUMBS_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽: emoji and skin-tone modifier
E_ACUTE = "e\u0301"  # e and a combining acute accent
GAK_JAMO = "\u1100\u1161\u11a8"  # 각 spelled in conjoining jamo (L V T)
KSSA = "\u0915\u094d\u0937"  # क्ष: consonant, virama, consonant (GB9c conjunct)

# The oracle: regex's plain \X, independent of truncate_summary's fast path for runs.
_CLUSTER = regex.compile(r"\X", regex.DOTALL)


def clusters(text: str) -> list[str]:
    return _CLUSTER.findall(text)


def assert_cut_in_whole_clusters(text: str, summary: str, limit: int) -> None:
    assert len(summary) <= limit
    assert summary.endswith("…")
    kept = clusters(summary[:-1])
    assert kept == clusters(text)[: len(kept)], "not a prefix of the text in whole clusters"


def test_truncate_summary_leaves_text_that_fits_alone() -> None:
    assert truncate_summary("short text", 20) == "short text"
    assert truncate_summary("x" * 20, 20) == "x" * 20  # exactly the limit: no ellipsis


def test_truncate_summary_cuts_at_a_word_boundary() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert truncate_summary(text, 20) == "The quick brown fox…"


def test_truncate_summary_cuts_one_huge_word_at_the_limit() -> None:
    assert truncate_summary("x" * 50, 10) == "x" * 9 + "…"


def test_truncate_summary_cuts_a_long_word_when_the_last_space_is_too_early() -> None:
    # The only space is in the first half: cutting there would waste most of the room.
    text = "See https://example.org/a/very/long/path/that/goes/on/and/on"
    assert truncate_summary(text, 30) == text[:29] + "…"


@pytest.mark.parametrize(
    "joined",
    [FAMILY, FLAG_ES, THUMBS_MEDIUM, E_ACUTE, GAK_JAMO, KSSA],
    ids=["family-zwj", "flag", "skin-tone", "combining-mark", "hangul-jamo", "devanagari-conjunct"],
)
def test_truncate_summary_never_splits_a_cluster_at_the_limit(joined: str) -> None:
    # Without spaces, a cut at 19 characters would fall inside the cluster that starts at 18.
    text = "x" * 18 + joined + "y" * 20
    assert truncate_summary(text, 20) == "x" * 18 + "…"


def test_truncate_summary_keeps_a_cluster_that_fits_whole() -> None:
    text = "x" * 10 + FAMILY + "y" * 20
    assert truncate_summary(text, 20) == "x" * 10 + FAMILY + "yy" + "…"


def test_truncate_summary_never_leaves_a_combining_mark_without_its_letter() -> None:
    text = "caf" + E_ACUTE * 30
    summary = truncate_summary(text, 20)
    assert summary == "caf" + E_ACUTE * 8 + "…"
    assert_cut_in_whole_clusters(text, summary, 20)


def test_truncate_summary_cuts_cjk_between_characters() -> None:
    text = "日本語の文章には単語の間に空白がありません。" * 3
    summary = truncate_summary(text, 20)
    assert summary == text[:19] + "…"


def test_truncate_summary_cuts_hangul_and_devanagari_between_syllables() -> None:
    hangul = "다람쥐 헌 쳇바퀴에 타고파 " * 5  # precomposed, with spaces
    assert truncate_summary(hangul, 20) == "다람쥐 헌 쳇바퀴에 타고파 다람쥐…"
    assert truncate_summary(GAK_JAMO * 10, 20) == GAK_JAMO * 6 + "…"  # 3 jamo a syllable
    hindi = "क्षत्रिय" * 10  # conjuncts and vowel signs, no spaces
    summary = truncate_summary(hindi, 20)
    assert_cut_in_whole_clusters(hindi, summary, 20)
    assert summary == "क्षत्रिय" * 2 + KSSA + "…"  # not "…त्" nor "…त्रि" without room


def test_truncate_summary_drops_punctuation_and_spaces_before_the_ellipsis() -> None:
    assert truncate_summary("One two three, four five six", 16) == "One two three…"
    assert truncate_summary("One two three. Four five six", 16) == "One two three…"
    assert truncate_summary("One two — (three four five", 15) == "One two…"
    assert truncate_summary("日本語です。次の文はとても長いです", 7) == "日本語です…"
    assert truncate_summary("Wait for it… and more", 13) == "Wait for it…"


def test_truncate_summary_keeps_closing_brackets_and_quotes() -> None:
    assert truncate_summary("He said (quietly) that it was", 20) == "He said (quietly)…"
    assert truncate_summary("She wrote “yes” and went home", 18) == "She wrote “yes”…"


def test_truncate_summary_keeps_punctuation_joined_to_an_emoji() -> None:
    # ‼ is punctuation and an emoji: after a ZWJ it is part of the emoji's cluster (GB11).
    joined = "\U0001f600\u200d\u203c"
    text = "x" * 10 + joined + "y" * 20
    assert truncate_summary(text, 14) == "x" * 10 + joined + "…"


# Characters that join or break in every way UAX #29 knows, mixed with anything at all.
_TRICKY = st.sampled_from(
    [FAMILY, FLAG_ES, "\U0001f1ea", THUMBS_MEDIUM, "\U0001f3fd", "\u200d", "\u0301", "\u094d",
     "\u0915", "\u0937", "\u093f", "\u1100", "\u1161", "\u11a8", "\uac00", "\r\n", "\r", "\n",
     "\u0600", "\u0e33", "\u203c", " ", ",", ".", "。", "(", "”", "a", "日"]
)  # fmt: skip
_TEXT = st.lists(_TRICKY | st.characters(codec="utf-8"), max_size=80).map("".join)


@given(_TEXT, st.integers(min_value=0, max_value=90))
def test_grapheme_boundaries_are_those_of_plain_segmentation(text: str, endpos: int) -> None:
    ends = [0]
    for cluster in clusters(text):
        ends.append(ends[-1] + len(cluster))
    # A boundary is certain only with the character after it inside the window.
    exact = [end for end in ends if end == 0 or end < min(endpos, len(text))]
    assert grapheme_boundaries(text, endpos) == exact


@given(_TEXT, st.integers(min_value=1, max_value=90))
# U+001F is a space to str.isspace (and collapse_whitespace), not to the regex module's \s.
@example("\x1f\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", 2)
def test_truncate_summary_is_the_text_or_a_prefix_in_whole_clusters(text: str, limit: int) -> None:
    summary = truncate_summary(text, limit)
    if len(text) <= limit:
        assert summary == text
        return
    assert_cut_in_whole_clusters(text, summary, limit)
    kept = clusters(summary[:-1])
    assert not kept or not (kept[-1].isspace() or kept[-1] in ",.;:!?。、-—(“…"), kept[-1]


@given(st.lists(st.sampled_from(["word", "a", "longerword", "x" * 15]), min_size=1).map(" ".join),
       st.integers(min_value=10, max_value=60))  # fmt: skip
def test_truncate_summary_of_spaced_words_ends_on_a_whole_word(text: str, limit: int) -> None:
    summary = truncate_summary(text, limit)
    words = text.split(" ")
    if summary != text:
        kept = summary[:-1].split(" ")
        cut_hard = kept[-1] not in words
        # Only a last space in the first half (the rule) lets a word be cut.
        assert not cut_hard or text.rfind(" ", 0, limit) <= limit // 2


# Spaces of every kind, marks and joiners that make clusters, letters, punctuation.
_SUMMARY_TEXT = st.text(
    st.sampled_from(list(" \n\t\xa0\u3000ab.,…e\u0301\u200d👍🏽日")), max_size=80
)


@given(_SUMMARY_TEXT, st.integers(min_value=0, max_value=30))
def test_summarize_collapses_only_what_the_cut_needs_and_cuts_the_same(
    text: str, limit: int
) -> None:
    assert summarize(text, limit) == truncate_summary(collapse_whitespace(text), limit)
