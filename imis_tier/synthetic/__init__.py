"""A synthetic association: iMIS-like tables generated from a documented behavioural truth.

``generate_association`` builds the history; ``SyntheticAssociation.tables`` is what iMIS would
hold (served by the emulator), ``SyntheticAssociation.truth`` is hidden and only for checking
forecasts. See ``docs/synthetic.md``.
"""

from imis_tier.synthetic.catalog import (
    BENEFIT_MOVE_BENEFIT,
    BENEFIT_MOVE_DATE,
    BENEFIT_MOVE_FROM,
    BENEFIT_MOVE_TO,
    BENEFITS,
    NON_MEMBER,
    PRICE_CHANGE_DATE,
    PRICE_CHANGE_NEW,
    PRICE_CHANGE_OLD,
    PRICE_CHANGE_TIER,
    default_structure,
)
from imis_tier.synthetic.generator import DEFAULT_END, SyntheticAssociation, generate_association
from imis_tier.synthetic.params import TruthParameters
from imis_tier.synthetic.tables import COLUMNS, AssociationTables
from imis_tier.synthetic.truth import ForwardRun, GroundTruth

__all__ = [
    "BENEFITS",
    "BENEFIT_MOVE_BENEFIT",
    "BENEFIT_MOVE_DATE",
    "BENEFIT_MOVE_FROM",
    "BENEFIT_MOVE_TO",
    "COLUMNS",
    "DEFAULT_END",
    "NON_MEMBER",
    "PRICE_CHANGE_DATE",
    "PRICE_CHANGE_NEW",
    "PRICE_CHANGE_OLD",
    "PRICE_CHANGE_TIER",
    "AssociationTables",
    "ForwardRun",
    "GroundTruth",
    "SyntheticAssociation",
    "TruthParameters",
    "default_structure",
    "generate_association",
]
