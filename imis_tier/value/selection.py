"""Choose between the sBG and the BdW for a cohort (or a table of cohorts).

The sBG is the BdW with ``c = 1``, so the two nest: twice the log-likelihood gain of the BdW is
asymptotically chi-square with one degree of freedom when the sBG is true (c = 1 is an interior
point). The BdW is chosen only when it is both significantly better by that test and better by
AIC; otherwise the simpler sBG, whose DERL has a closed form, is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from imis_tier.value._data import DurationData, SurvivorTable, cohort_table, single_cohort
from imis_tier.value.bdw import BdWFit, fit_bdw_data
from imis_tier.value.retention import RetentionFit
from imis_tier.value.sbg import SBGFit, fit_sbg_data


@dataclass(frozen=True)
class RetentionModelChoice:
    """The chosen model, both candidates, the likelihood-ratio test and a one-line reason."""

    model: RetentionFit
    sbg: SBGFit
    bdw: BdWFit
    lr_statistic: float
    p_value: float
    reason: str

    @property
    def name(self) -> str:
        """``"sBG"`` or ``"BdW"``."""
        return self.model.model_name


def _is_table(survivors: object) -> bool:
    if hasattr(survivors, "columns"):
        return True
    arr = np.asarray(survivors, dtype=object)
    return arr.ndim == 2 or (arr.ndim == 1 and len(arr) > 0 and isinstance(arr[0], list | tuple))


def select_retention_model(
    survivors: SurvivorTable, *, significance: float = 0.05
) -> RetentionModelChoice:
    """Fit sBG and BdW to one cohort's survivors (or a table of cohorts) and pick the better.

    The BdW wins when its likelihood-ratio test against the sBG has p < ``significance`` and
    its AIC is lower; the reason string states the figures either way.
    """
    if not 0 < significance < 1:
        raise ValueError(f"significance must be in (0, 1), got {significance}")
    data: DurationData
    if _is_table(survivors):
        data = cohort_table(survivors, min_periods=3)
    else:
        data = single_cohort(survivors, min_periods=3)
    sbg = fit_sbg_data(data)
    bdw = fit_bdw_data(data, sbg)
    statistic = max(0.0, 2.0 * (bdw.log_likelihood - sbg.log_likelihood))
    p_value = float(chi2.sf(statistic, 1))
    figures = (
        f"LR = {statistic:.2f} (p = {p_value:.3g}), AIC sBG {sbg.aic:.1f} vs BdW {bdw.aic:.1f}, "
        f"c = {bdw.c:.3f}"
    )
    if p_value < significance and bdw.aic < sbg.aic:
        trend = "falls" if bdw.c < 1 else "rises"
        reason = (
            f"BdW: duration dependence is significant ({figures}); each member's churn "
            f"probability {trend} with tenure"
        )
        return RetentionModelChoice(bdw, sbg, bdw, statistic, p_value, reason)
    reason = f"sBG: no significant duration dependence at {significance:g} ({figures})"
    return RetentionModelChoice(sbg, sbg, bdw, statistic, p_value, reason)
