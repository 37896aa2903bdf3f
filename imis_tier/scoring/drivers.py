"""Plain-language driver sentences from an :class:`~imis_tier.scoring.explain.Explanation`.

A sentence is a *phrase* about the member followed by the driver's size and direction::

    attended 3 events in 12 months but is on the basic tier: +18 points toward upgrade
    webinars attended (12 months) = 0: -7 points toward renewal

Phrases come from per-feature templates: a ``str.format`` string, whose fields are the feature's
``value``, ``feature`` name, ``label``, ``points``, ``logit``, ``outcome`` and any column of the
context table (so a template may mention the member's tier), or a callable taking that mapping and
returning the phrase (or ``None`` to fall back). Features without a template use the generic
``"{label} = {value}"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from imis_tier.scoring.explain import Explanation

Template = str | Callable[[Mapping[str, Any]], str | None]

DEFAULT_OUTCOME_LABELS: dict[str, str] = {
    "renew": "renewal",
    "upgrade": "upgrade",
    "downgrade": "downgrade",
    "lapse": "lapse",
}
"""How each outcome is named after "toward"."""


def describe_drivers(
    explanation: Explanation,
    feature_values: pd.DataFrame | None = None,
    *,
    templates: Mapping[str, Template] | None = None,
    labels: Mapping[str, str] | None = None,
    outcome_labels: Mapping[Any, str] | None = None,
    k: int = 3,
    outcome: Any = None,
    direction: Literal["both", "positive", "negative"] = "both",
) -> pd.Series:
    """The ``k`` strongest drivers of each row as sentences.

    Args:
        explanation: from :meth:`PropensityModel.explain`.
        feature_values: context per row (indexed like the explanation), e.g. the panel with the
            member's tier; defaults to the explained feature values. Explained values win for the
            ``value`` field.
        templates: phrase template per feature name (see the module docstring).
        labels: readable feature names for the generic phrase (default: the column name).
        outcome_labels: readable outcome names (default :data:`DEFAULT_OUTCOME_LABELS`).
        k: sentences per row.
        outcome: the outcome to explain; ``None`` takes each row's most probable outcome.
        direction: ``both`` (largest magnitude), ``positive`` or ``negative`` drivers only.

    Returns:
        A Series indexed like the explanation, each value a list of sentences (strongest first).
    """
    templates = dict(templates or {})
    labels = dict(labels or {})
    names = {**DEFAULT_OUTCOME_LABELS, **dict(outcome_labels or {})}
    context = _context(explanation, feature_values)
    drivers = explanation.top(k, outcome, direction=direction)
    sentences: dict[Any, list[str]] = {row: [] for row in explanation.index}
    context_records = context.to_dict("index") if len(context.columns) else {}
    for row, out, feature, value, logit, points in zip(
        drivers["row"],
        drivers["outcome"],
        drivers["feature"],
        drivers["value"],
        drivers["logit"],
        drivers["points"],
        strict=True,
    ):
        fields: dict[str, Any] = {str(c): v for c, v in context_records.get(row, {}).items()}
        fields.update(
            value=value,
            feature=feature,
            label=labels.get(feature, feature),
            points=points,
            logit=logit,
            outcome=out,
        )
        phrase = _phrase(templates.get(feature), fields)
        sentences[row].append(f"{phrase}: {_signed(points)} points toward {names.get(out, out)}")
    return pd.Series(
        [sentences[row] for row in explanation.index], index=explanation.index, dtype=object
    )


def _context(explanation: Explanation, feature_values: pd.DataFrame | None) -> pd.DataFrame:
    if feature_values is None:
        return explanation.values.set_axis(explanation.index, axis=0)
    missing = explanation.index.difference(feature_values.index)
    if len(missing):
        raise ValueError(
            f"feature_values has no row for {len(missing)} explained row(s), e.g. {list(missing[:3])}"
        )
    return feature_values.loc[explanation.index]


def _phrase(template: Template | None, fields: Mapping[str, Any]) -> str:
    if callable(template):
        phrase = template(fields)
        if phrase is not None:
            return phrase
    elif template is not None:
        try:
            return template.format(**fields)
        except (KeyError, IndexError) as exc:
            raise ValueError(
                f"driver template for {fields['feature']!r} uses field {exc} that is neither a "
                f"standard field nor a context column: {template!r}"
            ) from None
    return f"{fields['label']} = {_value_text(fields['value'])}"


def _value_text(value: Any) -> str:
    if (
        value is None
        or (isinstance(value, float | np.floating) and np.isnan(value))
        or value is pd.NA
    ):
        return "missing"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def _signed(points: float) -> str:
    # Whole points read naturally; a sub-point driver keeps one decimal so it is not shown as "+0".
    if abs(points) >= 0.5:
        return f"{points:+.0f}"
    return f"{points:+.1f}"
