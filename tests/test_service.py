"""The composition root (feedsvc/service.py): the app `feedsvc serve` runs, through aiohttp's
test client: the start-up build served, background work tied to the app's lifespan, SIGHUP
reloading the config, and the start-up log. tests/test_live_reload.py sends SIGHUP to a real
`python -m feedsvc serve` too."""

from __future__ import annotations

import json
import logging
import os
import signal

import pytest
from live_support import post_text, source_status, until, write_site

from feedsvc.service import PUBLISHER, create_service

needs_sighup = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")


async def test_the_service_serves_its_build_with_a_live_status(tmp_path, aiohttp_client):
    site = write_site(tmp_path)
    client = await aiohttp_client(create_service(site.config(), workers=1))
    assert (await client.get("/feed.atom")).status == 200
    status = json.loads(await (await client.get("/status")).read())
    assert status["posts"] == 5
    assert status["last_rebuild"]["trigger"] == "start"
    assert status["webhook"] == "disabled"
    (source,) = status["sources"]
    assert source["watch"] in ("inotify", "polling")  # the lifespan started the watcher


async def test_background_work_lives_as_long_as_the_app(tmp_path, aiohttp_client):
    site = write_site(tmp_path)
    app = create_service(site.config(), workers=1)
    publisher = app[PUBLISHER]
    assert source_status(publisher).watch is None  # nothing runs before the app starts
    client = await aiohttp_client(app)
    site.write_post("en/h.md", post_text("Post h", "en", ["Policy"], "2024-03-26"))

    async def served() -> bool:
        return b"Post h" in await (await client.get("/feed.atom")).read()

    await until(served, what="the watcher's rebuild")
    await client.close()
    assert source_status(publisher).watch is None  # stopped with the app


@needs_sighup
async def test_sighup_reloads_the_config_while_the_app_runs(tmp_path, aiohttp_client):
    site = write_site(tmp_path)
    app = create_service(site.config(), workers=1)
    publisher = app[PUBLISHER]
    client = await aiohttp_client(app)
    # The default action of SIGHUP ends the process: check the handler is there first.
    assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL
    site.write_config(title="After SIGHUP")
    os.kill(os.getpid(), signal.SIGHUP)

    async def retitled() -> bool:
        return json.loads(await (await client.get("/feed.json")).read())["title"] == "After SIGHUP"

    await until(retitled, what="the reload")
    assert publisher.status().last_rebuild.trigger == "reload"
    await client.close()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # removed with the app


def test_the_start_up_log_names_skipped_posts_and_a_webhook_that_is_off(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.delenv("FEEDSVC_UNSET_TOKEN", raising=False)
    site = write_site(tmp_path)
    site.write_post("en/bad.md", "---\ndate: 2024-03-01\n---\nNo title.\n")
    with site.config_file.open("a") as config:
        config.write('\n[server]\nwebhook_token_env = "FEEDSVC_UNSET_TOKEN"\n')
    with caplog.at_level(logging.INFO):
        create_service(site.config(), workers=1)
    assert "serving 5 posts" in caplog.text
    assert "(1 skipped)" in caplog.text
    assert "bad.md" in caplog.text
    assert "FEEDSVC_UNSET_TOKEN, which is unset or empty" in caplog.text
