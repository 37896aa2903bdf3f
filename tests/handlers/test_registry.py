"""Handlers registered in code and by third-party packages through entry points; the CLI list/run."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from imis_tier.handlers import (
    ENTRY_POINT_GROUP,
    ChangeNotification,
    Handler,
    HandlerContext,
    HandlerNotFound,
    HandlerRegistry,
    Schedule,
    default_registry,
)


def test_programmatic_registration(registry: HandlerRegistry) -> None:
    @registry.register("renewal-nudge", trigger=Schedule("0 9 * * mon"), settings={"days": 30})
    def renewal_nudge(ctx: HandlerContext) -> None:
        """Nudge members whose renewal is near."""

    handler = registry.get("renewal-nudge")
    assert handler.function is renewal_nudge
    assert handler.description == "Nudge members whose renewal is near."
    assert handler.configured(settings={"extra": 1}).settings == {"days": 30, "extra": 1}
    with pytest.raises(ValueError, match="already registered"):
        registry.register("renewal-nudge")(renewal_nudge)
    with pytest.raises(
        HandlerNotFound, match="no handler named 'nope' \\(registered: renewal-nudge\\)"
    ):
        registry.get("nope")
    with pytest.raises(ValueError, match=r"must look like 'Entity\.Action'"):
        ChangeNotification(("PartyUpdated",))


PLUGIN = '''
from imis_tier.handlers import ChangeNotification, handler

@handler("acme-welcome", trigger=ChangeNotification(("Party.Created",)))
def welcome(ctx):
    """Welcome new contacts."""

def register_many(registry):
    registry.register("acme-a")(lambda ctx: None)
    registry.register("acme-b")(lambda ctx: None)

broken = 42
'''


@pytest.fixture
def plugin_on_path(tmp_path: Path) -> Iterator[None]:
    """A package published the way pip installs one: module plus dist-info with entry points."""
    (tmp_path / "acme_handlers.py").write_text(PLUGIN)
    info = tmp_path / "acme_handlers-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-handlers\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nwelcome = acme_handlers:welcome\nmany = acme_handlers:register_many\n"
        "broken = acme_handlers:broken\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield
    sys.path.remove(str(tmp_path))
    sys.modules.pop("acme_handlers", None)


def test_entry_point_handlers_are_loaded_and_a_broken_one_is_skipped(
    plugin_on_path: None, caplog: pytest.LogCaptureFixture
) -> None:
    registry = default_registry()
    assert {"acme-welcome", "acme-a", "acme-b", "sync", "score", "monitor", "review-queue"} <= {
        h.name for h in registry
    }
    assert isinstance(registry.get("acme-welcome"), Handler)
    trigger = registry.get("acme-welcome").trigger
    assert isinstance(trigger, ChangeNotification) and trigger.matches("party.created")
    assert "broken" in caplog.text and "neither a Handler nor a callable" in caplog.text


def test_cli_list_and_run_dry_run(tmp_path: Path) -> None:
    from imis_tier_cli.handlers import handlers

    config = tmp_path / "imis-tier.toml"
    config.write_text('[handlers.monitor]\nschedule = "0 * * * *"\n')
    cli = CliRunner()
    listed = cli.invoke(handlers, ["list", "--config", str(config), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert rows["monitor"]["trigger"] == "schedule '0 * * * *'"
    ran = cli.invoke(handlers, ["run", "monitor", "--config", str(config), "--dry-run"])
    assert ran.exit_code == 0, ran.output
    missing = cli.invoke(handlers, ["run", "nope", "--config", str(config)])
    assert missing.exit_code != 0 and "no handler named 'nope'" in str(
        missing.exception or missing.output
    )
