"""Recording simulation runs so each can be reproduced exactly, and reproducing them.

A run is stored in ``simulation_runs`` (scenario, status quo, panel date, the fitted model
itself, parameters and outputs) and announced in the hash-chained audit trail (action
``simulate``) with its scenario hash, model version and seed. :func:`reproduce_run` rebuilds the
panel from the warehouse, reloads the stored model and runs again: with the same data the outputs
are identical, which :func:`reproduce_run` checks.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import joblib

from imis_tier.features import build_panel
from imis_tier.simulate.engine import simulate
from imis_tier.simulate.forecast import Forecast
from imis_tier.simulate.model import TierChoiceModel
from imis_tier.simulate.scenario import BaseSpec, Scenario, structure_to_dict
from imis_tier.structure import TierStructure
from imis_tier.warehouse import Warehouse
from imis_tier.writeback.audit import default_actor, record_audit


@dataclass(frozen=True)
class RunRecord:
    """A recorded run (JSON fields decoded; ``model`` loaded on demand by :func:`reproduce_run`)."""

    run_id: str
    recorded_at: datetime
    name: str
    scenario_hash: str
    scenario: dict[str, Any]
    status_quo: dict[str, Any]
    as_of: date
    model_version: str
    params: dict[str, Any]
    outputs: dict[str, Any]
    audit_seq: int | None


def record_run(
    warehouse: Warehouse,
    forecast: Forecast,
    scenario: Scenario,
    model: TierChoiceModel,
    *,
    as_of: date,
    costs: dict[str, Decimal] | None = None,
    actor: str | None = None,
) -> RunRecord:
    """Store ``forecast`` with everything needed to reproduce it; append an audit record."""
    params = {
        "draws": forecast.draws,
        "horizon": forecast.horizon,
        "seed": forecast.seed,
        "by": list(forecast.by),
        "level": forecast.level,
        "costs": {k: str(v) for k, v in sorted((costs or {}).items())},
    }
    scenario_json = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    status_quo = structure_to_dict(forecast.status_quo_structure)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    blob = buffer.getvalue()
    key = json.dumps(
        [scenario_json, status_quo, str(as_of), model.version_, params], sort_keys=True
    )
    run_id = hashlib.sha256(key.encode()).hexdigest()[:16]
    outputs = forecast.to_json()
    audit = record_audit(
        warehouse,
        actor=actor or default_actor(),
        action="simulate",
        target=f"simulation_runs/{run_id}",
        counts={"members": int(forecast.meta.get("members", 0)), "draws": forecast.draws},
        inputs={
            "run_id": run_id,
            "scenario": forecast.name,
            "scenario_hash": scenario.digest(),
            "as_of": str(as_of),
            **params,
        },
        model_versions={"tier_choice": model.version_},
        outputs={"summary": outputs["summary"]["change"]},
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.transaction() as conn:
        conn.execute("DELETE FROM simulation_runs WHERE run_id = ?", [run_id])
        conn.execute(
            "INSERT INTO simulation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id, now, forecast.name, scenario.digest(), json.dumps(scenario_json, sort_keys=True),
                json.dumps(status_quo, sort_keys=True), as_of, model.version_, blob,
                json.dumps(params, sort_keys=True), json.dumps(outputs, sort_keys=True, default=str),
                audit.seq,
            ],
        )  # fmt: skip
    return load_run(warehouse, run_id)


def load_run(warehouse: Warehouse, run_id: str) -> RunRecord:
    """The recorded run ``run_id`` (a unique prefix is enough)."""
    rows = warehouse.fetchall(
        "SELECT run_id, recorded_at, name, scenario_hash, scenario, status_quo, as_of, "
        "model_version, params, outputs, audit_seq FROM simulation_runs WHERE run_id LIKE ?",
        [f"{run_id}%"],
    )
    if len(rows) != 1:
        raise KeyError(
            f"{'no' if not rows else 'more than one'} recorded simulation run matches {run_id!r}"
        )
    r = rows[0]
    return RunRecord(
        r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6], r[7],
        json.loads(r[8]), json.loads(r[9]), r[10],
    )  # fmt: skip


def list_runs(warehouse: Warehouse) -> list[RunRecord]:
    """Every recorded run, oldest first."""
    ids = warehouse.fetchall("SELECT run_id FROM simulation_runs ORDER BY recorded_at")
    return [load_run(warehouse, str(i)) for (i,) in ids]


def reproduce_run(warehouse: Warehouse, run_id: str) -> tuple[Forecast, bool]:
    """Run a recorded simulation again; returns the forecast and whether the outputs match."""
    record = load_run(warehouse, run_id)
    (blob,) = warehouse.fetchone(
        "SELECT model FROM simulation_runs WHERE run_id = ?", [record.run_id]
    ) or (None,)
    model: TierChoiceModel = joblib.load(io.BytesIO(bytes(blob)))
    scenario = Scenario.model_validate(record.scenario)
    status_quo: TierStructure = BaseSpec.model_validate(record.status_quo).to_structure()
    p = record.params
    costs = {k: Decimal(v) for k, v in p["costs"].items()}
    forecast = simulate(
        scenario,
        build_panel(warehouse, record.as_of),
        model,
        status_quo=status_quo,
        draws=p["draws"],
        horizon=p["horizon"],
        seed=p["seed"],
        by=p["by"],
        level=p["level"],
        costs=costs,
    )
    again = json.loads(json.dumps(forecast.to_json(), sort_keys=True, default=str))
    return forecast, again == record.outputs
