"""Discrete tier-choice models: each renewal decision over the tiers a member may pick, plus lapsing.

Prices and benefits enter as attributes of the alternatives, so a tier structure never seen in
the data can be simulated. Three estimators share one sklearn-style surface (``fit``,
``predict_proba``, ``probabilities_wide``, ``summary``, ``willingness_to_pay``, ``sample_coefs``):

- :class:`ConditionalLogit`: the workhorse; substitution proportional to shares.
- :class:`NestedLogit`: nests of closer substitutes (tiers vs. lapsing).
- :class:`MixedLogit`: random coefficients (heterogeneous price sensitivity), panel-aware.

:func:`make_choice_data` simulates data with known parameters.
"""

from imis_tier.choice.conditional import ConditionalLogit
from imis_tier.choice.datasets import ChoiceData, make_choice_data
from imis_tier.choice.mixed import MixedLogit
from imis_tier.choice.nested import NestedLogit

__all__ = ["ChoiceData", "ConditionalLogit", "MixedLogit", "NestedLogit", "make_choice_data"]
