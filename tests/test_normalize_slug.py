"""slugify: lowercase ASCII words joined by hyphens, never empty, stable."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.normalize import slugify

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
