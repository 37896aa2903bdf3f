"""Every test talks to real components: the emulator is a real loopback iMIS (fixtures below)."""

pytest_plugins = ["imis_tier.emulator.pytest_plugin"]
