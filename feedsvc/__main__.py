"""The command line: parse arguments, call into the package. Nothing else lives here."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import socket
import sys
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from feedsvc import __version__
from feedsvc.config import Config
from feedsvc.configfile import load_config
from feedsvc.errors import FeedsvcError
from feedsvc.model import Problem, Severity
from feedsvc.status import LanguageStatus

log = logging.getLogger("feedsvc")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, _overrides(args))
    except FeedsvcError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return args.run(config, args)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config keys the command line sets; they win over the file, and over a reloaded one."""
    overrides: dict[str, Any] = {}
    if getattr(args, "host", None):
        overrides["server.host"] = args.host
    # --port 0 (any free port) is not a config value: _serve binds, then sets the port got.
    if getattr(args, "port", None):
        overrides["server.port"] = args.port
    return overrides


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedsvc", description="Publish a site's posts as Atom, RSS 2.0 and JSON Feed."
    )
    parser.add_argument("--version", action="version", version=f"feedsvc {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: Any, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument(
            "--config", default="feeds.toml", help="config file (default: %(default)s)"
        )
        sub.set_defaults(run=run)
        return sub

    serve = command("serve", _serve, "serve the feeds over HTTP")
    serve.add_argument("--host", help="address to listen on (default: server.host)")
    serve.add_argument(
        "--port",
        type=_port,
        help="port to listen on; 0 picks a free one and prints it (default: server.port)",
    )
    command("check", _check, "load config and every post; print each problem as path:line")
    build = command("build", _build, "write every feed and page as files for nginx or a CDN")
    build.add_argument("--out", required=True, type=Path, help="folder to write (swapped in)")
    return parser


def _port(text: str) -> int:
    """--port's value: argparse names the flag in the error, not feeds.toml."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be a port number from 0 to 65535 (0: any free port), not {text!r}"
        )
    return port


def _serve(config: Config, args: argparse.Namespace) -> int:
    import dataclasses
    import functools

    from feedsvc.service import create_service, runner_options
    from feedsvc.web.server import run

    host = config.server.host
    port = 0 if args.port == 0 else config.server.port
    # Bound before the start-up build: a port in use is said at once, in one line, and
    # port 0's pick is known for the public URL and printed for whoever started us.
    try:
        sock = _listen(host, port)
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        print(f"error: cannot listen on {host} port {port}: {reason}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, port=port))
    overrides = {**_overrides(args), "server.port": port}
    print(f"listening on {host} port {port}", flush=True)
    app = create_service(config, load_config=functools.partial(load_config, args.config, overrides))
    run(
        app,
        sock,
        **runner_options(config),
        access_log=logging.getLogger("aiohttp.access") if config.server.access_log else None,
    )
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host`` (its first address) and ``port``."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def _check(config: Config, args: argparse.Namespace) -> int:
    from feedsvc.clock import system_clock
    from feedsvc.pipeline import load_posts

    loaded = load_posts(config, system_clock())
    _print_problems(loaded.problems, sys.stdout)
    errors = sum(p.severity is Severity.ERROR for p in loaded.problems)
    print(
        f"{len(loaded.posts)} posts ok, {loaded.drafts} drafts, "
        f"{len(loaded.scheduled)} scheduled, {errors} errors",
        file=sys.stderr,
    )
    if loaded.language_candidates is not None:
        _print_languages(LanguageStatus.of(loaded.posts, loaded.language_candidates))
    return 1 if errors else 0


def _print_languages(status: LanguageStatus) -> None:
    """site.detect_language's summary: what /status says under ``languages``."""
    per = ", ".join(f"{count.lang} {count.posts}" for count in status.per_language) or "none"
    print(
        f"languages detected: {per}; kept the default: {status.low_confidence} "
        f"(low confidence), {status.too_short} (too short to guess); "
        f"candidates: {', '.join(status.candidates)}",
        file=sys.stderr,
    )


def _build(config: Config, args: argparse.Namespace) -> int:
    from feedsvc.clock import system_clock
    from feedsvc.export import Tree
    from feedsvc.live import Publisher
    from feedsvc.pipeline import run_sync
    from feedsvc.warm import snapshot_file

    # The snapshot kept by `feedsvc serve` and earlier builds (server.cache_dir): only what
    # changed since is rendered again. Partners are not fetched here; their feeds are empty.
    publisher = Publisher(config, snapshot_file=snapshot_file(config), aggregate=False)
    with Tree(args.out, system_clock()) as tree:
        if publisher.warm_start() is None:
            # A cold build renders every document, and each is written by the worker that
            # rendered it, while the other renders (export.Tree).
            publisher.build(on_rendered=tree.write_rendered)
            written: Collection[str] = publisher.ref.current.resources.keys()
            publisher.save_snapshot()
        else:
            run_sync(publisher.catch_up())
            written = frozenset()
        snapshot = publisher.ref.current
        # Embed fragments are made on request by `feedsvc serve`; a static tree gets each
        # feed's with the default limit (docs/urls.md "Embeds for partner sites").
        documents = tree.finish(snapshot.resources, written)
    _print_problems(snapshot.status.skipped, sys.stderr)
    print(f"wrote {documents} documents to {args.out}", file=sys.stderr)
    # The process exits next: frozen, the heap is left out of the collection at interpreter
    # shutdown, a walk over every object (0.18 s on the 10,000-post bench site) that finds
    # nothing the exit does not free anyway.
    gc.freeze()
    return 0


def _print_problems(problems: Iterable[Problem], out: TextIO) -> None:
    for problem in problems:
        # README.md "Check it": "path:line: message"; warnings say so, as compilers do.
        label = "warning: " if problem.severity is Severity.WARNING else ""
        print(f"{problem.path}:{problem.line}: {label}{problem.message}", file=out)


if __name__ == "__main__":
    sys.exit(main())
