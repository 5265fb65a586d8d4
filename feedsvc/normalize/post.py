"""One RawPost → one Post, by the rules of docs/architecture.md "Normalization", or a PostError
naming file and line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from urllib.parse import quote, urljoin, urlsplit

from feedsvc.config import Config, PostsConfig, SiteConfig
from feedsvc.errors import PostError
from feedsvc.lang import normalize_lang
from feedsvc.model import Category, Detection, Post, RawPost
from feedsvc.normalize.body import render_body
from feedsvc.normalize.dates import parse_date
from feedsvc.normalize.fields import FrontMatter
from feedsvc.normalize.html import site_base
from feedsvc.normalize.ids import post_id
from feedsvc.normalize.language import guess_language
from feedsvc.normalize.media import read_image
from feedsvc.normalize.people import read_authors
from feedsvc.normalize.slug import categories_of, slugify, unique_labels
from feedsvc.normalize.text import (
    clean_text,
    collapse_whitespace,
    plain_text,
    sanitized_html_to_text,
    summarize,
)
from feedsvc.urls import join_url

# Jekyll's file naming, "2017-06-09-hello-world.md": the date is not part of the slug.
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")


def is_draft(raw: RawPost) -> bool:
    """``draft: true`` (or yes/on): never published, and not an error
    (docs/config.md "Post front matter")."""
    return FrontMatter(raw).boolean("draft")


def normalize_post(raw: RawPost, config: Config) -> Post:
    """The Post ``raw`` describes; PostError (file, line, message) if it breaks a rule."""
    front = FrontMatter(raw)
    site, limits = config.site, config.posts
    site_zone = site.timezone
    if raw.untitled_allowed:
        title = plain_text(front.string("title") or "")
    else:
        title = plain_text(front.required_string("title"))
        if not title:
            raise front.error("title", "title is empty")
    _check_limit(front, "title", len(title), "characters", limits.max_title, "posts.max_title")
    published = _read_date(front, "date", site_zone, limits)
    if published is None:
        raise front.error("date", "date is required (when the post was published, e.g. 2017-06-09)")
    updated = _read_date(front, "updated", site_zone, limits) or published
    categories = _read_categories(front)
    _check_limit(
        front,
        "categories",
        len(categories),
        "categories",
        limits.max_categories,
        "posts.max_categories",
    )
    tags = _read_tags(front)
    _check_limit(front, "tags", len(tags), "tags", limits.max_tags, "posts.max_tags")
    lang, explicit = _read_lang(front, site)
    url = _read_url(front, site, lang, _read_slug(front), published.astimezone(site_zone))
    try:
        content_html = render_body(raw.body, raw.body_format, base_url=url)
    except ValueError as e:
        raise PostError(raw.path, raw.line, str(e)) from e
    # Detection runs only where no one said the language; the permalink above stays the
    # default language's, as the site published the page there.
    guess = (
        guess_language(title, content_html, site) if site.detect_language and not explicit else None
    )
    if guess is not None and guess.outcome is Detection.DETECTED:
        lang = guess.lang
    return Post(
        id=post_id(_read_explicit_id(front), raw.key, site.id_authority),
        url=url,
        title=title,
        published=published,
        updated=updated,
        lang=lang,
        summary=_read_summary(front, content_html, config.feeds.summary_length),
        content_html=content_html,
        categories=categories,
        tags=tags,
        authors=read_authors(front, site),
        image=read_image(front, url),
        translation_key=_read_translation_key(front),
        lang_guess=guess,
        source_path=raw.path,
    )


def _check_limit(
    front: FrontMatter, key: str, count: int, unit: str, limit: int, name: str
) -> None:
    """A post over one of the [posts] limits is skipped, naming the key that sets it."""
    if count > limit:
        raise front.error(key, f"{key}: {count:,} {unit}, over the limit of {limit:,} ({name})")


def _read_date(
    front: FrontMatter, key: str, site_zone: tzinfo, limits: PostsConfig
) -> datetime | None:
    value = front.get(key)
    if value is None or value == "":
        return None
    try:
        parsed = parse_date(value, site_zone)
    except ValueError as e:
        raise front.error(key, f"{key}: {e}") from e
    earliest = limits.earliest_date
    if parsed < datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC):
        raise front.error(
            key, f"{key}: {parsed:%Y-%m-%d} is before {earliest} (posts.earliest_date)"
        )
    return parsed


def _read_lang(front: FrontMatter, site: SiteConfig) -> tuple[str, bool]:
    """Front matter ``lang``, else the source's default, else the site's
    (docs/architecture.md "Normalization"); those two come from load_config in canonical case.
    The flag says whether the language was explicit: neither the site's default nor the one
    a whole feed states for all its entries."""
    given = front.string("lang")
    if given:
        try:
            lang = normalize_lang(given)
        except ValueError as e:
            raise front.error("lang", f"lang: {e}") from e
        # What a whole feed states is a default detection may replace, unless the operator
        # also gave the source a lang.
        return lang, not front.raw.lang_from_feed or bool(front.raw.default_lang)
    if front.raw.default_lang:
        return front.raw.default_lang, True
    return site.language, False


def _read_slug(front: FrontMatter) -> str:
    given = front.string("slug")
    if given and given.strip():
        return slugify(given)
    # The file's name, or its folder's for a page bundle ("2017/hello/index.md").
    parts = front.raw.key.split("/")
    stem = parts[-2] if parts[-1] == "index" and len(parts) > 1 else parts[-1]
    return slugify(_DATE_PREFIX.sub("", stem))


def _read_url(
    front: FrontMatter, site: SiteConfig, lang: str, slug: str, local_published: datetime
) -> str:
    """Front matter ``url`` (relative to the site), else WordPress-style permalinks.

    ``{site}/{yyyy}/{mm}/{slug}/`` in the site's language and ``{site}/{lang}/{yyyy}/{mm}/
    {slug}/`` in others (Polylang's layout); year and month are the site's local ones.
    """
    given = front.string("url")
    if given and given.strip():
        try:
            url = urljoin(site_base(site.url), given.strip())
            parts = urlsplit(url)
        except ValueError as e:
            raise front.error("url", f"url: {e}") from e
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise front.error("url", f"url must be an http(s) URL, not {given!r}")
        return url
    prefix = "" if lang == site.language else f"{quote(lang.lower())}/"
    path = f"{prefix}{local_published:%Y}/{local_published:%m}/{slug}/"
    return join_url(site_base(site.url), path)


def _read_explicit_id(front: FrontMatter) -> str | None:
    given = front.string("id")
    if given is None:
        return None
    explicit = clean_text(given).strip()
    if not explicit:
        raise front.error("id", "id is empty")
    return explicit


def _read_categories(front: FrontMatter) -> tuple[Category, ...]:
    """Front matter categories, then the source's; one per slug
    (docs/architecture.md "Normalization": labels that differ only in case or spacing are one
    category), keeping the first label seen."""
    labels = [*front.string_list("categories"), *front.raw.default_categories]
    return categories_of(labels, plain_text)


def _read_tags(front: FrontMatter) -> tuple[str, ...]:
    return unique_labels(front.string_list("tags"), plain_text)


def _read_summary(front: FrontMatter, content_html: str, limit: int) -> str:
    """The given summary as plain text, else the body's text cut at a word or grapheme boundary."""
    given = front.string("summary")
    if given is not None and (summary := plain_text(given)):
        return summary
    # Twice the limit in text is plenty to cut from, whatever whitespace collapses away.
    text = sanitized_html_to_text(content_html, enough=2 * limit)
    return summarize(clean_text(text), limit)


def _read_translation_key(front: FrontMatter) -> str | None:
    given = front.string("translation_key")
    return collapse_whitespace(clean_text(given)) or None if given is not None else None
