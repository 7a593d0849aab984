"""Training within a wall-clock budget, on top of the engine's ``warm_start``."""

from __future__ import annotations

import time

import numpy as np

__all__ = ["fit_within"]


def fit_within(
    estimator,
    X,
    y=None,
    *,
    seconds: float,
    series_per_step: int | None = None,
    max_steps: int = 100_000,
    random_state: int = 0,
):
    """Fit ``estimator`` step by step until ``seconds`` of wall time are spent.

    Each step is one ``fit`` with ``warm_start=True`` and ``max_epochs=1``, so the
    network and Adam's state carry over; with ``series_per_step`` a step sees only the
    next that many series of a fixed shuffled order (a mini-epoch), which keeps steps
    short enough for the budget to be kept on large data. Training stops before a step
    that would overrun the budget. Estimators without a training loop are fitted once.

    Parameters
    ----------
    estimator : estimator
        A tsfilm estimator (or any scikit-learn estimator).
    X : array-like or list
        Training series (an array indexed along its first axis, or a list).
    y : array-like, optional
        Targets, indexed like ``X``.
    seconds : float
        Wall-clock budget.
    series_per_step : int, optional
        Series per step; None uses all of them every step.
    max_steps : int, default=100000
        Upper bound on the number of steps.
    random_state : int, default=0
        Seeds the order in which series are visited.

    Returns
    -------
    estimator
        The fitted estimator; ``len(estimator.history_)`` is the number of steps.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm import TFiLMSuperResolver
    >>> from tsfilm.estimators import fit_within
    >>> X = np.sin(np.linspace(0, 60, 8 * 128)).reshape(8, 128)
    >>> est = TFiLMSuperResolver(ratio=2, **TFiLMSuperResolver.get_test_params())
    >>> est = fit_within(est, X, seconds=2.0, series_per_step=4)
    >>> len(est.history_) >= 1
    True
    """
    params = estimator.get_params()
    if "warm_start" not in params or "max_epochs" not in params:
        return estimator.fit(X) if y is None else estimator.fit(X, y)
    n = len(X)
    size = n if series_per_step is None else min(series_per_step, n)
    order = np.random.default_rng(random_state).permutation(n)

    def take(data, idx):
        return [data[i] for i in idx] if isinstance(data, list) else np.asarray(data)[idx]

    estimator.set_params(warm_start=True, max_epochs=1, patience=None, validation_fraction=0.0)
    start = time.perf_counter()
    for step in range(max_steps):
        idx = np.sort(np.take(order, range(step * size, (step + 1) * size), mode="wrap"))
        args = (take(X, idx),) if y is None else (take(X, idx), take(y, idx))
        estimator.fit(*args)
        spent = time.perf_counter() - start
        if spent + estimator.history_[-1]["seconds"] > seconds:
            break
    estimator.set_params(warm_start=False)
    return estimator
