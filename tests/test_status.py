"""/status as clients see it: the typed status serialized to JSON (feedsvc/status.py)."""

from __future__ import annotations

import json

from factories import dt, make_build_status

from feedsvc.model import Problem, Severity
from feedsvc.status import (
    ConfigStatus,
    RebuildStatus,
    ServiceStatus,
    SourceStatus,
    status_data,
    status_json,
)

AT = dt("2024-05-01T08:30:00")


def service_status(**overrides) -> ServiceStatus:
    build = make_build_status()
    fields = {
        "posts": build.posts,
        "drafts": build.drafts,
        "scheduled": build.scheduled,
        "feeds": build.feeds,
        "built_at": build.built_at,
        "skipped": build.skipped,
        "sources": build.sources,
        "languages": build.languages,
        "config": ConfigStatus("feeds.toml", AT),
        "config_error": None,
        "last_rebuild": None,
        "rebuild_error": None,
        "rebuilds": 0,
        "webhook": "disabled",
    }
    return ServiceStatus(**{**fields, **overrides})


def test_times_are_rfc_3339_and_problems_are_objects():
    problem = Problem("posts/a.md", 3, "no title", Severity.WARNING)
    data = status_data(make_build_status(skipped=(problem,)))
    assert data["built_at"] == "2024-01-01T12:00:00+00:00"
    assert data["skipped"] == [
        {"path": "posts/a.md", "line": 3, "message": "no title", "severity": "warning"}
    ]
    assert data["sources"][0]["last_success"] == "2024-01-01T12:00:00+00:00"


def test_the_live_keys_follow_the_build_keys_in_one_flat_object():
    rebuild = RebuildStatus(AT, "watch", 0.25, 1, 5, ("feed", "lang/es"))
    data = status_data(service_status(last_rebuild=rebuild, rebuilds=2))
    assert list(data) == [
        "posts", "drafts", "scheduled", "feeds", "built_at", "skipped", "sources", "config",
        "config_error", "last_rebuild", "rebuild_error", "rebuilds", "webhook",
    ]  # fmt: skip
    assert data["config"] == {"file": "feeds.toml", "loaded_at": "2024-05-01T08:30:00+00:00"}
    assert data["last_rebuild"]["rendered"] == ["feed", "lang/es"]
    assert data["last_rebuild"]["seconds"] == 0.25


def test_keys_that_apply_only_sometimes_are_absent_rather_than_null():
    local = SourceStatus("posts", "folder", 3, AT, None, watch="inotify")
    remote = SourceStatus("wp", "wordpress", 0, None, "HTTP 500", interval="5m")
    data = status_data(service_status(sources=(local, remote), partners=()))
    posts, wp = data["sources"]
    assert posts["watch"] == "inotify"
    assert "interval" not in posts and "watch_error" not in posts
    assert wp["interval"] == "5m" and "watch" not in wp
    assert wp["error"] == "HTTP 500"
    assert data["partners"] == []  # aggregator mode without partners: present, empty
    assert "partners" not in status_data(service_status())


def test_status_json_is_the_json_of_status_data():
    status = service_status(config_error="feeds.toml: not valid TOML")
    assert json.loads(status_json(status)) == status_data(status)
