"""The command line lives in ``cli/`` but installs as ``imis_tier_cli``, a name no other package uses."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["imis_tier", "imis_tier.*"])
    + ["imis_tier_cli"]
    + [f"imis_tier_cli.{name}" for name in find_packages("cli")],
    package_dir={"imis_tier_cli": "cli"},
)
