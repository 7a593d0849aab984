"""Hostile and broken model files: ``tsfilm.load`` refuses them and says why.

A model file from a stranger must be safe to load. Every file here is one that a careless
or malicious writer could produce. ``tsfilm.load`` may raise only FileNotFoundError or
ValueError (never KeyError, TypeError, RecursionError, a torch RuntimeError...), must
import nothing, must leave torch's random state alone, and must allocate memory in
proportion to the file, never to numbers written in it. The explicit cases name the
problem that the message must report; the hypothesis test mutates the model files of
every registered network at random (truncations, bit flips, JSON and tensor-table edits).
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.utils import get_tags

import tsfilm
from tsfilm import registry
from tsfilm.estimators import TorchEstimator
from tsfilm.preprocessing import hide_at_random

NETWORKS = {
    f"{info.task}-{info.name}": info
    for info in registry.list_models()
    if issubclass(info.cls, TorchEstimator)
}
CLASS_NAMES = sorted(f"{i.cls.__module__}:{i.cls.__qualname__}" for i in registry.list_models())
SR, CLF, TEXT, IMP = (
    "super_resolution-tfilm",
    "classification-tfilm",
    "classification-tfilm_text",
    "imputation-tfilm",
)
MiB = 2**20
_TEXTS = ["a fine warm film", "dull and slow", "warm and fine", "slow, dull plot"] * 3
_LABELS = ["pos", "neg", "pos", "neg"] * 3


def _fit(info) -> TorchEstimator:
    """A small fitted model of a registered network."""
    params = info.cls.get_test_params()
    est = info.cls(**(params[0] if isinstance(params, list) else params))
    t = np.arange(128) / 128
    signals = np.sin(2 * np.pi * np.arange(2, 8)[:, None] * t).astype(np.float32) + 2.0
    if info.task == "super_resolution":
        return est.fit(signals[:, ::2], signals)
    if info.task == "imputation":
        return est.fit(hide_at_random(signals[:, :64], 0.2, random_state=0)[0])
    if get_tags(est).input_tags.string:
        return est.fit(_TEXTS, _LABELS)
    X = np.resize(signals[:, :40], (12, 40)) * np.where(np.array(_LABELS) == "pos", -1, 1)[:, None]
    return est.fit(X, _LABELS)


class _Files(dict):
    def __repr__(self) -> str:  # hypothesis prints the test's arguments
        return f"<model files of {len(self)} networks>"


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, bytes]:
    """The bytes of a model file of every registered network, loaded once (so that the
    first load's imports are done before the hostile files)."""
    folder = tmp_path_factory.mktemp("models")
    files = _Files()
    for key, info in NETWORKS.items():
        _fit(info).save(folder / f"{key}.tsfilm")
        tsfilm.load(folder / f"{key}.tsfilm")
        files[key] = (folder / f"{key}.tsfilm").read_bytes()
    return files


# --- editing files ------------------------------------------------------------------------
def _split(raw: bytes) -> tuple[dict, bytes]:
    """The safetensors header (JSON) and the tensor data of a file."""
    size = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + size]), raw[8 + size :]


def _join(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data


def metadata(make: Callable[[dict], object]) -> Callable[[bytes], bytes]:
    """A file edit that replaces the JSON document by ``make(document)`` (a str is written
    as the metadata text as it is, anything else as JSON)."""

    def edit(raw: bytes) -> bytes:
        header, data = _split(raw)
        new = make(json.loads(header["__metadata__"]["tsfilm"]))
        header["__metadata__"]["tsfilm"] = new if isinstance(new, str) else json.dumps(new)
        return _join(header, data)

    return edit


def document(change: Callable[[dict], object]) -> Callable[[bytes], bytes]:
    """A file edit that changes the JSON document in place."""
    return metadata(lambda doc: [change(doc), doc][1])


def params(**changes) -> Callable[[bytes], bytes]:
    return document(lambda doc: doc["params"].update(changes))


def fitted(**changes) -> Callable[[bytes], bytes]:
    return document(lambda doc: doc["fitted"].update(changes))


def tensors(edit: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    """A file edit that changes the tensors (the document is kept)."""

    def make(raw: bytes) -> bytes:
        header, _ = _split(raw)
        weights = safetensors.torch.load(raw)
        edit(weights)
        return safetensors.torch.save(weights, metadata=header["__metadata__"])

    return make


def table(edit: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    """A file edit that changes the safetensors header (tensor table) only."""

    def make(raw: bytes) -> bytes:
        header, data = _split(raw)
        edit(header)
        return _join(header, data)

    return make


def _first_weight(weights: dict) -> str:
    return next(k for k, v in weights.items() if v.is_floating_point() and v.ndim >= 2)


def _set_first(value: float) -> Callable[[dict], None]:
    def edit(weights: dict) -> None:
        weights[_first_weight(weights)].view(-1)[0] = value

    return edit


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _status(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())[1])


def _peak_growth(load: Callable[[], None]) -> int | None:
    """Bytes by which the peak resident memory grew during ``load()`` (None where unknown)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak to the current size
    except OSError:
        load()
        return None
    before = _status("VmHWM")
    load()
    return (_status("VmHWM") - before) * 1024


def _load_guarded(path: Path, expected: type[Exception] | tuple = (ValueError,)):
    """Load ``path``; return the exception (of the expected types) or None, after checking
    that nothing was imported, torch's random state was kept and memory stayed bounded."""
    modules, rng_state, caught = set(sys.modules), torch.random.get_rng_state(), []

    def attempt() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # devices not available here
            try:
                tsfilm.load(path)
            except expected as exc:
                caught.append(exc)

    growth = _peak_growth(attempt)
    size = path.stat().st_size if path.is_file() else 0
    assert growth is None or growth < 50 * MiB + 2 * size, growth
    assert set(sys.modules) == modules, sorted(set(sys.modules) - modules)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    return caught[0] if caught else None


# --- explicit hostile files -----------------------------------------------------------------
NOT_A_MODEL = "is not a tsfilm model file"
HUGE = 10**9
DNN, CONV = "super_resolution-dnn", "super_resolution-conv"


def klass(name: str) -> Callable[[bytes], bytes]:
    return document(lambda doc: doc.update({"class": name}))


def array(items: list, dtype: object = "<f8", **extra) -> dict:
    return {"__ndarray__": items, "dtype": dtype, **extra}


def history(**changes) -> Callable[[bytes], bytes]:
    return document(lambda doc: doc["fitted"]["history_"][0].update(changes))


def tokens(edit: Callable[[list], object]) -> Callable[[bytes], bytes]:
    return document(lambda doc: edit(doc["fitted"]["tokens_"]))


def weight(change: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[bytes], bytes]:
    return tensors(lambda w: w.update({(k := _first_weight(w)): change(w[k])}))


def entry(**changes) -> Callable[[bytes], bytes]:
    """Change the table entry (dtype, shape, data_offsets) of the first tensor."""
    return table(lambda h: h[next(k for k in h if k != "__metadata__")].update(changes))


def json_text(old: str, new: str) -> Callable[[bytes], bytes]:
    return metadata(lambda doc: json.dumps(doc).replace(old, new))


CASES: list[tuple[str, str, Callable[[bytes], bytes], str]] = [
    # the container
    ("empty", SR, lambda raw: b"", "too short for a safetensors file"),
    ("truncated", SR, lambda raw: raw[: len(raw) // 2], "not a safetensors file"),
    ("truncated-header", SR, lambda raw: raw[:40], "not a safetensors file"),
    ("random-bytes", SR, lambda raw: bytes(range(256)) * 4, "over the 40 MiB limit"),
    ("header-size-2**60", SR, lambda raw: (2**60).to_bytes(8, "little") + raw[8:], "40 MiB"),
    ("zip-file", SR, lambda raw: b"PK\x03\x04" + raw, NOT_A_MODEL),
    ("pickle", SR, lambda raw: b"\x80\x04\x95" + b"\0" * 64, "not a safetensors file"),
    ("no-metadata", SR, table(lambda h: h.pop("__metadata__")), "no 'tsfilm' entry"),
    ("metadata-not-json", SR, metadata(lambda d: "{not json"), "metadata is not JSON"),
    ("metadata-a-list", SR, metadata(lambda d: [d]), "no 'tsfilm-model' document"),
    ("metadata-over-16-MiB", SR, metadata(lambda d: " " * (16 * MiB + 1)), "16 MiB limit"),
    ("json-nested-100000", SR, metadata(lambda d: "[" * 10**5 + "]" * 10**5), "nested too"),
    ("json-int-5000-digits", SR, json_text('"depth": 2', '"depth": 2' + "0" * 5000), "not JSON"),
    # the document
    ("format-wrong", SR, document(lambda d: d.update(format="pickle")), "no 'tsfilm-model'"),
    ("version-str", SR, document(lambda d: d.update(format_version="1")), "format_version"),
    ("version-bool", SR, document(lambda d: d.update(format_version=True)), "format_version"),
    ("version-0", SR, document(lambda d: d.update(format_version=0)), "format_version"),
    ("version-float", SR, document(lambda d: d.update(format_version=1.0)), "format_version"),
    ("no-params", SR, document(lambda d: d.pop("params")), r"lacks \['params'\]"),
    ("no-fitted", SR, document(lambda d: d.pop("fitted")), r"lacks \['fitted'\]"),
    ("no-class", SR, document(lambda d: d.pop("class")), r"lacks \['class'\]"),
    ("extra-key", SR, document(lambda d: d.update(code="import os")), "unknown keys"),
    ("class-int", SR, document(lambda d: d.update({"class": 7})), "class must be a str"),
    ("class-list", SR, document(lambda d: d.update({"class": ["os", "system"]})), "class must"),
    ("class-os-system", SR, klass("os:system"), "'os:system', which is not installed"),
    ("class-eval", SR, klass("builtins:eval"), "not installed"),
    ("class-abstract-base", SR, klass("tsfilm.estimators._base:TorchEstimator"), "not installed"),
    ("class-base", SR, klass("tsfilm.estimators.super_resolution:UNetSuperResolver"), "not inst"),
    ("class-no-network", SR, klass("tsfilm_baselines.super_resolution:SplineSuperResolver"), "wit"),
    ("class-other-task", SR, klass("tsfilm.estimators.imputation:TFiLMImputer"), "no parameter"),
    ("class-conv", SR, klass("tsfilm_baselines.super_resolution:ConvSuperResolver"), "no param"),
    ("class-tfilm", CONV, klass("tsfilm.estimators.super_resolution:TFiLMSuperResolver"), "missi"),
    # hyper-parameters
    ("params-a-list", SR, document(lambda d: d.update(params=[1, 2])), "params must be a JSON"),
    ("param-unknown", SR, params(predict="os.system"), r"has no parameter\(s\) \['predict'\]"),
    ("param-dunder", SR, params(__class__="x"), r"has no parameter\(s\) \['__class__'\]"),
    ("param-depth-str", SR, params(depth="2"), "invalid parameter: The 'depth' parameter"),
    ("param-depth-0", SR, params(depth=0), "invalid parameter: The 'depth' parameter"),
    ("param-depth-bool", SR, params(depth=True), "invalid parameter: The 'depth' parameter"),
    ("param-depth-huge", SR, params(depth=HUGE), "depth=1000000000 needs more than"),
    ("param-width-200", SR, params(width=200, max_filters=512), "its hyper-parameters give"),
    ("param-width-inf", SR, params(width=float("inf")), "invalid parameter: The 'width'"),
    ("param-width-nan", SR, params(width=float("nan")), "invalid parameter: The 'width'"),
    ("param-rnn-unknown", SR, params(rnn="transformer"), "invalid parameter: The 'rnn'"),
    ("param-dropout-2", SR, params(dropout=2.0), "invalid parameter: The 'dropout'"),
    ("param-device-bogus", SR, params(device="quantum:0"), "device='quantum:0' is not a torch"),
    ("param-device-int", SR, params(device=3), "invalid parameter: The 'device'"),
    ("param-nested-40", SR, params(verbose=_nested(40)), "nested more than 16 levels"),
    ("param-tuple-bad", SR, params(depth={"__tuple__": 5}), "malformed tuple"),
    ("param-n-layers-huge", CLF, params(n_layers=HUGE), "n_layers=1000000000 needs more"),
    ("param-kernel-huge", CLF, params(kernel_size=2**62), "its hyper-parameters give"),
    ("param-filters-2**70", CLF, params(n_filters=2**70), "hyper-parameters give no network"),
    ("param-hidden-sizes", DNN, params(hidden_sizes=[HUGE]), "its hyper-parameters give"),
    ("param-hidden-layers", DNN, params(hidden_sizes=[16, 16]), "of its network are missing"),
    ("param-hidden-many", DNN, params(hidden_sizes=[1] * 100_000), "needs more than"),
    ("param-hidden-str", DNN, params(hidden_sizes=["x"]), "give no network"),
    ("param-max-vocabulary", TEXT, params(max_vocabulary=-1), "The 'max_vocabulary' parameter"),
    # fitted attributes
    ("fitted-a-list", SR, document(lambda d: d.update(fitted=[])), "fitted must be a JSON"),
    ("fitted-predict", SR, fitted(predict=1), r"does not save \['predict'\]"),
    ("fitted-dict", SR, fitted(__dict__={}), r"does not save \['__dict__'\]"),
    ("fitted-module", SR, fitted(module_=None), r"does not save \['module_'\]"),
    ("fitted-device", SR, fitted(device="cpu"), r"does not save \['device'\]"),
    ("fitted-n-threads", SR, fitted(n_threads=1), r"does not save \['n_threads'\]"),
    ("no-ratio", SR, document(lambda d: d["fitted"].pop("ratio_")), r"\['ratio_'\] missing"),
    ("ratio-0", SR, fitted(ratio_=0), "ratio_ must be an int >= 1"),
    ("ratio-float", SR, fitted(ratio_=2.0), "ratio_ must be an int >= 1"),
    ("channels-negative", SR, fitted(n_channels_=-1), "n_channels_ must be an int >= 1"),
    ("channels-bool", SR, fitted(n_channels_=True), "n_channels_ must be an int >= 1"),
    ("channels-huge", SR, fitted(n_channels_=HUGE), "its hyper-parameters give"),
    ("scale-nan", SR, fitted(scale_=float("nan")), "scale_ must be a finite positive float"),
    ("scale-inf", SR, fitted(scale_=float("inf")), "scale_ must be a finite positive float"),
    ("scale-negative", SR, fitted(scale_=-1.0), "scale_ must be a finite positive float"),
    ("scale-str", SR, fitted(scale_="big"), "scale_ must be a finite positive float, or a"),
    ("history-str", SR, fitted(history_="x"), "history_ must be a list of dicts"),
    ("history-extra-key", SR, history(evil=1), "history_ must be a list of dicts"),
    ("history-str-value", SR, history(seconds="1"), "history_ must be a list of dicts"),
    ("epochs-mismatch", SR, fitted(n_epochs_=99), r"n_epochs_ != len\(history_\)"),
    ("best-epoch-late", SR, fitted(best_epoch_=99), "best_epoch_ > n_epochs_"),
    ("classes-one", CLF, fitted(classes_=array(["a"], "<U1")), "at least 2 distinct"),
    ("classes-repeated", CLF, fitted(classes_=array(["a", "a"], "<U1")), "at least 2 distinct"),
    ("classes-list", CLF, fitted(classes_=["neg", "pos"]), "classes_ must be a 1-D array"),
    ("mean-length", CLF, fitted(mean_=array([0.0, 1.0])), r"n_channels_ != len\(mean_\)"),
    ("mean-inf", CLF, fitted(mean_=array([float("inf")])), "mean_ must be a 1-D array of finite"),
    ("tokens-no-pad", TEXT, tokens(lambda t: t.pop(0)), "tokens_ must be a list of distinct"),
    ("tokens-repeated", TEXT, tokens(lambda t: t.append("<unk>")), "tokens_ must be"),
    ("tokens-int", TEXT, tokens(lambda t: t.append(3)), "tokens_ must be a list of distinct"),
    ("non-negative-int", IMP, fitted(non_negative_=1), "non_negative_ must be a bool"),
    ("window-length-0", IMP, fitted(window_length_=0), "window_length_ must be an int >= 1"),
    ("feature-names-float", IMP, fitted(feature_names_in_=array([1.0])), "feature_names_in_ must"),
    # arrays
    ("array-no-dtype", CLF, fitted(classes_={"__ndarray__": ["a", "b"]}), "needs a list of items"),
    ("array-dtype-none", CLF, fitted(classes_=array(["a", "b"], None)), "needs a list of items"),
    ("array-dtype-bogus", CLF, fitted(classes_=array([1, 2], "rm -rf")), "unknown array dtype"),
    ("array-object-dicts", CLF, fitted(classes_=array([{}, []], "|O")), "do not fit dtype '|O'"),
    ("array-void", CLF, fitted(classes_=array([1, 2], "|V8")), "unsupported array dtype"),
    ("array-structured", CLF, fitted(classes_=array([1, 2], "f8,i4")), "unsupported array dtype"),
    ("array-datetime", CLF, fitted(classes_=array([1, 2], "<M8[s]")), "unsupported array dtype"),
    ("array-U-huge", CLF, fitted(classes_=array(["a"] * 100, "<U10000000")), "too large"),
    ("array-U-absurd", CLF, fitted(classes_=array(["a", "b"], "<U999999999")), "array dtype"),
    ("array-nested", CLF, fitted(classes_=array([[1, 2], [3, 4]], "<i8")), "do not fit dtype"),
    ("array-int-overflow", CLF, fitted(classes_=array([2**70, 1], "<i8")), "do not fit dtype"),
    ("array-str-too-long", CLF, fitted(classes_=array(["long", "b"], "<U2")), "do not fit dtype"),
    ("array-extra-key", CLF, fitted(classes_=array([1, 2], "<i8", x=1)), "needs a list of items"),
    # tensors
    ("tensor-extra", SR, tensors(lambda w: w.update(evil=torch.zeros(3))), r"\['evil'\] are not"),
    ("tensor-missing", SR, tensors(lambda w: w.pop(_first_weight(w))), "are missing"),
    ("tensor-flattened", SR, weight(lambda t: t.reshape(-1)), "its hyper-parameters give"),
    ("tensor-float64", SR, weight(lambda t: t.double()), "is F64"),
    ("tensor-int8", SR, weight(lambda t: t.to(torch.int8)), "is I8"),
    ("tensor-nan", SR, tensors(_set_first(float("nan"))), "holds NaN or infinite values"),
    ("tensor-inf", SR, tensors(_set_first(float("inf"))), "holds NaN or infinite values"),
    ("tensor-inf-text", TEXT, tensors(_set_first(float("-inf"))), "holds NaN or infinite"),
    ("tensors-10001", SR, tensors(lambda w: w.update(_zeros(10_001))), "over 10000"),
    ("table-shape-huge", SR, entry(shape=[2**40, 2**20]), "not a safetensors file"),
    ("table-offsets-past-end", SR, entry(data_offsets=[0, 2**40]), "not a safetensors file"),
    ("table-dtype-unknown", SR, entry(dtype="X9"), "not a safetensors file"),
]


def _zeros(n: int) -> dict[str, torch.Tensor]:
    return {f"x{i}": torch.zeros(1) for i in range(n)}


@pytest.mark.parametrize(
    ("model", "edit", "match"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_hostile_file_is_refused_and_the_message_says_why(
    model_files, tmp_path, model, edit, match
):
    path = tmp_path / "hostile.tsfilm"
    path.write_bytes(edit(model_files[model]))
    exc = _load_guarded(path)
    assert isinstance(exc, ValueError), f"loaded: {exc!r}"
    assert re.search(match, str(exc)), str(exc)
    assert str(exc).startswith(repr(str(path)))
    assert NOT_A_MODEL in str(exc) or "which is not installed here" in str(exc)


def test_there_are_many_explicit_cases():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


def test_a_newer_format_is_refused_with_a_request_to_upgrade(model_files, tmp_path):
    path = tmp_path / "newer.tsfilm"
    newer = document(lambda d: d.update(format_version=2, anything="new"))
    path.write_bytes(newer(model_files[SR]))
    exc = _load_guarded(path)
    assert "has model format version 2" in str(exc) and "Upgrade tsfilm" in str(exc)


def test_missing_files_and_folders_are_not_found(tmp_path):
    for path in (tmp_path / "missing.tsfilm", tmp_path):
        assert isinstance(_load_guarded(path, FileNotFoundError), FileNotFoundError)


def test_numbers_in_the_file_never_decide_how_much_memory_is_allocated(model_files, tmp_path):
    """The network of width=200, max_filters=512 would need about 190 GB; the 7 KB file
    holding these numbers is refused without allocating any of it."""
    if _peak_growth(lambda: None) is None:
        pytest.skip("peak memory is not measurable here")
    path = tmp_path / "huge.tsfilm"
    path.write_bytes(params(width=200, max_filters=512)(model_files[SR]))
    assert path.stat().st_size < 16_000
    exc = _load_guarded(path)  # also checks the peak memory
    assert "its hyper-parameters give F32 [25600, 1, 65]" in str(exc)


def test_every_registered_network_loads_from_its_unmodified_bytes(model_files, tmp_path):
    for key, raw in model_files.items():
        path = tmp_path / f"{key}.tsfilm"
        path.write_bytes(raw)
        assert _load_guarded(path) is None, key


# --- fuzzing ----------------------------------------------------------------------------------
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["cuda", "meta", "auto", "os:system", "<pad>", "str", "|O", "<U99999999"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["__ndarray__", "dtype", "__tuple__", "epoch", "a"])
            | st.text(max_size=6),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


def _paths(value, prefix=()) -> list[tuple]:
    """Every key path into a JSON value (containers first)."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            found += _paths(v, (*prefix, i))
    return found


def _json_edit(data, raw: bytes) -> bytes:
    header, body = _split(raw)
    doc = json.loads(header["__metadata__"]["tsfilm"])
    path = data.draw(st.sampled_from(_paths(doc)[1:]), label="path")
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    action = data.draw(st.sampled_from(["delete", "replace", "nest", "huge", "class"]))
    if action == "delete":
        parent.pop(key)
    elif action == "replace":
        parent[key] = data.draw(_JSON, label="value")
    elif action == "nest":
        for _ in range(data.draw(st.integers(1, 60))):
            parent[key] = [parent[key]]
    elif action == "huge":
        parent[key] = data.draw(st.integers(18, 4000).map(lambda n: 10**n))
    else:
        doc["class"] = data.draw(st.sampled_from(CLASS_NAMES), label="class")
    header["__metadata__"]["tsfilm"] = json.dumps(doc)
    return _join(header, body)


def _table_edit(data, raw: bytes) -> bytes:
    header, body = _split(raw)
    key = data.draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
    entry = header[key]
    action = data.draw(st.sampled_from(["dtype", "shape", "offsets", "delete", "rename", "add"]))
    if action == "dtype":
        entry["dtype"] = data.draw(st.sampled_from(["F64", "F16", "I64", "I8", "BOOL", "X"]))
    elif action == "shape":
        entry["shape"] = data.draw(st.lists(st.integers(0, 2**40), max_size=4))
    elif action == "offsets":
        entry["data_offsets"] = data.draw(st.lists(st.integers(0, 2**40), min_size=2, max_size=2))
    elif action == "delete":
        header.pop(key)
    elif action == "rename":
        header[data.draw(st.text(min_size=1, max_size=8))] = header.pop(key)
    else:
        header[f"{key}.extra"] = dict(entry)
    return _join(header, body)


def _tensor_edit(data, raw: bytes) -> bytes:
    header, _ = _split(raw)
    weights = safetensors.torch.load(raw)
    key = data.draw(st.sampled_from(sorted(weights)))
    action = data.draw(st.sampled_from(["value", "reshape", "double", "drop", "add"]))
    if action == "value" and weights[key].is_floating_point() and weights[key].numel():
        index = data.draw(st.integers(0, weights[key].numel() - 1))
        weights[key].view(-1)[index] = data.draw(st.floats(width=32))
    elif action == "reshape":
        weights[key] = weights[key].reshape(-1)
    elif action == "double":
        weights[key] = weights[key].double()
    elif action == "drop":
        weights.pop(key)
    else:
        weights[f"{key}_"] = torch.zeros(data.draw(st.integers(0, 64)))
    return safetensors.torch.save(weights, metadata=header["__metadata__"])


def _bit_flips(data, raw: bytes) -> bytes:
    mutated = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        mutated[position] ^= 1 << data.draw(st.integers(0, 7))
    return bytes(mutated)


def _truncation(data, raw: bytes) -> bytes:
    return raw[: data.draw(st.integers(0, len(raw) - 1))]


MUTATIONS = [_truncation, _bit_flips, _json_edit, _json_edit, _table_edit, _tensor_edit]


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_model_files_load_or_raise_value_error(model_files, tmp_path, data):
    model = data.draw(st.sampled_from(sorted(model_files)), label="model")
    mutate = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    path = tmp_path / "fuzzed.tsfilm"
    path.write_bytes(mutate(data, model_files[model]))
    _load_guarded(path)  # loads, or raises ValueError; anything else fails the test
