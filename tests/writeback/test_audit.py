"""The hash-chained audit trail: what it records, that it verifies, that tampering is caught."""

from __future__ import annotations

from datetime import UTC

from imis_tier.client import Client
from imis_tier.warehouse import Warehouse
from imis_tier.writeback import (
    GENESIS,
    audit_records,
    record_audit,
    verify_audit_chain,
    write_scores,
)

from .conftest import make_scores


def _three_records(warehouse: Warehouse) -> None:
    for n in range(3):
        record_audit(
            warehouse, actor="a.reviewer", action="apply", change_set_hash=f"{n:064x}", target="X",
            counts={"create": n}, inputs={"as_of": "2025-01-31"}, model_versions={"model_ref": ["m1"]},
        )  # fmt: skip


def test_an_apply_is_recorded_with_inputs_models_and_outputs(
    imis: Client, warehouse: Warehouse, party_ids: list[str]
) -> None:
    outcome = write_scores(
        make_scores(party_ids), imis, warehouse, apply=True, approved_by="a.reviewer"
    )
    (record,) = audit_records(warehouse)
    assert record.seq == 1 and record.prev_hash == GENESIS
    assert record.actor == "a.reviewer" and record.action == "apply"
    assert record.recorded_at.tzinfo is UTC
    assert record.change_set_hash == outcome.change_set.hash
    assert record.target == "Member_Tier_Score"
    assert record.counts == {"create": len(party_ids), "update": 0, "delete": 0, "noop": 0}
    assert record.inputs["as_of"] == "2025-01-31"
    assert len(record.inputs["data_hash"]) == 64 and record.inputs["members"] == len(party_ids)
    assert record.model_versions == {"model_ref": ["propensity-1.0.0"]}
    assert record.outputs["created"] == len(party_ids)
    assert verify_audit_chain(warehouse)


def test_chain_links_records_and_verifies(warehouse: Warehouse) -> None:
    assert verify_audit_chain(warehouse).records == 0
    _three_records(warehouse)
    records = audit_records(warehouse)
    assert [r.prev_hash for r in records[1:]] == [r.record_hash for r in records[:-1]]
    outcome = verify_audit_chain(warehouse)
    assert outcome.ok and outcome.records == 3


def test_an_edited_record_is_detected(warehouse: Warehouse) -> None:
    _three_records(warehouse)
    warehouse.execute("UPDATE writeback_audit SET counts = '{\"create\":500}' WHERE seq = 2")
    outcome = verify_audit_chain(warehouse)
    assert not outcome.ok and outcome.broken_at == 2
    assert "altered" in (outcome.problem or "")


def test_a_rehashed_edit_breaks_the_next_link(warehouse: Warehouse) -> None:
    _three_records(warehouse)
    # a forger who also recomputes the edited record's own hash still breaks record 3's link
    (record,) = [r for r in audit_records(warehouse) if r.seq == 2]
    forged = record.__class__(**{**record.__dict__, "actor": "someone.else"})
    warehouse.execute(
        "UPDATE writeback_audit SET actor = ?, record_hash = ? WHERE seq = 2",
        ["someone.else", forged.computed_hash()],
    )
    outcome = verify_audit_chain(warehouse)
    assert (outcome.ok, outcome.broken_at) == (False, 3)


def test_a_removed_record_is_detected(warehouse: Warehouse) -> None:
    _three_records(warehouse)
    warehouse.execute("DELETE FROM writeback_audit WHERE seq = 2")
    outcome = verify_audit_chain(warehouse)
    assert (outcome.ok, outcome.broken_at) == (False, 3)
    assert "missing" in (outcome.problem or "")


def test_secrets_never_enter_a_record(warehouse: Warehouse) -> None:
    record_audit(
        warehouse,
        actor="a.reviewer",
        action="apply",
        inputs={
            "base_url": "https://api.sync:S3cret!@assoc.example.org/imis?access_token=abc&page=2",
            "password": "S3cret!",
            "nested": {"Authorization": "Bearer abc", "client_secret": "xyz", "kept": 1},
        },
    )
    (record,) = audit_records(warehouse)
    stored = str(warehouse.execute("SELECT inputs FROM writeback_audit").fetchall())
    for secret in ("S3cret!", "abc", "xyz"):
        assert secret not in stored
    assert (
        record.inputs["base_url"]
        == "https://assoc.example.org/imis?access_token=%5Bredacted%5D&page=2"
    )
    assert record.inputs["nested"] == {
        "Authorization": "[redacted]",
        "client_secret": "[redacted]",
        "kept": 1,
    }
    assert verify_audit_chain(warehouse)
