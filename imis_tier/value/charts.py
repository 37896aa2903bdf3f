"""Charts of member value, drawn with matplotlib's Agg backend (files only, no display).

- :func:`cohort_chart`: Kaplan-Meier survival per cohort (points) with the fitted model (lines).
- :func:`utilisation_chart`: share of members using each benefit, by tier, in the latest period.
- :func:`benefit_value_chart`: perceived value per holder with 95% intervals, against cost to serve.

Each takes the result object of the corresponding analysis and a path (``.png`` or ``.svg``)
and returns the path written.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from imis_tier.value.cohorts import CohortReport

_SUFFIXES = {".png", ".svg"}


def _target(path: str | Path) -> Path:
    target = Path(path)
    if target.suffix.lower() not in _SUFFIXES:
        raise ValueError(f"chart file must end in .png or .svg, got {target.name!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def cohort_chart(report: CohortReport, path: str | Path, *, periods: int = 15) -> Path:
    """Observed (Kaplan-Meier) and fitted survival S(t) for every cohort of ``report``."""
    target = _target(path)
    fig, ax = plt.subplots(figsize=(8, 5))
    table = report.life_table
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    t = np.arange(periods + 1)
    for i, (key, fit) in enumerate(report.fits.items()):
        colour = colours[i % len(colours)]
        mask = np.ones(len(table), dtype=bool)
        for column, value in zip(report.by, key, strict=True):
            mask &= (table[column] == value).to_numpy()
        observed = table[mask & (table["t"] <= periods).to_numpy()]
        style = "--" if fit.pooled else "-"
        ax.plot(
            t,
            fit.model.survival(t),
            style,
            color=colour,
            label=f"{fit.label} ({fit.model.model_name})",
        )
        if len(observed):
            ax.plot(
                np.r_[0, observed["t"]], np.r_[1.0, observed["survival"]], "o", color=colour, ms=3
            )
    ax.set_xlabel("renewal opportunity t")
    ax.set_ylabel("share still a member, S(t)")
    ax.set_title(
        f"Cohort retention by {' x '.join(report.by)} (points: Kaplan-Meier; lines: model)"
    )
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)
    return target


def utilisation_chart(trend: pd.DataFrame, path: str | Path, *, group: str = "tier") -> Path:
    """Latest share of members using each benefit, one bar group per benefit, one bar per group."""
    target = _target(path)
    wide = trend.pivot_table(index="benefit", columns=group, values="latest_share", observed=True)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    wide.plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("share of members using it (latest period)")
    ax.set_xlabel("")
    ax.set_title(f"Benefit utilisation by {group}")
    ax.legend(fontsize=7, title=group)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)
    return target


def benefit_value_chart(ranking: pd.DataFrame, path: str | Path) -> Path:
    """Perceived value per using holder (dollars/year, 95% interval) and cost to serve."""
    target = _target(path)
    rows = ranking[ranking["value"].notna()].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(rows), 2) + 1.5))
    y = np.arange(len(rows))
    low = (rows["value"] - rows["value_low"]).to_numpy()
    high = (rows["value_high"] - rows["value"]).to_numpy()
    ax.errorbar(
        rows["value"], y, xerr=[low, high], fmt="o", capsize=3, label="perceived value (WTP)"
    )
    ax.plot(rows["cost_to_serve"], y, "x", color="crimson", label="cost to serve")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, [f"{b} ({v})" for b, v in zip(rows["benefit"], rows["verdict"], strict=True)])
    ax.set_xlabel("dollars per member-year")
    ax.set_title("Benefit value from renewal choices")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)
    return target
