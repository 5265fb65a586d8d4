"""Which feeds exist and which posts each holds (docs/urls.md "Feeds"). Pure: posts in, Feeds out.

Every feed holds the newest ``feeds.entries`` posts, newest first, except monthly
archives, which are complete (RFC 5005 §4). A feed's updated time is the newest
updated time among its entries, never "now", so the same posts always give the
same feeds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urljoin

from feedsvc.config import Config
from feedsvc.model import Feed, FeedKind, Post, newest_first
from feedsvc.normalize.slug import slugify

# The updated time of a feed with no entries: fixed, so an empty feed is still deterministic.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def build_feeds(
    posts: Sequence[Post], config: Config, partner_posts: Sequence[Post] = ()
) -> tuple[Feed, ...]:
    """Every feed of the site: site, categories, tags, languages, language×category, archives.

    ``posts`` must already be sorted newest first (normalize_posts does that).
    ``partner_posts`` (aggregator mode) join only the feeds their partner's config maps them
    to (``joins_category_feeds``, ``joins_language_feeds``), never the site feed or archives.
    """
    site = config.site
    limit = config.feeds.entries
    feeds: list[Feed] = []
    category_pool, language_pool = posts, posts
    if partner_posts:
        category_pool = newest_first([*posts, *filter(joins_category_feeds, partner_posts)])
        mapped = _partner_languages(config)
        language_pool = newest_first(
            [*posts, *(p for p in partner_posts if joins_language_feeds(p, mapped))]
        )

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

    by_category = _group_by_category(category_pool)
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

    if config.feeds.tags:
        feeds.extend(_tag_feeds(posts, config))

    by_lang: dict[str, list[Post]] = defaultdict(list)
    for post in language_pool:
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


def build_partner_feeds(
    site_posts: Sequence[Post], partner_posts: Sequence[Post], config: Config
) -> tuple[Feed, ...]:
    """Aggregator mode's feeds (docs/urls.md "Feeds"): ``partners`` (every partner merged) and, with
    ``aggregator.merge_site``, ``network`` (the site's posts and the partners'). None when
    aggregator mode is off. An id both hold (a partner republishing our post) is the site's.
    """
    if not config.aggregator.enabled:
        return ()
    site = config.site
    limit = config.feeds.entries
    feeds = [
        _feed(
            FeedKind.PARTNERS,
            "partners",
            f"{site.title}: partners",
            f"Posts from the partners of {site.title}",
            site.url,
            newest_first(partner_posts)[:limit],
        )
    ]
    if config.aggregator.merge_site:
        site_ids = {post.id for post in site_posts}
        others = (post for post in partner_posts if post.id not in site_ids)
        feeds.append(
            _feed(
                FeedKind.NETWORK,
                "network",
                f"{site.title} and partners",
                f"Posts from {site.title} and its partners",
                site.url,
                newest_first([*site_posts, *others])[:limit],
            )
        )
    return tuple(feeds)


def joins_category_feeds(post: Post) -> bool:
    """A partner's post is in the category feeds of its categories, which are exactly its
    partner's configured ``categories`` (the feed's own never become site categories)."""
    return bool(post.categories)


def joins_language_feeds(post: Post, partner_languages: Mapping[str, str]) -> bool:
    """A partner's post is in its language's feeds when its partner sets ``lang`` and the
    post is in that language (``partner_languages``: partner name → normalized lang)."""
    origin = post.origin
    return origin is not None and partner_languages.get(origin.name) == post.lang


def _partner_languages(config: Config) -> dict[str, str]:
    # load_config gives partners' languages in canonical case, as posts' tags are.
    return {partner.name: partner.lang for partner in config.partners if partner.lang}


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
    """The feed's updated time: its newest entry's (docs/architecture.md "A feed's updated time"),
    EPOCH when empty."""
    return max((post.updated for post in posts), default=EPOCH)


def _group_by_category(posts: Iterable[Post]) -> dict[str, list[Post]]:
    groups: dict[str, list[Post]] = defaultdict(list)
    for post in posts:
        for category in post.categories:
            groups[category.slug].append(post)
    return groups


def _tag_feeds(posts: Sequence[Post], config: Config) -> list[Feed]:
    """One feed per tag of the site's own posts (a partner's tags are its own, as its
    categories are), at ``tag/{slug}``; labels differing only in case or spacing are one."""
    site = config.site
    by_tag: dict[str, list[Post]] = defaultdict(list)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for post in posts:
        for label in post.tags:
            slug = slugify(label)
            by_tag[slug].append(post)
            spellings[slug][label] += 1
    feeds = []
    for slug in sorted(by_tag):
        counts = spellings[slug]
        label = min(counts, key=lambda spelling: (-counts[spelling], spelling))
        feeds.append(
            _feed(
                FeedKind.TAG,
                f"tag/{slug}",
                f"{site.title}: {label}",
                f"Posts tagged {label}",
                urljoin(site.url, f"tag/{slug}/"),
                by_tag[slug][: config.feeds.entries],
            )
        )
    return feeds


def _canonical_label(posts: Iterable[Post], slug: str) -> str:
    """Labels that differ only in case or spacing are one category
    (docs/architecture.md "Normalization").

    The label shown is the most used one; ties go to the alphabetically first, so
    the choice never depends on reading order.
    """
    counts = Counter(c.label for post in posts for c in post.categories if c.slug == slug)
    return min(counts, key=lambda label: (-counts[label], label))


def _archive_feeds(posts: Sequence[Post], config: Config) -> list[Feed]:
    """One complete feed per month of publication, in the site's time zone, oldest first."""
    zone = config.site.timezone
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
