"""The baseline: a bare aiohttp handler returning the same bytes feedsvc serves.

    python bench/bare.py BODY_FILE CONTENT_TYPE ETAG PORT [CONTENT_ENCODING]

No routing table, no negotiation, no conditional logic beyond one string
comparison for If-None-Match: the fastest honest aiohttp answer there is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def main() -> None:
    body_file, content_type, etag, port = sys.argv[1:5]
    encoding = sys.argv[5] if len(sys.argv) > 5 else ""
    body = Path(body_file).read_bytes()
    headers = {"Content-Type": content_type, "ETag": etag}
    if encoding:
        headers["Content-Encoding"] = encoding

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()
