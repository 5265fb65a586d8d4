"""Which feeds exist and which posts each holds (SPEC §6). Pure: posts in, Feeds out.

Every feed holds the newest ``feeds.entries`` posts, newest first, except monthly
archives, which are complete (RFC 5005 §4). A feed's updated time is the newest
updated time among its entries, never "now", so the same posts always give the
same feeds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from feedsvc.config import Config
from feedsvc.model import Feed, FeedKind, Post

# The updated time of a feed with no entries: fixed, so an empty feed is still deterministic.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def build_feeds(posts: Sequence[Post], config: Config) -> tuple[Feed, ...]:
    """Every feed of the site: site, categories, languages, language×category, archives.

    ``posts`` must already be sorted newest first (normalize_posts does that).
    """
    site = config.site
    limit = config.feeds.entries
    feeds: list[Feed] = []

    archives = _archive_feeds(posts, config) if config.feeds.archives else []
    newest_archive = archives[-1].path if archives else None

    feeds.append(
        _feed(
            FeedKind.SITE,
            "feed",
            site.title,
            site.description,
            site.url,
            posts[:limit],
            prev_archive=newest_archive,
        )
    )

    by_category = _group_by_category(posts)
    labels = {slug: _canonical_label(group, slug) for slug, group in by_category.items()}
    for slug in sorted(by_category):
        feeds.append(
            _feed(
                FeedKind.CATEGORY,
                f"category/{slug}",
                f"{site.title}: {labels[slug]}",
                f"Posts in {labels[slug]}",
                urljoin(site.url, f"category/{slug}/"),
                by_category[slug][:limit],
            )
        )

    by_lang: dict[str, list[Post]] = defaultdict(list)
    for post in posts:
        by_lang[post.lang].append(post)
    for lang in sorted(by_lang):
        lang_posts = by_lang[lang]
        home = site.url if lang == site.language else urljoin(site.url, f"{lang}/")
        feeds.append(
            _feed(
                FeedKind.LANGUAGE,
                f"lang/{lang}",
                f"{site.title} ({lang})",
                site.description,
                home,
                lang_posts[:limit],
                lang=lang,
            )
        )
        if not config.feeds.language_categories:
            continue
        lang_categories = _group_by_category(lang_posts)
        for slug in sorted(lang_categories):
            label = _canonical_label(lang_categories[slug], slug)
            feeds.append(
                _feed(
                    FeedKind.LANGUAGE_CATEGORY,
                    f"lang/{lang}/category/{slug}",
                    f"{site.title} ({lang}): {label}",
                    f"Posts in {label}",
                    urljoin(home, f"category/{slug}/"),
                    lang_categories[slug][:limit],
                    lang=lang,
                )
            )

    feeds.extend(archives)
    return tuple(feeds)


def _feed(
    kind: FeedKind,
    path: str,
    title: str,
    description: str,
    html_url: str,
    posts: Sequence[Post],
    *,
    lang: str | None = None,
    archive: bool = False,
    prev_archive: str | None = None,
    next_archive: str | None = None,
    current: str | None = None,
) -> Feed:
    if lang is None:
        # A feed whose entries share one language says so; a mixed feed leaves
        # xml:lang to each entry.
        langs = {post.lang for post in posts}
        lang = langs.pop() if len(langs) == 1 else None
    return Feed(
        kind=kind,
        path=path,
        title=title,
        description=description,
        html_url=html_url,
        lang=lang,
        posts=tuple(posts),
        updated=newest_update(posts),
        archive=archive,
        prev_archive=prev_archive,
        next_archive=next_archive,
        current=current,
    )


def newest_update(posts: Iterable[Post]) -> datetime:
    """The feed's updated time: its newest entry's (SPEC §6), EPOCH when empty."""
    return max((post.updated for post in posts), default=EPOCH)


def _group_by_category(posts: Iterable[Post]) -> dict[str, list[Post]]:
    groups: dict[str, list[Post]] = defaultdict(list)
    for post in posts:
        for category in post.categories:
            groups[category.slug].append(post)
    return groups


def _canonical_label(posts: Iterable[Post], slug: str) -> str:
    """Labels that differ only in case or spacing are one category (SPEC §5).

    The label shown is the most used one; ties go to the alphabetically first, so
    the choice never depends on reading order.
    """
    counts = Counter(c.label for post in posts for c in post.categories if c.slug == slug)
    return min(counts, key=lambda label: (-counts[label], label))


def _archive_feeds(posts: Sequence[Post], config: Config) -> list[Feed]:
    """One complete feed per month of publication, in the site's time zone, oldest first."""
    zone = ZoneInfo(config.site.timezone)
    months: dict[tuple[int, int], list[Post]] = defaultdict(list)
    for post in posts:
        local = post.published.astimezone(zone)
        months[(local.year, local.month)].append(post)
    keys = sorted(months)
    paths = [f"archive/{year:04d}/{month:02d}" for year, month in keys]
    site = config.site
    feeds = []
    for i, (year, month) in enumerate(keys):
        feeds.append(
            _feed(
                FeedKind.ARCHIVE,
                paths[i],
                f"{site.title}: {year:04d}-{month:02d}",
                f"Every post of {year:04d}-{month:02d}",
                urljoin(site.url, f"{year:04d}/{month:02d}/"),
                months[(year, month)],
                archive=True,
                # RFC 5005 §4: prev-archive points to the older archive document.
                prev_archive=paths[i - 1] if i > 0 else None,
                next_archive=paths[i + 1] if i + 1 < len(keys) else None,
                current="feed",
            )
        )
    return feeds
