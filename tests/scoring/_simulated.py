"""Simulated members with a known outcome structure, shared by the scoring tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTCOMES = ("renew", "upgrade", "downgrade", "lapse")


def simulate_members(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Features, sampled outcomes and the true outcome probabilities.

    Upgrades rise with events and on the basic tier, downgrades on premium, lapses with few
    logins and when logins are unknown; ``region`` and ``noise`` carry no signal.
    """
    rng = np.random.default_rng(seed)
    events = rng.poisson(1.5, n).astype(float)
    logins = rng.gamma(2.0, 6.0, n)
    logins_missing = rng.random(n) < 0.15
    tier = rng.choice(["basic", "pro", "premium"], n, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west"], n)
    noise = rng.normal(size=n)
    basic, premium = tier == "basic", tier == "premium"
    logits = np.column_stack(
        [
            np.zeros(n),
            -2.5 + 0.6 * events + 1.0 * basic - 3.0 * premium,
            -3.0 + 1.2 * premium - 0.1 * events,
            -0.6
            - 0.08 * np.where(logins_missing, 0.0, logins)
            + 1.2 * logins_missing
            - 0.3 * events,
        ]
    )
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    draw = (rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    y = np.asarray(OUTCOMES, dtype=object)[np.minimum(draw, 3)]
    features = pd.DataFrame(
        {
            "events_12m": events,
            "logins_90d": np.where(logins_missing, np.nan, logins),
            "tier": tier.astype(object),
            "region": pd.Categorical(region),
            "noise": noise,
        }
    )
    return features, y, pd.DataFrame(proba, columns=list(OUTCOMES))
