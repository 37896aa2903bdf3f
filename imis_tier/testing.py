"""Test and demo helpers: a warehouse filled from a synthetic association, without HTTP.

The rows go through the same loader as a real sync (the IQA-export route), so what a test reads is
what a backfill from the emulator would have stored.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from imis_tier.synthetic import SyntheticAssociation, generate_association
from imis_tier.synthetic.iqa_exports import iqa_exports
from imis_tier.warehouse import Warehouse
from imis_tier.warehouse.sources import write_exports
from imis_tier.warehouse.sync import load_exports


def load_association(association: SyntheticAssociation, warehouse: Warehouse) -> Warehouse:
    """Load an association's observable tables into ``warehouse`` through the file route."""
    with tempfile.TemporaryDirectory(prefix="imis-tier-exports-") as directory:
        write_exports(directory, iqa_exports(association.tables, association.clock))
        load_exports(directory, warehouse)
    return warehouse


def filled_warehouse(
    members: int = 2000, seed: int = 3, *, path: str | Path = ":memory:", **generate: Any
) -> tuple[Warehouse, SyntheticAssociation]:
    """A new synthetic association and a warehouse holding what iMIS would show of it."""
    association = generate_association(members=members, seed=seed, **generate)
    return load_association(association, Warehouse(path)), association
