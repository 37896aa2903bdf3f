"""Built-in handlers against the emulator: scheduled sync on time; review-queue moves rows exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from imis_tier.client import Client
from imis_tier.emulator import Emulator, EmulatorConfig
from imis_tier.handlers import (
    HandlerRegistry,
    ManualClock,
    RetryPolicy,
    Runner,
    Schedule,
    Scheduler,
    default_registry,
)
from imis_tier.warehouse import Warehouse

TRANSITIONS = [
    {"from": "Approved", "to": "Notified", "action": "activity", "activity_type": "TIER_REVIEW"},
    {"from": "Notified", "to": "Closed", "action": "none"},
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    with Emulator(EmulatorConfig(members=40, seed=7)).running() as emu:
        yield emu


def connect(emu: Any) -> Client:
    return Client(emu.base_url, username=emu.username, password=emu.password)


def seed_queue(emu: Any, states: dict[str, str]) -> None:
    """One Tier_Review row per party, in the given state."""
    with connect(emu) as imis:
        for party, state in states.items():
            imis.entities("Tier_Review").create(
                {"ID": party, "Status": state, "Reason": "usage", "RecommendedTier": "PRO"},
                parent_id=party,
            )


def queue_states(emu: Any) -> dict[str, str]:
    with connect(emu) as imis:
        return {str(r.identity[0]): str(r["Status"]) for r in imis.entities("Tier_Review").list()}


def review_activities(emu: Any) -> Counter[str]:
    with connect(emu) as imis:
        return Counter(
            str(a.party_id)
            for a in imis.activities.list(activity_type="TIER_REVIEW")
            if "[imis-tier:" in (a.description or "")
        )


def party_ids(emu: Any, n: int) -> list[str]:
    with connect(emu) as imis:
        return [str(p.party_id) for p in imis.parties.list(max_items=n)]


def make_runner(emu: Any, warehouse: Warehouse, clock: ManualClock, name: str) -> Runner:
    base = default_registry(entry_points=False)
    registry = HandlerRegistry()
    registry.add(
        base.get("review-queue").configured(
            name=name, settings={"source": "Tier_Review", "transitions": TRANSITIONS}
        )
    )
    return Runner(
        registry,
        warehouse,
        client_factory=lambda: connect(emu),
        clock=clock,
        retry=RetryPolicy(max_attempts=2, initial=1.0, jitter=0.0),
        lock_stale_after=timedelta(minutes=5),
    )


def test_rows_move_one_step_per_run_and_act_exactly_once(
    emulator: Any, warehouse: Warehouse, clock: ManualClock
) -> None:
    parties = party_ids(emulator, 6)
    seed_queue(emulator, {p: ("Approved" if i < 4 else "Proposed") for i, p in enumerate(parties)})
    runner = make_runner(emulator, warehouse, clock, "tier-review")

    first = runner.run("tier-review")
    assert first.ok, first.error
    states = queue_states(emulator)
    assert [states[p] for p in parties] == ["Notified"] * 4 + ["Proposed"] * 2  # one step only
    assert first.details and first.details["moved"] == {"Approved->Notified": 4}

    second = runner.run("tier-review")
    assert second.ok and second.details and second.details["moved"] == {"Notified->Closed": 4}
    third = runner.run("tier-review")
    assert third.ok and third.details and third.details["moved"] == {}

    assert [queue_states(emulator)[p] for p in parties] == ["Closed"] * 4 + ["Proposed"] * 2
    assert review_activities(emulator) == Counter({p: 1 for p in parties[:4]})


def test_dry_run_plans_without_writing(
    emulator: Any, warehouse: Warehouse, clock: ManualClock
) -> None:
    parties = party_ids(emulator, 10)[8:]
    seed_queue(emulator, {p: "Approved" for p in parties})
    before = queue_states(emulator)
    record = make_runner(emulator, warehouse, clock, "dry").run("dry", dry_run=True)
    assert record.ok and record.rows_written == 0
    plan = (record.details or {})["plan"]
    assert any(f"add TIER_REVIEW activity for {parties[0]}" in step for step in plan)
    assert queue_states(emulator) == before


def test_the_real_sync_runs_on_its_schedule(
    emulator: Any, warehouse: Warehouse, clock: ManualClock
) -> None:
    base = default_registry(entry_points=False)
    registry = HandlerRegistry()
    registry.add(base.get("sync").configured(trigger=Schedule("15 2 * * *")))
    runner = Runner(
        registry,
        warehouse,
        client_factory=lambda: connect(emulator),
        clock=clock,
        timezone="America/New_York",
    )
    scheduler = Scheduler(runner)
    assert scheduler.run_pending() == []
    clock.set(datetime(2025, 3, 4, 2, 14, tzinfo=ZoneInfo("America/New_York")))
    assert scheduler.run_pending() == []
    clock.advance(minutes=1)
    [run] = scheduler.run_pending()
    assert run.ok, run.error
    assert run.rows_written > 0 and run.details and run.details["rows"]["Parties"] == 40
    with warehouse.transaction() as conn:
        parties = conn.execute("SELECT count(*) FROM raw_parties").fetchone()
        syncs = conn.execute("SELECT status FROM sync_runs").fetchall()
    assert parties == (40,) and syncs == [("finished",)]
