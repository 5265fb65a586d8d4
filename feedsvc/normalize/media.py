"""The one image of a post (Atom/RSS ``media:content``, RSS enclosure, JSON Feed ``image``)."""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import urlsplit

from feedsvc.model import Image
from feedsvc.normalize.fields import FrontMatter, describe
from feedsvc.normalize.html import MEDIA_SCHEMES, absolute_url
from feedsvc.normalize.text import plain_text

_IMAGE_KEYS = ("url", "type", "length", "width", "height", "alt")
# Only Python's built-in table, not /etc/mime.types, so every machine guesses the same type
# (docs/architecture.md "Determinism": byte-identical output on every replica).
_MIME_TYPES = mimetypes.MimeTypes()
# Image types newer than Python 3.11's table (IANA media types registry).
for _extension, _mime_type in {".webp": "image/webp", ".avif": "image/avif"}.items():
    _MIME_TYPES.add_type(_mime_type, _extension)


def read_image(front: FrontMatter, post_url: str) -> Image | None:
    """``image``: a URL, or a mapping of url, type, length, width, height and alt."""
    value: Any = front.get("image")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        raise front.error("image", f"image must be a URL or a mapping, not {describe(value)}")
    unknown = sorted(set(value) - set(_IMAGE_KEYS))
    if unknown:
        known = ", ".join(_IMAGE_KEYS)
        raise front.error("image", f"unknown image field {unknown[0]!r} (known: {known})")
    given_url = value.get("url")
    if not isinstance(given_url, str) or not given_url.strip():
        raise front.error("image", "image needs a url")
    url = absolute_url(given_url, post_url, MEDIA_SCHEMES)
    if url is None:
        raise front.error("image", f"image url must be an http(s) URL, not {given_url!r}")
    mime_type = _text(front, value, "type") or _MIME_TYPES.guess_type(urlsplit(url).path)[0]
    return Image(
        url=url,
        mime_type=mime_type,
        length=_integer(front, value, "length"),
        width=_integer(front, value, "width"),
        height=_integer(front, value, "height"),
        alt=_text(front, value, "alt"),
    )


def _text(front: FrontMatter, mapping: dict[str, Any], field: str) -> str | None:
    value = mapping.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise front.error("image", f"image {field} must be text, not {describe(value)}")
    return plain_text(value) or None


def _integer(front: FrontMatter, mapping: dict[str, Any], field: str) -> int | None:
    value = mapping.get(field)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _is_decimal(value.strip()):
        return int(value.strip())
    raise front.error("image", f"image {field} must be a whole number, not {describe(value)}")


def _is_decimal(text: str) -> bool:
    # str.isdigit() also accepts "²" and other digits int() refuses.
    return text.isascii() and text.isdigit()
