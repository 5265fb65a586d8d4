"""Normalization (docs/architecture.md "Normalization"): every source's RawPosts become one model of
Posts.

Pure functions only: no I/O, no clock. ``normalize_posts`` is the entry point; the helpers
are public because other stages reuse them (the aggregator sanitizes partner HTML with
``sanitize_html`` and cleans partner titles with ``plain_text``).
"""

from feedsvc.normalize.batch import NormalizeResult, normalize_posts
from feedsvc.normalize.dates import parse_date
from feedsvc.normalize.html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, absolute_url, sanitize_html
from feedsvc.normalize.ids import post_id
from feedsvc.normalize.post import is_draft, normalize_post
from feedsvc.normalize.slug import slugify
from feedsvc.normalize.text import (
    clean_text,
    collapse_whitespace,
    html_to_text,
    plain_text,
    truncate_summary,
)

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "NormalizeResult",
    "absolute_url",
    "clean_text",
    "collapse_whitespace",
    "html_to_text",
    "is_draft",
    "normalize_post",
    "normalize_posts",
    "parse_date",
    "plain_text",
    "post_id",
    "sanitize_html",
    "slugify",
    "truncate_summary",
]
