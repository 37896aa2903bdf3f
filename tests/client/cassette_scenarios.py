"""Client sessions recorded into cassettes/ and replayed by test_cassettes.py.

Each scenario takes a client and returns plain, comparable facts; the recording stores them
beside the cassette so a replay can prove it reproduces the recorded session exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from imis_tier.client import Client

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


def parties_and_query(imis: Client) -> dict[str, Any]:
    parties = list(imis.parties.list(limit=20, max_items=45))
    rows = list(imis.query("$/Tier/Members", limit=25, max_items=30))
    return {
        "party_ids": [p.party_id for p in parties],
        "paid_thru": [str(p.paid_thru_date) for p in parties],
        "query_ids": [r["ID"] for r in rows],
        "requests": imis.request_count,
    }


def entity_writes(imis: Client) -> dict[str, Any]:
    party_id = next(iter(imis.parties.list(limit=1, max_items=1))).party_id
    scores = imis.entities("Member_Tier_Score")
    row = scores.upsert(
        {"ID": party_id, "Engagement": Decimal("0.75"), "RecommendedTier": "PRO"}, key="ID"
    )
    review = imis.entities("Tier_Review").create(
        {"Reason": "cassette", "Status": "Open"}, parent_id=party_id
    )
    stored = scores.get(party_id)
    scores.delete(party_id)
    return {
        "identity": list(row.identity),
        "engagement": str(stored["Engagement"]),
        "review_ordinal_is_real": review.identity[1] != "0",
    }


SCENARIOS: dict[str, Callable[[Client], dict[str, Any]]] = {
    "parties_and_query": parties_and_query,
    "entity_writes": entity_writes,
}
