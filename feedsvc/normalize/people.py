"""Authors from front matter: ``author``/``authors`` as names or name/email/url mappings."""

from __future__ import annotations

import email.utils
from typing import Any

from feedsvc.config import SiteConfig
from feedsvc.model import Author
from feedsvc.normalize.fields import FrontMatter, describe
from feedsvc.normalize.html import MEDIA_SCHEMES, absolute_url, site_base
from feedsvc.normalize.text import plain_text

_AUTHOR_KEYS = ("name", "email", "url")


def read_authors(front: FrontMatter, site: SiteConfig) -> tuple[Author, ...]:
    """``authors`` (a list) or ``author`` (one); else the site's author, if it has one."""
    if front.has("authors") and front.has("author"):
        raise front.error("author", "use either author or authors, not both")
    if front.has("authors"):
        value = front.get("authors")
        items = value if isinstance(value, list) else [value]
        authors = tuple(_read_author(front, "authors", item, site) for item in items)
    elif front.has("author"):
        authors = (_read_author(front, "author", front.get("author"), site),)
    elif site.author:
        authors = (Author(plain_text(site.author), site.author_email or None),)
    else:
        authors = ()
    # Drop repeats (same name and email), keeping the order the writer gave.
    return tuple(dict.fromkeys(authors))


def _read_author(front: FrontMatter, key: str, value: Any, site: SiteConfig) -> Author:
    if isinstance(value, str):
        return _author_from_text(front, key, value)
    if not isinstance(value, dict):
        raise front.error(
            key, f"{key} must be a name or a mapping of name/email/url, not {describe(value)}"
        )
    unknown = sorted(set(value) - set(_AUTHOR_KEYS))
    if unknown:
        raise front.error(key, f"unknown {key} field {unknown[0]!r} (known: name, email, url)")
    fields: dict[str, str | None] = {}
    for field in _AUTHOR_KEYS:
        item = value.get(field)
        if item is not None and not isinstance(item, str):
            raise front.error(key, f"{key} {field} must be text, not {describe(item)}")
        fields[field] = plain_text(item) if item else None
    if not fields["name"]:
        raise front.error(key, f"{key} needs a name")
    url = None
    if fields["url"]:
        url = absolute_url(fields["url"], site_base(site.url), MEDIA_SCHEMES)
        if url is None:
            raise front.error(key, f"{key} url must be an http(s) URL, not {fields['url']!r}")
    return Author(fields["name"], fields["email"], url)


def _author_from_text(front: FrontMatter, key: str, text: str) -> Author:
    # "Ana Pérez <ana@example.org>" is how RSS and email write a person (RFC 5322 §3.4).
    if "<" in text and "@" in text:
        name, address = email.utils.parseaddr(text)
        if name and address:
            return Author(plain_text(name), plain_text(address))
    name = plain_text(text)
    if not name:
        raise front.error(key, f"{key} is empty")
    return Author(name)
