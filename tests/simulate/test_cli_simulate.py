import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from imis_tier_cli.simulate import scenario, simulate

from imis_tier.testing import filled_warehouse

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sim") / "wh.duckdb"
    wh, _ = filled_warehouse(members=1200, seed=5, path=path)
    wh.close()
    return str(path)


def test_init_run_replay_compare(warehouse_file: str, tmp_path: Path) -> None:
    runner = CliRunner()
    start = tmp_path / "start.yaml"
    res = runner.invoke(scenario, ["init", "--warehouse", warehouse_file, "-o", str(start)])
    assert res.exit_code == 0, res.output
    text = start.read_text()
    assert "base:" in text and "STD" in text
    edited = tmp_path / "edited.yaml"
    edited.write_text(
        text.replace("changes: []", "changes:\n- set_price: {tier: STD, price: '395.00'}")
    )
    res = runner.invoke(
        simulate,
        [
            str(edited),
            "--warehouse",
            warehouse_file,
            "--draws",
            "20",
            "--json",
            "--by",
            "career_stage",
            "--chart",
            str(tmp_path / "c.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["summary"]["change"]["churn_rate"]["mean"] > 0
    assert out["by_group"] and (tmp_path / "c.png").stat().st_size > 0
    res = runner.invoke(
        simulate, ["replay", out["run_id"], "--warehouse", warehouse_file, "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["identical"] is True
    res = runner.invoke(
        simulate,
        [
            "compare",
            str(EXAMPLES / "std-price-rise.yaml"),
            str(EXAMPLES / "webinars-to-standard.yaml"),
            "--warehouse",
            warehouse_file,
            "--draws",
            "10",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Standard to $375" in res.output and "churn_rate" in res.output


def test_backtest_command(warehouse_file: str) -> None:
    res = CliRunner().invoke(
        simulate, ["backtest", "--warehouse", warehouse_file, "--draws", "10", "--json"]
    )
    assert res.exit_code == 0, res.output
    labels = [r["label"] for r in json.loads(res.stdout)]
    assert labels == ["price STD", "benefit webinars STD"]


def test_a_bad_scenario_is_one_readable_line(warehouse_file: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nchanges:\n  - set_price: {tier: STD}\n")
    res = CliRunner().invoke(simulate, [str(bad), "--warehouse", warehouse_file])
    assert res.exit_code == 1
    assert f"{bad}:3: changes.0.set_price.price" in res.output
    res = CliRunner().invoke(scenario, ["check", str(bad)])
    assert res.exit_code == 1
