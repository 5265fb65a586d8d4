"""The model's values pickle (normalize workers send Posts to the parent) as what they are."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from feedsvc.model import (
    Author,
    Category,
    Detection,
    Image,
    LanguageGuess,
    Origin,
    Post,
    Translation,
)

_WHEN = datetime(2017, 6, 9, 12, 30, tzinfo=UTC)
_POST = Post(
    id="tag:example.org,2017:hello",
    url="https://example.org/2017/06/hello/",
    title="Hello",
    published=_WHEN,
    updated=_WHEN,
    lang="es",
    summary="Hola…",
    content_html="<p>Hola</p>",
    categories=(Category("Niñez", "ninez"), Category("Youth", "youth")),
    tags=("a", "b"),
    authors=(Author("Ana", "ana@example.org", None),),
    image=Image("https://example.org/a.jpg", "image/jpeg", 10, 1, 2, "alt"),
    translation_key="hello",
    translations=(Translation("en", "https://example.org/en/hello/", "Hello"),),
    origin=Origin("partner", "Partner", "https://partner.example/feed", None),
    lang_guess=LanguageGuess(Detection.DETECTED, "es", 0.93),
    source_path="posts/hello.md",
)


def test_a_post_and_every_value_in_it_pickle_as_their_fields() -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(_POST, protocol))
        assert copy == _POST
        assert type(copy.categories[0]) is Category
        assert copy.lang_guess is not None and copy.lang_guess.outcome is Detection.DETECTED
    # Constructor and fields, not dataclasses' state loop over fields().
    assert _POST.__reduce_ex__(pickle.HIGHEST_PROTOCOL) == (
        Post,
        tuple(getattr(_POST, name) for name in Post.__dataclass_fields__),
    )
    assert _POST.categories[0].__reduce__() == (Category, ("Niñez", "ninez"))
