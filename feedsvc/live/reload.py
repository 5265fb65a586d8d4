"""Reloading the config of a running service (SIGHUP).

The file is read and validated off the event loop. A config that fails validation changes
nothing: the old one keeps serving, and the error is kept for /status until a reload
succeeds. A valid one waits for the next rebuild, which takes it between two rebuilds.
Settings only a restart can change (the listening socket, the aggregator's tasks and
store) keep their running values, with a warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial

from feedsvc.clock import Clock
from feedsvc.config import Config
from feedsvc.configfile import load_config
from feedsvc.errors import FeedsvcError

log = logging.getLogger(__name__)


class ConfigReload:
    """The config's life in a running service: when it was read, why the last reload
    failed (until one succeeds), and a reloaded config waiting for the next rebuild.

    ``load`` reads the config again; by default, the file the first one came from.
    """

    def __init__(
        self, config: Config, clock: Clock, load: Callable[[], Config] | None = None
    ) -> None:
        self._clock = clock
        self._load = load or (partial(load_config, config.file) if config.file else None)
        self.loaded_at: datetime = clock()
        self.error: str | None = None
        self.waiting: Config | None = None

    async def reload(self, running: Config) -> bool:
        """Read the config again; True when it is valid and now ``waiting``."""
        try:
            if self._load is None:
                raise FeedsvcError("the config did not come from a file; nothing to reload")
            config = await asyncio.to_thread(self._load)
        except FeedsvcError as e:
            self.error = str(e)
            log.error("config reload failed, still serving the last good config: %s", e)
            return False
        if self.error is not None:
            log.info("config reloaded: the earlier error is fixed")
        self.error = None
        self.loaded_at = self._clock()
        self.waiting = restart_only_kept(running, config)
        return True

    def take(self) -> Config | None:
        """The waiting config, if any, which stops waiting."""
        config, self.waiting = self.waiting, None
        return config


def restart_only_kept(old: Config, new: Config) -> Config:
    """``new`` with the settings that only a restart can change set back to ``old``'s."""
    server = replace(
        new.server,
        host=old.server.host,
        port=old.server.port,
        access_log=old.server.access_log,
        log_level=old.server.log_level,
    )
    kept = replace(new, server=server, aggregator=old.aggregator, partners=old.partners)
    if kept != new:
        log.warning(
            "config reloaded; changes to [aggregator], [[partners]], server.host, "
            "server.port, server.access_log and server.log_level wait for a restart"
        )
    return kept
