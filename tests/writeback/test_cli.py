"""`imis-tier writeback` end to end: dry run, apply, show, audit verify, and a real SIGKILL mid-apply."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from imis_tier_cli.writeback import writeback

from imis_tier.client import Client
from imis_tier.emulator import Emulator, FaultConfig
from imis_tier.warehouse import Warehouse
from imis_tier.writeback import StagedChangeSet, journal_entries, staged_change_sets

from .conftest import make_scores, writes


def _env(emu: Emulator) -> dict[str, str]:
    return {
        "IMIS_BASE_URL": emu.base_url,
        "IMIS_USERNAME": emu.username,
        "IMIS_PASSWORD": str(emu.password),
        "IMIS_TIER_ACTOR": "ops.lead",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


def _score_warehouse(path: Path, party_ids: list[str], run_id: str = "run-2025-01") -> None:
    """A warehouse with a run in its ``scores`` table, as the scoring layer leaves it."""
    with Warehouse(path) as wh:
        frame = make_scores(party_ids)
        frame.insert(0, "run_id", run_id)
        frame["tier"] = "STD"
        frame["churn_risk"] = frame["p_lapse"]
        frame["scored_at"] = pd.Timestamp("2025-01-02 03:04:05")
        wh.connection.register("_scores_in", frame)
        wh.execute(f"INSERT INTO scores ({', '.join(frame.columns)}) SELECT * FROM _scores_in")
        wh.connection.unregister("_scores_in")


def _run(args: list[str], emu: Emulator) -> tuple[int, str, str]:
    result = CliRunner().invoke(writeback, args, env=_env(emu), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_scores_dry_run_then_apply_show_and_verify(
    emu: Emulator, imis: Client, party_ids: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "wh.duckdb"
    _score_warehouse(path, party_ids)
    db = ["--warehouse", str(path)]

    code, out, err = _run(["scores", *db], emu)
    assert code == 0
    assert f"Member_Tier_Score: {len(party_ids)} create, 0 update" in out
    assert f"+ {party_ids[0]}  create" in out and "dry run: nothing written" in err
    assert writes(emu, "Member_Tier_Score") == []

    code, out, err = _run(["scores", "--apply", *db], emu)
    assert code == 0 and f"created {len(party_ids)}" in err
    rows = Counter(str(r["ID"]) for r in imis.entities("Member_Tier_Score").list(limit=500))
    assert rows == Counter(dict.fromkeys(party_ids, 1))

    code, out, _ = _run(["scores", *db], emu)
    assert f"0 create, 0 update, 0 delete, {len(party_ids)} unchanged" in out

    code, out, _ = _run(["show", *db], emu)
    assert code == 0 and "applied" in out and "by ops.lead" in out
    applied_hash = next(s.change_set_hash for s in _staged(path) if s.status == "applied")
    code, out, _ = _run(["show", applied_hash[:10], *db], emu)
    assert f"journal: done {len(party_ids)}" in out

    code, out, _ = _run(["audit", "verify", *db], emu)
    assert (code, out.strip()) == (0, "audit chain intact: 1 record(s)")
    with Warehouse(path) as wh:
        wh.execute("UPDATE writeback_audit SET actor = 'mallory'")
    code, out, _ = _run(["audit", "verify", *db], emu)
    assert code == 1 and "BROKEN at record 1" in out


def test_scores_before_any_scoring_run_is_a_clear_error(emu: Emulator, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        writeback, ["scores", "--warehouse", str(tmp_path / "x.duckdb")], env=_env(emu)
    )
    assert result.exit_code == 1
    assert "'scores' table is empty: score members first" in result.output


def _staged(path: Path) -> list[StagedChangeSet]:
    with Warehouse(path) as wh:
        return staged_change_sets(wh)


def _created(emu: Emulator) -> int:
    return sum(
        1
        for r in emu.request_log
        if r.method == "POST" and "Member_Tier_Score" in r.path and r.status == 201
    )


@pytest.mark.slow
def test_sigkill_mid_apply_then_resume_writes_each_member_once(
    emu: Emulator, imis: Client, party_ids: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "wh.duckdb"
    _score_warehouse(path, party_ids)
    emu.set_faults(FaultConfig(latency_ms=40))  # slow iMIS: a wide window to kill the run in
    script = (
        "from imis_tier_cli.writeback import writeback; "
        f"writeback.main(['scores', '--apply', '--batch-size', '5', '--warehouse', {str(path)!r}],"
        " prog_name='writeback')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env={**os.environ, **_env(emu)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while _created(emu) < 8 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, (
            f"the run ended before it could be killed: {proc.stderr.read() if proc.stderr else ''!r}"
        )
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    emu.set_faults(FaultConfig())
    time.sleep(0.1)  # a request in flight at the kill may still be answered
    written_before_resume = _created(emu)
    assert 8 <= written_before_resume < len(party_ids)

    (killed,) = _staged(path)
    assert killed.status == "applying"
    with Warehouse(path) as wh:
        statuses = Counter(e.status for e in journal_entries(wh, killed.change_set_hash).values())
    # at most one journal batch (5) is uncertain; everything confirmed before it is done
    assert statuses["pending"] <= 5 and statuses["done"] >= written_before_resume - 5

    code, _, err = _run(
        ["resume", killed.change_set_hash[:12], "--apply", "--warehouse", str(path)], emu
    )
    assert code == 0, err
    rows = Counter(str(r["ID"]) for r in imis.entities("Member_Tier_Score").list(limit=500))
    assert rows == Counter(dict.fromkeys(party_ids, 1))
    assert _created(emu) == len(party_ids)  # no create was sent twice
    with Warehouse(path) as wh:
        assert {e.status for e in journal_entries(wh, killed.change_set_hash).values()} == {"done"}
    code, out, _ = _run(["scores", "--warehouse", str(path)], emu)
    assert f"0 create, 0 update, 0 delete, {len(party_ids)} unchanged" in out
