"""Serving the app on a socket: aiohttp's runner, with our error shape (errors.py) on the
answers aiohttp gives before any route of ours runs (docs/urls.md "Errors").

Two such answers exist, and aiohttp 3.14 gives an app no public hook for either
(aio-libs/aiohttp#3287, open since 2018; a middleware never sees them):

* a request its parser refuses (a bad request line, method or header, a control character,
  a line over 8190 bytes) is answered by ``RequestHandler.handle_error``, per connection;
* ``CONNECT host:port`` names no path, so the router tries no resource, not even the
  catch-all, and raises its own 404.

So ``Runner`` is aiohttp's ``AppRunner`` with one change, in ``_make_server``: connections
are ``_Connection``s, whose ``handle_error`` answers in our shape, and CONNECT is refused
before routing. That check is one ``await`` more per request, measured at noise level
(docs/benchmarks.md "Error shape"); ``handle_error`` costs nothing until a request is bad.
tests/test_server_errors.py sends each kind of bad request over a real socket, so an
aiohttp release that moves either hook fails there, loudly.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_request import BaseRequest

from feedsvc.web.errors import not_a_proxy, unparsed_request


class _Connection(web.RequestHandler):
    """aiohttp's per-connection protocol; only its error answer is ours."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own first: it logs (errors.OneLineBadRequests makes that one line) and
        # raises when part of a response has gone out already.
        super().handle_error(request, status, exc, message)
        response = unparsed_request(status, exc)
        response.force_close()  # what the client sends next cannot be trusted either
        return response


class _Server(web.Server):
    def __call__(self) -> web.RequestHandler:
        # aiohttp 3.14's Server.__call__, with our connection class.
        return _Connection(self, loop=self._loop, **self._kwargs)


RequestHandler = Callable[[BaseRequest], Awaitable[web.StreamResponse]]


def _refusing_connect(handle: RequestHandler) -> RequestHandler:
    async def handle_request(request: BaseRequest) -> web.StreamResponse:
        if request.method == hdrs.METH_CONNECT:
            response = not_a_proxy(request.raw_path)
            response.force_close()  # the client meant to speak TLS next, not HTTP
            return response
        return await handle(request)

    return handle_request


class Runner(web.AppRunner):
    """``web.AppRunner`` serving the app with our error shape everywhere."""

    async def _make_server(self) -> web.Server:
        built = await super()._make_server()  # the app's startup, then aiohttp's Server
        return _Server(
            _refusing_connect(built.request_handler),
            request_factory=built.request_factory,
            handler_cancellation=built.handler_cancellation,
            loop=built._loop,
            **built._kwargs,
        )


def run(app: web.Application, sock: socket.socket, **options: Any) -> None:
    """``web.run_app(app, sock=sock, **options)`` with ``Runner``: serve until SIGINT or
    SIGTERM, then stop gracefully (the app's cleanup runs)."""
    with suppress(web.GracefulExit, KeyboardInterrupt):
        asyncio.run(_serve(app, sock, options))


async def _serve(app: web.Application, sock: socket.socket, options: dict[str, Any]) -> None:
    runner = Runner(app, handle_signals=True, **options)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        await asyncio.Event().wait()  # until a signal raises GracefulExit here
    finally:
        await runner.cleanup()
