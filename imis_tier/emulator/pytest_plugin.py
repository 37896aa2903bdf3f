"""pytest fixtures for testing against the emulator (enable with
``pytest_plugins = ["imis_tier.emulator.pytest_plugin"]`` in your root conftest.py).

``imis_emulator``: one running emulator per session (500 members, seed 1); treat its data as
shared — write to your own rows or use ``make_imis_emulator`` for a private one.
``make_imis_emulator(**config)``: a factory of running emulators, stopped at the test's end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from imis_tier.emulator.emulator import Emulator, EmulatorConfig


@pytest.fixture(scope="session")
def imis_emulator() -> Iterator[Emulator]:
    """A running emulator shared by the whole session (500 members, seed 1)."""
    with Emulator(EmulatorConfig(members=500, seed=1)).running() as emu:
        yield emu


@pytest.fixture
def make_imis_emulator() -> Iterator[Callable[..., Emulator]]:
    """A factory: ``make_imis_emulator(members=200, seed=3, ...)`` -> a started Emulator."""
    started: list[Emulator] = []

    def make(config: EmulatorConfig | None = None, **settings: Any) -> Emulator:
        emu = Emulator(config or EmulatorConfig(**settings)).start()
        started.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        emu.stop()
