"""normalize_post: one RawPost → one Post by docs/architecture.md "Normalization", or a PostError at
file and line."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedsvc.config import Config, PostsConfig
from feedsvc.configfile import parse_config
from feedsvc.errors import PostError
from feedsvc.model import Author, Category, Image, Post, RawPost
from feedsvc.normalize import normalize_post

FORBIDDEN = "\x00\x0b\x1b\ufffe\ud800"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def make_config(tmp_path: Path, **site: Any) -> Config:
    return parse_config(
        {
            "site": {
                "title": "Example",
                "url": "https://example.org/blog",
                "id_authority": "example.org,2017",
                "language": "en",
                "timezone": "America/Bogota",
                **site,
            },
            "feeds": {"summary_length": 40},
        },
        base_dir=tmp_path,
    )


def raw_post(
    meta: dict[str, Any] | None = None,
    body: str = "Body text.",
    body_format: str = "markdown",
    key: str = "2017-06-09-hello",
    **fields: Any,
) -> RawPost:
    merged = {"title": "Hello", "date": "2017-06-09T10:00", **(meta or {})}
    # A None value leaves the key out; the others sit on lines 2, 3, … as in a file.
    present = {k: v for k, v in merged.items() if v is not None}
    lines = {k: i for i, k in enumerate(present, start=2)}
    return RawPost(
        path=f"posts/{key}.md",
        key=key,
        meta=present,
        body=body,
        body_format=body_format,
        meta_lines=lines,
        **fields,
    )


def error_of(raw: RawPost, config: Config) -> PostError:
    with pytest.raises(PostError) as info:
        normalize_post(raw, config)
    return info.value


def test_a_minimal_post(config: Config) -> None:
    post = normalize_post(raw_post(), config)
    assert post == Post(
        id="tag:example.org,2017:2017-06-09-hello",
        url="https://example.org/blog/2017/06/hello/",
        title="Hello",
        published=datetime(2017, 6, 9, 15, 0, tzinfo=UTC),
        updated=datetime(2017, 6, 9, 15, 0, tzinfo=UTC),
        lang="en",
        summary="Body text.",
        content_html="<p>Body text.</p>",
        source_path="posts/2017-06-09-hello.md",
    )


# --- text fields never carry XML-forbidden characters or bidi controls -----------------------


def test_forbidden_characters_are_removed_from_every_text_field(config: Config) -> None:
    meta = {
        "title": f"Ti{FORBIDDEN}tle",
        "summary": f"Sum{FORBIDDEN}mary",
        "author": f"Ana{FORBIDDEN} Pérez",
        "categories": [f"Chil{FORBIDDEN}dren"],
        "tags": [f"t{FORBIDDEN}ag"],
        "image": {"url": "a.png", "alt": f"a{FORBIDDEN}lt"},
    }
    post = normalize_post(raw_post(meta, body=f"Bo{FORBIDDEN}dy"), config)
    assert post.title == "Title"
    assert post.summary == "Summary"
    assert post.content_html == "<p>Body</p>"
    assert post.authors == (Author("Ana Pérez"),)
    assert post.categories == (Category("Children", "children"),)
    assert post.tags == ("tag",)
    assert post.image is not None and post.image.alt == "alt"


def test_forbidden_characters_are_removed_from_html_bodies(config: Config) -> None:
    body = f"<p>Bo{FORBIDDEN}dy&#x1b;&#xFFFE;&#0;\u202e</p>"
    assert normalize_post(raw_post(body=body, body_format="html"), config).content_html == (
        "<p>Body\ufffd</p>"  # HTML §13.2.5.80: &#0; is read as U+FFFD, which XML allows
    )


def test_a_bidi_override_in_a_title_is_removed(config: Config) -> None:
    post = normalize_post(raw_post({"title": "Report \u202egpj.exe\u202c final"}), config)
    assert post.title == "Report gpj.exe final"


def test_titles_are_plain_text(config: Config) -> None:
    post = normalize_post(raw_post({"title": "  <b>Bold</b>\n  &amp; caf&eacute; "}), config)
    assert post.title == "Bold & café"


# --- dates ------------------------------------------------------------------------------------


def test_naive_dates_take_the_site_time_zone(config: Config) -> None:
    post = normalize_post(raw_post({"date": "2017-06-09 10:00"}), config)
    assert post.published == datetime(2017, 6, 9, 15, 0, tzinfo=UTC)  # Bogotá is UTC-5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("June 9, 2017", datetime(2017, 6, 9, 5, 0, tzinfo=UTC)),
        ("Fri, 09 Jun 2017 10:00:00 GMT", datetime(2017, 6, 9, 10, 0, tzinfo=UTC)),
        ("2017-06-09T10:00:00+02:00", datetime(2017, 6, 9, 8, 0, tzinfo=UTC)),
    ],
)
def test_date_formats(config: Config, text: str, expected: datetime) -> None:
    assert normalize_post(raw_post({"date": text}), config).published == expected


def test_updated_defaults_to_date_and_can_be_given(config: Config) -> None:
    post = normalize_post(raw_post({"updated": "2017-07-01T12:00:00Z"}), config)
    assert post.published == datetime(2017, 6, 9, 15, 0, tzinfo=UTC)
    assert post.updated == datetime(2017, 7, 1, 12, 0, tzinfo=UTC)


def test_permalink_month_is_the_site_local_month(config: Config) -> None:
    # 23:30 on 30 June in Bogotá is already July in UTC; the URL follows the site's calendar.
    post = normalize_post(raw_post({"date": "2017-06-30T23:30"}), config)
    assert post.published.month == 7
    assert post.url == "https://example.org/blog/2017/06/hello/"


# --- language -----------------------------------------------------------------------------


def test_lang_is_normalized(config: Config) -> None:
    post = normalize_post(raw_post({"lang": "en_US"}), config)
    assert post.lang == "en-US"


def test_lang_no_stays_norwegian(config: Config) -> None:
    assert normalize_post(raw_post({"lang": "no"}), config).lang == "no"


def test_lang_falls_back_to_the_source_then_the_site(config: Config) -> None:
    assert normalize_post(raw_post(default_lang="es"), config).lang == "es"
    assert normalize_post(raw_post(), config).lang == "en"
    assert normalize_post(raw_post({"lang": "pt-br"}, default_lang="es"), config).lang == "pt-BR"


# --- ids ------------------------------------------------------------------------------------


def test_a_non_uri_id_becomes_a_tag_uri_verbatim(config: Config) -> None:
    post = normalize_post(raw_post({"id": "0123"}), config)
    assert post.id == "tag:example.org,2017:0123"


@pytest.mark.parametrize(
    "given",
    [
        "tag:example.org,2010:post-1",
        "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
        "https://old.example.org/?p=42",
    ],
)
def test_an_absolute_uri_id_is_used_verbatim(config: Config, given: str) -> None:
    assert normalize_post(raw_post({"id": given}), config).id == given


def test_minted_id_escapes_characters_uris_cannot_hold(config: Config) -> None:
    post = normalize_post(raw_post(key="2017/Año nuevo"), config)
    assert post.id == "tag:example.org,2017:2017/A%C3%B1o%20nuevo"


def test_id_ignores_title_slug_body_and_categories(config: Config) -> None:
    before = normalize_post(raw_post({"title": "A", "categories": ["X"]}, body="one"), config)
    after = normalize_post(
        raw_post({"title": "B", "slug": "renamed", "categories": ["Y"]}, body="two"), config
    )
    assert before.id == after.id
    assert before.url != after.url


# --- slugs and URLs ---------------------------------------------------------------------------


def test_slug_comes_from_the_file_name_without_its_date(config: Config) -> None:
    assert normalize_post(raw_post(key="2017/2017-06-09-Hello World"), config).url == (
        "https://example.org/blog/2017/06/hello-world/"
    )


def test_slug_of_a_page_bundle_is_its_folder(config: Config) -> None:
    post = normalize_post(raw_post(key="2017/06/hello-bundle/index"), config)
    assert post.url == "https://example.org/blog/2017/06/hello-bundle/"


def test_slug_from_front_matter_is_slugified(config: Config) -> None:
    post = normalize_post(raw_post({"slug": "Niñez y Juventud"}), config)
    assert post.url == "https://example.org/blog/2017/06/ninez-y-juventud/"


def test_other_languages_get_a_language_prefix(config: Config) -> None:
    post = normalize_post(raw_post({"lang": "pt-BR"}), config)
    assert post.url == "https://example.org/blog/pt-br/2017/06/hello/"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://other.example/x/", "https://other.example/x/"),
        ("about/history/", "https://example.org/blog/about/history/"),
        ("/p/42", "https://example.org/p/42"),
    ],
)
def test_url_from_front_matter(config: Config, given: str, expected: str) -> None:
    assert normalize_post(raw_post({"url": given}), config).url == expected


# --- categories, tags, authors, image, summary ---------------------------------------------------


def test_categories_get_slugs_and_merge_by_slug(config: Config) -> None:
    raw = raw_post(
        {"categories": ["Children and Youth", "children  and youth", "Niñez"]},
        default_categories=("Niñez", "Blog"),
    )
    assert normalize_post(raw, config).categories == (
        Category("Children and Youth", "children-and-youth"),
        Category("Niñez", "ninez"),
        Category("Blog", "blog"),
    )


def test_a_single_category_string_is_a_list_of_one(config: Config) -> None:
    post = normalize_post(raw_post({"categories": "LGBTQ+"}), config)
    assert post.categories == (Category("LGBTQ+", "lgbtq"),)


def test_tags_are_cleaned_and_deduplicated(config: Config) -> None:
    post = normalize_post(raw_post({"tags": ["Climate", " climate ", "Water  Rights"]}), config)
    assert post.tags == ("Climate", "Water Rights")


def test_authors_in_every_shape(config: Config) -> None:
    post = normalize_post(
        raw_post(
            {
                "authors": [
                    "Ana Pérez",
                    "Luis Gómez <luis@example.org>",
                    {"name": "Equipo", "email": "team@example.org", "url": "equipo/"},
                ]
            }
        ),
        config,
    )
    assert post.authors == (
        Author("Ana Pérez"),
        Author("Luis Gómez", "luis@example.org"),
        Author("Equipo", "team@example.org", "https://example.org/blog/equipo/"),
    )
    single = normalize_post(raw_post({"author": {"name": "Ana"}}), config)
    assert single.authors == (Author("Ana"),)


def test_site_author_is_the_default(tmp_path: Path) -> None:
    config = make_config(tmp_path, author="Example Team", author_email="hi@example.org")
    post = normalize_post(raw_post(), config)
    assert post.authors == (Author("Example Team", "hi@example.org"),)


def test_image_as_url_is_absolutized_with_a_guessed_type(config: Config) -> None:
    post = normalize_post(raw_post({"image": "cover.JPG"}), config)
    assert post.image == Image(
        url="https://example.org/blog/2017/06/hello/cover.JPG", mime_type="image/jpeg"
    )


def test_image_as_mapping(config: Config) -> None:
    meta = {"image": {"url": "/media/a.webp", "length": "12345", "width": "640", "height": "480"}}
    assert normalize_post(raw_post(meta), config).image == Image(
        url="https://example.org/media/a.webp",
        mime_type="image/webp",
        length=12345,
        width=640,
        height=480,
    )


def test_summary_given_is_plain_text(config: Config) -> None:
    post = normalize_post(raw_post({"summary": "A <em>short</em>\n summary."}), config)
    assert post.summary == "A short summary."


def test_summary_derived_from_body_is_cut_at_a_word(config: Config) -> None:
    body = "# Heading\n\nThe first paragraph is long enough to be cut somewhere.\n"
    post = normalize_post(raw_post(body=body), config)
    assert post.summary == "Heading The first paragraph is long…"
    assert len(post.summary) <= config.feeds.summary_length


def test_summary_derived_from_body_keeps_an_emoji_sequence_whole(config: Config) -> None:
    # No space in the last half of the 40 characters: the cut falls between graphemes, and
    # the family emoji (7 code points, over the limit at 37) goes whole.
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    body = "Ein " + "Familienfotoalbum" * 2 + family + "mehr" * 5
    post = normalize_post(raw_post(body=body), config)
    assert post.summary == "Ein " + "Familienfotoalbum" * 2 + "…"


# --- bodies ---------------------------------------------------------------------------------


def test_relative_links_and_images_in_bodies_become_absolute(config: Config) -> None:
    body = "See [the report](report.pdf) and [home](/).\n\n![Chart](img/chart.png)\n"
    post = normalize_post(raw_post(body=body), config)
    assert 'href="https://example.org/blog/2017/06/hello/report.pdf"' in post.content_html
    assert 'href="https://example.org/"' in post.content_html
    assert 'src="https://example.org/blog/2017/06/hello/img/chart.png"' in post.content_html


def test_active_content_in_bodies_is_removed(config: Config) -> None:
    body = (
        '<p style="color:red" onclick="steal()">Hi <a href="javascript:alert(1)">click</a></p>'
        "<script>alert(document.cookie)</script>"
    )
    post = normalize_post(raw_post(body=body, body_format="html"), config)
    assert post.content_html == '<p>Hi <a rel="noopener noreferrer">click</a></p>'


def test_markdown_with_tables_and_strikethrough(config: Config) -> None:
    body = "| a |\n|---|\n| 1 |\n\n~~old~~\n"
    html = normalize_post(raw_post(body=body), config).content_html
    assert "<table>" in html and "<td>1</td>" in html and "<del>old</del>" in html


# --- errors name the file and the line of the offending key ----------------------------------


@pytest.mark.parametrize(
    ("meta", "line", "message"),
    [
        ({"title": None}, 1, "title is required"),
        ({"title": "<b></b>"}, 2, "title is empty"),
        ({"date": None}, 1, "date is required"),
        ({"date": "someday"}, 3, "cannot read date 'someday'"),
        ({"updated": "June 2017"}, 4, "lacks a year, month or day"),
        ({"lang": "English"}, 4, "not a BCP 47 language tag"),
        ({"url": "javascript:alert(1)"}, 4, "url must be an http(s) URL"),
        ({"url": "ftp://example.org/x"}, 4, "url must be an http(s) URL"),
        ({"categories": {"a": "b"}}, 4, "categories must be a list of text, not a mapping"),
        ({"tags": [["nested"]]}, 4, "each of tags must be text, not a list"),
        ({"title": ["a", "b"]}, 2, "title must be text, not a list"),
        ({"image": {"url": "a.png", "width": "wide"}}, 4, "image width must be a whole number"),
        ({"image": {"src": "a.png"}}, 4, "unknown image field 'src'"),
        ({"image": "javascript:alert(1)"}, 4, "image url must be an http(s) URL"),
        ({"author": {"email": "a@b.c"}}, 4, "author needs a name"),
        ({"author": "A", "authors": ["B"]}, 4, "use either author or authors"),
        ({"id": "  "}, 4, "id is empty"),
    ],
)
def test_errors_name_file_and_line(
    config: Config, meta: dict[str, Any], line: int, message: str
) -> None:
    error = error_of(raw_post(meta), config)
    assert error.path == "posts/2017-06-09-hello.md"
    assert error.line == line
    assert message in error.message


# --- [posts] limits (issue 7) ---------------------------------------------------------------


def limited(tmp_path: Path, **posts: Any) -> Config:
    return dataclasses.replace(
        make_config(tmp_path), posts=dataclasses.replace(PostsConfig(), **posts)
    )


def test_a_title_over_its_limit_is_refused_counted_as_text(tmp_path: Path) -> None:
    config = limited(tmp_path, max_title=10)
    assert normalize_post(raw_post({"title": "<b>0123456789</b>"}), config).title == "0123456789"
    error = error_of(raw_post({"title": "0123456789A"}), config)
    assert (error.line, error.message) == (
        2,
        "title: 11 characters, over the limit of 10 (posts.max_title)",
    )


def test_categories_and_tags_over_their_limits_are_refused(tmp_path: Path) -> None:
    config = limited(tmp_path, max_categories=2, max_tags=3)
    # Labels differing only in case are one category: two here.
    fine = raw_post({"categories": ["A", "a", "B"], "tags": ["x", "y", "z"]})
    assert len(normalize_post(fine, config).categories) == 2
    error = error_of(raw_post({"categories": ["A", "B"]}, default_categories=("C",)), config)
    assert (error.line, error.message) == (
        4,
        "categories: 3 categories, over the limit of 2 (posts.max_categories)",
    )
    error = error_of(raw_post({"tags": ["w", "x", "y", "z"]}), config)
    assert (error.line, error.message) == (4, "tags: 4 tags, over the limit of 3 (posts.max_tags)")


@pytest.mark.parametrize(
    ("key", "value"),
    [("date", "0001-01-01"), ("date", "1969-12-31T23:59:59Z"), ("updated", "0201-06-09")],
)
def test_dates_before_the_earliest_date_are_refused(config: Config, key: str, value: str) -> None:
    error = error_of(raw_post({key: value}), config)
    assert error.line == (3 if key == "date" else 4)
    assert error.message.endswith(" is before 1970-01-01 (posts.earliest_date)")
    assert error.message.startswith(f"{key}: ")


def test_the_earliest_date_is_the_operators(tmp_path: Path) -> None:
    config = limited(tmp_path, earliest_date=datetime(1850, 1, 1).date())
    post = normalize_post(raw_post({"date": "1865-04-09"}), config)
    assert post.published.year == 1865
    assert normalize_post(raw_post({"date": "1970-01-01T00:00:00Z"}), make_config(tmp_path))
