"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), built by hand.

What matters is a fixed key order (the spec asks for ``version`` first, and
byte-identical output needs an order that never depends on dict history), compact
separators, and UTF-8 without ``\\u`` escapes; msgspec's encoder writes that, fast.

Choices:

* Summary mode drops ``content_html``; the schema requires one of ``content_html`` or
  ``content_text``, so ``content_text`` then carries the summary.
* ``language`` on the feed when the feed has one language, and on every item, so that
  mixed-language feeds (site, categories) still say which item is Spanish.
* Items are serialized once per post and joined into each feed, as in the Atom
  renderer; ``json.dumps`` of the whole document would give the same bytes.
* ``icon`` and ``favicon`` are both the site's (square) icon; the logo is wide, which
  neither field wants.
* Extensions (JSON Feed 1.1 "Extensions": keys starting with "_", values objects):
  ``_translations`` maps a language tag to ``{"url", "title"}``; ``_source`` names the
  partner an aggregated item came from (``{"name", "title", "feed_url", "home_page_url"}``);
  ``_image`` gives what is known of the item's ``image`` (``{"width", "height", "alt"}``),
  and the feed's ``_site`` the site's ``language`` and ``time_zone``: what an embed
  (render/embed.py, /embed.js, docs/urls.md) needs to show an item as the site does —
  ``<img width height alt>``, and the date in the site's time zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from feedsvc.model import Feed, Image, Post
from feedsvc.render.common import (
    FragmentCache,
    absolute,
    build_entries,
    render_scrubbed,
    rfc3339,
    self_url,
    translations,
)

if TYPE_CHECKING:
    from feedsvc.render import RenderContext

VERSION = "https://jsonfeed.org/version/1.1"


def _authors(authors: Any) -> list[dict[str, str]]:
    # JSON Feed authors have name, url and avatar; email has no place (and stays private).
    out = []
    for author in authors:
        entry = {"name": author.name}
        if author.url:
            entry["url"] = author.url
        out.append(entry)
    return out


def _item(post: Post, ctx: RenderContext) -> bytes:
    item: dict[str, Any] = {"id": post.id, "url": post.url}
    if post.title:
        # JSON Feed 1.1 §"Items": title is optional (microblog posts have none), so an
        # untitled post has no title rather than a made-up one.
        item["title"] = post.title
    if ctx.feeds.content == "full":
        item["content_html"] = post.content_html
    else:
        item["content_text"] = post.summary or post.title or post.url
    if post.summary:
        item["summary"] = post.summary
    if post.image is not None:
        item["image"] = post.image.url
        image = _image_details(post.image)
        if image:
            item["_image"] = image
    item["date_published"] = rfc3339(post.published)
    item["date_modified"] = rfc3339(post.updated)
    if post.authors:
        item["authors"] = _authors(post.authors)
    item["language"] = post.lang
    # JSON Feed 1.1 has one list of tags: categories first, then tags, each label once.
    labels = dict.fromkeys([*(c.label for c in post.categories), *post.tags])
    if labels:
        item["tags"] = list(labels)
    links = translations(post)
    if links:
        item["_translations"] = {tr.lang: {"url": tr.url, "title": tr.title} for tr in links}
    if post.origin is not None:
        origin = post.origin
        source = {"name": origin.name, "title": origin.title, "feed_url": origin.feed_url}
        if origin.home_url:
            source["home_page_url"] = origin.home_url
        item["_source"] = source
    return _dumps(item)


def _image_details(image: Image) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if image.width and image.height:
        # Both or neither: one alone cannot reserve the image's box (its aspect ratio).
        details["width"] = image.width
        details["height"] = image.height
    if image.alt:
        details["alt"] = image.alt
    return details


# msgspec (already the snapshot's codec) writes the very bytes of
# json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() — keys in insertion
# order, the same escapes for every code point (tests/test_render_json.py) — in a fifth of
# the time: encoding was three quarters of an item's cost.
_ENCODER = msgspec.json.Encoder()


def _dumps(value: Any) -> bytes:
    # Lone surrogates raise UnicodeEncodeError here, which render_scrubbed handles.
    return _ENCODER.encode(value)


@render_scrubbed
def render_json(feed: Feed, ctx: RenderContext, *, cache: FragmentCache | None = None) -> bytes:
    """The feed as a JSON Feed 1.1 document, UTF-8. ``cache`` shares items between the
    feeds of one batch (see ``FragmentCache``); output is the same with or without."""
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": feed.html_url,
        "feed_url": self_url(ctx, feed, "json"),
    }
    if feed.description:
        doc["description"] = feed.description
    if ctx.site.icon:
        doc["icon"] = doc["favicon"] = absolute(ctx, ctx.site.icon)
    if feed.lang:
        doc["language"] = feed.lang
    if ctx.site.author:
        doc["authors"] = [{"name": ctx.site.author, "url": ctx.site.url}]
    if ctx.hubs:
        # JSON Feed 1.1 "hubs": endpoints for real-time notification (W3C WebSub §4).
        doc["hubs"] = [{"type": "WebSub", "url": hub} for hub in ctx.hubs]
    doc["_site"] = {"language": ctx.site.language, "time_zone": ctx.site.timezone.key}
    doc["items"] = []
    head = _dumps(doc)
    items = build_entries("json", feed.posts, ctx, cache, _item)
    # head ends with '"items":[]}': put the items, already serialized, between the brackets.
    return b"".join((head[:-2], b",".join(items), head[-2:]))
