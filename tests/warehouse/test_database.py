"""The warehouse file: versioned migrations applied once, refused when newer than the library."""

from __future__ import annotations

from pathlib import Path

import pytest

from imis_tier.warehouse import Warehouse, WarehouseError, available_migrations


def test_migrations_apply_once_and_persist(tmp_path: Path) -> None:
    path = tmp_path / "assoc.duckdb"
    with Warehouse(path) as first:
        newest = max(m.version for m in available_migrations())
        assert first.schema_version == newest
        assert "raw_parties" in first.tables()
        first.execute("INSERT INTO raw_customer_types VALUES ('STD', 'Standard', true, 3)")
    with Warehouse(path) as again:
        assert again.migrate() == []  # nothing pending
        assert again.execute("SELECT count(*) FROM raw_customer_types").fetchone() == (1,)


def test_a_warehouse_from_a_newer_library_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "assoc.duckdb"
    with Warehouse(path) as warehouse:
        warehouse.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')")
    with pytest.raises(WarehouseError, match="9999"):
        Warehouse(path)


def test_transaction_rolls_back_everything_on_error() -> None:
    warehouse = Warehouse()
    with pytest.raises(ValueError), warehouse.transaction() as conn:
        conn.execute("INSERT INTO raw_customer_types VALUES ('STD', 'Standard', true, 3)")
        raise ValueError("boom")
    assert warehouse.execute("SELECT count(*) FROM raw_customer_types").fetchone() == (0,)
