"""Categories, tags, featured images and authors of WordPress posts that came without
``_embedded`` (docs/config.md "wordpress").

Caching plugins, CDNs and some security plugins strip ``_embedded`` from REST API answers (or
ignore ``_embed``), which leaves each post only ids: ``categories`` and ``tags`` (term ids),
``featured_media`` (an attachment id) and ``author`` (a user id). The wordpress source keeps
such ids on the post (``meta[PENDING]``) and this module looks them up, after every page of
posts is read:

- terms through ``/wp/v2/categories`` and ``/wp/v2/tags``: every page (``per_page=100``,
  ordered by id so that pages keep their bytes as terms are added; ``X-WP-TotalPages``, else
  ``Link: rel="next"``, else a full page, says that another follows), at most
  MAX_TERM_PAGES per taxonomy, and only for a taxonomy some post needs: a site whose posts
  all carry ``_embedded`` costs no request more. Every page rather than ``include=``
  batches of the ids the posts name: a page's URL is the same at every read, so its
  validators keep working, while a batch's URL changes whenever a post names another term;
  and the posts of a whole site name nearly every term anyway;
- featured images through ``/wp/v2/media/{id}`` and authors through ``/wp/v2/users/{id}``,
  once per distinct id, at most MAX_ID_LOOKUPS of each a read.

What each lookup gave is kept in ``SourceResult.lookups`` by URL, beside the validators that
make the next read of that URL conditional (the posts' pages keep theirs the same way), so a
304 reuses it. A lookup that fails (an HTTP error, a timeout, a body over the fetcher's cap,
not JSON) is a Problem naming its URL, and what it gave last time is kept (last good wins);
the posts are published either way, without what nobody could give. An id the site does not
know (a deleted term) is left out with a warning.

A post reads the same whichever way its terms came: the same names go to the same
``categories`` and ``tags`` keys, and media and users are read by the same ``image_of`` and
``author_of`` as embedded ones (wp_api.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from feedsvc.model import Problem, RawPost, Severity
from feedsvc.remote.links import link_targets
from feedsvc.remote.loose import as_str
from feedsvc.remote.response import FetchResult
from feedsvc.sources.base import SourceResult
from feedsvc.sources.wp_api import (
    PER_PAGE,
    Api,
    LookupFailed,
    Lookups,
    author_of,
    get_lookup,
    image_of,
    is_id,
    json_of,
    status_detail,
    total_pages,
)

# RawPost.meta key of the ids a post names without their objects embedded:
# {"categories": [ids], "tags": [ids], "featured_media": id, "author": id}.
PENDING = "wordpress_ids"
# A guard against a site that says it has 1,000,000 pages of terms: 10,000 terms of each
# taxonomy. Real sites with more tags than that are rare; their posts still publish, and
# the terms past the cap are reported as unknown.
MAX_TERM_PAGES = 100
# Media and users are looked up one request per id, as ``_embed`` asks for them: a read of
# a site whose every post lost ``_embedded`` makes at most this many of each. Ids not yet
# known come first, then the known ones, least recently asked first, so a larger site is
# complete after a few reads and each is asked again in turn.
MAX_ID_LOOKUPS = 100
_SHOWN_IDS = 10  # ids named in one message
# Only what a post needs (REST API Handbook, "_fields"): a smaller answer under the cap.
_TERM_FIELDS = "id,name"


@dataclass(frozen=True, slots=True)
class Taxonomy:
    field: str  # the post's field of ids, and the collection's path: "categories"
    label: str  # in messages: "category"


TAXONOMIES = (Taxonomy("categories", "category"), Taxonomy("tags", "tag"))


@dataclass(frozen=True, slots=True)
class Linked:
    """An object a post names by one id and that is looked up by its own URL."""

    field: str  # the post's field: "featured_media"
    embedded: str  # its key in ``_embedded``: "wp:featuredmedia"
    path: str  # the collection: "media" (``/wp/v2/media/{id}``)
    fields: str  # what to ask for (``_fields``)
    label: str  # in messages: "featured image"
    read: Callable[[Any], dict[str, Any] | None]  # the answer as a post needs it
    key: str  # the post's meta key it fills
    as_meta: Callable[[dict[str, Any]], Any]
    # Sites that hide their users (a common hardening against user enumeration) lose only
    # the author's name: a warning, not an error.
    failure: Severity


MEDIA = Linked(
    "featured_media",
    "wp:featuredmedia",
    "media",
    "id,source_url,alt_text,mime_type,media_details",
    "featured image",
    image_of,
    "image",
    lambda image: image,
    Severity.ERROR,
)
AUTHOR = Linked(
    "author",
    "author",
    "users",
    "id,name,link",
    "author",
    author_of,
    "authors",
    lambda author: [author],
    Severity.WARNING,
)
LINKED = (MEDIA, AUTHOR)


def pending_ids(item: dict[str, Any], embedded: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """What ``item`` names without embedding it: its term ids when ``_embedded`` has no
    ``wp:term``, its ``featured_media`` when it has no ``wp:featuredmedia``, its ``author``
    when it has no ``author``; and the values found where ids belong that are not ids."""
    pending: dict[str, Any] = {}
    bad: list[Any] = []
    if "wp:term" not in embedded:
        for taxonomy in TAXONOMIES:
            values = item.get(taxonomy.field)
            if values is None:
                continue
            values = values if isinstance(values, list) else [values]
            bad.extend(value for value in values if not is_id(value))
            ids = list(dict.fromkeys(value for value in values if is_id(value)))
            if ids:
                pending[taxonomy.field] = ids
    for linked in LINKED:
        value = item.get(linked.field)
        if linked.embedded in embedded or value in (None, 0):
            continue
        if is_id(value):
            pending[linked.field] = value
        else:
            bad.append(value)
    return pending, bad


def term_page_url(root: str, taxonomy: Taxonomy, page: int) -> str:
    query = f"per_page={PER_PAGE}&orderby=id&order=asc&_fields={_TERM_FIELDS}&page={page}"
    return f"{root}/{taxonomy.field}?{query}"


def linked_url(root: str, linked: Linked, object_id: int) -> str:
    return f"{root}/{linked.path}/{object_id}?_fields={linked.fields}"


async def resolve(posts: Sequence[RawPost], api: Api, previous: SourceResult | None) -> Lookups:
    """``posts`` with the ids they name looked up; no request at all when none names any."""
    wanted = [p.meta[PENDING] for p in posts if isinstance(p.meta.get(PENDING), dict)]
    lookups = Lookups()
    if not wanted:
        lookups.posts = list(posts)
        return lookups
    taxonomies = [t for t in TAXONOMIES if any(t.field in w for w in wanted)]
    term_reads, linked_reads = await asyncio.gather(
        asyncio.gather(*(_read_terms(api, taxonomy, previous) for taxonomy in taxonomies)),
        asyncio.gather(
            *(
                _read_linked(
                    api, linked, [w[linked.field] for w in wanted if linked.field in w], previous
                )
                for linked in LINKED
            )
        ),
    )
    names: dict[str, dict[int, str] | None] = {}
    for taxonomy, (read, taxonomy_names) in zip(taxonomies, term_reads, strict=True):
        lookups.merge(read)
        names[taxonomy.field] = taxonomy_names
    values: dict[str, dict[int, dict[str, Any] | None]] = {}
    for linked, (read, linked_values) in zip(LINKED, linked_reads, strict=True):
        lookups.merge(read)
        values[linked.field] = linked_values
    unknown: dict[str, set[int]] = {t.field: set() for t in taxonomies}
    lookups.posts = [_apply(post, names, values, unknown) for post in posts]
    for taxonomy in taxonomies:
        if unknown[taxonomy.field]:
            lookups.problems.append(_unknown_terms(api, taxonomy, unknown[taxonomy.field]))
    return lookups


# --- terms ---------------------------------------------------------------------------------


async def _read_terms(
    api: Api, taxonomy: Taxonomy, previous: SourceResult | None
) -> tuple[Lookups, dict[int, str] | None]:
    """Every page of one taxonomy, and the name of each term id; when a page fails, what the
    previous read had for the whole taxonomy (None: nothing), and a Problem."""
    read = Lookups()
    url = term_page_url(api.root, taxonomy, 1)
    try:
        for page in range(1, MAX_TERM_PAGES + 1):
            url = term_page_url(api.root, taxonomy, page)
            result, kept = await get_lookup(api, url, previous)
            if kept is not None:
                entry = kept
            elif result.status == 200:
                entry = _term_page(url, result, page, taxonomy, read.problems)
            else:
                raise LookupFailed(url, status_detail(result, api))
            read.add(url, entry, result.validators)
            if not entry.get("more"):
                break
        else:
            message = (
                f"stopped after {MAX_TERM_PAGES} pages of {PER_PAGE} {taxonomy.label} terms: "
                "ids past them are left out"
            )
            read.problems.append(Problem(url, 0, message, Severity.WARNING))
    except LookupFailed as failed:
        last_good = Lookups()
        prefix = term_page_url(api.root, taxonomy, 1).rpartition("&page=")[0] + "&page="
        for kept_url in previous.lookups if previous is not None else ():
            if kept_url.startswith(prefix):
                last_good.keep(kept_url, previous)
        kept_note = (
            "the last good terms are kept"
            if last_good.found
            else "posts without _embedded are published without them"
        )
        failure = failed.problem(f"{taxonomy.label} terms", kept_note, Severity.ERROR)
        last_good.problems = [*read.problems, failure]
        return last_good, _names(last_good.found.values()) if last_good.found else None
    return read, _names(read.found.values())


def _term_page(
    url: str, result: FetchResult, page: int, taxonomy: Taxonomy, problems: list[Problem]
) -> dict[str, Any]:
    """One page of terms as kept: {"terms": {"12": "News"}, "more": whether a page follows}."""
    items = json_of(url, result)
    if not isinstance(items, list):
        raise LookupFailed(url, "not a JSON array of terms")
    terms: dict[str, str] = {}
    skipped = 0
    for item in items:
        name = as_str(item.get("name")).strip() if isinstance(item, dict) else ""
        if name and is_id(item.get("id")):
            terms[str(item["id"])] = name
        else:
            skipped += 1
    if skipped:
        message = f"{skipped} {taxonomy.label} terms without a numeric id or a name skipped"
        problems.append(Problem(url, 0, message, Severity.WARNING))
    return {"terms": terms, "more": bool(items) and _more(url, result, page, len(items))}


def _more(url: str, result: FetchResult, page: int, count: int) -> bool:
    total = total_pages(result)
    if total is not None:
        return page < total
    if "link" in result.headers:
        return bool(link_targets(result.headers["link"], "next", url))
    return count >= PER_PAGE


def _names(entries: Iterable[dict[str, Any]]) -> dict[int, str]:
    names: dict[int, str] = {}
    for entry in entries:
        terms = entry.get("terms")
        for key, name in terms.items() if isinstance(terms, dict) else ():
            if isinstance(key, str) and key.isdigit() and isinstance(name, str):
                names[int(key)] = name
    return names


def _unknown_terms(api: Api, taxonomy: Taxonomy, ids: set[int]) -> Problem:
    shown = ", ".join(str(i) for i in sorted(ids)[:_SHOWN_IDS])
    more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
    message = (
        f"posts name {taxonomy.label} ids the site does not list (deleted terms?), "
        f"left out: {shown}{more}"
    )
    return Problem(f"{api.root}/{taxonomy.field}", 0, message, Severity.WARNING)


# --- media and users ------------------------------------------------------------------------


async def _read_linked(
    api: Api, linked: Linked, ids: list[int], previous: SourceResult | None
) -> tuple[Lookups, dict[int, dict[str, Any] | None]]:
    """The object of each id as a post needs it (None: not one, or unknown), asking at most
    MAX_ID_LOOKUPS of them; the others keep what the previous read had."""
    read = Lookups()
    found: dict[int, dict[str, Any] | None] = {}
    urls = {object_id: linked_url(api.root, linked, object_id) for object_id in set(ids)}
    if not urls:
        return read, found
    kept = previous.lookups if previous is not None else {}
    # Least recently asked first: ``found`` keeps the order in which answers came.
    by_url = {url: object_id for object_id, url in urls.items()}
    known = [by_url[url] for url in kept if url in by_url]
    unknown = sorted(set(urls) - set(known), reverse=True)  # the newest objects first
    order = unknown + known
    asked, later = order[:MAX_ID_LOOKUPS], order[MAX_ID_LOOKUPS:]
    for object_id in later:
        read.keep(urls[object_id], previous)
    not_asked = [i for i in later if urls[i] not in kept]
    if not_asked:
        message = (
            f"{len(not_asked)} {linked.label} ids not looked up in this read (at most "
            f"{MAX_ID_LOOKUPS} a read): later reads look them up"
        )
        read.problems.append(Problem(f"{api.root}/{linked.path}", 0, message, Severity.WARNING))
    answers = await asyncio.gather(*(_read_one(api, linked, urls[i], previous) for i in asked))
    for answer in answers:
        read.merge(answer)
    for object_id, url in urls.items():
        if url in read.found:
            found[object_id] = read.found[url].get("value")
    return read, found


async def _read_one(api: Api, linked: Linked, url: str, previous: SourceResult | None) -> Lookups:
    read = Lookups()
    try:
        result, kept = await get_lookup(api, url, previous)
        if kept is not None:
            read.add(url, kept, result.validators)
        elif result.status == 200:
            value = linked.read(json_of(url, result))
            read.add(url, {"value": value} if value else {}, result.validators)
        elif result.status in (404, 410):
            # rest_post_invalid_id, rest_user_invalid_id: deleted since the post named it.
            message = f"{linked.label} not on the site (deleted?): the post is published without it"
            read.problems.append(Problem(url, 0, message, Severity.WARNING))
        else:
            raise LookupFailed(url, status_detail(result, api))
    except LookupFailed as failed:
        read.keep(url, previous)
        kept_note = (
            "its last good version is kept"
            if url in read.found
            else "the post is published without it"
        )
        read.problems.append(failed.problem(linked.label, kept_note, linked.failure))
    return read


def _apply(
    post: RawPost,
    names: Mapping[str, dict[int, str] | None],
    values: Mapping[str, Mapping[int, dict[str, Any] | None]],
    unknown: dict[str, set[int]],
) -> RawPost:
    """``post`` with the terms, image and author its ids name (the post itself when they
    change nothing, as for a post kept from a page answered 304)."""
    pending = post.meta.get(PENDING)
    if not isinstance(pending, dict):
        return post
    meta = dict(post.meta)
    for field_name, known in names.items():
        ids = pending.get(field_name)
        if not isinstance(ids, list):
            continue
        if known is None:  # the taxonomy could not be read, and never was
            meta[field_name] = []
            continue
        meta[field_name] = [known[i] for i in ids if i in known]
        unknown[field_name].update(i for i in ids if i not in known)
    for linked in LINKED:
        if linked.field in pending:
            value = values[linked.field].get(pending[linked.field])
            if value:
                meta[linked.key] = linked.as_meta(value)
            else:
                meta.pop(linked.key, None)
    return post if meta == post.meta else replace(post, meta=meta)
