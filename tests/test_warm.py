"""The snapshot kept on disk (feedsvc.warm): a warm start serves exactly what a cold build
gives, catches up with what changed while stopped as a live edit does, and refuses a
snapshot of another version or config, or a damaged or oversized one, saying why."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest
from live_support import POSTS, Site, post_text, write_site

from feedsvc import warm
from feedsvc.errors import SnapshotError
from feedsvc.live import Publisher
from feedsvc.model import Problem, RawPost
from feedsvc.normalize import normalize_posts
from feedsvc.normalize.cache import NormalizeCache
from feedsvc.store import LazyBrotli, Snapshot
from feedsvc.warm.file import HEADER_SIZE, MAGIC, read_served, write_snapshot
from feedsvc.warm.keeper import SnapshotKeeper
from feedsvc.warm.state import WarmState, decode_state, encode_state

HUB = '\n[websub]\nhubs = ["builtin"]\n'


@pytest.fixture
def site(tmp_path: Path) -> Site:
    # With a hub, every feed's answers carry Link fields (W3C WebSub §4): kept too.
    return write_site(tmp_path, extra=HUB)


def snapshot_path(site: Site) -> Path:
    path = warm.snapshot_file(site.config())
    assert path is not None and path.is_relative_to(site.root / "var" / "cache")
    return path


def cold(site: Site) -> Snapshot:
    """A build from the sources alone, with no snapshot read or written."""
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    return publisher.ref.current


def written(site: Site) -> Snapshot:
    """A cold build that writes its snapshot, as `feedsvc build` does."""
    publisher = Publisher(site.config(), workers=1, snapshot_file=snapshot_path(site))
    publisher.build()
    publisher.save_snapshot()
    return publisher.ref.current


def every_byte(snapshot: Snapshot) -> dict[str, tuple]:
    """Every served path → its content type, Last-Modified, and each coding's bytes, ETag
    and header fields (the 200's and the 304's)."""
    return {
        path: (
            resource.content_type,
            resource.last_modified,
            tuple(
                (
                    coding,
                    variant.representation.body,
                    variant.representation.etag,
                    variant.headers,
                    variant.not_modified_headers,
                )
                for coding, variant in sorted(resource.variants.items())
            ),
        )
        for path, resource in snapshot.resources.items()
    }


def warm_publisher(site: Site) -> Publisher:
    return Publisher(site.config(), workers=1, snapshot_file=snapshot_path(site))


async def test_a_warm_start_serves_every_byte_and_etag_of_a_cold_build(site):
    built = written(site)
    publisher = warm_publisher(site)
    ref = publisher.warm_start()
    assert ref is not None
    # A feed's br coding is made on first request, in a cold build and a warm start alike.
    for snapshot in (built, ref.current):
        for path in ("/archive/2024/03.atom", "/feed.atom"):
            br = snapshot.resources[path].br
            assert isinstance(br, LazyBrotli) and not br.compressed
    assert every_byte(ref.current) == every_byte(built) == every_byte(cold(site))
    assert ref.current.status == built.status
    assert ref.current.resources["/feed.atom"].links  # the hub and self links
    assert ref.current.status.posts == len(POSTS)

    await publisher.catch_up()
    assert publisher.rebuilds == 1
    assert publisher.status().last_rebuild is None  # nothing changed: nothing rebuilt
    assert every_byte(publisher.ref.current) == every_byte(cold(site))


async def test_an_edit_made_while_stopped_re_renders_only_its_feeds(site):
    written(site)
    lang, categories, date = POSTS["es/c.md"]
    site.write_post("es/c.md", post_text("Post c", lang, categories, date, "Edited body."))
    site.write_post("en/f.md", post_text("Post f", "en", ["Policy"], "2024-03-22"))
    (site.posts / "en" / "a.md").unlink()

    publisher = warm_publisher(site)
    assert publisher.warm_start() is not None
    await publisher.catch_up()

    assert every_byte(publisher.ref.current) == every_byte(cold(site))
    last = publisher.status().last_rebuild
    assert last is not None
    assert last.posts_normalized == 2  # c and f; the three others came from the snapshot
    assert {"archive/2024/02", "archive/2024/03", "lang/es"} <= set(last.rendered)
    assert "lang/es/category/policy" not in last.rendered  # d, untouched

    # The snapshot now holds the edit: the next start has nothing to do.
    again = warm_publisher(site)
    assert again.warm_start() is not None
    assert every_byte(again.ref.current) == every_byte(cold(site))
    await again.catch_up()
    assert again.status().last_rebuild is None


def test_feedsvc_build_uses_the_same_snapshot(site, tmp_path, monkeypatch):
    from test_cli import run

    out = tmp_path / "public"
    first = run("build", "--config", str(site.config_file), "--out", str(out), cwd=site.root)
    assert first.returncode == 0, first.stderr
    assert "none yet" in first.stderr and snapshot_path(site).is_file()
    cold_files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # The build's workers wrote each feed's .br and sent none back: the snapshot leaves
    # them to the first request, as a service does (the warm build below makes the same
    # files from it).
    monkeypatch.chdir(site.root)  # the working folder is part of the config's stamp
    config = site.config()
    served = read_served(snapshot_path(site), warm.code_version(), warm.config_hash(config))
    served.file.close()
    feeds = [r for p, r in served.resources.items() if p.endswith((".atom", ".rss", ".json"))]
    assert feeds and all(isinstance(r.br, LazyBrotli) and not r.br.compressed for r in feeds)

    second = run("build", "--config", str(site.config_file), "--out", str(out), cwd=site.root)
    assert second.returncode == 0, second.stderr
    assert "serving the snapshot" in second.stderr and "rebuilt" not in second.stderr
    warm_files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert warm_files == cold_files

    lang, categories, date = POSTS["en/b.md"]
    site.write_post("en/b.md", post_text("Post b", lang, categories, date, "New words."))
    third = run("build", "--config", str(site.config_file), "--out", str(out), cwd=site.root)
    assert third.returncode == 0, third.stderr
    assert "1 posts normalized" in third.stderr
    assert b"New words." in (out / "archive" / "2024" / "02.atom").read_bytes()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda site: site.write_config(title="Another", extra=HUB), "another config"),
        (lambda site: None, "none yet"),
    ],
)
def test_a_snapshot_for_another_config_or_none_is_not_used(site, caplog, change, reason):
    if reason != "none yet":
        written(site)
    change(site)
    caplog.set_level(logging.INFO, "feedsvc")
    assert warm_publisher(site).warm_start() is None
    assert reason in caplog.text


def test_a_snapshot_of_another_version_is_not_used(site, caplog):
    built = cold(site)
    config = site.config()
    write_snapshot(
        snapshot_path(site),
        "0.0.1+0000 Brotli-1.0",
        warm.config_hash(config),
        built.resources,
        built.status,
        [],
    )
    with pytest.raises(SnapshotError, match=r"another version \(0\.0\.1"):
        read_served(snapshot_path(site), warm.code_version(), warm.config_hash(config))
    caplog.set_level(logging.INFO, "feedsvc")
    assert warm_publisher(site).warm_start() is None
    assert "another version" in caplog.text


def damage(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def unwritten(path: Path, offset: int, length: int) -> None:
    """Zeros where the disk never got the bytes: what a power cut leaves of a file renamed
    before its data was flushed (the snapshot is written without fsync)."""
    data = bytearray(path.read_bytes())
    data[offset : offset + length] = bytes(len(data[offset : offset + length]))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "where", ["header", "documents", "bodies", "end", "unwritten block", "unwritten start"]
)
def test_a_damaged_served_part_is_never_served(site, caplog, where):
    written(site)
    path = snapshot_path(site)
    size = path.stat().st_size
    if where == "header":
        damage(path, len(MAGIC) + 2)
    elif where == "documents":
        damage(path, len(MAGIC) + HEADER_SIZE + 200)
    elif where == "bodies":
        damage(path, size // 3)
    elif where == "unwritten block":
        unwritten(path, size // 3 // 4096 * 4096, 4096)
    elif where == "unwritten start":
        unwritten(path, 0, 4096)
    else:
        path.write_bytes(path.read_bytes()[: size // 2])  # cut short
    caplog.set_level(logging.INFO, "feedsvc")
    assert warm_publisher(site).warm_start() is None
    assert "damaged" in caplog.text


async def test_a_damaged_state_renders_everything_again_from_the_sources(site, caplog):
    written(site)
    path = snapshot_path(site)
    damage(path, path.stat().st_size - 10)  # in the last state record
    publisher = warm_publisher(site)
    assert publisher.warm_start() is not None  # the served part is whole
    await publisher.catch_up()
    assert "snapshot state not used" in caplog.text
    assert every_byte(publisher.ref.current) == every_byte(cold(site))


def test_the_size_bound_is_checked_before_anything_is_read(site):
    written(site)
    path = snapshot_path(site)
    config = site.config()
    size = path.stat().st_size
    served = read_served(path, warm.code_version(), warm.config_hash(config), max_bytes=size)
    served.file.close()
    with pytest.raises(SnapshotError, match=f"{size} bytes, more than the limit of {size - 1}"):
        read_served(path, warm.code_version(), warm.config_hash(config), max_bytes=size - 1)


def test_counts_larger_than_the_file_are_refused_before_allocating(site):
    written(site)
    path = snapshot_path(site)
    data = path.read_bytes()
    header = data[len(MAGIC) : len(MAGIC) + HEADER_SIZE]
    # A hostile header claiming a terabyte of bodies.
    fields = msgspec.json.decode(header)
    fields["bodies"] = 2**40
    forged = msgspec.json.encode(fields).ljust(HEADER_SIZE - 1) + b"\n"
    path.write_bytes(data[: len(MAGIC)] + forged + data[len(MAGIC) + HEADER_SIZE :])
    config = site.config()
    with pytest.raises(SnapshotError, match="counts larger than the file"):
        read_served(path, warm.code_version(), warm.config_hash(config))


def test_a_failed_write_keeps_the_old_snapshot_and_leaves_no_temporary_file(site):
    built = written(site)
    path = snapshot_path(site)
    before = path.read_bytes()

    def records():
        yield b"{}"
        raise OSError("disk full")

    config = site.config()
    with pytest.raises(OSError, match="disk full"):
        write_snapshot(
            path,
            warm.code_version(),
            warm.config_hash(config),
            built.resources,
            built.status,
            records(),
        )
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_restoring_the_state_normalizes_no_post_again(site):
    written(site)
    keeper = SnapshotKeeper(snapshot_path(site))
    config = site.config()
    served = keeper.open(config)
    assert served is not None
    restored = keeper.restore(served, config)
    assert restored is not None
    assert restored.normalized.normalized == 0  # every post came from the snapshot
    assert len(restored.loaded.posts) == len(POSTS)


async def test_files_touched_while_stopped_are_compared_by_content_not_rebuilt(site):
    written(site)
    for post in site.posts.rglob("*.md"):
        post.touch()  # a checkout or a copy: new stamps, the same bytes
    publisher = warm_publisher(site)
    assert publisher.warm_start() is not None
    await publisher.catch_up()
    assert publisher.status().last_rebuild is None  # read again, found equal, nothing rebuilt


def test_the_config_hash_ignores_where_the_server_listens_unless_feeds_name_it(site):
    config = site.config()
    moved = replace(config, server=replace(config.server, port=9999), file="./feeds.toml")
    # Without server.public_url, the feeds' links are http://{host}:{port}/…: other bytes.
    assert warm.config_hash(moved) != warm.config_hash(config)
    public = replace(config.server, public_url="https://feeds.example/")
    fixed = replace(config, server=public)
    elsewhere = replace(fixed, server=replace(public, port=9999, host="0.0.0.0"))
    assert warm.config_hash(elsewhere) == warm.config_hash(fixed)
    titled = replace(fixed, site=replace(config.site, title="Another"))
    assert warm.config_hash(titled) != warm.config_hash(fixed)


def test_the_state_writes_a_good_post_once_and_keeps_a_bad_posts_last_good_version(site):
    config = site.config()
    cache = NormalizeCache()

    def raw(key: str, date: str) -> RawPost:
        return RawPost(
            path=f"posts/{key}.md",
            key=key,
            meta={"title": key.upper(), "date": date},
            body=f"Body of {key}.",
            body_format="markdown",
            source="posts",
        )

    normalize_posts([raw("a", "2024-03-01"), raw("b", "2024-03-02")], config, cache.mapper(config))
    good_b = {entry.raw.key: entry for entry in cache.entries()}["b"].result
    normalize_posts([raw("a", "2024-03-01"), raw("b", "not a date")], config, cache.mapper(config))
    entries = {entry.raw.key: entry for entry in cache.entries()}
    assert isinstance(entries["b"].result, Problem) and entries["b"].last_good is good_b

    lines = list(encode_state(WarmState({}, {}, list(entries.values()), ())))

    records = {msgspec.json.decode(line)["raw"]["key"]: msgspec.json.decode(line) for line in lines}
    assert records["a"]["post"]["title"] == "A" and records["a"]["last_good"] is None  # once
    assert records["b"]["post"] is None and records["b"]["last_good"]["title"] == "B"
    restored = {entry.raw.key: entry for entry in decode_state(lines, "state").normalized}
    assert restored == entries
    assert restored["a"].last_good is restored["a"].result  # one object, as before
