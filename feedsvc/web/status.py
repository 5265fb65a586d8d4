"""The /status page for browsers: the status JSON, drawn as nested tables.

The status is typed in feedsvc/status.py and grows with the product (sources, partners,
problems…), so the view draws its JSON form, any JSON-able value, without knowing its keys.
Every piece of text goes through ``html.escape``: partner names, error messages and
URLs come from outside.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

_STYLE = (
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:.2em 0}"
    "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4;font-weight:600}"
    "ul{margin:0;padding-left:1.2em}.empty{color:#888}"
)


def render_status_html(status: Mapping[str, Any]) -> bytes:
    """A complete, self-contained HTML page for ``status``."""
    body = _value(status)
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>feedsvc status</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>feedsvc status</h1>\n{body}\n"
        "<p>The same data is served as JSON to clients that accept it. "
        'Every feed is listed at <a href="/">/</a>.</p>'
        "</body></html>\n"
    )
    return page.encode("utf-8")


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        if not value:
            return '<span class="empty">none</span>'
        rows = "".join(
            f"<tr><th>{_text(key)}</th><td>{_value(item)}</td></tr>" for key, item in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list | tuple):
        if not value:
            return '<span class="empty">none</span>'
        return "<ul>" + "".join(f"<li>{_value(item)}</li>" for item in value) + "</ul>"
    if value is None:
        return '<span class="empty">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _text(value)


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)
