"""Model files: safe to load, written atomically.

A tsfilm model file is a single `safetensors <https://github.com/huggingface/safetensors>`_
file: the network's weights as tensors and, in the file's metadata, a JSON document with
the format name and version, the estimator's class, its hyper-parameters and its fitted
attributes. Loading reads tensors and JSON only, so a model file from a stranger cannot
run code: the class, named ``"module:qualname"`` in the file, is looked up among the
registered estimators (:func:`tsfilm.registry.find_class`), never imported from that name.

Nothing else in the file is trusted either (:doc:`/user_guide/security`): the
hyper-parameters must pass the estimator's own checks, the fitted attributes must be the
ones its class saves, with their expected types, and the network is first built on
PyTorch's meta device (shapes, no memory) and compared with the file's tensor table
before any weight is read, so memory follows the size of the file, never numbers
written in it.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from sklearn.base import BaseEstimator
from torch.overrides import TorchFunctionMode

from tsfilm import registry
from tsfilm.io._atomic import atomic_path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "tsfilm-model"
FORMAT_VERSION = 1
_METADATA_KEY = "tsfilm"
_MAX_HEADER_BYTES = 40 * 2**20  # the safetensors header: tensor table and metadata
_MAX_METADATA_BYTES = 16 * 2**20  # the JSON document
_MAX_TENSORS = 10_000
_MAX_NESTING = 16
_MAX_ARRAY_BYTES = 64 * 2**20
#: Hyper-parameters that count layers (an int, or a list with one entry per layer). Each
#: layer holds at least one tensor, so they cannot exceed the number of tensors in the file.
_LAYER_COUNTS = ("depth", "n_layers", "hidden_sizes")
_DOCUMENT_KEYS = {"format", "format_version", "class", "params", "fitted"}
_HISTORY_KEYS = {"epoch", "train_loss", "valid_loss", "seconds"}
_DTYPE_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16"}
_DTYPE_NAMES |= {torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}
_DTYPE_NAMES |= {torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
_RANDOM_FILLS = {"normal_", "uniform_", "trunc_normal_", "kaiming_normal_", "kaiming_uniform_"}
_RANDOM_FILLS |= {"xavier_normal_", "xavier_uniform_", "orthogonal_", "sparse_", "random_"}
_RANDOM_FILLS |= {"bernoulli_", "exponential_", "geometric_", "log_normal_", "cauchy_"}


class _Malformed(Exception):
    """Why a file is not a valid model file; :func:`load` raises it as a ValueError."""


class _Unreadable(Exception):
    """A valid file that this installation cannot read (newer format, class not installed)."""


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise _Malformed(reason)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _first_line(exc: BaseException) -> str:
    line = str(exc).strip().partition("\n")[0]
    return line if len(line) <= 200 else f"{line[:197]}..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------- fitted attributes
def _at_least(minimum: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda value: _is_int(value) and value >= minimum), f"an int >= {minimum}"


def _vector(value: Any, kinds: str = "f", positive: bool = False) -> bool:
    """Whether ``value`` is a 1-D array of one of ``kinds``; floats must be finite."""
    if not (isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in kinds):
        return False
    if value.dtype.kind != "f":
        return True
    return bool(np.isfinite(value).all()) and (not positive or bool((value > 0).all()))


def _history(value: Any) -> bool:
    def epoch(e: Any) -> bool:
        numbers = all(v is None or _is_real(v) for v in e.values())
        return set(e) == _HISTORY_KEYS and numbers

    return isinstance(value, list) and all(isinstance(e, dict) and epoch(e) for e in value)


def _scale(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value) and value > 0
    return _vector(value, positive=True)


def _labels(value: Any) -> bool:
    return _vector(value, "biufUO") and len(value) >= 2 and len(np.unique(value)) == len(value)


def _tokens(value: Any) -> bool:
    if not (isinstance(value, list) and all(isinstance(token, str) for token in value)):
        return False
    return value[:2] == ["<pad>", "<unk>"] and len(set(value)) == len(value)


_FLOATS = "a 1-D array of finite floats"
#: The fitted attributes that tsfilm's estimators save: name -> (test, what the value must
#: be, required). Other names in a class's ``_saved_attributes`` are restored as plain JSON.
_FITTED: dict[str, tuple[Callable[[Any], bool], str, bool]] = {
    "history_": (_history, f"a list of dicts of {sorted(_HISTORY_KEYS)}: numbers or None", True),
    "n_epochs_": (*_at_least(0), True),
    "best_epoch_": (*_at_least(0), True),
    "ratio_": (*_at_least(1), True),
    "n_channels_": (*_at_least(1), True),
    "window_length_": (*_at_least(1), True),
    "n_features_in_": (*_at_least(1), False),
    "scale_": (_scale, "a finite positive float, or a 1-D array of them", True),
    "mean_": (_vector, _FLOATS, True),
    "fill_values_": (_vector, _FLOATS, True),
    "classes_": (_labels, "a 1-D array of at least 2 distinct labels", True),
    "feature_names_in_": (lambda value: _vector(value, "UO"), "a 1-D array of str", False),
    "tokens_": (_tokens, "a list of distinct str starting '<pad>', '<unk>'", True),
    "non_negative_": (lambda value: isinstance(value, bool), "a bool", True),
}


def _check_agreement(fitted: dict[str, Any]) -> None:
    """Fitted attributes that describe the same thing must agree."""
    if "history_" in fitted and "n_epochs_" in fitted:
        _require(len(fitted["history_"]) == fitted["n_epochs_"], "n_epochs_ != len(history_)")
    if "best_epoch_" in fitted and "n_epochs_" in fitted:
        _require(fitted["best_epoch_"] <= fitted["n_epochs_"], "best_epoch_ > n_epochs_")
    for name in ("mean_", "scale_", "fill_values_"):
        if isinstance(fitted.get(name), np.ndarray) and "n_channels_" in fitted:
            _require(len(fitted[name]) == fitted["n_channels_"], f"len({name}) != n_channels_")
    if "feature_names_in_" in fitted:
        agree = len(fitted["feature_names_in_"]) == fitted.get("n_features_in_")
        _require(agree, "len(feature_names_in_) != n_features_in_")


# ---------------------------------------------------------------------- JSON values
def _encode(value: Any, where: str) -> Any:
    """Turn a parameter or fitted attribute into JSON, keeping arrays, tuples and devices."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, np.ndarray):
        strings = value.dtype.kind == "O" and all(isinstance(v, str) for v in value.flat)
        if value.ndim != 1 or (value.dtype.kind not in "biufU" and not strings):
            raise TypeError(
                f"{where} is an array of shape {value.shape} and dtype {value.dtype}; a model "
                "file keeps 1-D arrays of bools, numbers or strings."
            )
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{where} has non-string dictionary keys and cannot be saved.")
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise TypeError(
        f"{where} of type {type(value).__name__} cannot be saved in a model file; "
        "use plain numbers, strings, lists or dicts (for random_state: an int or None)."
    )


def _decode(value: Any, depth: int = 0) -> Any:
    """JSON back into Python values, arrays and tuples included; nesting is bounded."""
    _require(depth <= _MAX_NESTING, f"its JSON is nested more than {_MAX_NESTING} levels deep")
    if isinstance(value, list):
        return [_decode(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return _decode_array(value)
    if "__tuple__" in value:
        _require(len(value) == 1 and isinstance(value["__tuple__"], list), "malformed tuple")
        return tuple(_decode(v, depth + 1) for v in value["__tuple__"])
    return {k: _decode(v, depth + 1) for k, v in value.items()}


_ITEMS = {"b": lambda v: isinstance(v, bool), "i": _is_int, "u": _is_int, "f": _is_real}
_ITEMS |= {"U": lambda v: isinstance(v, str), "O": lambda v: isinstance(v, str)}  # O: strings


def _decode_array(value: dict) -> np.ndarray:
    items, name = value["__ndarray__"], value.get("dtype")
    ok = set(value) == {"__ndarray__", "dtype"} and isinstance(items, list)
    _require(ok and isinstance(name, str), "an array needs a list of items and a dtype string")
    try:  # "str": arrays of strings as the first files of format version 1 wrote them
        dtype = np.dtype("O" if name == "str" else name)
    except Exception:  # numpy raises TypeError, ValueError or warnings on odd names
        raise _Malformed(f"unknown array dtype {_brief(name)}") from None
    fits = _ITEMS.get(dtype.kind)
    ok = fits is not None and dtype.itemsize * len(items) <= _MAX_ARRAY_BYTES
    _require(ok, f"unsupported array dtype {_brief(name)} or array too large")
    ok = all(fits(v) for v in items)  # and strings no longer than their dtype allows:
    ok = ok and (dtype.kind != "U" or max(map(len, items), default=0) <= dtype.itemsize // 4)
    _require(ok, f"array items do not fit dtype {_brief(name)}")
    try:
        return np.array(items, dtype=dtype)
    except (OverflowError, ValueError) as exc:
        raise _Malformed(f"array items do not fit dtype {name}: {_first_line(exc)}") from exc


# ---------------------------------------------------------------------- the document
def _local_device(device: Any, warn: bool) -> Any:
    """A saved device, or "auto" (with a warning) where that device is not available."""
    if not isinstance(device, str) or device == "auto":
        return device  # the estimator's own checks judge it
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise _Malformed(f"parameter device={_brief(device)} is not a torch device") from None
    cuda = parsed.type == "cuda" and torch.cuda.is_available()
    if parsed.type == "cpu" or (cuda and (parsed.index or 0) < torch.cuda.device_count()):
        return device
    if parsed.type == "mps" and torch.backends.mps.is_available():
        return device
    if warn:
        message = f"The model was saved with device={device!r}, not available here; it is "
        warnings.warn(message + "loaded with device='auto'.", UserWarning, stacklevel=5)
    return "auto"


def _restore_params(cls: type, raw: Any, warn: bool) -> dict[str, Any]:
    _require(isinstance(raw, dict), "params must be a JSON object")
    unknown = sorted(set(raw) - set(cls._get_param_names()))
    _require(not unknown, f"{cls.__name__} has no parameter(s) {_brief(unknown)}")
    params = {name: _decode(value) for name, value in raw.items()}
    if "device" in params:
        params["device"] = _local_device(params["device"], warn)
    threads = params.get("n_threads")
    if _is_int(threads) and threads > (os.cpu_count() or 1):
        if warn:
            message = f"The model was saved with n_threads={threads}, more than this machine's "
            warnings.warn(message + "CPUs; it is loaded with None.", UserWarning, stacklevel=4)
        params["n_threads"] = None
    return params


def _restore_fitted(cls: type, raw: Any) -> dict[str, Any]:
    _require(isinstance(raw, dict), "fitted must be a JSON object")
    saved = tuple(cls._saved_attributes)
    unknown = sorted(set(raw) - set(saved))
    _require(not unknown, f"{cls.__name__} does not save {_brief(unknown)}")
    missing = [name for name in saved if name not in raw and name in _FITTED and _FITTED[name][2]]
    _require(not missing, f"fitted attribute(s) {missing} missing")
    fitted = {name: _decode(value) for name, value in raw.items()}
    for name, value in fitted.items():
        test, what, _ = _FITTED.get(name, (lambda value: True, "", False))
        _require(test(value), f"{name} must be {what}, got {_brief(value)}")
    _check_agreement(fitted)
    return fitted


def _restore(document: Any, n_tensors: int, warn: bool = True) -> BaseEstimator:
    """The estimator that ``document`` describes, without its network."""
    ok = isinstance(document, dict) and document.get("format") == FORMAT_NAME
    _require(ok, f"its metadata holds no {FORMAT_NAME!r} document")
    version = document.get("format_version")
    _require(_is_int(version) and version >= 1, f"format_version {_brief(version)} is not valid")
    if version > FORMAT_VERSION:
        raise _Unreadable(
            f"has model format version {version}; this tsfilm reads up to {FORMAT_VERSION}. "
            "Upgrade tsfilm."
        )
    _require(_DOCUMENT_KEYS <= set(document), f"it lacks {sorted(_DOCUMENT_KEYS - set(document))}")
    _require(set(document) <= _DOCUMENT_KEYS, f"unknown keys {_brief(sorted(set(document)))}")
    class_name = document["class"]
    _require(isinstance(class_name, str), f"class must be a str, got {_brief(class_name)}")
    try:
        cls = registry.find_class(class_name)
    except ValueError:
        raise _Unreadable(
            f"was written by class {_brief(class_name)}, which is not installed here. "
            "Install the package that provides it."
        ) from None
    ok = isinstance(cls, type) and issubclass(cls, BaseEstimator)
    ok = ok and callable(getattr(cls, "build_module", None))
    ok = ok and isinstance(getattr(cls, "_saved_attributes", None), tuple)
    _require(ok, f"it names {class_name!r}, an estimator without a network")
    params = _restore_params(cls, document["params"], warn)
    try:
        estimator = cls(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:  # scikit-learn's InvalidParameterError is both
        raise _Malformed(f"invalid parameter: {_first_line(exc)}") from exc
    for name in _LAYER_COUNTS:
        value = params.get(name)
        size = len(value) if isinstance(value, (list, tuple, np.ndarray)) else value
        ok = not _is_int(size) or size <= n_tensors
        _require(ok, f"parameter {name}={_brief(value)} needs more than its {n_tensors} tensors")
    for name, value in _restore_fitted(cls, document["fitted"]).items():
        setattr(estimator, name, value)
    return estimator


# ---------------------------------------------------------------------- the network
class _SkipRandomFills(TorchFunctionMode):
    """Random initialisation of meta tensors is a no-op: skip it (torch's meta ``normal_``
    imports the compiler stack on first use, a second and hundreds of modules)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensor = args[0] if args else kwargs.get("tensor")
        skip = getattr(func, "__name__", "") in _RANDOM_FILLS
        if skip and isinstance(tensor, torch.Tensor) and tensor.is_meta:
            return tensor
        return func(*args, **kwargs)


def _build_on_meta(estimator: Any, n_tensors: int) -> torch.nn.Module:
    """The network on the meta device (shapes and dtypes without memory), built without
    touching torch's random state and stopped once it registers far more parameters,
    buffers and submodules than the file has tensors."""
    limit, count, thread = 8 * n_tensors + 256, 0, threading.get_ident()

    def count_registration(*_: Any) -> None:
        nonlocal count
        if threading.get_ident() == thread:
            count += 1
            _require(count <= limit, f"its hyper-parameters ask for over {limit} registrations")

    hooks = torch.nn.modules.module
    handles = [
        hooks.register_module_parameter_registration_hook(count_registration),
        hooks.register_module_buffer_registration_hook(count_registration),
        hooks.register_module_module_registration_hook(count_registration),
    ]
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"), _SkipRandomFills():
            module = estimator.build_module()
    except _Malformed:
        raise
    except Exception as exc:
        raise _Malformed(f"its hyper-parameters give no network: {_first_line(exc)}") from exc
    finally:
        for handle in handles:
            handle.remove()
    _require(isinstance(module, torch.nn.Module), "build_module did not return a torch module")
    return module


def _read_module(estimator: Any, handle: Any, keys: list[str]) -> torch.nn.Module:
    """The network with the file's weights, compared with the hyper-parameters first."""
    module = _build_on_meta(estimator, len(keys))
    expected = module.state_dict()
    missing, extra = sorted(expected.keys() - set(keys)), sorted(set(keys) - expected.keys())
    _require(not missing, f"tensor(s) {_brief(missing)} of its network are missing")
    _require(not extra, f"tensor(s) {_brief(extra)} are not part of its network")
    for key, tensor in expected.items():
        piece = handle.get_slice(key)
        found = f"{piece.get_dtype()} {piece.get_shape()}"
        wanted = f"{_DTYPE_NAMES.get(tensor.dtype)} {list(tensor.shape)}"
        _require(found == wanted, f"tensor {key!r} is {found}, its hyper-parameters give {wanted}")
    weights = {key: handle.get_tensor(key) for key in expected}
    for key, value in weights.items():
        finite = not value.is_floating_point() or bool(torch.isfinite(value).all())
        _require(finite, f"tensor {key!r} holds NaN or infinite values")
    computed = [b for name, b in module.named_buffers() if name not in weights]
    if not computed:
        module.load_state_dict(weights, strict=True, assign=True)
        return module.eval()
    # Non-persistent buffers hold values computed while building: build the network for real.
    size = sum(b.numel() * b.element_size() for b in computed)
    _require(size <= sum(w.nbytes for w in weights.values()) + 2**20, "its buffers are too large")
    with torch.random.fork_rng(devices=[]):
        module = estimator.build_module()
    module.load_state_dict(weights, strict=True)
    return module.eval()


# ---------------------------------------------------------------------- save and load
def save(estimator, path: str | os.PathLike) -> None:
    """Save a fitted tsfilm estimator to a model file.

    Parameters
    ----------
    estimator : tsfilm estimator
        A fitted estimator built on tsfilm's training engine.
    path : str or path-like
        Destination. The file is written to a temporary name in the same folder, flushed
        to disk and renamed, so an existing file is replaced only by a complete new one.
        It gets the permissions of any new file (``0o666`` less the umask).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    TypeError
        A hyper-parameter cannot be stored as JSON (for example a RandomState instance),
        or the estimator's class is not registered (:func:`tsfilm.registry.register`), so
        :func:`load` could not find it.
    ValueError
        ``path`` is a folder, a weight is NaN or infinite, or a value would be refused
        by :func:`load`.
    FileNotFoundError
        The folder of ``path`` does not exist.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> import tsfilm
    >>> X = np.random.default_rng(0).normal(size=(4, 32)).astype("float32")
    >>> params = tsfilm.TFiLMSuperResolver.get_test_params()[0]  # small and fast
    >>> est = tsfilm.TFiLMSuperResolver(ratio=2, **params).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.tsfilm")
    >>> est.save(path)
    >>> np.allclose(tsfilm.load(path).predict(X[:, ::2]), est.predict(X[:, ::2]))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; give a file name such as 'model.tsfilm'.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Cannot save to {str(path)!r}: its folder does not exist.")
    cls = type(estimator)
    class_name = f"{cls.__module__}:{cls.__qualname__}"
    try:
        registered = registry.find_class(class_name) is cls
    except ValueError:
        registered = False
    if not registered:
        raise TypeError(
            f"{class_name} is not a registered estimator, so tsfilm.load could not find it; "
            "register the class with tsfilm.registry.register to save it in a model file."
        )
    params = {k: _encode(v, f"parameter {k}") for k, v in estimator.get_params(deep=False).items()}
    fitted = {
        name: _encode(getattr(estimator, name), f"attribute {name}")
        for name in cls._saved_attributes
        if hasattr(estimator, name)
    }
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "class": class_name}
    text = json.dumps(document | {"params": params, "fitted": fitted})
    tensors = {k: v.detach().cpu().contiguous() for k, v in estimator.module_.state_dict().items()}
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"Cannot save: weight {key!r} holds NaN or infinite values.")
    try:
        _restore(json.loads(text), len(tensors), warn=False)
    except (_Malformed, _Unreadable) as exc:
        raise ValueError(f"Cannot save: load would refuse the file ({exc}).") from exc.__cause__
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_METADATA_KEY: text})


def load(path: str | os.PathLike):
    """Load an estimator saved with :func:`save` (or ``est.save``).

    The file is checked before anything is built from it: its size limits, the JSON
    document, the class (a registered estimator), the hyper-parameters (the estimator's
    own checks), the fitted attributes (the ones the class saves, with their types), and
    every tensor's name, shape and dtype against the network that the hyper-parameters
    describe, then every weight for NaN and infinity. Torch's global random state is
    left as it was.

    Parameters
    ----------
    path : str or path-like
        A tsfilm model file.

    Returns
    -------
    estimator
        The fitted estimator, on the CPU; it predicts exactly as the saved one did. A
        saved ``device`` that is not available here becomes "auto", with a UserWarning.

    Raises
    ------
    ValueError
        The file is not a tsfilm model file (the message says why), was written by a
        newer format version, or names an estimator class that is not installed here.
    FileNotFoundError
        No file at ``path``.
    """
    path = Path(path)
    where = repr(str(path))
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {where}.")
    try:
        with path.open("rb") as file:
            header = file.read(8)
        _require(len(header) == 8, "it is too short for a safetensors file")
        size = int.from_bytes(header, "little")
        _require(size <= _MAX_HEADER_BYTES, f"its header of {size} bytes is over the 40 MiB limit")
        with safe_open(str(path), framework="pt") as handle:
            keys = list(handle.keys())
            _require(len(keys) <= _MAX_TENSORS, f"{len(keys)} tensors, over {_MAX_TENSORS}")
            text = (handle.metadata() or {}).get(_METADATA_KEY)
            _require(isinstance(text, str), f"its metadata has no {_METADATA_KEY!r} entry")
            _require(len(text) <= _MAX_METADATA_BYTES, "its metadata is over the 16 MiB limit")
            try:
                document = json.loads(text)
            except RecursionError:
                raise _Malformed("its metadata is nested too deeply") from None
            except ValueError as exc:
                raise _Malformed(f"its metadata is not JSON: {_first_line(exc)}") from None
            estimator = _restore(document, len(keys))
            estimator.module_ = _read_module(estimator, handle, keys)
    except SafetensorError as exc:
        message = f"not a safetensors file: {_first_line(exc)}"
        raise ValueError(f"{where} is not a tsfilm model file ({message}).") from exc
    except _Malformed as exc:
        raise ValueError(f"{where} is not a tsfilm model file ({exc}).") from exc.__cause__
    except _Unreadable as exc:
        raise ValueError(f"{where} {exc}") from None
    return estimator
