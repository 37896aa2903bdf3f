"""Contractual lifetime value: how long members stay, and what their remaining dues are worth.

- :func:`fit_sbg` / :func:`fit_sbg_cohorts`: the shifted-beta-geometric retention model (Fader &
  Hardie 2007), one cohort or many right-censored cohorts sharing parameters;
  :func:`fit_sbg_by_segment` and :func:`segment_lr_test` for per-segment fits.
- :func:`fit_bdw` / :func:`fit_bdw_cohorts`: the beta-discrete-Weibull, adding duration
  dependence ``c`` (c = 1 is the sBG).
- :func:`select_retention_model`: the better of the two by likelihood-ratio test and AIC.
- :func:`fit_bgbb`: the BG/BB model of yes/no purchases per period (non-dues revenue).

Every retention fit offers ``survival``, ``retention``, ``churn_probability``, ``derl``
(discounted expected residual lifetime, Fader & Hardie 2010), ``residual_value`` (Decimal money),
``project``, ``aic`` and ``bic``.
"""

from imis_tier.value._mle import FitError
from imis_tier.value.backtest import retention_backtest
from imis_tier.value.bdw import BdWFit, fit_bdw, fit_bdw_cohorts
from imis_tier.value.benefits import BenefitReport, benefit_report
from imis_tier.value.bgbb import BGBBFit, fit_bgbb
from imis_tier.value.cohorts import CohortReport, cohort_retention
from imis_tier.value.individual import MemberValue, member_value, member_values
from imis_tier.value.payment_risk import payment_risk
from imis_tier.value.retention import RetentionFit
from imis_tier.value.sbg import (
    SBGFit,
    fit_sbg,
    fit_sbg_by_segment,
    fit_sbg_cohorts,
    segment_lr_test,
)
from imis_tier.value.selection import RetentionModelChoice, select_retention_model

__all__ = [
    "BGBBFit",
    "BdWFit",
    "BenefitReport",
    "CohortReport",
    "FitError",
    "MemberValue",
    "RetentionFit",
    "RetentionModelChoice",
    "SBGFit",
    "benefit_report",
    "cohort_retention",
    "fit_bdw",
    "fit_bdw_cohorts",
    "fit_bgbb",
    "fit_sbg",
    "fit_sbg_by_segment",
    "fit_sbg_cohorts",
    "member_value",
    "member_values",
    "payment_risk",
    "retention_backtest",
    "segment_lr_test",
    "select_retention_model",
]
