"""A local aiohttp server that records what it was asked (127.0.0.1, never the internet):
the ``serve`` fixture of tests/conftest.py starts one.

    server = await serve({"/feed": handler})
    [request] = server.app[SEEN]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestServer

SEEN = web.AppKey("seen", list[web.Request])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServerFactory = Callable[..., Awaitable[TestServer]]
Serve = Callable[..., Awaitable[TestServer]]


def recording_server(aiohttp_server: ServerFactory) -> Serve:
    """``start(routes, host="127.0.0.1")``: a server with those GET routes, whose
    ``app[SEEN]`` lists the requests it got, in order."""

    async def start(routes: dict[str, Handler], host: str = "127.0.0.1") -> TestServer:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            request.app[SEEN].append(request)
            return await handler(request)

        app = web.Application(middlewares=[record])
        app[SEEN] = []
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        return await aiohttp_server(app, host=host)

    return start
