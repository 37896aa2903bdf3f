"""The tier-choice estimators live in :mod:`imis_tier.choice`; this name is kept for compatibility."""

from imis_tier.choice import ChoiceData, ConditionalLogit, MixedLogit, NestedLogit, make_choice_data

__all__ = ["ChoiceData", "ConditionalLogit", "MixedLogit", "NestedLogit", "make_choice_data"]
