"""Model files: safe to load, written atomically.

A tsfilm model file is a single `safetensors <https://github.com/huggingface/safetensors>`_
file: the network's weights as tensors and, in the file's metadata, a JSON document with
the format name and version, the estimator's class, its hyper-parameters and its fitted
attributes. Loading reads tensors and JSON only, so a model file from a stranger cannot
run code: the class, named ``"module:qualname"`` in the file, is looked up among the
registered estimators (:func:`tsfilm.registry.find_class`), never imported from that name.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from tsfilm import registry

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "tsfilm-model"
FORMAT_VERSION = 1
_METADATA_KEY = "tsfilm"


def _encode(value: Any, where: str) -> Any:
    """Turn a parameter or fitted attribute into JSON, keeping numpy types and tuples."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS":
            return {"__ndarray__": [str(v) for v in value.tolist()], "dtype": "str"}
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


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            if value["dtype"] == "str":
                return np.asarray(value["__ndarray__"], dtype=object)
            return np.asarray(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def save(estimator, path: str | os.PathLike) -> None:
    """Save a fitted tsfilm estimator to a model file.

    Parameters
    ----------
    estimator : tsfilm estimator
        A fitted estimator built on tsfilm's training engine.
    path : str or path-like
        Destination. The file is written to a temporary name in the same folder and then
        renamed, so an existing file is replaced only by a complete new one.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    TypeError
        A hyper-parameter cannot be stored as JSON (for example a RandomState instance),
        or the estimator's class is not registered (:func:`tsfilm.registry.register`), so
        :func:`load` could not find it.

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
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": class_name,
        "params": params,
        "fitted": fitted,
    }
    tensors = {
        k: v.detach().to("cpu").contiguous() for k, v in estimator.module_.state_dict().items()
    }
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_METADATA_KEY: json.dumps(document)})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike):
    """Load an estimator saved with :func:`save` (or ``est.save``).

    Parameters
    ----------
    path : str or path-like
        A tsfilm model file.

    Returns
    -------
    estimator
        The fitted estimator, on the CPU; it predicts exactly as the saved one did.

    Raises
    ------
    ValueError
        The file is not a tsfilm model file, was written by a newer format version, or
        names an estimator class that is not registered here.
    FileNotFoundError
        No file at ``path``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not a tsfilm model file ({exc}).") from exc
    try:
        document = json.loads(metadata.get(_METADATA_KEY, "null"))
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ValueError(f"{str(path)!r} is not a tsfilm model file.")
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has model format version {version!r}; this tsfilm reads up to "
            f"{FORMAT_VERSION}. Upgrade tsfilm."
        )
    class_name = document.get("class")
    try:
        cls = registry.find_class(class_name)
    except ValueError as exc:
        raise ValueError(
            f"{str(path)!r} was written by class {class_name!r}, which is not installed here. "
            "Install the package that provides it."
        ) from exc
    if not callable(getattr(cls, "build_module", None)):
        raise ValueError(f"{str(path)!r} names {class_name!r}, an estimator without a network.")
    estimator = cls(**_decode(document["params"]))
    for name, value in _decode(document["fitted"]).items():
        setattr(estimator, name, value)
    module: torch.nn.Module = estimator.build_module()
    module.load_state_dict(tensors, strict=True)
    module.eval()
    estimator.module_ = module
    return estimator
