"""Adapters whose hyper-parameters are those of the tsfilm estimator they wrap.

A named adapter (``TFiLMClassifier``...) names a registered tsfilm model in its class
attribute ``_model = (task, name)``. :class:`MirroredParams` then gives the class an
``__init__`` with the signature of that model's ``__init__`` (same names, defaults and
order, less :data:`NOT_MIRRORED`) and fills the ``{parameters}`` line of its docstring
with the model's own parameter descriptions, so the adapter and the model cannot drift
apart and no parameter list is written twice.
"""

from __future__ import annotations

import inspect
import itertools
import re
import textwrap
from typing import Any, ClassVar

from tsfilm import registry

__all__ = ["NOT_MIRRORED", "MirroredParams", "parameters_section"]

#: Parameters of the tsfilm estimators that the adapters leave out: sktime's ``fit``
#: resets the estimator first, so ``warm_start`` could never continue a fitted network.
NOT_MIRRORED = ("warm_start",)

_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", flags=re.M)
_ENTRY = re.compile(r"^(\S[^:\n]*?)\s*:", flags=re.M)


def parameters_section(cls: type, exclude: tuple[str, ...] = ()) -> str:
    """The text of the ``Parameters`` section of ``cls``'s docstring, dedented.

    Entries naming a parameter of ``exclude`` are left out.

    Examples
    --------
    >>> from tsfilm import TFiLMImputer
    >>> print(parameters_section(TFiLMImputer).splitlines()[0])
    missing_values : float, default=np.nan
    >>> "warm_start" in parameters_section(TFiLMImputer, exclude=("warm_start",))
    False
    """
    doc = inspect.cleandoc(cls.__doc__ or "")
    headers = list(_SECTION.finditer(doc))
    for i, header in enumerate(headers):
        if header.group(1) == "Parameters":
            end = headers[i + 1].start() if i + 1 < len(headers) else len(doc)
            body = doc[header.end() : end].strip("\n")
            break
    else:
        raise ValueError(f"{cls.__name__} has no Parameters section in its docstring.")
    # One entry per unindented line, with the indented lines that follow it.
    starts = [m.start() for m in _ENTRY.finditer(body)] + [len(body)]
    entries = [body[a:b].rstrip("\n") for a, b in itertools.pairwise(starts)]
    kept = [e for e in entries if _ENTRY.match(e).group(1).strip() not in exclude]
    return "\n".join(kept)


class MirroredParams:
    """Mixin: an adapter whose ``__init__`` mirrors a registered tsfilm estimator's.

    A subclass sets ``_model = (task, name)``; at class creation the model's class is
    looked up in :mod:`tsfilm.registry` and stored as ``_estimator_class``, the class
    gets an ``__init__`` taking exactly the model's parameters (keyword-only, same
    defaults; an unknown name raises TypeError as for any function) that stores them
    and calls the next base's ``__init__``, and the ``{parameters}`` line of its
    docstring becomes the model's parameter descriptions. :meth:`estimator_params` gives
    the parameters to build the model with.
    """

    #: ``(task, name)`` of the registered tsfilm model the adapter wraps.
    _model: ClassVar[tuple[str, str]]
    #: The model's class, looked up in the registry when the adapter class is created.
    _estimator_class: ClassVar[type]
    #: Its ``random_state`` is the adapter's: sktime's checks set it and get the same fit.
    _tags: ClassVar[dict[str, Any]] = {
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }

    def _new_estimator(self) -> Any:
        return self._estimator_class(**self.estimator_params())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_model" not in cls.__dict__:
            return
        task, name = cls._model
        estimator_class = registry.get_model(name, task=task)
        cls._estimator_class = estimator_class
        cls.__init__ = _mirrored_init(cls, estimator_class)
        if cls.__doc__ and "{parameters}" in cls.__doc__:
            text = parameters_section(estimator_class, exclude=NOT_MIRRORED)

            def indent(match: re.Match) -> str:
                return textwrap.indent(text, match.group(1))

            cls.__doc__ = re.sub(r"^([ \t]*)\{parameters\}[ \t]*$", indent, cls.__doc__, flags=re.M)

    def estimator_params(self) -> dict[str, Any]:
        """The adapter's parameters, to build ``_estimator_class`` with."""
        return self.get_params(deep=False)


def _mirrored_init(cls: type, estimator_class: type):
    """An ``__init__`` for ``cls`` with the signature of ``estimator_class.__init__``."""
    source = inspect.signature(estimator_class.__init__)
    kept = [p for p in source.parameters.values() if p.name not in NOT_MIRRORED]
    self_param, params = kept[0], kept[1:]
    bad = [p.name for p in params if p.default is p.empty or p.kind is p.VAR_KEYWORD]
    if bad:
        raise TypeError(
            f"{estimator_class.__name__} cannot be mirrored: parameters {bad} have no default."
        )
    keyword_only = [p.replace(kind=p.KEYWORD_ONLY, annotation=p.empty) for p in params]
    signature = source.replace(parameters=[self_param, *keyword_only], return_annotation=None)
    names = [p.name for p in keyword_only]

    def __init__(self, **params: Any) -> None:
        bound = signature.bind(self, **params)  # unknown names raise TypeError
        bound.apply_defaults()
        for name in names:
            setattr(self, name, bound.arguments[name])
        super(cls, self).__init__()

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__doc__ = f"Store the parameters of {estimator_class.__name__}; see the class."
    return __init__
