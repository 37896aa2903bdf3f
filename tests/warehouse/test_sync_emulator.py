"""Backfill and sync through the SDK against the running emulator: exact, resumable, incremental."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from imis_tier.client import Client
from imis_tier.emulator import Emulator, FaultConfig
from imis_tier.extracts import EXTRACTS
from imis_tier.testing import load_association
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.sync import SchemaDriftError, backfill, sync_incremental


def _client(emu: Emulator) -> Client:
    return Client(emu.base_url, username=emu.username, password=emu.password, use_keyring=False)


def _raw(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    out = {}
    for extract in EXTRACTS:
        keys = ", ".join(extract.key)
        out[extract.table] = warehouse.query_df(f"SELECT * FROM {extract.table} ORDER BY {keys}")
    return out


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], check_dtype=False, obj=table)


@pytest.fixture
def emulator(make_imis_emulator: Callable[..., Emulator]) -> Emulator:
    return make_imis_emulator(members=300, seed=5)


def test_backfill_equals_the_file_route(emulator: Emulator) -> None:
    via_api = Warehouse()
    with _client(emulator) as client:
        result = backfill(client, via_api)
    assert result.rows["Parties"] == 300
    via_files = load_association(emulator.core.association, Warehouse())  # type: ignore[attr-defined]
    _assert_same(_raw(via_api), _raw(via_files))
    canonical = ["members", "tier_spells", "renewal_decisions", "tier_prices", "benefit_usage"]
    for table in canonical:
        left = via_api.query_df(f"SELECT * FROM {table} ORDER BY ALL")
        right = via_files.query_df(f"SELECT * FROM {table} ORDER BY ALL")
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=table)


def test_backfill_absorbs_faults(emulator: Emulator) -> None:
    emulator.set_faults(FaultConfig(error_rate=0.15, drop_rate=0.05, seed=4))
    faulty = Warehouse()
    with _client(emulator) as client:
        backfill(client, faulty, entities=["Parties", "Invoices"])
    emulator.set_faults(FaultConfig())
    clean = Warehouse()
    with _client(emulator) as client:
        backfill(client, clean, entities=["Parties", "Invoices"])
    for table in ("raw_parties", "raw_invoices"):
        pd.testing.assert_frame_equal(
            faulty.query_df(f"SELECT * FROM {table} ORDER BY 1"), clean.query_df(f"SELECT * FROM {table} ORDER BY 1")
        )


def test_incremental_sync_reads_only_what_changed(emulator: Emulator) -> None:
    warehouse = Warehouse()
    with _client(emulator) as client:
        backfill(client, warehouse)
        before = warehouse.fetchone("SELECT count(*) FROM raw_activities")
        emulator.advance(months=1)
        requests_before = len(emulator.request_log)
        result = sync_incremental(client, warehouse)
    assert before is not None
    after = warehouse.fetchone("SELECT count(*) FROM raw_activities")
    assert after is not None and after[0] > before[0]
    # the new month's rows only (plus a one-day look-back), not the whole history again
    assert 0 < result.rows["Activities"] < before[0] / 4
    assert len(emulator.request_log) - requests_before < 60
    # and the result equals a fresh backfill of the advanced association
    fresh = Warehouse()
    with _client(emulator) as client:
        backfill(client, fresh)
    _assert_same(_raw(warehouse), _raw(fresh))


def test_schema_drift_names_entity_field_and_row_and_keeps_the_warehouse(emulator: Emulator) -> None:
    warehouse = Warehouse()
    with _client(emulator) as client:
        backfill(client, warehouse, entities=["Parties"])
        before = warehouse.query_df("SELECT * FROM raw_parties ORDER BY party_id")

        # the site's query loses a column, as when an administrator edits the IQA
        original = emulator.core.queries["$/imistier/parties"]
        columns = {alias: prop for alias, prop in original.columns.items() if alias != "CustomerTypeCode"}
        emulator.define_query(original.path, entity=original.entity, columns=columns, prompts=original.prompts)
        with pytest.raises(SchemaDriftError) as info:
            backfill(client, warehouse, entities=["Parties"])
    assert info.value.entity == "Parties" and info.value.field == "CustomerTypeCode"
    assert "PartyId=" in info.value.row
    pd.testing.assert_frame_equal(before, warehouse.query_df("SELECT * FROM raw_parties ORDER BY party_id"))


def test_backfill_killed_with_sigkill_resumes_to_identical_tables(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "killed.duckdb"
    env = {**os.environ, "IMIS_BASE_URL": emulator.base_url, "IMIS_USERNAME": emulator.username,
           "IMIS_PASSWORD": emulator.password, "IMIS_TIER_WAREHOUSE": str(path)}
    # slow the emulator down so the kill lands mid-run, between pages of a large entity
    emulator.set_faults(FaultConfig(latency_ms=15))
    command = [sys.executable, "-m", "imis_tier_cli.main", "backfill"]
    served = len(emulator.request_log)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(emulator.request_log) - served < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    emulator.set_faults(FaultConfig())
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "(resumed)" in finished.stdout
    with Warehouse(path) as resumed:
        reference = Warehouse()
        with _client(emulator) as client:
            backfill(client, reference)
        _assert_same(_raw(resumed), _raw(reference))
        runs = resumed.fetchall("SELECT status FROM sync_runs")
    assert runs == [("finished",)]
