"""The demo's scoring stage: score every member, show the top candidates, stage the write-back."""

from __future__ import annotations

from typing import Any

import click

from imis_tier.scoring.pipeline import latest_scores, score_and_write_back

from .demo import _table, stage


@stage("Scoring members and staging the write-back to iMIS (dry run)")
def _score(client: Any, warehouse: Any, emu: Any) -> None:
    figures = score_and_write_back(warehouse=warehouse, client=client, dry_run=True)
    scores = latest_scores(warehouse)
    for outcome, title in (("upgrade", "Top upgrade candidates"), ("lapse", "Top lapse risks")):
        column = f"p_{outcome}"
        top = scores.nlargest(5, column)
        click.echo(f"  {title}:")
        _table(
            [{"member": r.party_id, "tier": r.tier, column: f"{getattr(r, column):.0%}",
              "engagement": f"{r.engagement:.0f}", "why": r.driver_1} for r in top.itertuples()],
            ["member", "tier", column, "engagement", "why"],
        )
    click.echo(
        f"  {figures['scored']:,} members scored with {figures['model_ref']}; "
        f"{figures['rows_planned']:,} Member_Tier_Score rows and {figures['review_items']:,} review items "
        "staged, nothing written (apply with `imis-tier writeback scores --apply`)"
    )
