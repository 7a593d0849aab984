"""Model files (tsfilm.io.model_file): round trips, what is stored, and what is refused.

The round trip runs for every registered network, tsfilm's own and the plugins', so a
model registered later is covered without editing this file.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags

import tsfilm
from tsfilm import registry
from tsfilm.estimators import TorchEstimator
from tsfilm.io import model_file
from tsfilm.preprocessing import hide_at_random

NETWORKS = [info for info in registry.list_models() if issubclass(info.cls, TorchEstimator)]
_TEXTS = ["a fine warm film", "dull and slow", "warm and fine", "slow, dull plot"] * 3
_LABELS = ["pos", "neg", "pos", "neg"] * 3


def _small(cls: type, **params) -> TorchEstimator:
    """An instance with the class's small test parameters (a list of dicts, or one dict)."""
    test_params = cls.get_test_params()
    if isinstance(test_params, list):
        test_params = test_params[0]
    return cls(**{**test_params, **params})


def _signals(n: int = 6, length: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    return np.sin(2 * np.pi * rng.uniform(2, 6, size=(n, 1)) * t).astype(np.float32) + 2.0


def _fit_and_predict(est: TorchEstimator, task: str):
    """Fit ``est`` on small data for its task; return a function giving its outputs."""
    if task == "super_resolution":
        y = _signals()
        est.fit(y[:, ::2], y)
        return lambda model: model.predict(y[:, ::2])
    if task == "imputation":
        X_missing, _ = hide_at_random(_signals(length=64), 0.2, random_state=0)
        est.fit(X_missing)
        return lambda model: model.transform(X_missing)
    if get_tags(est).input_tags.string:
        X, y = _TEXTS, _LABELS
    else:
        X, y = _signals(n=12, length=40), np.array(_LABELS)
        X[np.array(_LABELS) == "pos"] *= -1
    est.fit(X, y)
    return lambda model: (model.predict(X), model.predict_proba(X))


@pytest.fixture(scope="module")
def fitted() -> TorchEstimator:
    est = _small(tsfilm.TFiLMSuperResolver)
    _fit_and_predict(est, "super_resolution")
    return est


def _rewrite(path, **changes) -> None:
    """Change entries of the JSON document of the model file at ``path``."""
    with safe_open(str(path), framework="pt") as handle:
        document = json.loads(handle.metadata()["tsfilm"])
    save_file(load_file(str(path)), str(path), metadata={"tsfilm": json.dumps(document | changes)})


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("info", NETWORKS, ids=lambda info: f"{info.task}-{info.name}")
def test_every_registered_network_round_trips(info, tmp_path):
    est = _small(info.cls)
    outputs = _fit_and_predict(est, info.task)
    path = tmp_path / "model.tsfilm"
    est.save(path)
    loaded = tsfilm.load(path)

    assert type(loaded) is info.cls
    np.testing.assert_equal(loaded.get_params(), est.get_params())  # NaN markers included
    for name in info.cls._saved_attributes:
        if hasattr(est, name):
            np.testing.assert_equal(getattr(loaded, name), getattr(est, name), err_msg=name)
    for got, expected in zip(outputs(loaded), outputs(est), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert next(loaded.module_.parameters()).device.type == "cpu"
    assert [p.name for p in tmp_path.iterdir()] == ["model.tsfilm"]  # no temporary file left


def test_string_labels_come_back_as_strings(tmp_path):
    clf = _small(tsfilm.TFiLMSequenceClassifier)
    _fit_and_predict(clf, "classification")
    tsfilm.save(clf, tmp_path / "clf.tsfilm")
    loaded = tsfilm.load(tmp_path / "clf.tsfilm")
    assert loaded.classes_.tolist() == ["neg", "pos"]
    assert set(loaded.predict(_signals(n=3, length=40))) <= {"neg", "pos"}


def test_feature_names_and_a_zero_missing_marker_come_back(tmp_path):
    X_zero, _ = hide_at_random(_signals(length=64), 0.2, random_state=1, missing_values=0)
    frame = pd.DataFrame(X_zero, columns=[f"t{i}" for i in range(64)])
    est = _small(tsfilm.TFiLMImputer, missing_values=0).fit(frame)
    est.save(tmp_path / "m.tsfilm")
    loaded = tsfilm.load(tmp_path / "m.tsfilm")
    assert loaded.missing_values == 0
    np.testing.assert_array_equal(loaded.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(loaded.transform(frame), est.transform(frame))


def test_text_vocabulary_is_stored_as_json(tmp_path):
    clf = _small(tsfilm.TFiLMTextClassifier)
    _fit_and_predict(clf, "classification")
    path = tmp_path / "text.tsfilm"
    clf.save(path)
    with safe_open(str(path), framework="pt") as handle:
        document = json.loads(handle.metadata()["tsfilm"])
    assert document["format"] == model_file.FORMAT_NAME
    assert document["format_version"] == model_file.FORMAT_VERSION
    assert document["class"] == "tsfilm.estimators.text:TFiLMTextClassifier"
    assert document["fitted"]["tokens_"] == clf.tokens_
    loaded = tsfilm.load(path)
    np.testing.assert_array_equal(loaded.predict(["", "unseen"]), clf.predict(["", "unseen"]))


def test_a_plugin_model_loads_in_a_fresh_process(tmp_path):
    conv = registry.get_model("conv", task="super_resolution")
    est = _small(conv, ratio=2)
    outputs = _fit_and_predict(est, "super_resolution")
    est.save(tmp_path / "conv.tsfilm")
    np.save(tmp_path / "low.npy", _signals()[:, ::2])
    np.save(tmp_path / "expected.npy", outputs(est))
    code = (
        "import sys, numpy as np, tsfilm\n"
        "d = sys.argv[1]\n"
        "est = tsfilm.load(d + '/conv.tsfilm')\n"
        "assert type(est).__name__ == 'ConvSuperResolver', type(est)\n"
        "out = est.predict(np.load(d + '/low.npy'))\n"
        "assert np.array_equal(out, np.load(d + '/expected.npy'))\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --- what load refuses --------------------------------------------------------------------


def test_files_that_are_not_model_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        tsfilm.load(tmp_path / "missing.tsfilm")
    bogus = tmp_path / "bogus.tsfilm"
    bogus.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a tsfilm model file"):
        tsfilm.load(bogus)
    other = tmp_path / "other.safetensors"
    for metadata in (None, {"tsfilm": "{not json"}, {"tsfilm": "[1, 2]"}, {"tsfilm": "{}"}):
        save_file({"w": torch.zeros(2)}, str(other), metadata=metadata)
        with pytest.raises(ValueError, match="not a tsfilm model file"):
            tsfilm.load(other)


def test_a_newer_format_version_is_refused(fitted, tmp_path):
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    _rewrite(path, format_version=model_file.FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="Upgrade tsfilm"):
        tsfilm.load(path)


def test_a_class_that_is_not_registered_is_refused_and_never_imported(fitted, tmp_path):
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    _rewrite(path, **{"class": "fake_tsfilm_never_imported:Model"})
    with pytest.raises(ValueError, match="'fake_tsfilm_never_imported:Model', which is not inst"):
        tsfilm.load(path)
    assert "fake_tsfilm_never_imported" not in sys.modules
    _rewrite(path, **{"class": "subprocess:Popen"})  # importable, but not a registered model
    with pytest.raises(ValueError, match="not installed here"):
        tsfilm.load(path)


def test_a_registered_class_without_a_network_is_refused(fitted, tmp_path):
    spline = registry.get_model("spline", task="super_resolution")
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    _rewrite(path, **{"class": f"{spline.__module__}:{spline.__qualname__}"})
    with pytest.raises(ValueError, match="without a network"):
        tsfilm.load(path)


# --- what save refuses --------------------------------------------------------------------


def test_unserialisable_params_are_refused_and_leave_no_file(fitted, tmp_path):
    est = _small(tsfilm.TFiLMSuperResolver, random_state=np.random.RandomState(0))
    _fit_and_predict(est, "super_resolution")
    with pytest.raises(TypeError, match="random_state"):
        est.save(tmp_path / "m.tsfilm")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_keeps_the_existing_file(fitted, tmp_path):
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    before = path.read_bytes()
    broken = _small(tsfilm.TFiLMSuperResolver)
    broken.__dict__.update({**fitted.__dict__, "history_": [object()]})
    with pytest.raises(TypeError, match="history_"):
        broken.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.tsfilm"]


def test_an_unregistered_class_is_refused(fitted, tmp_path):
    class Unregistered(tsfilm.TFiLMSuperResolver):
        pass

    est = Unregistered()
    est.__dict__.update(fitted.__dict__)
    with pytest.raises(TypeError, match="not a registered estimator"):
        est.save(tmp_path / "m.tsfilm")
    assert list(tmp_path.iterdir()) == []


def test_an_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        tsfilm.save(tsfilm.TFiLMSuperResolver(), tmp_path / "m.tsfilm")
    assert list(tmp_path.iterdir()) == []
