"""``score``: score members and write the scores back (a thin shell over the scoring pipeline)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from imis_tier.handlers.context import HandlerContext
from imis_tier.handlers.errors import HandlerUnavailable
from imis_tier.handlers.model import CustomObjectOutput, Handler, Manual, WarehouseInput

# Where the lead's pipeline lives; settings.pipeline = "module:function" overrides it.
DEFAULT_PIPELINE = "imis_tier.scoring.pipeline:score_and_write_back"


def score(ctx: HandlerContext) -> dict[str, Any]:
    """Score every member from the warehouse and write the scores back to iMIS."""
    target = str(ctx.settings.get("pipeline", DEFAULT_PIPELINE))
    module_name, _, attr = target.partition(":")
    try:
        pipeline = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise HandlerUnavailable(f"the scoring pipeline {target} is not available: {exc}") from exc
    options = {k: v for k, v in ctx.settings.items() if k != "pipeline"}
    result = pipeline(
        warehouse=ctx.warehouse,
        client=None if ctx.dry_run else ctx.client,
        dry_run=ctx.dry_run,
        as_of=ctx.now(),
        **options,
    )
    figures = dict(result) if isinstance(result, Mapping) else {"result": repr(result)}
    ctx.read(int(figures.get("rows_read", 0)))
    ctx.wrote(int(figures.get("rows_written", 0)))
    if ctx.dry_run:
        ctx.would(f"write {figures.get('rows_planned', 'the')} member scores back to iMIS")
    return figures


SCORE = Handler(
    "score", score, Manual(), WarehouseInput(), (CustomObjectOutput("Member_Tier_Score", ("ID",)),)
)
