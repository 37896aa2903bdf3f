from __future__ import annotations

import pytest

from imis_tier.synthetic import SyntheticAssociation, generate_association


@pytest.fixture(scope="module")
def assoc() -> SyntheticAssociation:
    """A small association shared by a module's read-only tests (never advanced)."""
    return generate_association(members=800, seed=0)
