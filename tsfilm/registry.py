"""Find estimators by name: tsfilm's own and those that plugins register.

The registry is one dict, ``(task, name) -> ModelInfo``, filled by :func:`register`. The
first look-up or listing imports tsfilm's estimators, then loads every entry point of the
``tsfilm.models`` group, once per process (:func:`reload_plugins` looks again). An entry
point names a module whose import registers models, or a function that registers them::

    [project.entry-points."tsfilm.models"]   # pyproject.toml of a plugin
    mymodels = "mypackage.models"            # or "mypackage.models:setup"

A plugin that fails to load (it raises, or takes a name already registered) is skipped
whole with a :class:`PluginWarning`; the others still load. This module imports neither
torch nor the estimators until a model is looked up.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ENTRY_POINT_GROUP", "TASKS", "DuplicateModelError", "ModelInfo", "PluginWarning"]
__all__ += ["find_class", "format_models", "get_model", "list_models", "make_model"]
__all__ += ["register", "reload_plugins"]

#: The tasks a model is registered for.
TASKS = ("super_resolution", "imputation", "classification")
#: The entry-point group through which plugins register models.
ENTRY_POINT_GROUP = "tsfilm.models"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
T = TypeVar("T", bound=type)


class PluginWarning(UserWarning):
    """A ``tsfilm.models`` plugin failed to load and was skipped."""


class DuplicateModelError(ValueError):
    """A ``(task, name)`` pair is already registered to another class."""


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """One registered estimator: its ``name``, ``task``, class ``cls`` and ``source``.

    ``source`` is ``"tsfilm"`` for built-ins, ``"entry point <name> = <value> (<distribution>)"``
    for plugins, otherwise the class's module.
    """

    name: str
    task: str
    cls: type
    source: str


_models: dict[tuple[str, str], ModelInfo] = {}
_discovered = False
# Held while discovering, so other threads wait for the whole table; re-entrant, so a plugin
# looking models up while it loads sees the table so far. Registering never takes it.
_lock = threading.RLock()


def _check_task(task: object) -> None:
    if not isinstance(task, str):
        raise TypeError(f"task must be a str, got {type(task).__name__}.")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks are: {', '.join(TASKS)}.")


def _qualified(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register(name: str, task: str) -> Callable[[T], T]:
    """Class decorator registering an estimator under ``(task, name)``; returns the class.

    Parameters
    ----------
    name : str
        Letters, digits and underscores, not starting with a digit (lower case is
        recommended). A name may be used once per task.
    task : {"super_resolution", "imputation", "classification"}
        What the estimator does.

    Raises
    ------
    DuplicateModelError
        If another class holds ``(task, name)``; the message names both. Registering the
        same class again, or the class of a reloaded module, is allowed.

    Examples
    --------
    Registering a class again is a no-op; another class cannot take its name:

    >>> from tsfilm import TFiLMImputer
    >>> from tsfilm.registry import register
    >>> register("tfilm", task="imputation")(TFiLMImputer) is TFiLMImputer
    True
    >>> register("tfilm", task="imputation")(dict)
    Traceback (most recent call last):
    tsfilm.registry.DuplicateModelError: model 'tfilm' for task 'imputation' is already ...
    """
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, got {type(name).__name__}.")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid model name {name!r}: use letters, digits and underscores, not starting "
            "with a digit (lower case recommended, e.g. 'tfilm_unet')."
        )
    _check_task(task)

    def decorator(cls: T) -> T:
        if not isinstance(cls, type):
            raise TypeError(f"@register({name!r}) decorates classes, got {cls!r}.")
        builtin = cls.__module__.partition(".")[0] == "tsfilm"
        info = ModelInfo(name, task, cls, "tsfilm" if builtin else cls.__module__)
        old = _models.setdefault((task, name), info)
        if old.cls is not cls:
            if _qualified(old.cls) != _qualified(cls) or "<locals>" in cls.__qualname__:
                raise DuplicateModelError(
                    f"model {name!r} for task {task!r} is already registered to "
                    f"{_qualified(old.cls)} (from {old.source}); {_qualified(cls)} cannot "
                    "take it. Choose another name."
                )
            _models[task, name] = info  # the same class, its module reloaded
        return cls

    return decorator


def _load_plugin(ep: Any) -> None:
    """Load one entry point, naming it as the source; skip it whole if it fails."""
    source = f"entry point {ep.name} = {ep.value} ({ep.dist.name if ep.dist else 'unknown'})"
    before = dict(_models)
    try:
        loaded = ep.load()  # importing a module runs its @register decorators
        if callable(loaded) and not isinstance(loaded, type):
            loaded()
    except Exception as exc:
        for key in set(_models) - set(before):
            del _models[key]
        message = f"tsfilm plugin {source} failed to load and was skipped: {exc!r}"
        warnings.warn(message, PluginWarning, stacklevel=4)
        return
    for key, info in list(_models.items()):
        # What it registered now, and what its modules registered when imported earlier.
        mine = info.source == info.cls.__module__ and f"{info.source}.".startswith(f"{ep.module}.")
        if before.get(key) is not info or mine:
            _models[key] = dataclasses.replace(info, source=source)


def _discover() -> None:
    """Import the built-in estimators, then load every entry point: once per process."""
    global _discovered
    with _lock:
        if _discovered:
            return
        importlib.import_module("tsfilm.estimators")
        _discovered = True
        from importlib import metadata

        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            _load_plugin(ep)


def reload_plugins() -> None:
    """Look for entry points again, e.g. after installing a plugin; registered models stay.

    Examples
    --------
    >>> from tsfilm.registry import reload_plugins
    >>> reload_plugins()
    """
    global _discovered
    importlib.invalidate_caches()  # so that a distribution installed since is found
    with _lock:
        _discovered = False
        _discover()


def list_models(task: str | None = None) -> list[ModelInfo]:
    """The registered estimators, sorted by task then name.

    Parameters
    ----------
    task : str or None, default=None
        Only this task's models; None lists every task.

    Examples
    --------
    >>> from tsfilm.registry import list_models
    >>> list_models("super_resolution")[0]  # doctest: +NORMALIZE_WHITESPACE
    ModelInfo(name='conv', task='super_resolution',
              cls=<class 'tsfilm_baselines.super_resolution.ConvSuperResolver'>,
              source='entry point baselines = tsfilm_baselines (tsfilm)')
    """
    if task is not None:
        _check_task(task)
    _discover()
    infos = sorted(list(_models.values()), key=lambda info: (info.task, info.name))
    return [info for info in infos if task is None or info.task == task]


def format_models(task: str | None = None) -> str:
    """:func:`list_models` (of ``task``, or of all tasks) as a table, as ``tsfilm models``.

    Examples
    --------
    >>> from tsfilm.registry import format_models
    >>> print(format_models("super_resolution"))
    task              name    class                                                  source
    super_resolution  conv    tsfilm_baselines.super_resolution:ConvSuperResolver    entry...
    ..."""
    rows = [("task", "name", "class", "source")]
    rows += [(i.task, i.name, _qualified(i.cls), i.source) for i in list_models(task)]
    if len(rows) == 1:
        return f"No models are registered{f' for task {task!r}' if task else ''}."
    widths = [max(len(row[col]) for row in rows) for col in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def get_model(name: str, task: str | None = None) -> type:
    """The estimator class registered under ``name``.

    An unknown name raises ValueError, suggesting close matches and listing the names
    available; so does a name registered for several tasks when ``task`` is None.

    Parameters
    ----------
    name : str
        A registered name (see :func:`list_models`).
    task : str or None, default=None
        The task; needed only when ``name`` is registered for several tasks.

    Examples
    --------
    >>> from tsfilm.registry import get_model
    >>> get_model("conv", task="super_resolution").__name__
    'ConvSuperResolver'
    >>> get_model("splin", task="super_resolution")
    Traceback (most recent call last):
    ValueError: unknown model 'splin' for task 'super_resolution'. Did you mean 'spline'? ...
    """
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, got {type(name).__name__}.")
    models = list_models(task)
    matches = [info for info in models if info.name == name]
    if len(matches) == 1:
        return matches[0].cls
    if matches:
        tasks = ", ".join(repr(info.task) for info in matches)
        raise ValueError(
            f"model {name!r} exists for several tasks ({tasks}); pass task= to choose one, "
            f"e.g. get_model({name!r}, task={matches[0].task!r})."
        )
    where = f" for task {task!r}" if task else ""
    tasks = [repr(info.task) for info in list_models() if info.name == name]
    elsewhere = f" {name!r} exists for task {', '.join(tasks)}." if tasks else ""
    names = sorted({info.name for info in models})
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    available = f"Available: {', '.join(map(repr, names))}." if names else "None registered."
    raise ValueError(f"unknown model {name!r}{where}.{elsewhere}{hint} {available}")


def make_model(name: str, task: str | None = None, **params: Any) -> Any:
    """A new, unfitted estimator: ``get_model(name, task)(**params)``.

    Examples
    --------
    >>> from tsfilm.registry import make_model
    >>> make_model("spline", task="super_resolution", ratio=4)
    SplineSuperResolver(ratio=4)
    """
    return get_model(name, task)(**params)


def find_class(qualified_name: str) -> type:
    """The registered class named ``"module:qualname"``, as model files name classes.

    Nothing is imported from the name, so a name read from an untrusted file cannot run
    code. Raises ValueError if no registered class has the name (it is not installed).

    Examples
    --------
    >>> from tsfilm.registry import find_class
    >>> find_class("tsfilm_baselines.super_resolution:ConvSuperResolver").__name__
    'ConvSuperResolver'
    >>> find_class("os:system")
    Traceback (most recent call last):
    ValueError: no registered model class is named 'os:system'; it is not installed here...
    """
    for info in list_models():
        if _qualified(info.cls) == qualified_name:
            return info.cls
    raise ValueError(
        f"no registered model class is named {qualified_name!r}; it is not installed here. "
        "Install the package that provides it (`tsfilm models` lists the installed models)."
    )
