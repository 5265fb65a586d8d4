"""POST /hooks/rebuild through the real app and Publisher: authentication, limits, the
source parameter, and coalescing of calls that arrive while a rebuild runs."""

from __future__ import annotations

import asyncio
import threading

import pytest
from live_support import etags, post_text, until, write_site

from feedsvc.service import PUBLISHER, create_service
from feedsvc.web.hooks import MAX_BODY

TOKEN = "0123456789abcdef-live-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDSVC_HOOK_TOKEN", TOKEN)
    site = write_site(tmp_path, extra='watch = "off"')  # only the webhook rebuilds
    with site.config_file.open("a") as config:
        config.write('\n[server]\nwebhook_token_env = "FEEDSVC_HOOK_TOKEN"\n')
    return site


@pytest.fixture
async def hooked(site, aiohttp_client):
    app = create_service(site.config(), workers=1)
    client = await aiohttp_client(app)
    return app[PUBLISHER], client


async def test_the_right_token_rebuilds_and_answers_202(hooked, site):
    publisher, client = hooked
    before = etags(publisher)
    site.write_post("en/new.md", post_text("Hooked", "en", ["Policy"], "2024-03-30"))

    response = await client.post("/hooks/rebuild", headers=AUTH, data=b'{"post": 42}')

    assert response.status == 202
    assert "rebuilding every source" in await response.text()
    await until(lambda: etags(publisher) != before, what="the webhook's rebuild")
    assert publisher.status().last_rebuild.trigger == "webhook"
    assert publisher.status().webhook == "enabled"


async def test_a_missing_token_is_401_with_a_bearer_challenge(hooked):
    _, client = hooked
    response = await client.post("/hooks/rebuild")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.text()).startswith("401 Unauthorized: ")


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN.upper()}",  # tokens are compared case-sensitively
        f"Bearer {TOKEN.swapcase()}",
        "Bearer wrong",
        f"Basic {TOKEN}",
        "Bearer ",
    ],
)
async def test_a_wrong_token_is_401(hooked, authorization):
    publisher, client = hooked
    response = await client.post("/hooks/rebuild", headers={"Authorization": authorization})
    assert response.status == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert publisher.rebuilds == 0


async def test_the_scheme_is_case_insensitive(hooked):
    _, client = hooked
    response = await client.post("/hooks/rebuild", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status == 202


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
async def test_another_method_is_405_with_allow(hooked, method):
    _, client = hooked
    response = await client.request(method, "/hooks/rebuild", headers=AUTH)
    assert response.status == 405
    assert response.headers["Allow"] == "POST"


async def test_a_body_over_the_limit_is_413(hooked):
    publisher, client = hooked
    response = await client.post("/hooks/rebuild", headers=AUTH, data=b"x" * (MAX_BODY + 1))
    assert response.status == 413
    # RFC 9110 §15.5.14's name, in the status line and the body alike.
    assert response.reason == "Content Too Large"
    assert (await response.text()).startswith("413 Content Too Large: ")
    assert publisher.rebuilds == 0


async def test_a_chunked_body_over_the_limit_is_413(hooked):
    _, client = hooked

    async def chunks():
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"y" * 1024

    response = await client.post("/hooks/rebuild", headers=AUTH, data=chunks())
    assert response.status == 413


async def test_a_body_at_the_limit_is_accepted(hooked):
    _, client = hooked
    response = await client.post("/hooks/rebuild", headers=AUTH, data=b"x" * MAX_BODY)
    assert response.status == 202


async def test_source_names_one_source_and_an_unknown_one_is_400(hooked):
    publisher, client = hooked
    unknown = await client.post("/hooks/rebuild?source=nope", headers=AUTH)
    assert unknown.status == 400
    assert "no source named 'nope' (known: posts)" in await unknown.text()

    known = await client.post("/hooks/rebuild?source=posts", headers=AUTH)
    assert known.status == 202
    assert "rebuilding posts" in await known.text()
    await until(lambda: publisher.rebuilds == 1)


async def test_without_a_configured_token_the_webhook_is_404(tmp_path, aiohttp_client):
    site = write_site(tmp_path, extra='watch = "off"')
    app = create_service(site.config(), workers=1)
    publisher, client = app[PUBLISHER], await aiohttp_client(app)
    response = await client.post("/hooks/rebuild", headers=AUTH)
    assert response.status == 404
    assert publisher.status().webhook == "disabled"


async def test_a_named_but_unset_variable_disables_the_webhook(hooked, monkeypatch):
    publisher, client = hooked
    monkeypatch.delenv("FEEDSVC_HOOK_TOKEN")
    response = await client.post("/hooks/rebuild", headers=AUTH)
    assert response.status == 404
    assert publisher.status().webhook == "disabled"


async def test_calls_during_a_slow_rebuild_coalesce_into_one_more(hooked, site):
    publisher, client = hooked
    entered = threading.Event()
    release = threading.Event()
    reads = []
    source_reads = publisher._reads  # a seam: a read that waits to be released
    read_local = source_reads._read_local

    def slow_read(source, limits):
        reads.append(source.name)
        entered.set()
        assert release.wait(10), "the test never released the read"
        return read_local(source, limits)

    source_reads._read_local = slow_read  # read_sources calls it in a thread

    first = await client.post("/hooks/rebuild", headers=AUTH)
    assert first.status == 202
    await until(entered.is_set, what="the first rebuild to start reading")
    site.write_post("en/late.md", post_text("Late", "en", ["Policy"], "2024-03-31"))
    responses = await asyncio.gather(
        *(client.post("/hooks/rebuild", headers=AUTH) for _ in range(20))
    )
    assert [r.status for r in responses] == [202] * 20
    release.set()

    await until(lambda: len(reads) == 2 and not publisher._coalescer.busy, what="both rebuilds")
    assert publisher.rebuilds == 2  # the running one, and one for all 20 calls after it
    assert reads == ["posts", "posts"]
    assert b"Late" in publisher.ref.current.resources["/feed.atom"].identity.body


async def test_a_burst_of_calls_gives_one_rebuild_and_one_waiting(site, aiohttp_client):
    """Issue 7: 200 calls over 2.4 s gave 189 rebuilds. Spaced by a minute here, so that
    however slow the machine, the whole burst falls within one spacing."""
    with site.config_file.open("a") as config:
        config.write('webhook_spacing = "1m"\n')
    app = create_service(site.config(), workers=1)
    client = await aiohttp_client(app)
    publisher = app[PUBLISHER]

    for _ in range(200):
        response = await client.post("/hooks/rebuild", headers=AUTH)
        assert response.status == 202

    assert publisher.rebuilds == 1  # the first call, at once
    waiting = publisher._coalescer.waiting  # every other call, in one rebuild
    assert waiting is not None and waiting.triggers == ["webhook"]
