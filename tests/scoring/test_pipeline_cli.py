"""`imis-tier score`, `score explain` and `score evaluate` on a warehouse file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from imis_tier_cli.score import score

from imis_tier.warehouse import Warehouse


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(score, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_score_explain_and_evaluate(warehouse_file: Path, tmp_path: Path) -> None:
    base = ["--warehouse", str(warehouse_file), "--registry", str(tmp_path / "models")]
    code, out, _ = _run([*base, "--as-of", "2026-10-01", "--months", "12", "--json", "--top", "3"])
    assert code == 0, out
    run = json.loads(out)
    assert run["trained"] and run["scored"] > 300 and len(run["top_upgrade"]) == 3
    assert run["top_lapse"][0]["p_lapse"] >= run["top_lapse"][-1]["p_lapse"]
    with Warehouse(warehouse_file) as wh:
        stored = wh.fetchone(
            "SELECT count(*), min(model_ref) FROM scores WHERE run_id = ?", [run["run_id"]]
        )
    assert stored == (run["scored"], run["model_ref"])

    # one tier, human output: the registered model is reused
    code, out, err = _run([*base, "--as-of", "2026-10-01", "--tier", "STD", "--top", "2"])
    assert code == 0 and "top upgrade candidates:" in out and "top lapse candidates:" in out
    assert run["model_ref"] in out and "newly fitted" not in out
    assert "writeback scores --run-id" in err

    member = run["top_lapse"][0]["party_id"]
    code, out, _ = _run([*base, "explain", member])
    assert code == 0 and f"member {member}" in out and "toward lapse" in out
    code, out, _ = _run([*base, "explain", member, "--json", "-k", "2"])
    explained = json.loads(out)
    assert explained["probability"]["lapse"] == run["top_lapse"][0]["p_lapse"]
    assert all(len(v) == 2 for v in explained["drivers"].values())

    code, out, _ = _run([*base, "evaluate", "--months", "12", "--json"])
    assert code == 0
    report = json.loads(out)
    overall = {r["outcome"]: r for r in report["by_outcome"] if r["group"] == "(all)"}
    assert set(overall) == {"renew", "upgrade", "downgrade", "lapse"}
    assert overall["lapse"]["auc"] > 0.55


def test_clear_errors(warehouse_file: Path, tmp_path: Path) -> None:
    code, _, _ = _run(["--warehouse", str(tmp_path / "none.duckdb")])
    assert code == 1
    base = ["--warehouse", str(warehouse_file), "--registry", str(tmp_path / "models")]
    code, _, err = _run([*base, "explain", "999999999"])
    assert code == 1 and "no stored scores" in err
    code, _, err = _run([*base, "--as-of", "2024-01-01"])
    assert code == 1 and "no renewal decisions settled before 2024-01-01" in err
