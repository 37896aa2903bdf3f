"""The root ``imis-tier`` command group; each subcommand lives in its own module."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from imis_tier import __version__

# name -> (module, attribute). Loaded lazily so `imis-tier --help` stays fast.
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "emulator": ("imis_tier_cli.emulator", "emulator"),
    "backfill": ("imis_tier_cli.sync", "backfill_command"),
    "sync": ("imis_tier_cli.sync", "sync_command"),
    "load-exports": ("imis_tier_cli.sync", "load_exports_command"),
    "handlers": ("imis_tier_cli.handlers", "handlers"),
    "auth": ("imis_tier_cli.auth", "auth"),
    "writeback": ("imis_tier_cli.writeback", "writeback"),
    "demo": ("imis_tier_cli.demo", "demo"),
    "value": ("imis_tier_cli.value", "value"),
    "benefits": ("imis_tier_cli.benefits", "benefits"),
    "scenario": ("imis_tier_cli.simulate", "scenario"),
    "simulate": ("imis_tier_cli.simulate", "simulate"),
    "score": ("imis_tier_cli.score", "score"),
    "optimize": ("imis_tier_cli.optimize", "optimize"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_SUBCOMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SUBCOMMANDS:
            module_name, attr = _SUBCOMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="imis-tier")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs (secrets redacted).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """imis-tier: membership tiers on evidence, for associations on iMIS."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: list[str] | None = None) -> Any:
    """Entry point: SDK errors become one readable line (exit 1) unless --debug is given."""
    args = sys.argv[1:] if argv is None else argv
    try:
        return cli.main(args=args, prog_name="imis-tier", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the one place where any failure becomes a readable line
        if "--debug" in args:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
