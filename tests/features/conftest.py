from __future__ import annotations

import pytest

from imis_tier.synthetic import SyntheticAssociation
from imis_tier.testing import filled_warehouse
from imis_tier.warehouse import Warehouse


@pytest.fixture(scope="module")
def filled() -> tuple[Warehouse, SyntheticAssociation]:
    return filled_warehouse(members=1200, seed=11)
