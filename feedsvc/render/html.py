"""The index page (``/``): every feed, grouped by kind, with autodiscovery links and
copy-paste embed snippets with a live preview (docs/urls.md "Embeds for partner sites").

Autodiscovery follows the RSS Advisory Board's "RSS Autodiscovery" and the HTML
Living Standard (``link rel="alternate"`` with a feed media type): one ``<link>`` per
feed and format in ``<head>``. The site feed comes first, because readers that take
only one autodiscovered feed take the first. The OPML list is announced with
``rel="outline"`` (the OPML convention) and linked from the page, as is ``/status``.

Plain HTML5 built with ``html.escape``; no template engine for one page. Nothing on it
depends on the clock: the dates shown are each feed's updated time.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from feedsvc.model import Feed
from feedsvc.render.common import FORMAT_NAMES, group_feeds, render_scrubbed, utc
from feedsvc.render.embed import DEFAULT_LIMIT, embed_path
from feedsvc.render.opml import opml_url
from feedsvc.urls import MEDIA_TYPES, feed_url

if TYPE_CHECKING:
    from feedsvc.render import RenderContext

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}"
    "ul{padding-left:1.2rem}li{margin:.2rem 0}.formats a{margin-right:.5rem}"
    "time,.formats{color:#555;font-size:.9em}"
    "details{margin:.2rem 0 .6rem}pre{overflow-x:auto;background:#f4f4f4;padding:.5rem}"
    ".preview{border:1px dashed #aaa;padding:0 .75rem}"
)


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _autodiscovery(groups: list[tuple[str, list[Feed]]], ctx: RenderContext) -> list[str]:
    lines = []
    for _, members in groups:
        for feed in members:
            for fmt in ctx.formats:
                lines.append(
                    f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}"'
                    f' title="{_attr(f"{feed.title} ({FORMAT_NAMES[fmt]})")}"'
                    f' href="{_attr(feed_url(ctx.public_url, feed.path, fmt))}">'
                )
    return lines


def _embed_snippets(feed: Feed, ctx: RenderContext) -> str:
    """Copy-paste code for both embed forms (docs/urls.md) and a live preview, folded in
    a ``<details>``: the component fetches only when its preview is opened and seen."""
    json_url = feed_url(ctx.public_url, feed.path, "json")
    fragment_url = urljoin(ctx.public_url, embed_path(feed.path).lstrip("/"))
    fallback = f'<a href="{_attr(feed.html_url)}">{escape(feed.title)}</a>'
    component = (
        f'<script type="module" src="{_attr(urljoin(ctx.public_url, "embed.js"))}"></script>\n'
        f'<feedsvc-feed src="{_attr(json_url)}" limit="{DEFAULT_LIMIT}">{fallback}</feedsvc-feed>'
    )
    iframe = (
        f'<iframe src="{_attr(fragment_url)}?limit={DEFAULT_LIMIT}"'
        f' title="{_attr(feed.title)}" loading="lazy"></iframe>'
    )
    return (
        "<details><summary>Embed this feed</summary>\n"
        "<p>With JavaScript (styled by your page's CSS):</p>\n"
        f"<pre><code>{escape(component)}</code></pre>\n"
        "<p>Without JavaScript: the same markup as HTML, for a server-side include of "
        f'<a href="{_attr(fragment_url)}">{escape(fragment_url)}</a> or an iframe:</p>\n'
        f"<pre><code>{escape(iframe)}</code></pre>\n"
        '<div class="preview">'
        f'<feedsvc-feed src="{_attr(json_url)}" limit="3">{fallback}</feedsvc-feed>'
        "</div>\n</details>"
    )


def _embed_head(ctx: RenderContext) -> list[str]:
    if "json" not in ctx.formats:
        return []
    return [
        f'<script type="module" src="{_attr(urljoin(ctx.public_url, "embed.js"))}"></script>',
        f'<link rel="stylesheet" href="{_attr(urljoin(ctx.public_url, "embed.css"))}">',
    ]


def _feed_item(feed: Feed, ctx: RenderContext) -> str:
    links = " ".join(
        f'<a href="{_attr(feed_url(ctx.public_url, feed.path, fmt))}"'
        f' type="{MEDIA_TYPES[fmt]}">{FORMAT_NAMES[fmt]}</a>'
        for fmt in ctx.formats
    )
    lang = f' lang="{_attr(feed.lang)}"' if feed.lang else ""
    updated = utc(feed.updated)
    # The component reads the JSON Feed: no snippets on a site that publishes none.
    embed = _embed_snippets(feed, ctx) if "json" in ctx.formats else ""
    return (
        f'<li><a href="{_attr(feed.html_url)}"{lang}>{escape(feed.title)}</a>'
        f' <span class="formats">{links}</span>'
        f' <time datetime="{updated.isoformat()}">{updated.date().isoformat()}</time>'
        f"{embed}</li>"
    )


@render_scrubbed
def render_index(feeds: Sequence[Feed], ctx: RenderContext) -> bytes:
    """The HTML5 page listing ``feeds``, UTF-8."""
    site = ctx.site
    groups = group_feeds(feeds)
    opml = opml_url(ctx)
    status = urljoin(ctx.public_url, "status")
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{_attr(site.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(site.title)}: feeds</title>",
        f"<style>{_STYLE}</style>",
        *_embed_head(ctx),
        *_autodiscovery(groups, ctx),
        f'<link rel="outline" type="text/x-opml" title="All feeds (OPML)" href="{_attr(opml)}">',
        "</head>",
    ]
    body = [
        "<body>",
        f"<h1>{escape(site.title)}: feeds</h1>",
    ]
    if site.description:
        body.append(f"<p>{escape(site.description)}</p>")
    body.append(
        f'<p><a href="{_attr(site.url)}">Website</a>'
        f' · <a href="{_attr(opml)}" type="text/x-opml">All feeds as OPML</a>'
        f' · <a href="{_attr(status)}">Status</a></p>'
    )
    for title, members in groups:
        body.append(f"<section>\n<h2>{escape(title)}</h2>\n<ul>")
        body.extend(_feed_item(feed, ctx) for feed in members)
        body.append("</ul>\n</section>")
    body += ["</body>", "</html>", ""]
    return "\n".join(head + body).encode("utf-8")
