"""slugify: lowercase ASCII words joined by hyphens, never empty, stable."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.model import Category
from feedsvc.normalize import slugify
from feedsvc.normalize.slug import SLUG_CACHE_SIZE, categories_of, unique_labels

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Children and Youth", "children-and-youth"),
        ("  Children   and Youth ", "children-and-youth"),
        ("children-and-youth", "children-and-youth"),
        ("Niñez", "ninez"),
        ("Educación y Niñez", "educacion-y-ninez"),
        ("LGBTQ+", "lgbtq"),
        ("Labor Trafficking / Forced Labour", "labor-trafficking-forced-labour"),
        ("Straße", "strasse"),
        ("Łódź", "lodz"),
        ("2017-06-09-hello", "2017-06-09-hello"),
        ("ﬁnance", "finance"),
    ],
)
def test_slugify(label: str, expected: str) -> None:
    assert slugify(label) == expected


def test_labels_with_no_ascii_get_a_short_stable_hash() -> None:
    slug = slugify("儿童")
    assert re.fullmatch(r"x-[0-9a-f]{8}", slug)
    assert slugify("儿童") == slug
    assert slugify("青年") != slug
    assert slugify("+++") != ""


@given(st.text())
def test_any_label_gives_a_url_safe_slug(label: str) -> None:
    assert SLUG.match(slugify(label))


def test_labels_differing_in_case_or_spacing_are_one_and_the_first_spelling_wins() -> None:
    labels = ["Children and Youth", "children  and youth", "", "Labor Trafficking"]
    collapse = lambda label: " ".join(label.split())  # noqa: E731
    assert unique_labels(labels, collapse) == ("Children and Youth", "Labor Trafficking")
    assert categories_of(["LGBTQ+", "lgbtq"]) == (Category("LGBTQ+", "lgbtq"),)


def test_slugs_remembered_are_bounded_and_still_right() -> None:
    labels = [f"Label {n}" for n in range(SLUG_CACHE_SIZE + 500)]
    assert [slugify(label) for label in labels] == [f"label-{n}" for n in range(len(labels))]
    assert slugify.cache_info().currsize == SLUG_CACHE_SIZE
    assert slugify(labels[0]) == "label-0"  # forgotten, made again
