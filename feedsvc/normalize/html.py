"""The one HTML allowlist, for the site's own posts and for partners' entries
(docs/architecture.md "Normalization").

nh3 (ammonia) parses the fragment as a browser would (html5ever) and keeps only what is listed
here; everything else is dropped, and the *content* of active or foreign elements (script,
style, iframe, form, svg, math …) is dropped with them. On top of nh3 we:

- make every URL attribute (href, src, srcset, poster, cite) absolute against the post's URL,
  RFC 3986 §5.2 via ``urllib.parse.urljoin``, because feed readers show content out of context;
- allow only http, https and mailto links, and only http and https media, so ``javascript:``,
  ``data:``, ``vbscript:`` and friends go (nh3 checks href/src; we also check srcset, poster
  and cite, which it does not);
- remove tracking pixels (images whose width and height are both 0 or 1) and images left
  with no source once unsafe URLs are gone.

No ``style``, ``class``, ``id`` or ``on*`` attribute is ever allowed. Links get
``rel="noopener noreferrer"``. The output depends only on the input and ``base_url``.
"""

from __future__ import annotations

import html as html_module
import re
from contextvars import ContextVar
from urllib.parse import urljoin, urlsplit

import nh3

from feedsvc.normalize.text import clean_text
from feedsvc.urls import plain_join

ALLOWED_TAGS: frozenset[str] = frozenset(
    """
    a abbr b bdi bdo blockquote br caption cite code col colgroup dd del details dfn div dl dt
    em figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p picture pre q rp rt
    ruby s samp small source span strong sub summary sup table tbody td tfoot th thead time tr
    u ul var audio video
    """.split()
)

# Attributes allowed on every tag: language and direction matter for multilingual content.
_GLOBAL_ATTRIBUTES = frozenset({"lang", "dir", "title"})
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": _GLOBAL_ATTRIBUTES,
    "a": frozenset({"href", "hreflang"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "ins": frozenset({"cite", "datetime"}),
    "time": frozenset({"datetime"}),
    "img": frozenset({"src", "srcset", "sizes", "alt", "width", "height"}),
    "source": frozenset({"src", "srcset", "sizes", "type", "media", "width", "height"}),
    "video": frozenset({"src", "poster", "controls", "width", "height"}),
    "audio": frozenset({"src", "controls"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "li": frozenset({"value"}),
    "td": frozenset({"colspan", "rowspan", "headers"}),
    "th": frozenset({"colspan", "rowspan", "headers", "scope", "abbr"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "abbr": frozenset({"title"}),
    "dfn": frozenset({"title"}),
    "details": frozenset({"open"}),
}

# Elements removed together with everything inside them (nh3 drops other tags but keeps text).
REMOVED_WITH_CONTENT: frozenset[str] = frozenset(
    """
    script style iframe frame frameset object embed applet noscript template form input button
    select textarea option svg math canvas head title meta link base
    """.split()
)

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
MEDIA_SCHEMES = frozenset({"http", "https"})
_LINK_ATTRIBUTES = frozenset({"href", "cite"})
_MEDIA_ATTRIBUTES = frozenset({"src", "poster"})


# The base URL of the sanitize_html call running in this thread or task, for the attribute
# filter of the one Cleaner: building ammonia's settings for every call cost more than the
# cleaning (0.23 s of CPU for the bench site's 10,000 posts), and the filter takes no
# argument of ours.
_BASE_URL: ContextVar[str] = ContextVar("base_url")
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(REMOVED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=lambda tag, name, value: _filter_attribute(name, value, _BASE_URL.get()),
    url_schemes=set(LINK_SCHEMES),
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def sanitize_html(html: str, base_url: str) -> str:
    """``html`` reduced to the allowlist, with absolute URLs and no tracking pixels."""
    token = _BASE_URL.set(base_url)
    try:
        cleaned = _CLEANER.clean(clean_text(html))
        if _has_nested_links(cleaned):
            # A parser builds a link inside a link from "<a><table><a>" (HTML §13.2.6.1,
            # foster parenting), which no markup can say: written out, it parses again as two
            # links side by side. Those are kept, so sanitizing the output changes nothing.
            cleaned = _CLEANER.clean(cleaned)
    finally:
        _BASE_URL.reset(token)
    # Character references such as &#x1b; are decoded by the parser and written back raw,
    # so the forbidden characters are removed once more from the output.
    return clean_text(_remove_unwanted_images(cleaned))


# html5ever escapes "<" in text and attribute values, so each "<a" here opens a link.
_LINK_TAG = re.compile(r"<(/?)a[\s/>]")


def _has_nested_links(html: str) -> bool:
    depth = 0
    for tag in _LINK_TAG.finditer(html):
        if tag[1]:
            depth = max(0, depth - 1)
        elif depth:
            return True
        else:
            depth = 1
    return False


def _filter_attribute(name: str, value: str, base_url: str) -> str | None:
    """nh3 calls this for every allowed attribute; None drops the attribute."""
    if name in _LINK_ATTRIBUTES:
        return absolute_url(value, base_url, LINK_SCHEMES)
    if name in _MEDIA_ATTRIBUTES:
        return absolute_url(value, base_url, MEDIA_SCHEMES)
    if name == "srcset":
        return _absolute_srcset(value, base_url)
    return value


def absolute_url(url: str, base_url: str, schemes: frozenset[str] = LINK_SCHEMES) -> str | None:
    """``url`` resolved against ``base_url`` (RFC 3986 §5), or None if its scheme is not allowed."""
    reference = url.strip()
    resolved = plain_join(base_url, reference)
    if resolved is not None:
        scheme = resolved[: resolved.index(":")]  # the base's, "http" or "https"
    else:
        try:
            resolved = urljoin(base_url, reference)
            scheme = urlsplit(resolved).scheme.lower()
        except ValueError:  # e.g. a malformed IPv6 host
            return None
    return resolved if scheme in schemes else None


def site_base(site_url: str) -> str:
    """The site's URL as a folder, so relative URLs resolve beneath it (RFC 3986 §5.2.3):
    with ``https://example.org/blog`` as the site, ``2017/`` is ``…/blog/2017/``."""
    return site_url if site_url.endswith("/") else site_url + "/"


def _absolute_srcset(srcset: str, base_url: str) -> str | None:
    # HTML §4.8.4.2.2: a comma-separated list of "URL [descriptor]" candidates.
    candidates = []
    for url, descriptor in _srcset_candidates(srcset):
        absolute = absolute_url(url, base_url, MEDIA_SCHEMES)
        if absolute is not None:
            candidates.append(f"{absolute} {descriptor}" if descriptor else absolute)
    return ", ".join(candidates) or None


def _srcset_candidates(srcset: str) -> list[tuple[str, str]]:
    """(url, descriptor) pairs, split as HTML's srcset parsing algorithm does."""
    candidates = []
    position, length = 0, len(srcset)
    while position < length:
        while position < length and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        start = position
        while position < length and not srcset[position].isspace():
            position += 1
        url = srcset[start:position]
        if not url:
            break
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            comma = srcset.find(",", position)
            end = length if comma == -1 else comma
            descriptor = " ".join(srcset[position:end].split())
            position = end
        candidates.append((url, descriptor))
    return candidates


# nh3 serializes like html5ever: lowercase names, every value double-quoted, '"' escaped, so
# these patterns see whole <img> tags and attributes exactly.
_IMG_TAG = re.compile(r'<img(?:\s+[^\s=>"]+(?:="[^"]*")?)*\s*/?>')
_ATTRIBUTE = re.compile(r'([^\s=>"]+)="([^"]*)"')
_PIXEL_SIZES = frozenset({0, 1})


def _remove_unwanted_images(html: str) -> str:
    return _IMG_TAG.sub(lambda match: "" if _is_unwanted_image(match[0]) else match[0], html)


def _is_unwanted_image(img_tag: str) -> bool:
    """A tracking pixel (both sides 0 or 1 px), or an image whose every source was unsafe."""
    attributes = {name: html_module.unescape(value) for name, value in _ATTRIBUTE.findall(img_tag)}
    if "src" not in attributes and "srcset" not in attributes:
        return True
    width, height = _pixels(attributes.get("width")), _pixels(attributes.get("height"))
    return width in _PIXEL_SIZES and height in _PIXEL_SIZES


def _pixels(value: str | None) -> int | None:
    if value is None:
        return None
    digits = value.strip().removesuffix("px").strip()
    return int(digits) if digits.isascii() and digits.isdigit() else None
