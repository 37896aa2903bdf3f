"""Raw-row conversion: types, iMIS's no-date value, and schema drift named precisely."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from imis_tier.extracts import extract_for
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse._loader import SchemaDriftError, to_raw, upsert

PAYMENTS = extract_for("Payments")


def _payment(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "PaymentId": "9001", "InvoiceId": "77", "PartyId": "40125",
        "PaymentDate": "2025-03-01T00:00:00", "Amount": 345.0, "Method": "ACH",
        "Status": "Posted", "UpdatedOn": "2025-03-01T10:11:12",
    }
    row.update(overrides)
    return row


def test_rows_are_typed_and_upserted_by_identity() -> None:
    warehouse = Warehouse()
    frame = to_raw([_payment(), _payment(PaymentId="9002", Amount=12.5)], PAYMENTS)
    with warehouse.transaction():
        assert upsert(warehouse, PAYMENTS, frame) == 2
    # the same identity again replaces, never duplicates
    with warehouse.transaction():
        upsert(warehouse, PAYMENTS, to_raw([_payment(Amount=350.0)], PAYMENTS))
    rows = warehouse.execute("SELECT payment_id, amount FROM raw_payments ORDER BY 1").fetchall()
    assert rows == [("9001", Decimal("350.00")), ("9002", Decimal("12.50"))]


def test_no_date_marker_becomes_null() -> None:
    frame = to_raw([_payment(PaymentDate="0001-01-01T00:00:00")], PAYMENTS)
    assert pd.isna(frame.loc[0, "payment_date"])


def test_missing_required_column_names_entity_field_and_row() -> None:
    rows = [_payment()]
    del rows[0]["Amount"]
    with pytest.raises(SchemaDriftError) as info:
        to_raw(rows, PAYMENTS, source_offset=500)
    message = str(info.value)
    assert "Payments" in message and "'Amount'" in message and "#500" in message and "PaymentId='9001'" in message


def test_changed_type_names_the_offending_row() -> None:
    rows = [_payment(), _payment(PaymentId="9002", Amount={"$type": "System.Decimal", "$value": 1})]
    with pytest.raises(SchemaDriftError) as info:
        to_raw(rows, PAYMENTS, source_offset=0)
    assert info.value.field == "Amount" and "#1" in info.value.row and "9002" in info.value.row


def test_bad_date_is_refused() -> None:
    with pytest.raises(SchemaDriftError, match="PaymentDate"):
        to_raw([_payment(PaymentDate="yesterday")], PAYMENTS)


def test_failed_batch_leaves_the_table_as_it_was() -> None:
    warehouse = Warehouse()
    with warehouse.transaction():
        upsert(warehouse, PAYMENTS, to_raw([_payment()], PAYMENTS))
    with pytest.raises(RuntimeError), warehouse.transaction():
        upsert(warehouse, PAYMENTS, to_raw([_payment(PaymentId="9003")], PAYMENTS))
        raise RuntimeError("killed mid-batch")
    assert warehouse.execute("SELECT count(*) FROM raw_payments").fetchone() == (1,)
