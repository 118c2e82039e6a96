"""`vasp-rules serve`: run the decision service on uvicorn.

    vasp-rules serve [--pack PACK ...] [--host H] [--port P] [--workers N] [--log DB]
                     [--api-key-file F] [--metrics-allow CIDR ...] [--max-body-bytes N]
                     [--read-timeout S] [--keep-alive-timeout S] [--max-concurrency N]

Everything that can be wrong with the options (a pack that does not load, an unreadable key
file, a file that is not a decision log) is a one-line error and exit code 2 before the server
starts. With --workers > 1 each worker process loads the packs itself; the configuration reaches
the workers through the environment (the key file's path, never the keys).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from typing import Any

import click

from .support import fail, handles_errors, log_keys_option

CONFIG_ENV = "VASP_RULES_SERVICE_CONFIG"


def _config_from(settings: dict[str, Any]) -> Any:
    from ..service.app import ServiceConfig, read_api_keys

    key_file = settings.get("api_key_file")
    return ServiceConfig(
        packs=settings["packs"],
        log_path=settings.get("log"),
        log_keys=settings.get("keys"),
        api_keys=read_api_keys(key_file) if key_file else (),
        max_body_bytes=settings["max_body_bytes"],
        max_batch=settings["max_batch"],
        gather=settings["gather"],
        metrics_allow=settings.get("metrics_allow", ()),
        max_concurrency=settings.get("max_concurrency"),
    )


def app_from_environment() -> Any:
    """The app for a uvicorn worker process, configured by `serve` through the environment."""
    from ..service.app import create_app

    settings = json.loads(os.environ[CONFIG_ENV])
    _quiet_logging(settings.get("access_log", True))
    return create_app(_config_from(settings))


def _quiet_logging(access_log: bool = True) -> None:
    """Our log lines on stderr; the access log is the service's own (its lines carry the
    request id), so uvicorn's is always off."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    logging.getLogger("vasp_rules.service.access").setLevel(
        logging.INFO if access_log else logging.WARNING
    )


def _networks(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    import ipaddress

    try:
        return [str(ipaddress.ip_network(v, strict=False)) for v in value]
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (an address or network, e.g. 10.0.0.0/8)") from None


@click.command("serve")
@click.option(
    "--pack",
    "packs",
    multiple=True,
    metavar="PACK",
    help="Rule pack to serve (folder or bundled name); repeatable. The first is the default. "
    "[default: pk]",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (each loads the packs).",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    help="Record every decision in this tamper-evident audit log (SQLite; created if absent); "
    "personal data is sealed under keys kept in the key store LOG-keys beside it (see --keys).",
)
@log_keys_option()
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False),
    help="Require an API key (Authorization: Bearer KEY or X-API-Key): one key per line.",
)
@click.option(
    "--metrics-allow",
    multiple=True,
    metavar="CIDR",
    callback=_networks,
    help="Clients from this address or network may read /metrics without an API key "
    "(repeatable), e.g. the Prometheus server's.",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Seconds a client has to send a whole request (headers and body), from connecting "
    "or from the previous response; slower clients are disconnected.",
)
@click.option(
    "--keep-alive-timeout",
    type=click.FloatRange(0.1, 3600),
    default=5.0,
    show_default=True,
    help="Seconds an idle keep-alive connection stays open.",
)
@click.option(
    "--max-concurrency",
    type=click.IntRange(1, 100_000),
    default=64,
    show_default=True,
    help="Most requests in progress per worker; more get 503 with Retry-After.",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(1, 2**31),
    default=10 * 1024 * 1024,
    show_default=True,
    help="Larger request bodies get 413.",
)
@click.option(
    "--max-batch",
    type=click.IntRange(1, 10**6),
    default=10_000,
    show_default=True,
    help="Most documents in one request.",
)
@click.option(
    "--gather",
    type=click.IntRange(1, 1000),
    default=32,
    show_default=True,
    help="Most single-document requests that arrive together decided in one micro-batch "
    "(shared durable-rules sessions; 1: each alone).",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@handles_errors
def serve(
    packs: tuple[str, ...],
    host: str,
    port: int,
    workers: int,
    log_path: str | None,
    log_keys: str | None,
    api_key_file: str | None,
    metrics_allow: list[str],
    read_timeout: float,
    keep_alive_timeout: float,
    max_concurrency: int,
    max_body_bytes: int,
    max_batch: int,
    gather: int,
    access_log: bool,
) -> None:
    """Run the HTTP decision service (docs/service.md).

    \b
    Example:
      vasp-rules serve --pack pk --port 8000 --log decisions.db --api-key-file keys.txt
    """
    try:
        from ..service.app import create_app
        from ..service.server import run
    except ImportError as exc:
        fail(
            "the service needs its extra: pip install -e '.[service]' in a checkout, "
            f"or the wheel with [service] ({exc})"
        )
    settings: dict[str, Any] = {
        "packs": list(packs) or ["pk"],
        "log": log_path,
        "keys": log_keys,
        "api_key_file": api_key_file,
        "max_body_bytes": max_body_bytes,
        "max_batch": max_batch,
        "gather": gather,
        "metrics_allow": metrics_allow,
        "max_concurrency": max_concurrency,
        "access_log": access_log,
    }
    config = _config_from(settings)  # reads the key file: fails here if unusable
    if log_path:
        from ..audit import DecisionLog

        DecisionLog.open(log_path, write=True).close()  # a file that is not a log fails here
    _quiet_logging(access_log)
    if not api_key_file and host not in ("127.0.0.1", "::1", "localhost"):
        logging.getLogger("vasp_rules.service").warning(
            "listening on %s without --api-key-file: anyone who can reach it can ask for "
            "decisions (see docs/service.md, 'Behind a reverse proxy')",
            host,
        )
    from ..service.server import READ_TIMEOUT_ENV, protocol_path

    os.environ[READ_TIMEOUT_ENV] = repr(read_timeout)  # the workers' protocols read it
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,  # ours (vasp_rules.service.access) carries the request id
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": keep_alive_timeout,
        "http": protocol_path(),
    }
    if workers == 1:
        app = create_app(config)  # loads the packs: a bad pack fails here, before listening
        run(app, **common)
        return
    config.load_packs()  # check them once here, so a bad pack is one error, not one per worker
    metrics_dir = tempfile.mkdtemp(prefix="vasp-rules-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ[CONFIG_ENV] = json.dumps(settings)
    try:
        run(
            "vasp_rules.cli.serve:app_from_environment",
            factory=True,
            workers=workers,
            **common,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
