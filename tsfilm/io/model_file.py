"""Model files: safe to load, written atomically.

A model file is one safetensors file: the network's weights and, in its metadata, a JSON
document with the format and version, the estimator's class, hyper-parameters and fitted
attributes (:doc:`/user_guide/model_files`). Loading trusts none of it
(:doc:`/user_guide/security`): the class is looked up among the registered estimators, never
imported from its name, and memory follows the size of the file, never numbers written in it.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch.overrides import TorchFunctionMode

from tsfilm import registry
from tsfilm.io._atomic import atomic_path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "tsfilm-model"
FORMAT_VERSION = 1
_METADATA_KEY = "tsfilm"
_MAX_HEADER_BYTES = 40 * 2**20  # the safetensors header: tensor table and metadata
_MAX_METADATA_BYTES, _MAX_ARRAY_BYTES = 16 * 2**20, 64 * 2**20
_MAX_TENSORS, _MAX_NESTING = 10_000, 16
#: Hyper-parameters that count layers (an int, or a list with one entry per layer). Each
#: layer holds at least one tensor, so they cannot exceed the number of tensors in the file.
_LAYER_COUNTS = ("depth", "n_layers", "hidden_sizes")
_DOCUMENT_KEYS = {"format", "format_version", "class", "params", "fitted"}
_HISTORY_KEYS = {"epoch", "train_loss", "valid_loss", "seconds"}
#: Recorded since the thread policy (files written before lack it).
_HISTORY_OPTIONAL = {"threads"}
_DTYPE_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16"}
_DTYPE_NAMES |= {torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}
_DTYPE_NAMES |= {torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
_RANDOM_FILLS = set(
    "normal_ uniform_ trunc_normal_ kaiming_normal_ kaiming_uniform_ xavier_normal_ xavier_uniform_"
    " orthogonal_ sparse_ random_ bernoulli_ exponential_ geometric_ log_normal_ cauchy_".split()
)


class _Malformed(Exception):
    """Why a file is not a valid model file; :func:`load` raises it as a ValueError."""


class _Unreadable(_Malformed):
    """A valid file that this installation cannot read (newer format, class not installed)."""


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise _Malformed(reason)


def _brief(value: Any, limit: int = 80) -> str:
    """``repr(value)``, or an exception's first line, cut to ``limit`` characters."""
    error = isinstance(value, BaseException)
    text = str(value).strip().partition("\n")[0] if error else repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: Which JSON items an array of each dtype kind holds (kind "O": strings only).
_ITEMS = {"b": lambda v: isinstance(v, bool), "i": _is_int, "u": _is_int, "f": _is_real}
_ITEMS |= dict.fromkeys("UO", lambda v: isinstance(v, str))


def _at_least(low: int) -> tuple:
    return (lambda value: _is_int(value) and value >= low), f"an int >= {low}"


def _vector(value: Any, kinds: str = "f") -> bool:
    """Whether ``value`` is a 1-D array of one of ``kinds``; floats must be finite."""
    if not (isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in kinds):
        return False
    return value.dtype.kind != "f" or bool(np.isfinite(value).all())


def _history(value: Any) -> bool:
    """Whether ``value`` is a training history: per epoch, a dict of numbers or None."""
    epochs = value if isinstance(value, list) else [None]
    dicts = all(
        isinstance(e, dict) and _HISTORY_KEYS <= set(e) <= _HISTORY_KEYS | _HISTORY_OPTIONAL
        for e in epochs
    )
    return dicts and all(v is None or _is_real(v) for e in epochs for v in e.values())


def _scale(value: Any) -> bool:
    """Whether ``value`` is a finite positive float or a 1-D array of them."""
    value = np.array([value]) if isinstance(value, float) else value
    return _vector(value) and bool((value > 0).all())


def _tokens(value: Any) -> bool:
    """Whether ``value`` is a vocabulary: distinct str, the padding and unknown markers first."""
    words = isinstance(value, list) and all(isinstance(token, str) for token in value)
    return words and value[:2] == ["<pad>", "<unk>"] and len(set(value)) == len(value)


#: The fitted attributes that tsfilm's estimators save: name -> (test, what the value must
#: be). Other names in a class's ``_saved_attributes`` are restored as plain JSON.
_FITTED = {
    "history_": (_history, f"a list of dicts of {sorted(_HISTORY_KEYS)}: numbers or None"),
    **dict.fromkeys(["n_epochs_", "best_epoch_"], _at_least(0)),
    **dict.fromkeys(["ratio_", "n_channels_", "window_length_", "n_features_in_"], _at_least(1)),
    "scale_": (_scale, "a finite positive float, or a 1-D array of them"),
    **dict.fromkeys(["mean_", "fill_values_"], (_vector, "a 1-D array of finite floats")),
    "classes_": (
        lambda value: _vector(value, "biufUO") and 2 <= len(value) == len(np.unique(value)),
        "a 1-D array of at least 2 distinct labels",
    ),
    "feature_names_in_": (lambda value: _vector(value, "UO"), "a 1-D array of str"),
    "tokens_": (_tokens, "a list of distinct str starting '<pad>', '<unk>'"),
    "non_negative_": (lambda value: isinstance(value, bool), "a bool"),
}
_OPTIONAL = {"n_features_in_", "feature_names_in_"}
#: Sized fitted attributes and the count that their length must equal.
_LENGTHS = {"history_": "n_epochs_", "feature_names_in_": "n_features_in_"}
_LENGTHS |= dict.fromkeys(["mean_", "scale_", "fill_values_"], "n_channels_")


def _encode(value: Any, where: str) -> Any:
    """Turn a parameter or fitted attribute into JSON, keeping arrays, tuples and devices."""
    if isinstance(value, (np.bool_, np.integer, np.floating, torch.device)):
        return str(value) if isinstance(value, torch.device) else value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        items = [_encode(v, where) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{where} is a {type(value).__name__}, which a model file cannot hold: use numbers, "
            "str, lists, tuples or dicts with str keys (for random_state: an int or None)."
        )
    fits = _ITEMS.get(value.dtype.kind)
    if value.ndim != 1 or not fits or not all(map(fits, value.tolist())):
        raise TypeError(
            f"{where} is an array of shape {value.shape} and dtype {value.dtype}; a model file "
            "keeps 1-D arrays of bools, numbers or strings."
        )
    return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}


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


def _decode_array(value: dict) -> np.ndarray:
    """A 1-D array from its JSON form, refused unless every item fits its dtype."""
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
    ok = all(map(fits, items))  # and strings no longer than their dtype allows:
    ok = ok and (dtype.kind != "U" or max(map(len, items), default=0) <= dtype.itemsize // 4)
    _require(ok, f"array items do not fit dtype {_brief(name)}")
    try:
        return np.array(items, dtype=dtype)
    except (OverflowError, ValueError) as exc:
        raise _Malformed(f"array items do not fit dtype {name}: {_brief(exc, 200)}") from exc


def _available(name: str, value: Any) -> bool:
    """Whether this machine has the saved ``device`` or ``n_threads`` (other values pass)."""
    if name == "n_threads":
        return not _is_int(value) or value <= (os.cpu_count() or 1)
    if not isinstance(value, str) or value == "auto":
        return True  # the estimator's own checks judge it
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise _Malformed(f"parameter device={_brief(value)} is not a torch device") from None
    if device.type == "cuda":
        return (device.index or 0) < torch.cuda.device_count()
    return device.type == "cpu" or (device.type == "mps" and torch.backends.mps.is_available())


def _restore_params(cls: type, raw: Any, n_tensors: int, warn: bool) -> BaseEstimator:
    """An unfitted estimator with the file's hyper-parameters, checked by the class."""
    _require(isinstance(raw, dict), "params must be a JSON object")
    unknown = sorted(set(raw) - set(cls._get_param_names()))
    _require(not unknown, f"{cls.__name__} has no parameter(s) {_brief(unknown)}")
    params = {name: _decode(value) for name, value in raw.items()}
    # Parameters added later: a file without one gets the value it was written with.
    for name, value in getattr(cls, "_legacy_params", {}).items():
        params.setdefault(name, value)
    for name, fallback in (("device", "auto"), ("n_threads", None)):
        if name in params and not _available(name, params[name]):
            if warn:
                message = f"The model was saved with {name}={params[name]!r}, not available here"
                warnings.warn(f"{message}; it is loaded with {name}={fallback!r}.", stacklevel=4)
            params[name] = fallback
    try:
        estimator = cls(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:  # scikit-learn's InvalidParameterError is both
        raise _Malformed(f"invalid parameter: {_brief(exc, 200)}") from exc
    for name in _LAYER_COUNTS:
        value = params.get(name)
        size = len(value) if isinstance(value, (list, tuple, np.ndarray)) else value
        ok = not _is_int(size) or size <= n_tensors
        _require(ok, f"parameter {name}={_brief(value)} needs more than its {n_tensors} tensors")
    return estimator


def _restore_fitted(cls: type, raw: Any) -> dict[str, Any]:
    """The file's fitted attributes, checked against the class, the table and each other."""
    _require(isinstance(raw, dict), "fitted must be a JSON object")
    unknown = sorted(set(raw) - set(cls._saved_attributes))
    _require(not unknown, f"{cls.__name__} does not save {_brief(unknown)}")
    required = _FITTED.keys() - _OPTIONAL - raw.keys()
    missing = [name for name in cls._saved_attributes if name in required]
    _require(not missing, f"fitted attribute(s) {missing} missing")
    fitted = {name: _decode(value) for name, value in raw.items()}
    for name, value in fitted.items():
        test, what = _FITTED.get(name, (lambda value: True, ""))
        _require(test(value), f"{name} must be {what}, got {_brief(value)}")
    for sized, count in _LENGTHS.items():  # feature names without their count disagree too
        value, compare = fitted.get(sized), count in fitted or sized == "feature_names_in_"
        if isinstance(value, (list, np.ndarray)) and compare:
            _require(len(value) == fitted.get(count), f"{count} != len({sized})")
    if "best_epoch_" in fitted and "n_epochs_" in fitted:
        _require(fitted["best_epoch_"] <= fitted["n_epochs_"], "best_epoch_ > n_epochs_")
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
    ok = issubclass(cls, BaseEstimator) and callable(getattr(cls, "build_module", None))
    ok = ok and isinstance(getattr(cls, "_saved_attributes", None), tuple)
    _require(ok, f"it names {class_name!r}, an estimator without a network")
    estimator = _restore_params(cls, document["params"], n_tensors, warn)
    for name, value in _restore_fitted(cls, document["fitted"]).items():
        setattr(estimator, name, value)
    return estimator


class _SkipRandomFills(TorchFunctionMode):
    """Skip random fills of meta tensors (no-ops whose first call imports torch's compiler)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensor = args[0] if args else kwargs.get("tensor")
        skip = getattr(func, "__name__", "") in _RANDOM_FILLS
        return tensor if skip and getattr(tensor, "is_meta", False) else func(*args, **kwargs)


def _build_on_meta(estimator: Any, n_tensors: int) -> torch.nn.Module:
    """The network's shapes, without memory or torch's random state, stopped if too large."""
    limit, count, thread = 8 * n_tensors + 256, 0, threading.get_ident()

    def counted(*_: Any) -> None:
        nonlocal count
        if threading.get_ident() == thread:
            count += 1
            _require(count <= limit, f"its hyper-parameters ask for over {limit} registrations")

    hooks, kinds = torch.nn.modules.module, ("parameter", "buffer", "module")
    handles = [getattr(hooks, f"register_module_{k}_registration_hook")(counted) for k in kinds]
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"), _SkipRandomFills():
            module = estimator.build_module()
    except Exception as exc:
        if isinstance(exc, _Malformed):
            raise
        raise _Malformed(f"its hyper-parameters give no network: {_brief(exc, 200)}") from exc
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
    names = [name for name in cls._saved_attributes if hasattr(estimator, name)]
    fitted = {name: _encode(getattr(estimator, name), f"attribute {name}") for name in names}
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "class": class_name}
    text = json.dumps(document | {"params": params, "fitted": fitted})
    tensors = {k: v.detach().cpu().contiguous() for k, v in estimator.module_.state_dict().items()}
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"Cannot save: weight {key!r} holds NaN or infinite values.")
    try:
        _restore(json.loads(text), len(tensors), warn=False)
    except _Malformed as exc:
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
                raise _Malformed(f"its metadata is not JSON: {_brief(exc, 200)}") from None
            estimator = _restore(document, len(keys))
            estimator.module_ = _read_module(estimator, handle, keys)
    except SafetensorError as exc:
        message = f"not a safetensors file: {_brief(exc, 200)}"
        raise ValueError(f"{where} is not a tsfilm model file ({message}).") from exc
    except _Unreadable as exc:
        raise ValueError(f"{where} {exc}") from None
    except _Malformed as exc:
        raise ValueError(f"{where} is not a tsfilm model file ({exc}).") from exc.__cause__
    return estimator
