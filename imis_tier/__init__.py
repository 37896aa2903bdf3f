"""imis-tier: run an association's membership tiers on evidence.

The public API is re-exported here; nothing else is promised. Heavier layers (scoring, value,
simulation) are imported from their own packages so that ``import imis_tier`` stays light.
"""

__version__ = "0.1.0"

from imis_tier.client import (
    AsyncClient,
    AuthError,
    Client,
    Conflict,
    ImisError,
    Limits,
    NotFound,
    PermissionDenied,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from imis_tier.structure import LAPSE, Eligibility, SegmentDiscount, Tier, TierStructure
from imis_tier.synthetic import SyntheticAssociation, default_structure, generate_association
from imis_tier.warehouse import Warehouse

__all__ = [
    "LAPSE",
    "AsyncClient",
    "AuthError",
    "Client",
    "Conflict",
    "Eligibility",
    "ImisError",
    "Limits",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "SegmentDiscount",
    "ServerError",
    "SyntheticAssociation",
    "Tier",
    "TierStructure",
    "TransportError",
    "ValidationError",
    "Warehouse",
    "__version__",
    "default_structure",
    "generate_association",
]
