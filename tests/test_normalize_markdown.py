"""normalize/markdown.py: cmark-gfm's HTML, byte for byte, without leaking native memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from feedsvc.normalize.markdown import gfm_to_html

SAMPLES = [
    "# Title\n\nA *paragraph* with **bold**, `code` and a [link](../a/).\n",
    "| a | b |\n|---|:-:|\n| 1 | 2 |\n",
    "- [x] done\n- [ ] to do\n\n~~struck~~ and www.example.org and https://x.example/?q=1\n",
    '<script>alert(1)</script>\n\n<div class="x">raw *HTML*</div>\n',
    "```python\nprint('hi')\n```\n\n> quote\n\n1. one\n2. two\n",
    "Ünïcödé — 日本語 — 🎉\u200d\n\n\\* not a list\n",
    "",
]


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("options", [0, Options.CMARK_OPT_UNSAFE])
def test_the_same_html_as_cmarkgfm(text: str, options: int) -> None:
    expected = cmarkgfm.github_flavored_markdown_to_html(text, options=options)
    assert gfm_to_html(text, options) == expected


# In a process of its own: render a 5 MB post six times, giving freed memory back to the
# system (malloc_trim) after each, and print the resident size after each.
_RENDER_AGAIN_AND_AGAIN = textwrap.dedent(
    """
    import ctypes, gc, sys
    from feedsvc.normalize.body import render_body
    libc = ctypes.CDLL("libc.so.6")
    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    for i in range(6):
        body = (f"word{i} " * 200 + "\\n\\n") * 4000
        html = render_body(body, "markdown", base_url="https://site.example/a/")
        assert html.count("<p>") == 4000
        del body, html
        gc.collect()
        libc.malloc_trim(0)
        print(rss_mb())
    """
)


def test_rendering_a_large_post_again_and_again_does_not_grow_the_process():
    """cmarkgfm's own function kept ~25 MB of every 5 MB post for good (issue 7)."""
    result = subprocess.run(
        [sys.executable, "-c", _RENDER_AGAIN_AND_AGAIN],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sizes = [int(line) for line in result.stdout.split()]
    assert len(sizes) == 6
    # The first render sets up what stays (arenas, caches); five more add nothing real.
    assert sizes[-1] - sizes[0] < 15, sizes
