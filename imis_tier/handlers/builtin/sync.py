"""``sync``: the incremental warehouse sync as an automation step (a thin shell)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from imis_tier.handlers.context import HandlerContext
from imis_tier.handlers.errors import HandlerUnavailable
from imis_tier.handlers.model import Handler, Manual, WarehouseOutput


def sync(ctx: HandlerContext) -> dict[str, Any]:
    """Pull what changed in iMIS since the last sync into the warehouse."""
    try:
        from imis_tier.warehouse.sync import sync_incremental
    except ImportError as exc:  # pragma: no cover - ships with the library
        raise HandlerUnavailable(f"the warehouse sync is not available: {exc}") from exc
    entities = ctx.settings.get("entities")
    if ctx.dry_run:
        ctx.would(f"sync {', '.join(entities) if entities else 'every entity'} into the warehouse")
        return {}
    kwargs: dict[str, Any] = {"entities": entities}
    if "lookback_minutes" in ctx.settings:
        kwargs["lookback"] = timedelta(minutes=float(ctx.settings["lookback_minutes"]))
    result = sync_incremental(ctx.client, ctx.warehouse, **kwargs)
    ctx.read(result.total_rows)
    ctx.wrote(result.total_rows)
    return {"sync_run_id": result.run_id, "rows": dict(result.rows), "resumed": result.resumed}


SYNC = Handler("sync", sync, Manual(), None, (WarehouseOutput(("raw_*", "sync_checkpoint")),))
