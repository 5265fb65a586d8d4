"""The composition root: the parts of ``feedsvc serve``, wired together in one place.

``create_service(config)`` makes the start-up build (synchronously, one worker process per
core, before any event loop runs), or takes the snapshot kept on disk (a warm start), and
returns the aiohttp app serving it, with

- the Publisher's background work (watchers, timers, the aggregator) tied to the app's
  lifespan: started before the first request, stopped on shutdown (aiohttp ``cleanup_ctx``);
- SIGHUP re-reading the config and every source (docs/config.md "Live updates");
- ``POST /hooks/rebuild`` and a live /status answered by the Publisher;
- WebSub, when ``[websub]`` names hubs (the built-in one at ``POST /websub``, external
  ones to publish to): told of every rebuild (a Publisher rebuild listener), started before
  the Publisher and stopped after it, so that no rebuild finds it closed;
- the snapshot kept on disk (``server.cache_dir``): served at once on a warm start;
- ``GET /metrics`` when ``server.metrics`` is on: the Publisher's counts (rebuilds, and the
  aggregator's fetches and lease takeovers), every response, WebSub's deliveries.

``__main__`` runs exactly this app and the tests run it through aiohttp's test client, so
the wiring tested is the wiring served. What is added to the service (a rebuild listener, a
route) is added here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from feedsvc.clock import Clock, system_clock
from feedsvc.config import Config
from feedsvc.live import Publisher
from feedsvc.warm import snapshot_file
from feedsvc.web.app import create_app
from feedsvc.websub import WebSub

log = logging.getLogger(__name__)

PUBLISHER = web.AppKey("publisher", Publisher)


def create_service(
    config: Config,
    *,
    load_config: Callable[[], Config] | None = None,
    clock: Clock = system_clock,
    workers: int | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> web.Application:
    """The app ``feedsvc serve`` runs for ``config``, built and ready to serve.

    ``load_config`` reads the config again on SIGHUP (default: the file ``config`` came
    from); ``workers`` processes make the start-up build (default: one per core); ``clock``
    and ``sleep`` are injected time (tests).
    """
    publisher = Publisher(
        config,
        clock=clock,
        workers=workers,
        load_config=load_config,
        sleep=sleep,
        snapshot_file=snapshot_file(config),
    )
    ref = publisher.warm_start() or publisher.build()
    _log_start(publisher)
    websub = None
    if config.websub.hubs:
        websub = WebSub(config, ref, aggregator=publisher.aggregator, clock=clock, sleep=sleep)
        publisher.add_rebuild_listener(websub.rebuilt)
    metrics = None
    if config.server.metrics:
        metrics = publisher.metrics
        if websub is not None:
            metrics.follow_websub(websub.status)
    app = create_app(
        ref,
        clock=clock,
        status=publisher.status,
        rebuilder=publisher,
        websub=websub,
        metrics=metrics,
        metrics_token_env=config.server.metrics_token_env,
    )
    app[PUBLISHER] = publisher
    if websub is not None:
        app.cleanup_ctx.append(websub.lifespan)
    app.cleanup_ctx.append(_background_work)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        app.cleanup_ctx.append(_reload_on_sighup)
    return app


async def _background_work(app: web.Application) -> AsyncIterator[None]:
    publisher = app[PUBLISHER]
    await publisher.start()
    yield
    await publisher.stop()


async def _reload_on_sighup(app: web.Application) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, app[PUBLISHER].request_reload)
    yield
    loop.remove_signal_handler(signal.SIGHUP)


def runner_options(config: Config) -> dict[str, Any]:
    """How aiohttp's server treats connections, from ``[server]`` (``feedsvc serve``)."""
    return {"keepalive_timeout": config.server.keepalive_timeout.seconds}


def _log_start(publisher: Publisher) -> None:
    status, config = publisher.ref.current.status, publisher.config
    log.info(
        "serving %d posts in %d feeds (%d skipped) at %s",
        status.posts,
        status.feeds,
        len(status.skipped),
        config.public_url,
    )
    for problem in status.skipped:
        log.warning("skipped %s", problem)
    if config.server.webhook_token_env and not publisher.webhook_token():
        log.warning(
            "server.webhook_token_env names %s, which is unset or empty: "
            "POST /hooks/rebuild is off",
            config.server.webhook_token_env,
        )
    if config.server.metrics_token_env and not os.environ.get(config.server.metrics_token_env):
        log.warning(
            "server.metrics_token_env names %s, which is unset or empty: /metrics answers 404",
            config.server.metrics_token_env,
        )
