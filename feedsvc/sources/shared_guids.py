"""Translations that share one WordPress ``guid`` (a WPML site copies the original's guid to
each translation): each gets its own id, the guid plus its language, and the shared guid links
them as translations. A guid only one post has, or that posts of one language share, stays the
post's id exactly as it is (readers moving from the site's own feed see no duplicates).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from feedsvc.lang import normalize_lang
from feedsvc.model import RawPost

# A fragment (RFC 3986 §3.5) keeps the id an absolute URI and cannot clash with another post's
# guid, which WordPress never gives a fragment.
LANG_SUFFIX = "#lang="


def distinct_translation_ids(posts: Sequence[RawPost], source_name: str) -> list[RawPost]:
    """``posts`` with the ids of translations sharing a guid made distinct. Idempotent, so
    posts kept from an earlier read (a page answered 304) come out the same."""
    by_guid: dict[str, list[RawPost]] = defaultdict(list)
    for post in posts:
        guid = post.meta.get("id")
        if isinstance(guid, str):
            by_guid[guid.split(LANG_SUFFIX, 1)[0]].append(post)
    renamed: dict[int, RawPost] = {}
    for guid, group in by_guid.items():
        langs = [_lang(post) for post in group]
        if len(group) < 2 or "" in langs or len(set(langs)) != len(langs):
            continue  # not translations: a duplicate is reported as any other
        for post, lang in zip(group, langs, strict=True):
            meta = {**post.meta, "id": guid + LANG_SUFFIX + lang}
            meta.setdefault("translation_key", f"wp:{source_name}:guid:{guid}")
            renamed[id(post)] = replace(post, meta=meta)
    return [renamed.get(id(post), post) for post in posts]


def _lang(post: RawPost) -> str:
    given = str(post.meta.get("lang") or post.default_lang or "")
    try:
        return normalize_lang(given) if given else ""
    except ValueError:
        return ""  # the normalizer reports the bad tag
