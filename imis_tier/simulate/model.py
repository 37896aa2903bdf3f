"""The tier-choice model: a discrete-choice estimator fitted on past renewals, able to score any structure.

::

    model = TierChoiceModel("conditional").fit(warehouse)            # all settled renewals
    model.willingness_to_pay()                                       # $ per benefit
    P = model.probabilities(members, structure, coef=model.sample_coefs(200))  # (draws, members, alts)

``kind`` picks the estimator of :mod:`imis_tier.choice`: ``conditional`` (default),
``nested`` (tiers in one nest, LAPSE alone) or ``mixed`` (a random, negative-lognormal price
coefficient). The attributes are those of :mod:`imis_tier.simulate.design`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from imis_tier.choice import ConditionalLogit, MixedLogit, NestedLogit
from imis_tier.simulate.choice_data import MIN_HISTORY_MONTHS, ChoiceDataset, choice_dataset
from imis_tier.simulate.design import Alternatives, Members, design
from imis_tier.structure import LAPSE, Eligibility, TierStructure
from imis_tier.warehouse import Warehouse

KINDS = ("conditional", "nested", "mixed")


class TierChoiceModel(BaseEstimator):
    """A tier-choice model over the tiers a member may pick plus LAPSE.

    Parameters
    ----------
    kind:
        ``conditional``, ``nested`` or ``mixed``.
    mixed_draws:
        Halton draws per member for the mixed logit (fitting and prediction).
    seed:
        Seed of the mixed logit's draws.
    max_iter:
        Optimiser iteration limit.
    price_rise:
        Add a loss-averse reaction to a price above what the member last paid, on their current
        tier (the ``price_rise`` feature), when the history shows such rises. Off by default: a
        history with a single price change cannot tell that reaction from whatever else changed
        around it (in the synthetic association, a benefit moved six months later), and with it
        the back-test of that benefit move was 1-2 points worse (``docs/scenarios.md``).
    benefit_loss:
        Add the reaction to losing benefits the member's tier gave them at their last renewal
        (the ``benefit_loss`` feature: how many, on their current tier, felt at the next renewal
        only), when the history shows a benefit leaving a tier.

    Attributes
    ----------
    estimator_:
        The fitted choice estimator.
    spec_:
        The :class:`DesignSpec` (features, tiers seen, benefit usage columns, trait scaling).
    training_:
        ``{"start", "end", "decisions"}``: the window fitted on.
    version_:
        A short hash of the fitted parameters: the model version recorded with every run.
    """

    def __init__(
        self,
        kind: str = "conditional",
        *,
        mixed_draws: int = 50,
        seed: int = 0,
        max_iter: int = 1000,
        price_rise: bool = False,
        benefit_loss: bool = True,
    ) -> None:
        self.kind = kind
        self.mixed_draws = mixed_draws
        self.seed = seed
        self.max_iter = max_iter
        self.price_rise = price_rise
        self.benefit_loss = benefit_loss

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        warehouse: Warehouse,
        *,
        start: date | None = None,
        end: date | None = None,
        eligibility: Mapping[str, Eligibility] | None = None,
        min_history_months: int = MIN_HISTORY_MONTHS,
    ) -> TierChoiceModel:
        """Fit on the settled renewal decisions with ``start <= decision_date < end``.

        Decisions seen less than ``min_history_months`` into the warehouse's history are left
        out (see :func:`~imis_tier.simulate.choice_data.choice_dataset`).
        """
        data = choice_dataset(
            warehouse,
            start=start,
            end=end,
            eligibility=dict(eligibility or {}),
            min_history_months=min_history_months,
        )
        return self.fit_dataset(data)

    def fit_dataset(self, data: ChoiceDataset) -> TierChoiceModel:
        """Fit on an already built :class:`ChoiceDataset`."""
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        spec = replace(
            data.spec,
            price_rise=data.spec.price_rise and self.price_rise,
            benefit_loss=data.spec.benefit_loss and self.benefit_loss,
        )
        if spec != data.spec:
            data = replace(data, X=data.X[spec.feature_names], spec=spec)
        estimator: ConditionalLogit | NestedLogit | MixedLogit
        if self.kind == "conditional":
            estimator = ConditionalLogit(max_iter=self.max_iter).fit(
                data.X, data.chosen, data.situation
            )
        elif self.kind == "nested":
            nests = {"tiers": list(data.spec.tiers), "lapse": [LAPSE]}
            estimator = NestedLogit(nests, max_iter=self.max_iter).fit(
                data.X, data.chosen, data.situation, alternatives=data.alternative
            )
        else:
            estimator = MixedLogit(
                {"price": "neg_lognormal"},
                n_draws=self.mixed_draws,
                seed=self.seed,
                max_iter=self.max_iter,
            ).fit(data.X, data.chosen, data.situation, panel=data.party_id)
        self.estimator_ = estimator
        self.spec_ = data.spec
        dates = data.decisions["decision_date"]
        self.training_ = {
            "start": str(min(dates)),
            "end": str(max(dates)),
            "decisions": int(data.n_decisions),
        }
        digest = hashlib.sha256(np.asarray(estimator.coef_, dtype=np.float64).tobytes())
        digest.update(self.kind.encode())
        self.version_ = f"{self.kind}-{digest.hexdigest()[:12]}"
        return self

    # ------------------------------------------------------------------ inference

    def summary(self) -> pd.DataFrame:
        """Estimates with robust standard errors (see the estimator's ``summary``)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.summary()

    def willingness_to_pay(self) -> pd.DataFrame:
        """Dollars a reference-stage member would pay per year for each measured benefit.

        The benefit features are ``log1p(use)``: ``wtp_per_log_use`` is the value of one unit
        of it, ``wtp_at_median_use`` that value at the median use among members who use it
        (from the training data). Columns also give the 95% interval of the per-unit figure.
        """
        check_is_fitted(self, "estimator_")
        names = [f"use.{b}" for b in self.spec_.usage_benefits]
        table = self.estimator_.willingness_to_pay(names, "price") * 100.0
        table.index = pd.Index(list(self.spec_.usage_benefits), name="benefit")
        table = table.rename(
            columns={"wtp": "wtp_per_log_use", "lower": "lower", "upper": "upper", "se": "se"}
        )
        return table

    def sample_coefs(self, n: int, seed: int | None = 0) -> NDArray[np.float64]:
        """``n`` parameter vectors from the estimates' asymptotic (robust) normal."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.sample_coefs(n, seed)

    @property
    def coef_(self) -> NDArray[np.float64]:
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.coef_, dtype=np.float64)

    # ------------------------------------------------------------------ prediction

    def layout(
        self,
        members: Members,
        structure: TierStructure,
        *,
        like: Mapping[str, str] | None = None,
        tenure_offset_years: float = 0.0,
    ) -> Alternatives:
        """The wide attributes of ``structure`` for ``members`` (see :func:`design`)."""
        check_is_fitted(self, "estimator_")
        return design(
            members, structure, self.spec_, like=like, tenure_offset_years=tenure_offset_years
        )

    def probabilities(
        self,
        members: Members,
        structure: TierStructure,
        *,
        coef: NDArray[np.float64] | None = None,
        like: Mapping[str, str] | None = None,
    ) -> tuple[NDArray[np.float32], tuple[str, ...]]:
        """Choice probabilities ``(draws, members, alternatives)`` and the alternative codes.

        ``coef`` is one parameter vector or ``(draws, n_params)`` (see :meth:`sample_coefs`);
        ``None`` uses the estimates (one draw). Unavailable alternatives get probability 0.
        The main entry point for optimisers and sensitivity analyses.
        """
        alts = self.layout(members, structure, like=like)
        return np.moveaxis(self.wide(alts, coef), 2, 0), alts.codes

    def wide(
        self, alts: Alternatives, coef: NDArray[np.float64] | None = None
    ) -> NDArray[np.float32]:
        """Probabilities of a laid-out structure in the simulator's layout ``(members, alts, draws)``."""
        check_is_fitted(self, "estimator_")
        rows = self.coef_[None, :] if coef is None else np.atleast_2d(np.asarray(coef, float))
        if self.kind == "conditional":
            return _conditional_wide(alts.X, alts.available, rows)
        kwargs: dict[str, Any] = {}
        if self.kind == "nested":
            # Nest membership is all that alternative ids carry: any known tier stands for a tier.
            kwargs["alternatives"] = [
                LAPSE if c == LAPSE else self.spec_.tiers[0] for c in alts.codes
            ]
        p = self.estimator_.probabilities_wide(
            alts.X.astype(np.float64), alts.available, coef=rows, **kwargs
        )
        return np.ascontiguousarray(np.moveaxis(p, 0, 2), dtype=np.float32)


def _conditional_wide(
    X: NDArray[Any], available: NDArray[np.bool_], coef: NDArray[np.float64]
) -> NDArray[np.float32]:
    """Logit probabilities in float32, (members, alts, draws): one matmul, one exp pass."""
    n, J, K = X.shape
    v = (X.reshape(n * J, K).astype(np.float32, copy=False) @ coef.T.astype(np.float32)).reshape(
        n, J, -1
    )
    v += np.where(available, np.float32(0), np.float32(-np.inf))[:, :, None]
    v -= v.max(axis=1, keepdims=True)
    np.exp(v, out=v)
    v /= v.sum(axis=1, keepdims=True)
    return v
