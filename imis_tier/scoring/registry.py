"""A file-system model registry: a joblib file beside a JSON model card, addressed as name@version.

Layout under the registry root::

    <root>/<name>/<version>/model.joblib
    <root>/<name>/<version>/model.json

The version is the first 16 hex digits of the SHA-256 of the joblib bytes, so the same fitted
model saved twice gets the same version and a file altered after saving is detected on load. The
card records what is needed to trust or reproduce the model: training window, features, outcomes,
metrics, a hash of the training data, the Python/numpy/pandas/scikit-learn versions and when it
was made. Loading with different library versions warns with :class:`ModelVersionWarning`.

Loading unpickles: only load models from a registry you trust.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MODEL_FILE = "model.joblib"
_CARD_FILE = "model.json"


class ModelVersionWarning(UserWarning):
    """A model is loaded under library versions other than those it was saved with."""


class ModelIntegrityError(Exception):
    """A stored model file does not match the version (content hash) it is filed under."""


@dataclass(frozen=True, order=True)
class ModelRef:
    """A model's address, written ``name@version`` in scoring records."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Read ``name@version``."""
        name, sep, version = text.partition("@")
        if not sep or not name or not version:
            raise ValueError(f"a model reference is 'name@version', got {text!r}")
        return cls(name, version)


def library_versions() -> dict[str, str]:
    """The versions of the libraries a pickled model depends on."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def data_hash(*frames: pd.DataFrame | pd.Series | np.ndarray) -> str:
    """A SHA-256 of training data (values, index and column names), order-sensitive."""
    digest = hashlib.sha256()
    for frame in frames:
        if isinstance(frame, np.ndarray):
            frame = pd.DataFrame(frame) if frame.ndim == 2 else pd.Series(frame)
        if isinstance(frame, pd.DataFrame):
            digest.update(json.dumps([str(c) for c in frame.columns]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    """What is known about a saved model (stored as ``model.json``)."""

    name: str
    version: str
    created_at: datetime
    model_class: str
    features: tuple[str, ...]
    outcomes: tuple[Any, ...]
    training_window: tuple[date, date] | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    data_hash: str | None = None
    library_versions: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def ref(self) -> ModelRef:
        return ModelRef(self.name, self.version)

    def to_json(self) -> str:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["training_window"] = (
            [d.isoformat() for d in self.training_window] if self.training_window else None
        )
        return json.dumps(data, indent=2, sort_keys=True, default=_jsonable)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        data = json.loads(text)
        window = data.get("training_window")
        return cls(
            name=data["name"],
            version=data["version"],
            created_at=datetime.fromisoformat(data["created_at"]),
            model_class=data["model_class"],
            features=tuple(data["features"]),
            outcomes=tuple(data["outcomes"]),
            training_window=(date.fromisoformat(window[0]), date.fromisoformat(window[1]))
            if window
            else None,
            metrics=data.get("metrics", {}),
            data_hash=data.get("data_hash"),
            library_versions=data.get("library_versions", {}),
            params=data.get("params", {}),
            description=data.get("description", ""),
        )


class ModelRegistry:
    """Save and load fitted models with their cards under a root directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def save(
        self,
        model: Any,
        name: str,
        *,
        training_window: tuple[date, date] | None = None,
        metrics: Mapping[str, Any] | None = None,
        data_hash: str | None = None,
        features: Sequence[str] | None = None,
        description: str = "",
        created_at: datetime | None = None,
    ) -> ModelCard:
        """Persist a fitted model; returns its card (``card.ref`` is the ``name@version``).

        ``features`` defaults to the model's ``features_`` / ``feature_names_in_``; outcomes to its
        ``classes_``. ``created_at`` must be timezone-aware (default: now, UTC).
        """
        if not _NAME.match(name):
            raise ValueError(f"model name {name!r} must be letters, digits, '.', '_' or '-'")
        created_at = created_at or datetime.now(UTC)
        if created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        if training_window is not None and training_window[0] > training_window[1]:
            raise ValueError(f"training window starts after it ends: {training_window}")
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        payload = buffer.getvalue()
        version = hashlib.sha256(payload).hexdigest()[:16]
        card = ModelCard(
            name=name,
            version=version,
            created_at=created_at,
            model_class=f"{type(model).__module__}.{type(model).__qualname__}",
            features=tuple(features if features is not None else _features_of(model)),
            outcomes=tuple(_jsonable(c) for c in getattr(model, "classes_", ())),
            training_window=training_window,
            metrics=dict(metrics or {}),
            data_hash=data_hash,
            library_versions=library_versions(),
            params={k: _jsonable(v) for k, v in _params_of(model).items()},
            description=description,
        )
        directory = self.root / name / version
        directory.mkdir(parents=True, exist_ok=True)
        # Write the model first: a card without its model is never left behind as "saved".
        (directory / _MODEL_FILE).write_bytes(payload)
        (directory / _CARD_FILE).write_text(card.to_json(), encoding="utf-8")
        return card

    def load(self, ref: ModelRef | str) -> tuple[Any, ModelCard]:
        """Load ``name@version`` (or ``name``: the newest version); returns (model, card).

        Raises:
            FileNotFoundError: no such model or version.
            ModelIntegrityError: the file's hash does not match its version.
        Warns:
            ModelVersionWarning: the saved library versions differ from the running ones.
        """
        card = self.card(ref)
        payload = (self.root / card.name / card.version / _MODEL_FILE).read_bytes()
        if hashlib.sha256(payload).hexdigest()[:16] != card.version:
            raise ModelIntegrityError(f"{card.ref}: {_MODEL_FILE} does not match its version hash")
        current = library_versions()
        changed = {
            lib: (saved, current.get(lib, "absent"))
            for lib, saved in card.library_versions.items()
            if current.get(lib) != saved
        }
        if changed:
            detail = ", ".join(
                f"{lib} {old} -> {new}" for lib, (old, new) in sorted(changed.items())
            )
            warnings.warn(
                f"{card.ref} was saved with other library versions ({detail}); predictions may differ",
                ModelVersionWarning,
                stacklevel=2,
            )
        return joblib.load(io.BytesIO(payload)), card

    def card(self, ref: ModelRef | str) -> ModelCard:
        """The card of ``name@version`` (or of the newest version of ``name``)."""
        if isinstance(ref, str):
            ref = ModelRef.parse(ref) if "@" in ref else self._latest(ref)
        path = self.root / ref.name / ref.version / _CARD_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no model {ref} in registry {self.root}")
        return ModelCard.from_json(path.read_text(encoding="utf-8"))

    def cards(self, name: str | None = None) -> list[ModelCard]:
        """All cards (of one model name if given), oldest first."""
        pattern = f"{name}/*/{_CARD_FILE}" if name else f"*/*/{_CARD_FILE}"
        found = [
            ModelCard.from_json(p.read_text(encoding="utf-8")) for p in self.root.glob(pattern)
        ]
        return sorted(found, key=lambda c: (c.created_at, c.name, c.version))

    def _latest(self, name: str) -> ModelRef:
        cards = self.cards(name)
        if not cards:
            raise FileNotFoundError(f"no model named {name!r} in registry {self.root}")
        return cards[-1].ref


def _features_of(model: Any) -> list[str]:
    for attr in ("features_", "feature_names_in_"):
        names = getattr(model, attr, None)
        if names is not None:
            return [str(n) for n in names]
    return []


def _params_of(model: Any) -> dict[str, Any]:
    get_params = getattr(model, "get_params", None)
    return dict(get_params(deep=False)) if callable(get_params) else {}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return repr(value)
