"""The embedded warehouse: raw extracts, sync checkpoints, canonical tables, scores and audit."""

from imis_tier.warehouse._database import Migration, Warehouse, WarehouseError, available_migrations

__all__ = ["Migration", "Warehouse", "WarehouseError", "available_migrations"]
