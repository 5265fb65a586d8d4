"""A post's body as HTML: Markdown rendered (CommonMark), HTML taken as is, then sanitized."""

from __future__ import annotations

from cmarkgfm.cmark import Options

from feedsvc.normalize.html import sanitize_html
from feedsvc.normalize.markdown import gfm_to_html
from feedsvc.normalize.text import clean_text

# cmark-gfm, the C reference implementation of CommonMark with GitHub's extensions (tables,
# ~~strikethrough~~, autolinks), twenty times faster than a pure-Python renderer.
# Raw HTML is allowed (CMARK_OPT_UNSAFE), as in every static site generator: the
# sanitizer, not the renderer, decides what is safe.
_OPTIONS = Options.CMARK_OPT_UNSAFE

BODY_FORMATS = ("markdown", "html")


def render_body(body: str, body_format: str, base_url: str) -> str:
    """Sanitized HTML of ``body``, with relative URLs resolved against ``base_url``."""
    if body_format == "markdown":
        # Cleaned first: CommonMark §2.3 turns U+0000 into U+FFFD, which would stay visible.
        html = gfm_to_html(clean_text(body), options=_OPTIONS)
    elif body_format == "html":
        html = body
    else:
        raise ValueError(f"unknown body format {body_format!r} (known: {', '.join(BODY_FORMATS)})")
    return sanitize_html(html, base_url).strip()
