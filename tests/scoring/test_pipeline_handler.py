"""The real `score` automation handler against the emulator: score -> Member_Tier_Score, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from imis_tier.client import Client
from imis_tier.emulator import Emulator, EmulatorConfig
from imis_tier.handlers import HandlerRegistry, ManualClock, RetryPolicy, Runner, default_registry
from imis_tier.synthetic import generate_association
from imis_tier.testing import load_association
from imis_tier.warehouse import Warehouse
from imis_tier.writeback import verify_audit_chain


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Path]]:
    """One association served by the emulator and loaded into a warehouse file."""
    association = generate_association(members=300, seed=5)
    path = tmp_path_factory.mktemp("handler") / "warehouse.duckdb"
    load_association(association, Warehouse(path)).close()
    with Emulator(EmulatorConfig(association=association)).running() as emu:
        yield emu, path


def _connect(emu: Emulator) -> Client:
    return Client(emu.base_url, username=emu.username, password=emu.password)


def _runner(emu: Emulator, warehouse: Warehouse, registry_dir: Path) -> Runner:
    registry = HandlerRegistry()
    registry.add(
        default_registry(entry_points=False).get("score").configured(
            settings={
                "registry": str(registry_dir), "months": 12,
                "review_thresholds": {"lapse": 0.4}, "approved_by": "ops@association",
            }
        )
    )  # fmt: skip
    zone = ZoneInfo("America/New_York")
    clock = ManualClock(datetime.combine(emu.clock - timedelta(days=1), time(6), zone))
    return Runner(
        registry, warehouse, client_factory=lambda: _connect(emu), clock=clock, timezone=str(zone),
        retry=RetryPolicy(max_attempts=1, initial=1.0, jitter=0.0),
    )  # fmt: skip


def test_the_score_handler_writes_scores_once(setup: tuple[Emulator, Path], tmp_path: Path) -> None:
    emu, path = setup
    with Warehouse(path) as warehouse:
        runner = _runner(emu, warehouse, tmp_path / "models")

        planned = runner.run("score", dry_run=True)
        assert planned.ok, planned.error
        assert planned.rows_written == 0 and planned.details is not None
        assert planned.details["rows_planned"] == planned.details["scored"] > 100
        with _connect(emu) as imis:
            assert sum(1 for _ in imis.entities("Member_Tier_Score").list(limit=500)) == 0

        first = runner.run("score")
        assert first.ok, first.error
        details = first.details or {}
        assert not details["trained"]  # the dry run registered the model; this run reuses it
        assert first.rows_written == details["scored"] + details["review_items"]
        with _connect(emu) as imis:
            rows = list(imis.entities("Member_Tier_Score").list(limit=500))
            reviews = list(imis.entities("Tier_Review").list(limit=500))
        assert Counter(str(r["ID"]) for r in rows) == Counter(
            dict.fromkeys(
                [str(p) for p in warehouse.query_df(
                    "SELECT party_id FROM scores WHERE run_id = ?", [details["run_id"]]
                )["party_id"]], 1,
            )
        )  # fmt: skip
        one = rows[0]
        assert str(one["ModelRef"]) == details["model_ref"] and str(one["Driver1"])
        assert 0 <= float(one["PLapse"]) <= 1 and 0 <= float(one["Engagement"]) <= 100
        assert len(reviews) == details["review_items"] > 0
        assert {str(r["Reason"]) for r in reviews} == {"Lapse risk"}

        again = runner.run("score")  # same data, same model: nothing to write
        assert again.ok and again.rows_written == 0 and (again.details or {})["review_items"] == 0
        assert verify_audit_chain(warehouse).ok


def test_the_score_handler_runs_on_its_schedule(setup: tuple[Emulator, Path], tmp_path: Path) -> None:
    from imis_tier.handlers import Schedule, Scheduler

    emu, path = setup
    with Warehouse(path) as warehouse:
        registry = HandlerRegistry()
        registry.add(
            default_registry(entry_points=False).get("score").configured(
                trigger=Schedule("30 6 * * *"),
                settings={"registry": str(tmp_path / "models"), "months": 12},
            )
        )
        zone = ZoneInfo("America/New_York")
        clock = ManualClock(datetime.combine(emu.clock - timedelta(days=1), time(6), zone))
        runner = Runner(
            registry, warehouse, client_factory=lambda: _connect(emu), clock=clock,
            timezone=str(zone), retry=RetryPolicy(max_attempts=1, initial=1.0, jitter=0.0),
        )  # fmt: skip
        scheduler = Scheduler(runner)
        assert scheduler.run_pending() == []  # 06:00, not due
        clock.advance(minutes=29)
        assert scheduler.run_pending() == []  # 06:29, still not due
        clock.advance(minutes=1)
        [run] = scheduler.run_pending()  # 06:30 local: on time
        assert run.ok, run.error
        assert run.rows_read > 100
        scored = warehouse.fetchone("SELECT count(*) FROM scores")
        assert scored is not None and scored[0] >= run.rows_read - 5
