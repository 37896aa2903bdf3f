"""imis-tier: run an association's membership tiers on evidence.

The public API is re-exported here; nothing else is promised.
"""

from imis_tier.structure import LAPSE, Eligibility, SegmentDiscount, Tier, TierStructure

__version__ = "0.1.0"

__all__ = [
    "LAPSE",
    "Eligibility",
    "SegmentDiscount",
    "Tier",
    "TierStructure",
    "__version__",
]
