"""Same seed, same association; another seed, another one."""

from __future__ import annotations

import pandas as pd
import pytest

from imis_tier.synthetic import SyntheticAssociation, generate_association


def test_same_seed_gives_identical_tables(assoc: SyntheticAssociation) -> None:
    again = generate_association(members=800, seed=0)
    for name, frame in assoc.tables.items():
        pd.testing.assert_frame_equal(frame, getattr(again.tables, name), obj=name)
    pd.testing.assert_frame_equal(assoc.truth.decisions, again.truth.decisions)


def test_another_seed_gives_other_tables(assoc: SyntheticAssociation) -> None:
    other = generate_association(members=800, seed=1)
    assert not assoc.tables.activities["party_id"].equals(other.tables.activities["party_id"])
    assert not assoc.tables.parties["customer_type_code"].equals(
        other.tables.parties["customer_type_code"]
    )


@pytest.mark.parametrize(
    "kwargs", [{"members": 0}, {"months": 0}, {"end": __import__("datetime").date(2026, 11, 15)}]
)
def test_bad_arguments_are_named(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        generate_association(**kwargs)  # type: ignore[arg-type]
