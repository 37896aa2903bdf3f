"""A faithful iMIS on loopback: the same endpoints, envelopes, errors and auth as iMIS.

Use it as moto is used for AWS::

    from imis_tier.emulator import Emulator, EmulatorConfig, FaultConfig
    with Emulator(EmulatorConfig(members=500, seed=1)).running() as emu:
        emu.base_url, emu.username, emu.password

or from the command line: ``imis-tier emulator serve``. See docs/emulator.md.
"""

from imis_tier.emulator._association import Association, StaticAssociation
from imis_tier.emulator._core import ApiError, TriggeredTask
from imis_tier.emulator._faults import FaultConfig
from imis_tier.emulator._queries import Prompt, QueryDefinition
from imis_tier.emulator._server import RequestRecord
from imis_tier.emulator._sources import DEFAULT_SOURCES, SourceDefinition
from imis_tier.emulator.emulator import Emulator, EmulatorConfig

__all__ = [
    "DEFAULT_SOURCES",
    "ApiError",
    "Association",
    "Emulator",
    "EmulatorConfig",
    "FaultConfig",
    "Prompt",
    "QueryDefinition",
    "RequestRecord",
    "SourceDefinition",
    "StaticAssociation",
    "TriggeredTask",
]
