"""Record the cassette scenarios from a fresh emulator: ``python -m tests.client.record_cassettes``.

Secrets are scrubbed by the recorder's hooks before anything is written (see
:mod:`imis_tier.client.recording`); the scenario results go beside each cassette as JSON.
"""

from __future__ import annotations

import json

from imis_tier.client import Client
from imis_tier.client.recording import scrubbing_vcr

from .cassette_scenarios import CASSETTES, SCENARIOS


def main() -> None:
    from imis_tier.emulator import Emulator, EmulatorConfig

    recorder = scrubbing_vcr(CASSETTES, record_mode="all")
    with Emulator(EmulatorConfig(members=120, seed=7)).running() as emu:
        for name, scenario in SCENARIOS.items():
            with (
                recorder.use_cassette(f"{name}.yaml"),
                Client(
                    emu.base_url, username=emu.username, password=emu.password, use_keyring=False
                ) as imis,
            ):
                facts = scenario(imis)
            (CASSETTES / f"{name}.json").write_text(json.dumps(facts, indent=2) + "\n")
            print(f"recorded {name}: {imis.request_count} requests")


if __name__ == "__main__":
    main()
