"""Options and helpers shared by the subcommands: the iMIS connection and the warehouse file."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_WAREHOUSE = Path(".imis-tier") / "warehouse.duckdb"


def imis_options(func: F) -> F:
    """--base-url / --username / --password, each falling back to IMIS_* env vars, then the keyring."""
    func = click.option("--password", envvar="IMIS_PASSWORD", default=None, hidden=True,
                        help="Prefer IMIS_PASSWORD or `imis-tier auth login`.")(func)
    func = click.option("--username", envvar="IMIS_USERNAME", default=None, help="iMIS service account.")(func)
    func = click.option("--base-url", envvar="IMIS_BASE_URL", default=None, help="iMIS site root.")(func)
    return func


def warehouse_option(func: F) -> F:
    return click.option(
        "--warehouse", "warehouse_path", envvar="IMIS_TIER_WAREHOUSE", type=click.Path(dir_okay=False),
        default=str(DEFAULT_WAREHOUSE), show_default=True, help="The association's warehouse file.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")(func)


def make_client(base_url: str | None, username: str | None, password: str | None) -> Any:
    from imis_tier.client import Client

    return Client(base_url, username=username, password=password)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def err(message: str) -> None:
    click.echo(message, err=True)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
