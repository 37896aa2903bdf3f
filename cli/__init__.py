"""The ``imis-tier`` command line (installed as ``imis_tier_cli``)."""
