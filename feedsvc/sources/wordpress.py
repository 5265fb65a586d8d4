"""The ``wordpress`` source: a site's posts from the WordPress REST API
(docs/config.md "wordpress").

    [[sources]]
    type = "wordpress"
    url = "https://cms.example.org/"     # the site's root
    username = "feedsvc"                 # optional: an application password's user
    password_env = "WP_APP_PASSWORD"     # the NAME of the variable holding the password

Reads ``{url}/wp-json/wp/v2/posts?_embed&per_page=100&orderby=id&order=asc&page=N`` for
every page (REST API Handbook, "Pagination": ``per_page`` is at most 100, and the
``X-WP-TotalPages`` header says how many pages there are; a page past the last one is a 400
``rest_post_invalid_page_number``). Ordering by id keeps every post on its page while new
posts are published (they get higher ids, so they land on the last page), so the pages
before it keep their bytes and their validators, and their conditional requests get 304s.

Each post becomes a RawPost with front-matter keys, so the shared normalizer applies the
site's rules (sanitizing, absolute URLs, language tags, summaries) to it as to a folder post:

- ``id`` ← ``guid.rendered``: WordPress's own permanent id, the one its RSS feed uses as
  ``<guid>``, so readers moving from the site's old feed see no duplicates (translations
  sharing one guid, as on WPML sites, get the guid plus their language: shared_guids.py);
- ``date``/``updated`` ← ``date_gmt``/``modified_gmt`` (UTC without an offset; the other
  ``date`` and ``modified`` are local times without an offset, used only when a published
  post has no ``date_gmt``: then ``date`` is read in site.timezone, with a warning; a
  ``modified_gmt`` before ``date_gmt`` makes ``updated`` the published time);
- ``title`` ← ``title.rendered`` (HTML with entities such as ``&#8217;``: the normalizer
  reduces it to text; empty for asides and status posts, which are published untitled);
  body ← ``content.rendered``; ``summary`` ← ``excerpt.rendered`` as
  text, without the "[…]" and "Continue reading" tails themes add; ``url`` ← ``link``;
- categories, tags, authors and the featured image from ``_embedded`` (REST API Handbook,
  "Linking and Embedding"): ``wp:term`` by taxonomy, ``author``, ``wp:featuredmedia``; a
  post without them (plugins and caches strip ``_embedded``) has its ``categories``,
  ``tags``, ``featured_media`` and ``author`` ids looked up (wp_lookups.py);
- Polylang (``lang``, ``translations``) and WPML REST API (``wpml_current_locale``,
  ``wpml_translations``) fields give the language and a translation key shared by a group.

Only ``status == "publish"`` posts are read: drafts, pending, scheduled, private and trashed
posts never appear, even when credentials let the API return them. Password-protected posts
are left out with a warning (their content is not public).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from typing import Any

from feedsvc.config import SourceConfig, check_env_name, check_url
from feedsvc.errors import ConfigError, SourceError
from feedsvc.model import Problem, RawPost, Severity
from feedsvc.normalize.ids import is_absolute_uri
from feedsvc.normalize.text import collapse_whitespace, html_to_text
from feedsvc.remote.fetch import Fetcher
from feedsvc.remote.loose import as_str, dict_at, list_at, value_at
from feedsvc.remote.response import FetchResult, Validators
from feedsvc.sources.base import SourceResult, SourceType
from feedsvc.sources.remote import fetch, http_error, item_path, kept_validators, reused
from feedsvc.sources.shared_guids import distinct_translation_ids
from feedsvc.sources.wp_api import (
    PER_PAGE,
    author_of,
    error_code,
    image_of,
    total_pages,
)
from feedsvc.sources.wp_lookups import PENDING, Api, pending_ids, resolve

API_PATH = "/wp-json/wp/v2/posts"
# A guard against a server that never says it is done: 100,000 posts.
MAX_PAGES = 1000
_PAST_LAST_PAGE = "rest_post_invalid_page_number"
# "2017-06-09T14:30:00": how the REST API writes *_gmt dates (no offset, though UTC).
_NAIVE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
# Tails themes put on excerpts: twenty* themes' "Continue reading <span>Title</span>" link,
# and the "[…]" of excerpts cut by wp_trim_excerpt().
_MORE_LINK = re.compile(r"<a\b[^>]*\bclass=\"[^\"]*\bmore-link\b[^>]*>.*?</a>", re.I | re.S)
_MORE_TAIL = re.compile(r"(?<=[.!?…\]])\s+(?:Continue reading|Read more)\b.*$")
_HELLIP_TAIL = re.compile(r"\s*\[\s*(?:…|\.\.\.)\s*\]$")


def api_url(site_url: str) -> str:
    """The posts collection of the site at ``site_url`` (its root, with or without /wp-json)."""
    root = site_url.rstrip("/")
    root = root.removesuffix("/wp-json")
    return root + API_PATH


def page_url(api: str, page: int) -> str:
    return f"{api}?_embed&per_page={PER_PAGE}&orderby=id&order=asc&page={page}"


async def read_wordpress(
    source: SourceConfig, fetcher: Fetcher, previous: SourceResult | None = None
) -> SourceResult:
    """Every published post of the site at ``source.url``, page by page.

    Each page's request is conditional on the validators ``previous`` holds for it; a page
    answered 304 keeps its posts (and problems) from ``previous``. When that gives what
    ``previous`` holds, with every lookup of ids answered the same (wp_lookups.py),
    ``previous`` itself is returned.
    """
    api = api_url(source.url)
    headers = {"Accept": "application/json", **_authorization(source)}
    sent_validators = previous.validators if previous is not None else {}
    posts: list[RawPost] = []
    problems: list[Problem] = []
    validators: dict[str, Validators] = {}
    seen: set[str] = set()
    pages: int | None = None
    page = 1
    while True:
        url = page_url(api, page)
        sent = sent_validators.get(url)
        result = await fetch(source, fetcher, url, sent, headers=headers, error_body=True)
        if result.status == 304 and previous is not None and sent is not None:
            page_posts, page_problems = reused(previous, url)
            validators[url] = result.validators
            empty = False
        elif result.status == 200:
            items = _items(source, result)
            page_posts, page_problems = _read_page(items, url, source)
            validators.update(kept_validators(url, result))
            empty = not items
        elif page > 1 and error_code(result) == _PAST_LAST_PAGE:
            break  # fewer pages than the last count said: posts were deleted meanwhile
        else:
            raise _status_error(source, result)
        # A post can show up twice if posts were deleted while the pages were read.
        posts.extend(p for p in page_posts if p.key not in seen)
        seen.update(p.key for p in page_posts)
        problems.extend(page_problems)
        pages = total_pages(result) or pages
        if empty or (pages is not None and page >= pages):
            break
        if page >= MAX_PAGES:
            message = f"stopped after {MAX_PAGES} pages of {PER_PAGE} posts"
            problems.append(Problem(api, 1, message, Severity.WARNING))
            break
        page += 1
    lookups = await resolve(posts, Api(fetcher, api.removesuffix("/posts"), headers), previous)
    posts = distinct_translation_ids(lookups.posts, source.name)
    read = SourceResult(
        tuple(posts),
        (*problems, *lookups.problems),
        {**validators, **lookups.validators},
        lookups.found,
    )
    # Unchanged: the posts kept from 304 pages are previous's own objects, so this is quick.
    return previous if previous is not None and read == previous else read


def _authorization(source: SourceConfig) -> dict[str, str]:
    """HTTP Basic credentials (RFC 7617) with an application password from the environment.

    The password is read at every read, so a rotated one needs no restart; it is never put
    in a message.
    """
    if not source.username:
        return {}
    password = os.environ.get(source.password_env, "")
    if not password:
        raise SourceError(
            source.name,
            f"environment variable {source.password_env} (password_env) is not set or empty",
        )
    # RFC 7617 §2.1: user-id ":" password, UTF-8 encoded, then base64.
    token = base64.b64encode(f"{source.username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _items(source: SourceConfig, result: FetchResult) -> list[Any]:
    try:
        items = json.loads(result.body)
    except (ValueError, RecursionError) as e:
        # Often an HTML page: a maintenance screen, a firewall, a login wall.
        raise http_error(source, result, f"not JSON, so not the REST API ({e})") from e
    if not isinstance(items, list):
        raise http_error(source, result, "expected a JSON array of posts")
    return items


def _read_page(
    items: list[Any], url: str, source: SourceConfig
) -> tuple[list[RawPost], list[Problem]]:
    posts: list[RawPost] = []
    problems: list[Problem] = []
    for index, item in enumerate(items, start=1):
        adapted = post_to_raw_post(item, source, item_path(url, index), index)
        if isinstance(adapted, RawPost):
            posts.append(adapted)
            problems.extend(_bad_ids(item, adapted.path, index))
            if not as_str(item.get("date_gmt")).strip():
                message = (
                    f"post {item['id']} has no date_gmt: its date {adapted.meta['date']} is read "
                    "in the site's time zone (site.timezone)"
                )
                problems.append(Problem(adapted.path, index, message, Severity.WARNING))
        elif adapted is not None:
            problems.append(adapted)
    return posts, problems


def post_to_raw_post(
    item: Any, source: SourceConfig, path: str, index: int
) -> RawPost | Problem | None:
    """One REST API post as a RawPost; a Problem if it cannot be one; None if unpublished."""
    if not isinstance(item, dict):
        return Problem(path, index, "not a post object")
    # "publish" is the collection's default status; other statuses are never published.
    if item.get("status", "publish") != "publish":
        return None
    wp_id = item.get("id")
    if not isinstance(wp_id, int) or isinstance(wp_id, bool):
        return Problem(path, index, "post without a numeric id")
    if dict_at(item, "content").get("protected") is True:
        message = f"post {wp_id} is password-protected, so it is left out"
        return Problem(path, index, message, Severity.WARNING)
    date_gmt = as_str(item.get("date_gmt")).strip()
    modified_gmt = as_str(item.get("modified_gmt")).strip()
    if not date_gmt and not as_str(item.get("date")).strip():
        return Problem(path, index, f"post {wp_id} has no date_gmt and no date")
    if date_gmt and modified_gmt and _NAIVE_ISO.match(modified_gmt) and modified_gmt < date_gmt:
        # Imported posts and some plugins leave modified_gmt before date_gmt: a post is never
        # updated before it is published, so updated is its published time.
        modified_gmt = ""
    embedded = dict_at(item, "_embedded")
    meta: dict[str, Any] = {
        "title": _rendered(item, "title"),
        # Without date_gmt (seen on published posts), ``date`` is the site's local time: the
        # normalizer reads an offset-less date in site.timezone; _read_page warns.
        "date": _utc(date_gmt) if date_gmt else as_str(item.get("date")).strip(),
        "categories": _terms(embedded, "category"),
        "tags": _terms(embedded, "post_tag"),
    }
    pending, _ = pending_ids(item, embedded)
    if pending:
        meta[PENDING] = pending  # looked up once every page is read (wp_lookups.py)
    lang = as_str(item.get("lang")).strip() or as_str(item.get("wpml_current_locale")).strip()
    optional = {
        "id": _guid(item),
        "updated": _utc(modified_gmt) if date_gmt else "",
        "url": as_str(item.get("link")).strip(),
        "slug": as_str(item.get("slug")).strip(),
        "summary": _excerpt_text(_rendered(item, "excerpt")),
        "authors": _authors(embedded),
        "image": _embedded_image(embedded),
        "lang": lang,
        "translation_key": _translation_key(item, wp_id, source),
    }
    meta.update({k: v for k, v in optional.items() if v})
    return RawPost(
        path=path,
        key=f"wordpress/{wp_id}",
        meta=meta,
        body=_rendered(item, "content"),
        body_format="html",
        line=index,
        source=source.name,
        default_categories=tuple(source.categories),
        default_lang=source.lang or None,
        untitled_allowed=True,
    )


def _guid(item: dict[str, Any]) -> str | None:
    # guid.rendered may be HTML-escaped ("?p=1&amp;lang=es"); the raw guid is the id.
    guid = html.unescape(_rendered(item, "guid")).strip()
    return guid if is_absolute_uri(guid) else None


def _utc(value: str) -> str:
    """A *_gmt value as RFC 3339 UTC: it is UTC, but written without an offset."""
    value = value.strip()
    return value + "Z" if _NAIVE_ISO.match(value) else value


def _excerpt_text(excerpt_html: str) -> str:
    text = collapse_whitespace(html_to_text(_MORE_LINK.sub("", excerpt_html)))
    text = _MORE_TAIL.sub("", text)
    return _HELLIP_TAIL.sub("…", text)


def _terms(embedded: dict[str, Any], taxonomy: str) -> list[str]:
    """Names of the embedded terms of one taxonomy (``wp:term`` holds a list per taxonomy)."""
    names = []
    for group in list_at(embedded, "wp:term"):
        for term in group if isinstance(group, list) else []:
            if isinstance(term, dict) and term.get("taxonomy") == taxonomy:
                name = as_str(term.get("name")).strip()
                if name:
                    names.append(name)
    return names


def _authors(embedded: dict[str, Any]) -> list[dict[str, str]]:
    return [author for author in map(author_of, list_at(embedded, "author")) if author]


def _embedded_image(embedded: dict[str, Any]) -> dict[str, Any] | None:
    media = list_at(embedded, "wp:featuredmedia")
    return image_of(media[0]) if media else None


def _bad_ids(item: dict[str, Any], path: str, index: int) -> list[Problem]:
    """A warning for values where a post without ``_embedded`` should name ids."""
    _, bad = pending_ids(item, dict_at(item, "_embedded"))
    if not bad:
        return []
    shown = ", ".join(json.dumps(value)[:40] for value in bad[:5])
    message = f"post {item['id']}: values that are not ids left out of its terms or image: {shown}"
    return [Problem(path, index, message, Severity.WARNING)]


def _translation_key(item: dict[str, Any], wp_id: int, source: SourceConfig) -> str | None:
    """One key for a whole translation group: its smallest post id, within this source.

    Polylang's ``translations`` maps each language to a post id, the post itself included;
    the WPML REST API plugin's ``wpml_translations`` lists (or, since 2.0, maps by locale)
    the *other* posts, each with an ``id``.
    """
    group = {wp_id}
    polylang = item.get("translations")
    if isinstance(polylang, dict):
        group.update(filter(None, map(_post_id, polylang.values())))
    wpml = item.get("wpml_translations")
    entries = wpml.values() if isinstance(wpml, dict) else wpml if isinstance(wpml, list) else []
    group.update(filter(None, (_post_id(value_at(entry, "id")) for entry in entries)))
    return f"wp:{source.name}:{min(group)}" if len(group) > 1 else None


def _status_error(source: SourceConfig, result: FetchResult) -> SourceError:
    code = error_code(result)
    if result.status in (401, 403) and not source.username:
        detail = "the API needs credentials: set username and password_env"
    elif result.status in (401, 403):
        detail = f"the credentials of user {source.username!r} were refused"
    elif result.status == 404:
        detail = "no WordPress REST API there; is url the site's root (its home page)?"
    else:
        detail = ""
    if code:
        detail = f"{detail} ({code})" if detail else code
    return http_error(source, result, detail)


# --- loosely typed JSON (read through remote/loose.py) ------------------------------------


def _rendered(item: dict[str, Any], key: str) -> str:
    """``title``, ``content``, ``excerpt`` and ``guid`` are objects with a ``rendered`` string."""
    return as_str(value_at(dict_at(item, key), "rendered"))


def _post_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip()) or None
    return None


__all__ = ["API_PATH", "PER_PAGE", "api_url", "page_url", "post_to_raw_post", "read_wordpress"]


def _check(source: SourceConfig, where: str) -> None:
    if not source.url:
        raise ConfigError(f"{where}.url", "required for a wordpress source (the site's root)")
    check_url(source.url, f"{where}.url")
    if source.password_env and not source.username:
        raise ConfigError(f"{where}.username", "required with password_env")
    if source.username and not source.password_env:
        raise ConfigError(
            f"{where}.password_env",
            "required with username: the name of an environment variable holding the password",
        )
    if ":" in source.username:
        # RFC 7617 §2: the user-id cannot contain a colon.
        raise ConfigError(f"{where}.username", "cannot contain ':' (RFC 7617 §2)")
    if source.password_env:
        check_env_name(source.password_env, f"{where}.password_env", "password")


SOURCE_TYPE = SourceType(
    "wordpress", frozenset({"url", "username", "password_env"}), _check, remote=read_wordpress
)
