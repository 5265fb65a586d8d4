"""Markdown to HTML through cmark-gfm, freeing what the C library allocates.

cmark-gfm is the C reference implementation of CommonMark with GitHub's extensions (tables,
~~strikethrough~~, autolinks, task lists, the tag filter), twenty times faster than a
pure-Python renderer; cmarkgfm ships it with a cffi module. But cmarkgfm's own
``github_flavored_markdown_to_html`` (checked in 2025.10.22) never frees the document tree
that ``cmark_parser_finish`` returns, nor the HTML that ``cmark_render_html`` returns: each
post rendered leaked about five times its size in native memory, so a running service that
read a 5 MB post once grew by 25 MB for good, and by as much again at every edit (issue 7).
This calls the same C functions through cmarkgfm's cffi module and frees both:
``cmark_node_free`` is exported by the same shared object but not declared to cffi, so it is
called through ctypes; the HTML was allocated by cmark's default allocator, libc's calloc,
so libc's ``free`` releases it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import cmarkgfm.cmark
from cmarkgfm import _cmark
from cmarkgfm.cmark import Options

_lib, _ffi = _cmark.lib, _cmark.ffi
_node_free = ctypes.CDLL(_cmark.__file__).cmark_node_free
_node_free.argtypes = [ctypes.c_void_p]
_node_free.restype = None
_libc_free = ctypes.CDLL(ctypes.util.find_library("c")).free
_libc_free.argtypes = [ctypes.c_void_p]
_libc_free.restype = None

# What cmarkgfm.github_flavored_markdown_to_html uses, so the output is the same.
GFM_EXTENSIONS = (b"table", b"autolink", b"tagfilter", b"strikethrough", b"tasklist")
cmarkgfm.cmark.core_extensions_ensure_registered()
_EXTENSIONS = tuple(_lib.cmark_find_syntax_extension(name) for name in GFM_EXTENSIONS)


def _address(pointer: object) -> int:
    return int(_ffi.cast("uintptr_t", pointer))


def gfm_to_html(text: str, options: int = 0) -> str:
    """GitHub Flavored Markdown to HTML, as cmarkgfm.github_flavored_markdown_to_html."""
    options |= Options.CMARK_OPT_GITHUB_PRE_LANG
    data = text.encode("utf-8")
    parser = _lib.cmark_parser_new(options)
    try:
        for extension in _EXTENSIONS:
            _lib.cmark_parser_attach_syntax_extension(parser, extension)
        _lib.cmark_parser_feed(parser, data, len(data))
        root = _lib.cmark_parser_finish(parser)
        try:
            extensions = _lib.cmark_parser_get_syntax_extensions(parser)
            html = _lib.cmark_render_html(root, options, extensions)
            try:
                return _ffi.string(html).decode("utf-8")
            finally:
                _libc_free(_address(html))
        finally:
            _node_free(_address(root))
    finally:
        _lib.cmark_parser_free(parser)
