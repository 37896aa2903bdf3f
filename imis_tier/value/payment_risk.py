"""Payment risk: the chance a member's next dues invoice is paid late or has a failed payment.

A small logistic regression on a handful of readable features, each computed from the member's
*earlier* dues invoices only (so training rows never see their own outcome):

- ``prior_invoices``: dues invoices before this one;
- ``prior_late_share``: share of them paid after the due date;
- ``prior_failed``: failed payment attempts on them (log1p);
- ``prior_days_late``: mean days paid after the due date (0 when on time);
- ``autopay``: the last payment was by autopay;
- ``price``: the invoice amount in $100 (dearer invoices are paid later).

An invoice is a *payment problem* when it was paid after its due date or any payment attempt on
it failed. Cancelled invoices (lapses) and open ones are left out: lapsing is the propensity
model's job. Logistic regression is fitted by maximum likelihood, so its probabilities are
calibrated on the training data in the large; :attr:`PaymentRiskModel.calibration_` records
predicted against observed rates by decile on held-out invoices. Reasons are the features whose
contribution ``coef x (x - mean)`` raises a member's log-odds most.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from imis_tier.value.economics import as_day
from imis_tier.warehouse import Warehouse

FEATURES = (
    "prior_invoices",
    "prior_late_share",
    "prior_failed",
    "prior_days_late",
    "autopay",
    "price",
)
_REASONS = {
    "prior_invoices": "few dues invoices paid so far",
    "prior_late_share": "often paid dues after the due date",
    "prior_failed": "failed payment attempts before",
    "prior_days_late": "paid dues many days late",
    "autopay": "pays by autopay",
    "price": "dues amount is high",
}


def invoice_history(
    warehouse: Warehouse, as_of: date | datetime | str | None = None
) -> pd.DataFrame:
    """Dues invoices dated before ``as_of`` with their outcome and features from earlier invoices.

    Columns: ``party_id``, ``invoice_date``, ``problem`` (bool, NaN when unsettled or cancelled)
    and :data:`FEATURES`.
    """
    day = as_day(as_of, warehouse)
    frame = warehouse.connection.execute(
        """
        SELECT party_id, invoice_id, invoice_date, due_date, amount::DOUBLE AS amount, status,
               paid_date, method, coalesce(failed_payments, 0) AS failed_payments, days_late
        FROM dues_transactions WHERE invoice_date < $as_of
        ORDER BY party_id, invoice_date, invoice_id
        """,
        {"as_of": day},
    ).df()
    return _history_features(frame, pd.Timestamp(day))


def _history_features(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    f = frame.copy()
    paid = f["paid_date"].notna() & (pd.to_datetime(f["paid_date"]) < day)
    late = paid & (f["days_late"].fillna(0) > 0)
    failed = f["failed_payments"].fillna(0).astype(float)
    f["problem"] = np.where(paid, (late | (failed > 0)).astype(float), np.nan)
    by = f["party_id"]
    f["prior_invoices"] = f.groupby("party_id", sort=False).cumcount().astype(float)
    days = pd.Series(np.where(paid, f["days_late"].fillna(0).clip(lower=0), 0.0), index=f.index)
    prior_paid = _prior_sum(paid.astype(float), by)
    prior_late = _prior_sum(late.astype(float), by)
    prior_days = _prior_sum(days, by)
    f["prior_late_share"] = np.where(prior_paid > 0, prior_late / prior_paid.clip(lower=1), 0.0)
    f["prior_days_late"] = np.where(prior_paid > 0, prior_days / prior_paid.clip(lower=1), 0.0)
    f["prior_failed"] = np.log1p(_prior_sum(failed, by))
    # The method of the latest paid invoice before each row.
    auto = pd.Series(
        np.where(paid, (f["method"] == "Autopay").astype(float), np.nan), index=f.index
    )
    f["autopay"] = auto.groupby(by, sort=False).shift().groupby(by, sort=False).ffill().fillna(0.0)
    f["price"] = f["amount"].fillna(0) / 100.0
    return f[["party_id", "invoice_date", "problem", *FEATURES]].reset_index(drop=True)


def _prior_sum(values: pd.Series, by: pd.Series) -> pd.Series:
    """Per-group running sum of the rows strictly before each row."""
    return values.groupby(by, sort=False).cumsum() - values


def member_payment_features(
    warehouse: Warehouse, as_of: date | datetime | str | None = None
) -> pd.DataFrame:
    """Features of each member's *next* dues invoice, from every dues invoice before ``as_of``."""
    day = as_day(as_of, warehouse)
    frame = warehouse.connection.execute(
        """
        SELECT d.party_id, d.invoice_id, d.invoice_date, d.due_date, d.amount::DOUBLE AS amount,
               d.status, d.paid_date, d.method, coalesce(d.failed_payments, 0) AS failed_payments,
               d.days_late
        FROM dues_transactions d WHERE d.invoice_date < $as_of
        UNION ALL
        -- A placeholder for the next invoice: its features are the whole history before as_of.
        SELECT party_id, NULL, $as_of, NULL, NULL, NULL, NULL, NULL, 0, NULL
        FROM (SELECT DISTINCT party_id FROM dues_transactions WHERE invoice_date < $as_of)
        ORDER BY party_id, invoice_date NULLS LAST, invoice_id NULLS LAST
        """,
        {"as_of": day},
    ).df()
    features = _history_features(frame, pd.Timestamp(day))
    last_price = frame.dropna(subset=["amount"]).groupby("party_id")["amount"].last() / 100.0
    nxt = features[frame["invoice_id"].isna().to_numpy()].copy()
    nxt["price"] = nxt["party_id"].map(last_price).fillna(0.0)
    return nxt.drop(columns=["problem", "invoice_date"]).set_index("party_id")


@dataclass
class PaymentRiskModel:
    """Logistic regression of payment problems on :data:`FEATURES`, with readable reasons.

    ``C`` is scikit-learn's inverse L2 strength. After :meth:`fit`: ``coef_``, ``intercept_``,
    ``means_`` (training feature means, the reference for reasons), ``base_rate_`` and
    ``calibration_`` (decile table of predicted vs observed on the last ``holdout`` share of
    invoices by date, fitted on the rest first).
    """

    C: float = 1.0
    holdout: float = 0.25
    coef_: np.ndarray = field(init=False, repr=False)
    intercept_: float = field(init=False, repr=False)
    means_: np.ndarray = field(init=False, repr=False)
    base_rate_: float = field(init=False, repr=False)
    calibration_: pd.DataFrame = field(init=False, repr=False)

    def fit(self, history: pd.DataFrame) -> PaymentRiskModel:
        """Fit on :func:`invoice_history` rows with a settled outcome; returns ``self``."""
        rows = history[history["problem"].notna()].sort_values("invoice_date")
        if rows.empty or rows["problem"].nunique() < 2:
            raise ValueError(
                "payment risk needs settled dues invoices with both on-time and problem payments"
            )
        cut = int(len(rows) * (1.0 - self.holdout))
        train, test = rows.iloc[:cut], rows.iloc[cut:]
        if self.holdout > 0 and train["problem"].nunique() == 2 and len(test) >= 20:
            early = self._logit().fit(train[list(FEATURES)].to_numpy(), train["problem"].to_numpy())
            p = early.predict_proba(test[list(FEATURES)].to_numpy())[:, 1]
            self.calibration_ = _deciles(p, test["problem"].to_numpy())
        else:
            self.calibration_ = pd.DataFrame(columns=["decile", "predicted", "observed", "n"])
        X = rows[list(FEATURES)].to_numpy(dtype=float)
        model = self._logit().fit(X, rows["problem"].to_numpy())
        self.coef_ = model.coef_[0].copy()
        self.intercept_ = float(model.intercept_[0])
        self.means_ = X.mean(axis=0)
        self.base_rate_ = float(rows["problem"].mean())
        return self

    def _logit(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, max_iter=1000)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of a payment problem on each row's next invoice."""
        X = features[list(FEATURES)].to_numpy(dtype=float)
        return 1.0 / (1.0 + np.exp(-(X @ self.coef_ + self.intercept_)))

    def score(self, features: pd.DataFrame, *, top: int = 2) -> pd.DataFrame:
        """``risk`` per row and ``reasons``: up to ``top`` features raising it most (as text)."""
        X = features[list(FEATURES)].to_numpy(dtype=float)
        contributions = (X - self.means_) * self.coef_
        risk = self.predict_proba(features)
        reasons = []
        for row in contributions:
            order = np.argsort(-row)[:top]
            reasons.append(
                "; ".join(_REASONS[FEATURES[j]] for j in order if row[j] > 0.05) or "no risk signal"
            )
        return pd.DataFrame({"risk": risk, "reasons": reasons}, index=features.index)


def _deciles(p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    order = np.argsort(p)
    bins = np.array_split(order, min(10, len(p)))
    return pd.DataFrame(
        [
            {
                "decile": i + 1,
                "predicted": float(p[b].mean()),
                "observed": float(y[b].mean()),
                "n": len(b),
            }
            for i, b in enumerate(bins)
        ]
    )


def payment_risk(
    warehouse: Warehouse, as_of: date | datetime | str | None = None, *, C: float = 1.0
) -> tuple[pd.DataFrame, PaymentRiskModel]:
    """Fit on dues history before ``as_of`` and score every member's next dues invoice.

    Returns (scores indexed by party_id with ``risk`` and ``reasons``, the fitted model).
    """
    model = PaymentRiskModel(C=C).fit(invoice_history(warehouse, as_of))
    return model.score(member_payment_features(warehouse, as_of)), model
