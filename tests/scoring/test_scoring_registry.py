"""Model registry: round trip, model card, version warnings, integrity."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from imis_tier.scoring import (
    ModelIntegrityError,
    ModelRef,
    ModelRegistry,
    ModelVersionWarning,
    PropensityModel,
    data_hash,
    library_versions,
)

from ._simulated import simulate_members


@pytest.fixture(scope="module")
def trained() -> tuple[PropensityModel, object, object]:
    X, y, _ = simulate_members(1500, seed=4)
    return PropensityModel(calibration="none").fit(X, y), X, y


def test_round_trip_keeps_predictions_and_card(tmp_path: Path, trained: tuple) -> None:
    model, X, y = trained
    registry = ModelRegistry(tmp_path)
    card = registry.save(
        model,
        "renewal-propensity",
        training_window=(date(2022, 1, 1), date(2023, 12, 31)),
        metrics={"log_loss": 0.91, "auc": {"lapse": np.float64(0.77)}},
        data_hash=data_hash(X, y),
    )
    assert str(card.ref) == f"renewal-propensity@{card.version}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same libraries: no warning
        loaded, loaded_card = registry.load(str(card.ref))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded_card == card
    assert loaded_card.features == model.features_
    assert loaded_card.outcomes == tuple(model.classes_.tolist())
    assert loaded_card.metrics["auc"] == {"lapse": 0.77}
    assert loaded_card.created_at.tzinfo is not None
    assert loaded_card.library_versions == library_versions()
    assert loaded_card.params["n_bins"] == 10
    assert loaded_card.training_window == (date(2022, 1, 1), date(2023, 12, 31))
    card_json = json.loads(
        (tmp_path / "renewal-propensity" / card.version / "model.json").read_text()
    )
    assert card_json["data_hash"] == data_hash(X, y)


def test_version_is_a_content_hash(tmp_path: Path, trained: tuple) -> None:
    model, X, y = trained
    registry = ModelRegistry(tmp_path)
    first = registry.save(model, "m", created_at=datetime(2024, 1, 1, tzinfo=UTC))
    again = registry.save(model, "m", created_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert first.version == again.version
    other = PropensityModel(calibration="none", n_bins=4).fit(X, y)
    newer = registry.save(other, "m", created_at=datetime(2024, 2, 1, tzinfo=UTC))
    assert newer.version != first.version
    assert registry.card("m").version == newer.version  # a bare name means the newest
    assert [c.version for c in registry.cards("m")] == [first.version, newer.version]


def test_load_warns_when_library_versions_differ(tmp_path: Path, trained: tuple) -> None:
    model, X, _ = trained
    registry = ModelRegistry(tmp_path)
    card = registry.save(model, "m")
    path = tmp_path / "m" / card.version / "model.json"
    data = json.loads(path.read_text())
    data["library_versions"]["scikit-learn"] = "0.24.2"
    path.write_text(json.dumps(data))
    with pytest.warns(ModelVersionWarning, match=r"scikit-learn 0\.24\.2 -> "):
        loaded, _ = registry.load(card.ref)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_tampered_model_file_is_refused(tmp_path: Path, trained: tuple) -> None:
    registry = ModelRegistry(tmp_path)
    card = registry.save(trained[0], "m")
    model_file = tmp_path / "m" / card.version / "model.joblib"
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(ModelIntegrityError, match="does not match its version"):
        registry.load(card.ref)


def test_model_ref_parsing_and_errors(tmp_path: Path, trained: tuple) -> None:
    assert ModelRef.parse("propensity@abc123") == ModelRef("propensity", "abc123")
    with pytest.raises(ValueError, match="name@version"):
        ModelRef.parse("propensity")
    registry = ModelRegistry(tmp_path)
    with pytest.raises(FileNotFoundError, match="no model named 'ghost'"):
        registry.load("ghost")
    with pytest.raises(FileNotFoundError, match="no model ghost@1"):
        registry.load("ghost@1")
    with pytest.raises(ValueError, match="timezone-aware"):
        registry.save(trained[0], "m", created_at=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="must be letters"):
        registry.save(trained[0], "../escape")


def test_data_hash_changes_with_the_data(trained: tuple) -> None:
    _, X, y = trained
    assert data_hash(X, y) == data_hash(X.copy(), y.copy())
    changed = X.copy()
    changed.iloc[0, 0] += 1
    assert data_hash(changed, y) != data_hash(X, y)
    assert data_hash(X.rename(columns={"noise": "other"}), y) != data_hash(X, y)
