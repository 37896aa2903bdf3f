"""General-purpose scoring estimators: propensity, engagement, explanations, metrics, registry.

These take DataFrames and arrays and know nothing of the warehouse; the panel-to-score pipeline
builds on them.
"""

from imis_tier.scoring.drivers import DEFAULT_OUTCOME_LABELS, describe_drivers
from imis_tier.scoring.engagement import (
    DEFAULT_WEIGHTS,
    IMIS_ACTIVITY_KINDS,
    EngagementScore,
    percentile_within,
)
from imis_tier.scoring.explain import Explanation, probability_points
from imis_tier.scoring.metrics import (
    Evaluation,
    brier_score,
    calibration_curve,
    compare_to_truth,
    evaluate,
    lift_table,
    log_loss,
    one_vs_rest_auc,
)
from imis_tier.scoring.propensity import PropensityModel
from imis_tier.scoring.registry import (
    ModelCard,
    ModelIntegrityError,
    ModelRef,
    ModelRegistry,
    ModelVersionWarning,
    data_hash,
    library_versions,
)

__all__ = [
    "DEFAULT_OUTCOME_LABELS",
    "DEFAULT_WEIGHTS",
    "IMIS_ACTIVITY_KINDS",
    "EngagementScore",
    "Evaluation",
    "Explanation",
    "ModelCard",
    "ModelIntegrityError",
    "ModelRef",
    "ModelRegistry",
    "ModelVersionWarning",
    "PropensityModel",
    "brier_score",
    "calibration_curve",
    "compare_to_truth",
    "data_hash",
    "describe_drivers",
    "evaluate",
    "library_versions",
    "lift_table",
    "log_loss",
    "one_vs_rest_auc",
    "percentile_within",
    "probability_points",
]
