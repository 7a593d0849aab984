"""Model files (tsfilm.io.model_file): round trips, what is stored, and what is refused.

The round trip runs for every registered network, tsfilm's own and the plugins', so a
model registered later is covered without editing this file.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

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


def _document(path) -> dict:
    """The JSON document of the model file at ``path``."""
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["tsfilm"])


def _rewrite(path, **changes) -> None:
    """Change entries of the JSON document of the model file at ``path``."""
    document = _document(path) | changes
    save_file(load_file(str(path)), str(path), metadata={"tsfilm": json.dumps(document)})


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("info", NETWORKS, ids=lambda info: f"{info.task}-{info.name}")
def test_every_registered_network_round_trips(info, tmp_path):
    est = _small(info.cls)
    outputs = _fit_and_predict(est, info.task)
    path = tmp_path / "model.tsfilm"
    est.save(path)
    rng_state = torch.random.get_rng_state()
    loaded = tsfilm.load(path)

    assert torch.equal(torch.random.get_rng_state(), rng_state)  # load draws no random numbers
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


# --- reproducibility, devices and dtypes ----------------------------------------------------


def test_the_same_random_state_gives_the_same_weights_and_leaves_torchs_rng_alone(tmp_path):
    rng_state = torch.random.get_rng_state()
    for name in ("a", "b"):
        est = _small(tsfilm.TFiLMSuperResolver)
        _fit_and_predict(est, "super_resolution")
        est.save(tmp_path / f"{name}.tsfilm")
        tsfilm.load(tmp_path / f"{name}.tsfilm")
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    a, b = load_file(str(tmp_path / "a.tsfilm")), load_file(str(tmp_path / "b.tsfilm"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_torch_device_parameter_is_saved_as_its_name(tmp_path):
    est = _small(tsfilm.TFiLMSuperResolver, device=torch.device("cpu"))
    _fit_and_predict(est, "super_resolution")
    est.save(tmp_path / "m.tsfilm")
    assert tsfilm.load(tmp_path / "m.tsfilm").device == "cpu"


@pytest.mark.parametrize("device", ["cuda:99", "meta", "mps", "cuda"])
def test_a_device_not_available_here_loads_as_auto_with_a_warning(fitted, tmp_path, device):
    """A model trained on a GPU predicts on a machine without one."""
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("MPS is available here")
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    _rewrite(path, params=_document(path)["params"] | {"device": device})
    with pytest.warns(UserWarning, match=f"device='{device}', not available here.*'auto'"):
        loaded = tsfilm.load(path)
    assert loaded.device == "auto"
    low = _signals()[:, ::2]
    np.testing.assert_array_equal(loaded.predict(low), fitted.predict(low))


def test_more_threads_than_this_machine_has_load_as_none_with_a_warning(fitted, tmp_path):
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    _rewrite(path, params=_document(path)["params"] | {"n_threads": 10**6})
    with pytest.warns(UserWarning, match="n_threads=1000000"):
        assert tsfilm.load(path).n_threads is None


@pytest.mark.parametrize("dtype", ["<U5", "<U3", object])
def test_string_labels_keep_their_dtype(tmp_path, dtype):
    clf = _small(tsfilm.TFiLMSequenceClassifier)
    X = _signals(n=12, length=40)
    y = np.array(_LABELS, dtype=dtype)
    X[y == "pos"] *= -1
    clf.fit(X, y)
    clf.save(tmp_path / "clf.tsfilm")
    loaded = tsfilm.load(tmp_path / "clf.tsfilm")
    assert loaded.classes_.dtype == clf.classes_.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.predict(X).dtype == clf.predict(X).dtype


def test_bool_and_integer_labels_keep_their_dtype(tmp_path):
    X = _signals(n=12, length=40)
    for y in (np.array([True, False] * 6), np.array([3, 7] * 6, dtype=np.int32)):
        clf = _small(tsfilm.TFiLMSequenceClassifier).fit(X, y)
        clf.save(tmp_path / "clf.tsfilm")
        loaded = tsfilm.load(tmp_path / "clf.tsfilm")
        assert loaded.classes_.dtype == y.dtype
        np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


# --- how save writes ----------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_a_model_file_gets_the_permissions_of_any_new_file(fitted, tmp_path, umask):
    old = os.umask(umask)
    try:
        fitted.save(tmp_path / "m.tsfilm")
        (tmp_path / "plain").write_bytes(b"")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "m.tsfilm").stat().st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def test_save_flushes_the_file_before_the_rename_and_the_folder_after(
    fitted, tmp_path, monkeypatch
):
    events = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", fd)) or fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace",)) or replace(a, b))
    fitted.save(tmp_path / "m.tsfilm")
    kinds = [event[0] for event in events]
    assert kinds[:2] == ["fsync", "replace"]
    if sys.platform != "win32":
        assert kinds == ["fsync", "replace", "fsync"]  # the folder, so the rename lasts


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_no_temporary_file_and_keeps_the_old_one(
    fitted, tmp_path, monkeypatch, error
):
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    before = path.read_bytes()

    def failing_save_file(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise error

    monkeypatch.setattr(model_file, "save_file", failing_save_file)
    with pytest.raises(type(error)):
        fitted.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.tsfilm"]


def test_a_folder_or_a_missing_folder_is_refused_before_writing(fitted, tmp_path):
    with pytest.raises(ValueError, match="is a folder; give a file name"):
        fitted.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="its folder does not exist"):
        fitted.save(tmp_path / "missing" / "m.tsfilm")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="its folder does not exist"):
        fitted.save(tmp_path / "file" / "m.tsfilm")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_non_finite_weights_are_refused_by_save(fitted, tmp_path):
    broken = copy.deepcopy(fitted)
    with torch.no_grad():
        next(broken.module_.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match=r"weight '.*' holds NaN or infinite values"):
        broken.save(tmp_path / "m.tsfilm")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_what_load_would_refuse(fitted, tmp_path):
    broken = copy.deepcopy(fitted)
    broken.depth = 0  # changed after fitting: no longer the network's depth
    with pytest.raises(ValueError, match=r"load would refuse the file.*'depth' parameter"):
        broken.save(tmp_path / "m.tsfilm")
    broken = copy.deepcopy(fitted)
    broken.n_epochs_ = 99
    with pytest.raises(ValueError, match=r"n_epochs_ != len\(history_\)"):
        broken.save(tmp_path / "m.tsfilm")
    assert list(tmp_path.iterdir()) == []


def test_only_one_dimensional_arrays_of_plain_dtypes_are_saved(fitted, tmp_path):
    for value in (np.zeros((2, 2)), np.array([object()], dtype=object), np.array([1j])):
        est = copy.deepcopy(fitted)
        est.scale_ = value
        with pytest.raises(TypeError, match="attribute scale_ is an array"):
            est.save(tmp_path / "m.tsfilm")
    assert list(tmp_path.iterdir()) == []


# --- load's checks, also under python -O ------------------------------------------------


def test_load_refuses_a_file_whose_network_does_not_match_its_hyper_parameters(fitted, tmp_path):
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    _rewrite(path, params=_document(path)["params"] | {"depth": 3})
    with pytest.raises(ValueError, match=r"not a tsfilm model file .*tensor"):
        tsfilm.load(path)


@pytest.mark.slow
def test_load_checks_hold_under_python_optimize(fitted, tmp_path):
    """No check is an assert: they hold in ``python -O`` (a fresh process, a few seconds)."""
    path = tmp_path / "m.tsfilm"
    fitted.save(path)
    _rewrite(path, fitted=_document(path)["fitted"] | {"module_": 1})
    code = (
        "import sys, tsfilm\n"
        "assert not __debug__\n"
        "try:\n"
        "    tsfilm.load(sys.argv[1])\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "is not a tsfilm model file" in result.stdout
    assert "does not save ['module_']" in result.stdout
