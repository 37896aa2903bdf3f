"""The choice estimators live in ``imis_tier.choice`` (models layer); the old path still works."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import imis_tier.choice
import imis_tier.simulate.choice


def test_old_path_reexports_the_same_objects() -> None:
    assert imis_tier.simulate.choice.ConditionalLogit is imis_tier.choice.ConditionalLogit
    assert imis_tier.simulate.choice.__all__ == imis_tier.choice.__all__
    for name in imis_tier.choice.__all__:
        assert getattr(imis_tier.simulate.choice, name) is getattr(imis_tier.choice, name)


@pytest.mark.parametrize(
    "module", ["imis_tier.choice", "imis_tier.value", "imis_tier.value.benefits"]
)
def test_models_layer_does_not_import_simulation(module: str) -> None:
    code = (
        f"import json, sys, {module}; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m == 'imis_tier.simulate' or m.startswith('imis_tier.simulate.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
