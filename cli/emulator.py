"""``imis-tier emulator``: serve an emulated iMIS on loopback and drive its clock and faults."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
import httpx

_DEFAULT_URL = "http://127.0.0.1:5080"


@click.group()
def emulator() -> None:
    """Run a faithful iMIS on loopback (for demos, tests and your own automation)."""


@emulator.command()
@click.option(
    "--members",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Synthetic members to generate.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Seed of the synthetic association."
)
@click.option(
    "--months", type=click.IntRange(min=1), default=36, show_default=True, help="Months of history."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to bind (keep it loopback)."
)
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=5080,
    show_default=True,
    help="Port (0 picks a free one).",
)
@click.option(
    "--username", default="api.sync", show_default=True, help="Service account user name."
)
@click.option(
    "--password", default=None, help="Service account password (default: a random one, printed)."
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Journal writes here; a restart replays them.",
)
@click.option(
    "--latency-ms", type=float, default=0.0, show_default=True, help="Added to every answer."
)
@click.option(
    "--jitter-ms",
    type=float,
    default=0.0,
    show_default=True,
    help="Latency varies by +- this much.",
)
@click.option(
    "--rate-limit", "rate_limit", type=float, default=None, help="Requests per second before 429."
)
@click.option(
    "--retry-after", type=int, default=1, show_default=True, help="Retry-After seconds on 429."
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of 500 answers.",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of dropped connections.",
)
@click.option(
    "--token-lifetime",
    type=float,
    default=None,
    help="Token lifetime in seconds (default two weeks).",
)
@click.option(
    "--fault-seed", type=int, default=0, show_default=True, help="Seed of the fault sequence."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the connection details as one JSON line."
)
@click.option(
    "--prewarm/--no-prewarm",
    default=True,
    show_default=True,
    help="Encode every party in the background at start, so the first full read is fast.",
)
def serve(
    members: int,
    seed: int,
    months: int,
    host: str,
    port: int,
    username: str,
    password: str | None,
    state_file: str | None,
    latency_ms: float,
    jitter_ms: float,
    rate_limit: float | None,
    retry_after: int,
    error_rate: float,
    drop_rate: float,
    token_lifetime: float | None,
    fault_seed: int,
    as_json: bool,
    prewarm: bool,
) -> None:
    """Serve an emulated iMIS until interrupted; prints its URL and the service account."""
    from imis_tier.emulator import Emulator, EmulatorConfig, FaultConfig

    faults = FaultConfig(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        rate_limit_per_s=rate_limit,
        retry_after_s=retry_after,
        error_rate=error_rate,
        drop_rate=drop_rate,
        token_lifetime_s=token_lifetime,
        seed=fault_seed,
    )
    click.echo(f"generating {members} members (seed {seed})...", err=True)
    emu = Emulator(
        EmulatorConfig(
            members=members,
            seed=seed,
            months=months,
            host=host,
            port=port,
            username=username,
            password=password,
            state_file=state_file,
            faults=faults,
            prewarm=("Party",) if prewarm else (),
        )
    )
    emu.start()
    details = {
        "base_url": emu.base_url,
        "username": emu.username,
        "password": emu.password,
        "clock": emu.clock.isoformat(),
        "client_apps": dict(emu.config.client_apps),
    }
    if as_json:
        click.echo(json.dumps(details))
    else:
        click.echo(f"iMIS emulator at {emu.base_url}  (association clock {details['clock']})")
        click.echo(f"  username: {emu.username}")
        click.echo(f"  password: {emu.password}")
        click.echo(
            f"  export IMIS_BASE_URL={emu.base_url} IMIS_USERNAME={emu.username} IMIS_PASSWORD='{emu.password}'"
        )
    sys.stdout.flush()
    click.echo("serving; press Ctrl-C to stop", err=True)
    try:
        if emu._thread is not None:
            while emu._thread.is_alive():
                emu._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        emu.stop()


def _admin(url: str, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
    try:
        answer = httpx.request(
            method, f"{url.rstrip('/')}/_emulator/{route}", json=body, timeout=600
        )
    except httpx.TransportError as exc:
        raise click.ClickException(f"no emulator answering at {url} ({exc})") from None
    if answer.status_code != 200:
        raise click.ClickException(f"emulator refused {route}: {answer.text}")
    return answer.json()


_URL = click.option(
    "--url",
    default=lambda: os.environ.get("IMIS_BASE_URL", _DEFAULT_URL),
    show_default="IMIS_BASE_URL or " + _DEFAULT_URL,
    help="The emulator's base URL.",
)


@emulator.command()
@click.option("--months", type=click.IntRange(min=1), default=1, show_default=True)
@_URL
def advance(months: int, url: str) -> None:
    """Advance the association's clock; new months of behaviour appear under the structure in force."""
    result = _admin(url, "POST", "advance", {"months": months})
    click.echo(result["clock"])


@emulator.command()
@_URL
@click.option("--latency-ms", type=float, default=0.0)
@click.option("--jitter-ms", type=float, default=0.0)
@click.option("--rate-limit", type=float, default=None)
@click.option("--retry-after", type=int, default=1)
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0)
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0.0)
@click.option("--token-lifetime", type=float, default=None)
@click.option("--fault-seed", type=int, default=0)
def faults(
    url: str,
    latency_ms: float,
    jitter_ms: float,
    rate_limit: float | None,
    retry_after: int,
    error_rate: float,
    drop_rate: float,
    token_lifetime: float | None,
    fault_seed: int,
) -> None:
    """Replace a running emulator's fault settings (no options: all faults off)."""
    settings = {
        "latency_ms": latency_ms,
        "jitter_ms": jitter_ms,
        "rate_limit_per_s": rate_limit,
        "retry_after_s": retry_after,
        "error_rate": error_rate,
        "drop_rate": drop_rate,
        "token_lifetime_s": token_lifetime,
        "seed": fault_seed,
    }
    click.echo(json.dumps(_admin(url, "PUT", "faults", settings)))


@emulator.command()
@_URL
def status(url: str) -> None:
    """Show a running emulator's URL, account name, clock and triggered task count."""
    info = _admin(url, "GET", "info")
    info["triggered_tasks"] = len(_admin(url, "GET", "tasks"))
    click.echo(json.dumps(info))
