"""Find estimators by name: tsfilm's own and those that plugins register.

Every estimator is registered under a ``(name, task)`` pair with :func:`register`.
:func:`get_model` and :func:`make_model` look classes up by name, :func:`list_models`
and :func:`format_models` show what is available (``tsfilm models`` prints the table).

Writing a plugin
----------------
A package adds models by declaring an entry point in the ``tsfilm.models`` group::

    # pyproject.toml of the plugin
    [project.entry-points."tsfilm.models"]
    mymodels = "mypackage.models"            # a module whose import registers them
    # or
    mymodels = "mypackage.models:setup"      # a function, called without arguments

The entry point may name a module whose import runs ``@register`` decorators, or a
function that registers models when called. tsfilm imports its built-in estimators and
then every entry point the first time a model is looked up or listed, once per process
(:func:`reload_plugins` looks again). A plugin that fails to load -- it raises on
import, or registers a name that is already taken -- is skipped with a
:class:`PluginWarning` that names it, and never stops the others from loading.

This module imports neither torch nor the estimators, so it stays cheap to import.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import functools
import importlib
import re
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = [
    "ENTRY_POINT_GROUP",
    "TASKS",
    "DuplicateModelError",
    "ModelInfo",
    "PluginWarning",
    "format_models",
    "get_model",
    "list_models",
    "make_model",
    "register",
    "reload_plugins",
]

TASKS = ("super_resolution", "imputation", "classification")
ENTRY_POINT_GROUP = "tsfilm.models"

_BUILTIN_MODULE = "tsfilm.estimators"
_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

T = TypeVar("T", bound=type)


class PluginWarning(UserWarning):
    """A ``tsfilm.models`` plugin failed to load and was skipped."""


class DuplicateModelError(ValueError):
    """A ``(name, task)`` pair is already registered to another class."""


@dataclass(frozen=True)
class ModelInfo:
    """One registered estimator.

    Attributes
    ----------
    name : str
        The name passed to :func:`get_model` and :func:`make_model`.
    task : str
        One of :data:`TASKS`.
    cls : type
        The estimator class.
    source : str
        Who registered it: ``"tsfilm"`` for built-ins, ``"entry point <name> = <value>
        (<distribution>)"`` for plugins, otherwise the class's module.
    """

    name: str
    task: str
    cls: type
    source: str


@dataclass
class _Load:
    """What one import of built-ins or one entry point registers while it loads."""

    source: str | None
    registered: list[ModelInfo] = field(default_factory=list)


# (task, name) -> ModelInfo. Guarded by _table_lock, which is never held while importing:
# a module being imported in another thread may need it to register its classes.
_table: dict[tuple[str, str], ModelInfo] = {}
_table_lock = threading.Lock()

# Discovery imports code, which can look models up again (re-entrant lock, _discovering).
_discovery_lock = threading.RLock()
_discovered = False
_discovering = False

# What each discovery step registered the last time it ran. Python imports a module once,
# so a second discovery (reload_plugins, or a fresh registry in _isolated) finds no new
# registrations from an already-imported plugin and restores these instead. Process-wide
# like the module cache it mirrors, so _isolated does not roll it back.
_remembered: dict[str, tuple[ModelInfo, ...]] = {}

# The discovery step running in this thread, which names the source of what registers.
_current_load: contextvars.ContextVar[_Load | None] = contextvars.ContextVar(
    "tsfilm_registry_current_load", default=None
)


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_task(task: object) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks are: {', '.join(TASKS)}.")


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, got {type(name).__name__}.")
    if not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"invalid model name {name!r}: use letters, digits and underscores, not starting "
            "with a digit (lower case recommended, e.g. 'tfilm_unet')."
        )


def _default_source(cls: type) -> str:
    """Built-ins are ``"tsfilm"``; plugins name their entry point; others their module."""
    module = cls.__module__
    if module == "tsfilm" or module.startswith("tsfilm."):
        return "tsfilm"
    load = _current_load.get()
    if load is not None and load.source is not None:
        return load.source
    return module


def _redefines(old: type, new: type) -> bool:
    """Whether ``new`` is ``old`` defined again by re-running its module (a reload)."""
    return (
        old.__module__ == new.__module__
        and old.__qualname__ == new.__qualname__
        and "<locals>" not in new.__qualname__
    )


def _add(info: ModelInfo) -> None:
    """Put ``info`` in the table, or raise DuplicateModelError if its name is taken."""
    key = (info.task, info.name)
    with _table_lock:
        existing = _table.get(key)
        if existing is not None and existing.cls is info.cls:
            return
        if existing is not None and not _redefines(existing.cls, info.cls):
            raise DuplicateModelError(
                f"model {info.name!r} for task {info.task!r} is already registered by "
                f"{existing.source} ({_qualified(existing.cls)}); {info.source} "
                f"({_qualified(info.cls)}) cannot register it again. Choose another name."
            )
        _table[key] = info
    load = _current_load.get()
    if load is not None:
        load.registered.append(info)


def _remove(infos: tuple[ModelInfo, ...] | list[ModelInfo]) -> None:
    """Take these entries out of the table, leaving any that others have replaced."""
    with _table_lock:
        for info in infos:
            key = (info.task, info.name)
            if _table.get(key) is info:
                del _table[key]


def register(name: str, task: str, *, source: str | None = None) -> Callable[[T], T]:
    """Class decorator registering an estimator under ``(name, task)``.

    Parameters
    ----------
    name : str
        Letters, digits and underscores, not starting with a digit; lower case is
        recommended. One name may be registered once per task (e.g. ``"spline"`` for
        both super-resolution and imputation).
    task : {"super_resolution", "imputation", "classification"}
        What the estimator does.
    source : str or None, default=None
        Who registers it, shown by :func:`list_models` and in error messages. None means
        ``"tsfilm"`` for classes in tsfilm, the entry point for a plugin being loaded,
        and the class's module otherwise.

    Returns
    -------
    decorator : callable
        Registers the class it is applied to and returns it unchanged.

    Raises
    ------
    ValueError
        If ``name`` or ``task`` is invalid.
    DuplicateModelError
        If ``(name, task)`` belongs to another class; the message names both sources.
        Registering the same class again, or a class redefined by reloading its module,
        is allowed.
    TypeError
        If ``name`` is not a string or the decorated object is not a class.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from tsfilm import registry
    >>> with registry._isolated():  # an empty registry for the example
    ...     @registry.register("last_value", task="imputation", source="example")
    ...     class LastValueImputer(BaseEstimator):
    ...         pass
    ...     registry.get_model("last_value") is LastValueImputer
    True
    """
    _check_name(name)
    _check_task(task)

    def decorator(cls: T) -> T:
        if not isinstance(cls, type):
            raise TypeError(f"@register({name!r}) decorates classes, got {cls!r}.")
        _add(ModelInfo(name, task, cls, source if source is not None else _default_source(cls)))
        return cls

    return decorator


def _entry_point_source(ep: EntryPoint) -> str:
    dist = ep.dist.name if ep.dist is not None else "unknown distribution"
    return f"entry point {ep.name} = {ep.value} ({dist})"


def _record(key: str, source: str | None, load: Callable[[], object]) -> None:
    """Run one discovery step, remembering what it registers; all or nothing."""
    run = _Load(source)
    token = _current_load.set(run)
    try:
        load()
        if not run.registered:
            # Already imported earlier, so its decorators did not run again this time.
            for info in _remembered.get(key, ()):
                _add(info)
    except BaseException:
        _remove(run.registered)
        raise
    finally:
        _current_load.reset(token)
    _remembered[key] = tuple(run.registered)


def _load_entry_point(ep: EntryPoint) -> None:
    loaded = ep.load()
    # A module registered its models when imported; so did a decorated class.
    if callable(loaded) and not isinstance(loaded, (type, types.ModuleType)):
        loaded()


def _load_plugins() -> None:
    """Load every ``tsfilm.models`` entry point, warning about and skipping broken ones."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = _entry_point_source(ep)
        try:
            _record(source, source, functools.partial(_load_entry_point, ep))
        except Exception as exc:
            warnings.warn(
                f"tsfilm plugin {ep.name!r} ({ep.value}) failed to load and was skipped: {exc!r}",
                PluginWarning,
                stacklevel=2,
            )


def _ensure_discovered() -> None:
    """Register the built-ins and the plugins once per process, on first use."""
    global _discovered, _discovering
    if _discovered:
        return
    with _discovery_lock:
        # _discovering: a plugin looking models up while it loads sees the table so far.
        if _discovered or _discovering:
            return
        _discovering = True
        try:
            _record(_BUILTIN_MODULE, None, lambda: importlib.import_module(_BUILTIN_MODULE))
            _load_plugins()
            _discovered = True
        finally:
            _discovering = False


def reload_plugins() -> None:
    """Forget what discovery registered and discover the built-ins and plugins again.

    Useful after installing a plugin into a running session, and in tests. Models
    registered directly with :func:`register`, outside discovery, are kept.

    Examples
    --------
    >>> from tsfilm import registry
    >>> registry.reload_plugins()
    >>> isinstance(registry.list_models(), list)
    True
    """
    global _discovered
    with _discovery_lock:
        for infos in _remembered.values():
            _remove(infos)
        _discovered = False
        importlib.invalidate_caches()  # so a distribution installed since is found
        _ensure_discovered()


def list_models(task: str | None = None) -> list[ModelInfo]:
    """The registered estimators, sorted by task then name.

    Parameters
    ----------
    task : str or None, default=None
        Only this task's models; None lists every task.

    Returns
    -------
    models : list of ModelInfo

    Raises
    ------
    ValueError
        If ``task`` is not one of :data:`TASKS`.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from tsfilm import registry
    >>> with registry._isolated():
    ...     @registry.register("spline", task="imputation", source="example")
    ...     @registry.register("spline", task="super_resolution", source="example")
    ...     class Spline(BaseEstimator):
    ...         pass
    ...     [(m.task, m.name) for m in registry.list_models()]
    [('imputation', 'spline'), ('super_resolution', 'spline')]
    """
    if task is not None:
        _check_task(task)
    _ensure_discovered()
    with _table_lock:
        infos = list(_table.values())
    return sorted(
        (info for info in infos if task is None or info.task == task),
        key=lambda info: (info.task, info.name),
    )


def format_models(task: str | None = None) -> str:
    """The registered estimators as an aligned text table, one row per model.

    Parameters
    ----------
    task : str or None, default=None
        Only this task's models; None shows every task.

    Returns
    -------
    table : str
        Columns ``task``, ``name``, ``class`` and ``source`` under a header, rows
        grouped by task; a single sentence if nothing is registered.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from tsfilm import registry
    >>> KNN = type("KNN", (BaseEstimator,), {"__module__": "mypkg.impute"})
    >>> SmallCNN = type("SmallCNN", (BaseEstimator,), {"__module__": "mypkg.nets"})
    >>> with registry._isolated():
    ...     _ = registry.register("knn", task="imputation")(KNN)
    ...     _ = registry.register("small_cnn", task="classification")(SmallCNN)
    ...     print(registry.format_models())
    task            name       class                source
    classification  small_cnn  mypkg.nets.SmallCNN  mypkg.nets
    imputation      knn        mypkg.impute.KNN     mypkg.impute
    """
    infos = list_models(task)
    if not infos:
        return f"No models are registered{f' for task {task!r}' if task else ''}."
    rows = [("task", "name", "class", "source")]
    rows += [(i.task, i.name, _qualified(i.cls), i.source) for i in infos]
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _unknown_name_message(name: str, task: str | None, infos: list[ModelInfo]) -> str:
    where = f" for task {task!r}" if task else ""
    names = sorted({info.name for info in infos if task is None or info.task == task})
    message = f"unknown model {name!r}{where}."
    elsewhere = sorted(info.task for info in infos if info.name == name)
    if elsewhere:
        message += f" {name!r} exists for task {', '.join(map(repr, elsewhere))}."
    close = difflib.get_close_matches(name, names, n=3)
    if close:
        message += f" Did you mean {' or '.join(map(repr, close))}?"
    if names:
        return message + f" Available: {', '.join(map(repr, names))}."
    return message + f" No models are registered{where}."


def get_model(name: str, task: str | None = None) -> type:
    """The estimator class registered under ``name``.

    Parameters
    ----------
    name : str
        A registered name (see :func:`list_models`).
    task : str or None, default=None
        The task; needed only when ``name`` is registered for several tasks.

    Returns
    -------
    cls : type
        The estimator class, not an instance (see :func:`make_model`).

    Raises
    ------
    ValueError
        If ``task`` is invalid, if ``name`` is unknown (the message lists the available
        names and suggests close matches), or if ``task`` is None and ``name`` exists
        for several tasks.
    TypeError
        If ``name`` is not a string.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from tsfilm import registry
    >>> with registry._isolated():
    ...     @registry.register("spline", task="super_resolution", source="example")
    ...     class Spline(BaseEstimator):
    ...         pass
    ...     registry.get_model("spline").__name__
    ...     try:
    ...         registry.get_model("splin")
    ...     except ValueError as err:
    ...         print(err)
    'Spline'
    unknown model 'splin'. Did you mean 'spline'? Available: 'spline'.
    """
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, got {type(name).__name__}.")
    infos = list_models(task)
    matches = [info for info in infos if info.name == name]
    if len(matches) == 1:
        return matches[0].cls
    if matches:
        tasks = ", ".join(repr(info.task) for info in matches)
        raise ValueError(
            f"model {name!r} exists for several tasks ({tasks}); pass task= to choose one, "
            f"e.g. get_model({name!r}, task={matches[0].task!r})."
        )
    raise ValueError(_unknown_name_message(name, task, list_models()))


def make_model(name: str, task: str | None = None, **params: object) -> object:
    """A new estimator: ``get_model(name, task)(**params)``.

    Parameters
    ----------
    name : str
        A registered name (see :func:`list_models`).
    task : str or None, default=None
        The task; needed only when ``name`` is registered for several tasks.
    **params
        Passed to the estimator's constructor.

    Returns
    -------
    estimator : object
        An unfitted instance.

    Raises
    ------
    ValueError
        As :func:`get_model`.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from tsfilm import registry
    >>> with registry._isolated():
    ...     @registry.register("moving_average", task="imputation", source="example")
    ...     class MovingAverage(BaseEstimator):
    ...         def __init__(self, window=3):
    ...             self.window = window
    ...     registry.make_model("moving_average", window=5)
    MovingAverage(window=5)
    """
    return get_model(name, task)(**params)


@contextlib.contextmanager
def _isolated(discover: bool = False) -> Iterator[None]:
    """Run a block against a fresh registry and restore the current one afterwards.

    For tests and examples: nothing registered in the block outlives it.

    Parameters
    ----------
    discover : bool, default=False
        If True the fresh registry discovers built-ins and plugins on first use, as the
        real one does; if False it starts and stays empty unless
        :func:`reload_plugins` is called.
    """
    global _table, _discovered
    # Only the swaps hold the locks: code in the block may use the registry from threads.
    with _discovery_lock, _table_lock:
        saved = (_table, _discovered)
        _table, _discovered = {}, not discover
    try:
        yield
    finally:
        with _discovery_lock, _table_lock:
            _table, _discovered = saved
