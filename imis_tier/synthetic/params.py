"""The behavioural parameters of the ground truth (documented in ``docs/synthetic.md``).

These are the true values behind the synthetic association. Models never see them; they exist so
that tests and back-tests can compare a forecast with what really drives the members.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _asc() -> dict[str, float]:
    return {"STU": 1.4, "EARLY": 1.3, "STD": 1.6, "PREM": 1.25, "LEAD": 1.4}


@dataclass(frozen=True)
class TruthParameters:
    """True parameters of renewal choice, engagement and payment behaviour.

    Utility of tier ``j`` for member ``i`` (price in $100)::

        V_ij = asc_j + belonging * e_i
               + sum_{b in j} value_ib * (1 - exp(-use_ib * exp(e_i) / saturation_b))
               - alpha_i * price_ij
               - loss_aversion * alpha_i * max(0, price_ij - last_paid_i)   [current tier only]
               + [j current] * (habit_i + habit_tenure * log1p(tenure_i) + autopay_habit * autopay_i)
               - [j above current] * switch_up - [j below current] * switch_down
        V_i,LAPSE = lapse_stage[stage_i] + laxity_lapse * laxity_i

    Tiers share a nest with dissimilarity ``nest_lambda`` (LAPSE is alone); noise is Gumbel.
    """

    asc: dict[str, float] = field(default_factory=_asc)
    asc_unknown: float = 1.2
    belonging: float = 0.45
    alpha_stage: tuple[float, float, float, float, float] = (1.5, 0.95, 0.62, 0.48, 0.38)
    alpha_org_size: tuple[float, float, float, float] = (0.15, 0.05, -0.1, -0.25)
    alpha_international: float = 0.2
    alpha_sigma: float = 0.45
    loss_aversion: float = 1.5
    habit: float = 0.9
    habit_sigma: float = 0.35
    habit_tenure: float = 0.3
    autopay_habit: float = 0.8
    switch_up: float = 0.45
    switch_down: float = 0.6
    lapse_stage: tuple[float, float, float, float, float] = (0.9, 0.4, 0.0, -0.1, 0.1)
    laxity_lapse: float = 0.5
    nest_lambda: float = 0.55
    value_sigma: float = 0.5
    use_sigma: float = 0.6
    # Engagement: e_t = rho * e_{t-1} + (1 - rho) * mu_i + sigma * eps.
    engagement_mean: float = -0.2
    engagement_spread: float = 0.55
    engagement_rho: float = 0.85
    engagement_sigma: float = 0.25
    # Career stage advance hazards per month: student->early, early->mid, mid->senior, senior->exec.
    stage_hazard: tuple[float, float, float, float] = (1 / 30, 1 / 72, 1 / 110, 1 / 150)
    # Monthly reinstatement hazard of a lapsed member within two years, times exp(e).
    reinstate_hazard: float = 0.012
    grace_days: int = 60
    autopay_share: float = 0.3
