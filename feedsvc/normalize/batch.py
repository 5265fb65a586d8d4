"""Every RawPost of a site → its Posts, with per-post problems
(docs/architecture.md "Normalization": a bad post is skipped and reported; every other post is still
published)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from feedsvc.config import Config
from feedsvc.errors import PostError
from feedsvc.model import Post, Problem, RawPost, Severity, Translation, newest_first
from feedsvc.normalize.post import is_draft, normalize_post


@dataclass(frozen=True, slots=True)
class NormalizeResult:
    posts: tuple[Post, ...]  # newest first: published descending, then id ascending
    problems: tuple[Problem, ...]
    drafts: int  # how many drafts were left out (not problems)


# How the per-post step is spread: builtin-map-like, e.g. feedsvc.parallel.parallel_map.
Mapper = Callable[
    [Callable[[RawPost], "Post | Problem | None"], Sequence[RawPost]],
    Iterable["Post | Problem | None"],
]


def _serial_map(
    func: Callable[[RawPost], Post | Problem | None], raws: Sequence[RawPost]
) -> Iterable[Post | Problem | None]:
    return map(func, raws)


def normalize_posts(
    raws: Iterable[RawPost], config: Config, mapper: Mapper = _serial_map
) -> NormalizeResult:
    """Normalize, drop drafts, reject duplicate ids, link translations, sort newest first.

    Raw posts are taken in (path, line) order whatever order they came in, so which of two
    posts claiming one id wins is the same on every run and every replica
    (docs/architecture.md "Determinism").
    ``mapper`` runs the per-post step, which is pure, so it may run in other processes.
    """
    problems: list[Problem] = []
    drafts = 0
    posts: list[Post] = []
    first_by_id: dict[str, Post] = {}
    ordered = sorted(raws, key=lambda r: (r.path, r.line))
    results = mapper(partial(normalize_one, config=config), ordered)
    for raw, post in zip(ordered, results, strict=True):
        if post is None:
            drafts += 1
            continue
        if isinstance(post, Problem):
            problems.append(post)
            continue
        if post.id in first_by_id:
            line = raw.meta_lines.get("id", raw.line)
            other = first_by_id[post.id].source_path
            problems.append(Problem(raw.path, line, f"duplicate id {post.id!r}: {other} has it"))
            continue
        first_by_id[post.id] = post
        posts.append(post)
    problems.extend(_shared_url_warnings(posts))
    linked = _link_translations(posts)
    return NormalizeResult(tuple(newest_first(linked)), tuple(problems), drafts)


def normalize_one(raw: RawPost, config: Config) -> Post | Problem | None:
    """One post normalized, or the Problem that kept it out, or None for a draft."""
    try:
        if is_draft(raw):
            return None
        return normalize_post(raw, config)
    except PostError as e:
        return Problem(e.path, e.line, e.message)


def _link_translations(posts: list[Post]) -> list[Post]:
    """Each post sharing a translation_key links to every *other* post in its group."""
    groups: dict[str, list[Post]] = defaultdict(list)
    for post in posts:
        if post.translation_key:
            groups[post.translation_key].append(post)
    linked = []
    for post in posts:
        group = groups.get(post.translation_key or "", [])
        others = sorted(
            (Translation(o.lang, o.url, o.title) for o in group if o.id != post.id),
            key=lambda t: (t.lang, t.url),
        )
        linked.append(replace(post, translations=tuple(others)) if others else post)
    return linked


def _shared_url_warnings(posts: list[Post]) -> list[Problem]:
    """Two posts at one URL are published, but a reader can only open one: warn."""
    first_by_url: dict[str, Post] = {}
    warnings = []
    for post in posts:
        first = first_by_url.setdefault(post.url, post)
        if first is not post:
            message = f"same URL as {first.source_path}: {post.url} (set slug or url)"
            warnings.append(Problem(post.source_path, 1, message, Severity.WARNING))
    return warnings
