"""``PropensityModel``: calibrated multinomial outcome probabilities from any feature table.

The model is a multinomial *additive* model in log-odds space. Each original feature is mapped to
one level per row (a quantile bin or exact value for numerics, the category for categoricals, with
``missing`` and, for categoricals, ``unknown`` levels), and an L2-penalised multinomial logistic
regression learns one logit contribution per level and class. A class logit is therefore

    z_k(x) = baseline_k + sum_j f_jk(x_j)

exactly, which is what makes :meth:`PropensityModel.explain` faithful: the per-feature terms are
the model, not an approximation of it. Each ``f_jk`` is centred to have mean zero over the training
rows, so the baseline is the logit of a member whose every feature sits at its training average.

Class imbalance is handled by reweighting the training loss (``class_weight="balanced"`` by
default), and probabilities are then recalibrated by cross-fitting: out-of-fold logits from
``cv`` fold models fit a temperature ``T`` and per-class offsets that minimise the *unweighted* log
loss, which removes the prior shift the weights introduced and corrects over-confidence. The final
model is fitted on all rows and the calibration applied to it; being affine, it keeps additivity.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from imis_tier.scoring._calibration import fit_temperature
from imis_tier.scoring._encoding import (
    Encoding,
    fit_categorical,
    fit_numeric,
    is_categorical,
    level_codes,
    one_hot,
)
from imis_tier.scoring.explain import Explanation, build_explanation

_CHUNK_ROWS = (
    65_536  # rows gathered at once when scoring: bounds the (rows, features, classes) block
)


class PropensityModel(ClassifierMixin, BaseEstimator):
    """Calibrated, explainable probabilities of each outcome (e.g. renew/upgrade/downgrade/lapse).

    Works on any feature table (pandas DataFrame or 2-D numpy array; numeric and
    categorical columns; NaN/None allowed) and any set of two or more class labels.

    Args:
        n_bins: quantile bins per numeric feature (fewer when a feature has fewer distinct values).
        min_frequency: categories seen fewer times than this in training share the ``unknown`` level.
        C: inverse L2 strength of the logistic regression (sklearn's convention: the penalty does
            not grow with the number of rows).
        class_weight: ``"balanced"`` (default), ``None`` or ``{label: weight}``; applied to the fit
            only, calibration then restores honest probabilities.
        calibration: ``"temperature"`` (temperature + per-class offsets, cross-fitted) or ``"none"``.
        cv: folds for cross-fitted calibration (at least 2).
        categorical_features: column names to treat as categorical even if numeric (e.g. codes).
        max_iter: iteration cap for the L-BFGS solver.
        tol: the solver's stopping tolerance.
        random_state: seed for the fold split; the fit is otherwise deterministic.
    """

    def __init__(
        self,
        *,
        n_bins: int = 10,
        min_frequency: int = 5,
        C: float = 1.0,
        class_weight: Literal["balanced"] | Mapping[Any, float] | None = "balanced",
        calibration: Literal["temperature", "none"] = "temperature",
        cv: int = 3,
        categorical_features: Sequence[str] | None = None,
        max_iter: int = 500,
        tol: float = 1e-4,
        random_state: int | None = 0,
    ) -> None:
        self.n_bins = n_bins
        self.min_frequency = min_frequency
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.cv = cv
        self.categorical_features = categorical_features
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ----------------------------------------------------------------------------------- fitting

    def fit(
        self, X: Any, y: Any, sample_weight: np.ndarray | Sequence[float] | None = None
    ) -> PropensityModel:
        """Fit encodings, the additive logistic model and its calibration; returns ``self``."""
        self._check_params()
        frame, names = _to_frame(X, None)
        labels = _as_labels(y, len(frame))
        classes, y_idx = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has a single class ({classes[0]!r}); a propensity model needs at least two outcomes"
            )
        weights = _sample_weight(sample_weight, len(frame))

        forced = set(self.categorical_features or ())
        unknown = forced - set(names)
        if unknown:
            raise ValueError(f"categorical_features names columns not in X: {sorted(unknown)}")
        encodings: list[Encoding] = []
        for j, name in enumerate(names):
            column = frame.iloc[:, j]
            if name in forced or is_categorical(column):
                encodings.append(fit_categorical(name, column, self.min_frequency))
            else:
                encodings.append(fit_numeric(name, column, self.n_bins))
        offsets = np.concatenate([[0], np.cumsum([e.n_levels for e in encodings])]).astype(np.int64)
        codes = level_codes(frame, encodings)
        design = one_hot(codes, offsets, int(offsets[-1]))

        fit_weights = weights * self._class_weights(classes, y_idx)
        temperature, class_offsets = 1.0, np.zeros(len(classes))
        if self.calibration == "temperature":
            oof = self._out_of_fold_logits(design, y_idx, fit_weights, len(classes))
            temperature, class_offsets = fit_temperature(oof, y_idx, weights)
        coef, intercept = self._fit_tables(design, y_idx, fit_weights, len(classes))

        # Centre each feature's contributions on the training rows, fold the intercept, the centres
        # and the calibration into one baseline: logit = baseline + sum of centred contributions.
        table = coef / temperature
        centres = np.zeros((len(encodings), len(classes)))
        for j in range(len(encodings)):
            block = table[offsets[j] : offsets[j + 1]]
            counts = np.bincount(codes[:, j], minlength=block.shape[0]).astype(np.float64)
            centres[j] = counts @ block / counts.sum()
            table[offsets[j] : offsets[j + 1]] = block - centres[j]

        self.classes_ = classes
        self.n_features_in_ = len(names)
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_  # a refit on an array must not keep stale names
        self.features_ = tuple(names)
        self.encodings_ = tuple(encodings)
        self.level_offsets_ = offsets
        self.coef_ = coef
        self.intercept_ = intercept
        self.temperature_ = temperature
        self.class_offsets_ = class_offsets
        self.contribution_table_ = table
        self.baseline_logit_ = intercept / temperature + class_offsets + centres.sum(axis=0)
        return self

    def _check_params(self) -> None:
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be at least 2, got {self.n_bins}")
        if self.min_frequency < 1:
            raise ValueError(f"min_frequency must be at least 1, got {self.min_frequency}")
        if self.C <= 0:
            raise ValueError(f"C must be positive, got {self.C}")
        if self.calibration not in ("temperature", "none"):
            raise ValueError(
                f"calibration must be 'temperature' or 'none', got {self.calibration!r}"
            )
        if self.calibration == "temperature" and self.cv < 2:
            raise ValueError(f"cv must be at least 2 for cross-fitted calibration, got {self.cv}")

    def _class_weights(self, classes: np.ndarray, y_idx: np.ndarray) -> np.ndarray:
        if self.class_weight is None:
            return np.ones(len(y_idx))
        if isinstance(self.class_weight, str):
            if self.class_weight != "balanced":
                raise ValueError(
                    f"class_weight must be 'balanced', None or a mapping, got {self.class_weight!r}"
                )
            counts = np.bincount(y_idx, minlength=len(classes)).astype(np.float64)
            per_class = len(y_idx) / (len(classes) * counts)
        else:
            missing = [c for c in classes if c not in self.class_weight]
            if missing:
                raise ValueError(f"class_weight has no weight for classes {missing}")
            per_class = np.array([float(self.class_weight[c]) for c in classes])
        return np.asarray(per_class[y_idx], dtype=np.float64)

    def _fit_tables(
        self, design: Any, y_idx: np.ndarray, weights: np.ndarray, n_classes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit the logistic regression; return (levels x classes) coefficients and intercepts."""
        present = np.unique(y_idx)
        solver = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=self.tol)
        # The solver's dense algebra is tiny (levels x classes); BLAS threads only contend for the
        # cores (measured 6x slower on a busy 2-core machine), so pin them to one for the fit.
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("error", ConvergenceWarning)
            try:
                solver.fit(design, y_idx, sample_weight=weights)
            except ConvergenceWarning as exc:
                raise RuntimeError(
                    f"the logistic regression did not converge in max_iter={self.max_iter} "
                    "iterations; raise max_iter or lower C"
                ) from exc
        coef = np.zeros((design.shape[1], n_classes))
        intercept = np.zeros(n_classes)
        if len(present) == 2:
            # sklearn fits one logit for two classes; split it symmetrically so both have terms.
            coef[:, present[0]] = -solver.coef_[0] / 2
            coef[:, present[1]] = solver.coef_[0] / 2
            intercept[present[0]] = -solver.intercept_[0] / 2
            intercept[present[1]] = solver.intercept_[0] / 2
        else:
            coef[:, present] = solver.coef_.T
            intercept[present] = solver.intercept_
        return coef, intercept

    def _out_of_fold_logits(
        self, design: Any, y_idx: np.ndarray, weights: np.ndarray, n_classes: int
    ) -> np.ndarray:
        smallest = int(np.bincount(y_idx, minlength=n_classes).min())
        if smallest < 2:
            raise ValueError(
                "a class has a single example; cross-fitted calibration needs at least 2 per class "
                "(pass calibration='none' or add data)"
            )
        folds = StratifiedKFold(
            n_splits=min(self.cv, smallest), shuffle=True, random_state=self.random_state
        )
        oof = np.zeros((len(y_idx), n_classes))
        for train, test in folds.split(np.zeros(len(y_idx)), y_idx):
            coef, intercept = self._fit_tables(
                design[train], y_idx[train], weights[train], n_classes
            )
            oof[test] = design[test] @ coef + intercept
        return oof

    # ----------------------------------------------------------------------------------- scoring

    def contributions(self, X: Any) -> np.ndarray:
        """Per-feature logit contributions, shape (n_rows, n_features, n_classes)."""
        return self._gather(self._codes(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated logits, shape (n_rows, n_classes): baseline + summed contributions."""
        codes = self._codes(X)
        out = np.empty((len(codes), len(self.classes_)))
        for start in range(0, len(codes), _CHUNK_ROWS):
            block = self._gather(codes[start : start + _CHUNK_ROWS])
            out[start : start + _CHUNK_ROWS] = self.baseline_logit_ + block.sum(axis=1)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n_rows, n_classes), columns in ``classes_`` order."""
        return np.asarray(softmax(self.decision_function(X), axis=1))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class per row."""
        return np.asarray(self.classes_[np.argmax(self.decision_function(X), axis=1)])

    def predict_frame(self, X: Any) -> pd.DataFrame:
        """Probabilities as a DataFrame (one column per class, X's index when X is a DataFrame)."""
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(self.predict_proba(X), index=index, columns=list(self.classes_))

    def explain(self, X: Any) -> Explanation:
        """Exact additive explanations: for every row and outcome, baseline + sum == score.

        See :class:`~imis_tier.scoring.explain.Explanation` for the logit and points scales.
        """
        check_is_fitted(self)
        frame, _ = _to_frame(X, self.features_)
        codes = self._codes_of(frame)
        return build_explanation(
            index=frame.index,
            values=frame,
            features=self.features_,
            outcomes=tuple(self.classes_.tolist()),
            baseline_logit=self.baseline_logit_,
            contributions=self._gather(codes),
        )

    def iter_explain(self, X: Any, chunk_rows: int = 50_000) -> Iterator[Explanation]:
        """Explanations of consecutive row chunks, for inputs too large to explain at once.

        An explanation holds (rows x features x outcomes) arrays twice; chunks of ~50,000 rows keep
        them cache- and allocator-friendly (measured fastest on 1M x 30 features).
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        check_is_fitted(self)
        frame, _ = _to_frame(X, self.features_)
        for start in range(0, len(frame), chunk_rows):
            yield self.explain(frame.iloc[start : start + chunk_rows])

    def shape_function(self, feature: str) -> pd.DataFrame:
        """The learned contribution of every level of one feature (rows: levels; columns: classes)."""
        check_is_fitted(self)
        if feature not in self.features_:
            raise KeyError(f"unknown feature {feature!r}; the model has {list(self.features_)}")
        j = self.features_.index(feature)
        block = self.contribution_table_[self.level_offsets_[j] : self.level_offsets_[j + 1]]
        return pd.DataFrame(
            block,
            index=pd.Index(self.encodings_[j].level_labels(), name=feature),
            columns=list(self.classes_),
        )

    def _codes(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame, _ = _to_frame(X, self.features_)
        return self._codes_of(frame)

    def _codes_of(self, frame: pd.DataFrame) -> np.ndarray:
        return level_codes(frame, self.encodings_) + self.level_offsets_[np.newaxis, :-1].astype(
            np.int32
        )

    def _gather(self, global_codes: np.ndarray) -> np.ndarray:
        return np.take(self.contribution_table_, global_codes, axis=0)


# --------------------------------------------------------------------------------------- inputs


def _to_frame(X: Any, expected: Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """A DataFrame whose columns are the model's features, in order, with a clear error otherwise."""
    if isinstance(X, pd.DataFrame):
        frame = X
        names = [str(c) for c in frame.columns]
        if len(set(names)) != len(names):
            raise ValueError("X has duplicate column names")
        if names != list(frame.columns):
            frame = frame.set_axis(names, axis=1)  # non-string labels (e.g. ints) become names
    else:
        array = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if array.ndim != 2:
            raise ValueError(f"X must be 2-dimensional (rows x features), got shape {array.shape}")
        names = [f"x{j}" for j in range(array.shape[1])]
        if expected is not None and len(expected) != array.shape[1]:
            raise ValueError(
                f"X has {array.shape[1]} columns but the model was fitted on {len(expected)} features"
            )
        if expected is not None:
            names = list(expected)
        frame = pd.DataFrame(array, columns=names)
    if frame.shape[0] == 0:
        raise ValueError("X is empty: it has no rows")
    if frame.shape[1] == 0:
        raise ValueError("X is empty: it has no feature columns")
    if expected is None:
        return frame, names
    if isinstance(X, pd.DataFrame):
        missing = [name for name in expected if name not in frame.columns]
        if missing:
            raise ValueError(
                f"X is missing {len(missing)} feature column(s) the model was fitted on: {missing}"
            )
        if list(frame.columns) != list(expected):
            frame = frame.loc[:, list(expected)]
    return frame, list(expected)


def _as_labels(y: Any, n_rows: int) -> np.ndarray:
    labels = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {labels.shape}")
    if len(labels) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(labels)}")
    if pd.isna(labels).any():
        raise ValueError("y contains missing labels")
    if labels.dtype.kind not in "iub":
        labels = labels.astype(str).astype(object)
    return labels


def _sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n_rows)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_rows,):
        raise ValueError(f"sample_weight must have shape ({n_rows},), got {weights.shape}")
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return weights
