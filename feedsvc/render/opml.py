"""OPML 2.0 (http://opml.org/spec2.opml): a subscription list of the feeds it is given.

One ``<outline type="rss">`` per feed (OPML calls every feed format "rss"), nested in
one outline per group (site, languages, categories, …) so readers import them as
folders. ``xmlUrl`` is the Atom feed when Atom is published, else RSS, else JSON Feed.
Whether archives belong in the list is the caller's choice: it renders what it gets.

``dateModified`` is the newest feed's updated time (RFC 822, as OPML 2.0 asks), never
"now", so the document is deterministic like the feeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from lxml import etree

from feedsvc.model import Feed
from feedsvc.render.common import group_feeds, render_scrubbed, utc
from feedsvc.urls import feed_url

if TYPE_CHECKING:
    from feedsvc.render import RenderContext

OPML_DOCS = "http://opml.org/spec2.opml"
_PREFERENCE = ("atom", "rss", "json")


def subscription_format(ctx: RenderContext) -> str:
    """The format a reader should subscribe to: the first published of Atom, RSS, JSON."""
    return next((f for f in _PREFERENCE if f in ctx.formats), ctx.formats[0])


@render_scrubbed
def render_opml(feeds: Sequence[Feed], ctx: RenderContext) -> bytes:
    """Every feed in ``feeds`` as an OPML 2.0 subscription list, UTF-8."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = f"{ctx.site.title}: feeds"
    if feeds:
        newest = max(f.updated for f in feeds)
        etree.SubElement(head, "dateModified").text = format_datetime(utc(newest))
    if ctx.site.author:
        etree.SubElement(head, "ownerName").text = ctx.site.author
    if ctx.site.author_email:
        etree.SubElement(head, "ownerEmail").text = ctx.site.author_email
    etree.SubElement(head, "docs").text = OPML_DOCS
    body = etree.SubElement(opml, "body")
    fmt = subscription_format(ctx)
    for title, members in group_feeds(feeds):
        group = etree.SubElement(body, "outline", text=title)
        for feed in members:
            outline = etree.SubElement(group, "outline", type="rss", text=feed.title)
            outline.set("title", feed.title)
            outline.set("xmlUrl", feed_url(ctx.public_url, feed.path, fmt))
            outline.set("htmlUrl", feed.html_url)
            if feed.description:
                outline.set("description", feed.description)
            if feed.lang:
                outline.set("language", feed.lang)
    return etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def opml_url(ctx: RenderContext) -> str:
    return urljoin(ctx.public_url, "feeds.opml")
