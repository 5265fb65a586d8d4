"""A running service's /status: the served snapshot's status with the live state around it.

Assembled on each request (sources are re-read and partners fetched between snapshots),
from what the Publisher, its SourceTasks and the Aggregator hold; a pure function of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from feedsvc.config import Config, SourceConfig
from feedsvc.live.tasks import SourceTasks, remote_interval
from feedsvc.pipeline import SourceState
from feedsvc.status import (
    BuildStatus,
    ConfigStatus,
    PartnerStatus,
    RebuildStatus,
    ServiceStatus,
    SourceStatus,
)


def service_status(
    build: BuildStatus,
    config: Config,
    states: Mapping[str, SourceState],
    tasks: SourceTasks,
    *,
    config_loaded_at: datetime,
    config_error: str | None,
    last_rebuild: RebuildStatus | None,
    rebuild_error: str | None,
    rebuilds: int,
    webhook: bool,
    partners: tuple[PartnerStatus, ...] | None,
) -> ServiceStatus:
    """``build`` (the served snapshot's), with each source as read last and watched now,
    the config, the rebuilds, the webhook and, in aggregator mode, the partners."""
    return ServiceStatus(
        posts=build.posts,
        drafts=build.drafts,
        scheduled=build.scheduled,
        feeds=build.feeds,
        built_at=build.built_at,
        skipped=build.skipped,
        sources=tuple(_source_status(source, states, tasks) for source in config.sources),
        languages=build.languages,
        config=ConfigStatus(config.file or None, config_loaded_at),
        config_error=config_error,
        last_rebuild=last_rebuild,
        rebuild_error=rebuild_error,
        rebuilds=rebuilds,
        webhook="enabled" if webhook else "disabled",
        partners=partners,
    )


def _source_status(
    source: SourceConfig, states: Mapping[str, SourceState], tasks: SourceTasks
) -> SourceStatus:
    state = states.get(source.name) or SourceState(source.name, source.type, None)
    watch = tasks.watch_mode(source.name)
    remote = watch is None and remote_interval(source) is not None
    return replace(
        state.status(),
        watch=watch,
        interval=source.interval.text if remote else None,
        watch_error=tasks.error(source.name),
    )
