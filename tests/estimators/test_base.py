"""The shared training engine: seeding, early stopping, time budget, warm start, errors,
the window sampler, batched and windowed prediction, parameter validation."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import tsfilm
from tsfilm import TFiLMSuperResolver
from tsfilm.estimators import grid_windows, random_windows
from tsfilm.metrics import snr
from tsfilm.registry import list_models

TINY = TFiLMSuperResolver.get_test_params()[0]


def _signals(n: int = 6, length: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    freqs = rng.uniform(2, 12, size=(n, 1))
    x = np.sin(2 * np.pi * freqs * t) + 0.3 * np.sin(2 * np.pi * 3 * freqs * t)
    return x.astype(np.float32)


def test_same_random_state_same_predictions_and_global_rng_untouched():
    X = _signals()
    state = torch.random.get_rng_state()
    a = TFiLMSuperResolver(ratio=2, **TINY).fit(X).predict(X[:, ::2])
    assert torch.equal(torch.random.get_rng_state(), state)
    b = TFiLMSuperResolver(ratio=2, **TINY).fit(X).predict(X[:, ::2])
    np.testing.assert_array_equal(a, b)
    c = TFiLMSuperResolver(ratio=2, **{**TINY, "random_state": 1}).fit(X).predict(X[:, ::2])
    assert not np.array_equal(a, c)


def test_early_stopping_keeps_best_epoch():
    X = _signals(n=8)
    est = TFiLMSuperResolver(
        ratio=2,
        **{
            **TINY,
            "max_epochs": 40,
            "patience": 2,
            "learning_rate": 0.05,
            "validation_fraction": 0.25,
        },
    ).fit(X)
    monitored = [h["valid_loss"] for h in est.history_]
    assert est.best_epoch_ == int(np.argmin(monitored)) + 1
    assert est.n_epochs_ < 40


def test_warm_start_continues_history():
    X = _signals()
    est = TFiLMSuperResolver(ratio=2, **{**TINY, "warm_start": True}).fit(X)
    est.fit(X)
    assert [h["epoch"] for h in est.history_] == [1, 2, 3, 4]


def test_nan_loss_names_the_epoch(monkeypatch):
    X = _signals()
    est = TFiLMSuperResolver(ratio=2, **TINY)
    monkeypatch.setattr(
        TFiLMSuperResolver,
        "compute_loss",
        lambda self, m, b: torch.tensor(float("nan"), requires_grad=True),
    )
    with pytest.raises(tsfilm.TrainingDivergedError, match="epoch 1, batch 1"):
        est.fit(X)


def test_keyboard_interrupt_keeps_a_usable_model(monkeypatch):
    X = _signals()
    original = TFiLMSuperResolver.train_batches
    calls = {"n": 0}

    def interrupting(self, data, generator):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        yield from original(self, data, generator)

    monkeypatch.setattr(TFiLMSuperResolver, "train_batches", interrupting)
    est = TFiLMSuperResolver(ratio=2, **{**TINY, "max_epochs": 5})
    with pytest.warns(RuntimeWarning, match="interrupted after 1 epoch"):
        est.fit(X)
    assert est.n_epochs_ == 1
    assert est.predict(X[:, ::2]).shape == X.shape


def test_warm_start_keeps_adam_state():
    X = _signals()
    est = TFiLMSuperResolver(ratio=2, **{**TINY, "max_epochs": 1, "warm_start": True}).fit(X)
    steps = next(iter(est._optimizer_state["state"].values()))["step"].item()
    est.fit(X)
    assert next(iter(est._optimizer_state["state"].values()))["step"].item() == 2 * steps
    assert TFiLMSuperResolver(ratio=2, **TINY).fit(X)._optimizer_state is None


# ---------------------------------------------------------------------- time budget
def test_max_time_stops_training_within_one_step_of_the_budget():
    X = _signals(n=32, length=512)
    params = {**TINY, "max_epochs": 100_000, "patience": None, "batch_size": 2}
    start = time.perf_counter()
    est = TFiLMSuperResolver(ratio=2, **params, max_time=0.5).fit(X)
    spent = time.perf_counter() - start
    assert 1 <= est.n_epochs_ < 100_000
    assert spent < 0.5 + 5.0  # one step, one validation pass and prediction set-up at most
    assert est.get_params()["max_epochs"] == 100_000  # fit leaves its parameters alone
    assert est.predict(X[:, ::2]).shape == X.shape


def test_max_time_cuts_the_epoch_in_progress():
    X = _signals(n=64, length=1024)
    est = TFiLMSuperResolver(
        ratio=2, **{**TINY, "batch_size": 1, "max_time": 1e-3, "validation_fraction": 0.0}
    ).fit(X)
    assert est.n_epochs_ == 1
    assert est.history_[0]["seconds"] < 1.0


@pytest.mark.parametrize("value", [0, -1.0, "10"])
def test_max_time_must_be_positive_seconds(value):
    est = TFiLMSuperResolver(ratio=2, **{**TINY, "max_time": value})
    with pytest.raises(InvalidParameterError, match="'max_time' parameter"):
        est.fit(_signals())


# ---------------------------------------------------------------------- windows
@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    length=st.integers(1, 16),
    batch_size=st.integers(1, 7),
    seed=st.integers(0, 2**16),
)
def test_random_windows_shapes_and_bounds(lengths, length, batch_size, seed):
    series = [torch.arange(n, dtype=torch.float32)[None] + 1 for n in lengths]
    targets = [2 * s for s in series]
    batches = list(
        random_windows([series, targets], length, batch_size, torch.Generator().manual_seed(seed))
    )
    n_windows = sum(b[0].shape[0] for b in batches)
    assert n_windows == max(1, -(-sum(lengths) // length))
    for x, y in batches:
        assert x.shape[1:] == (1, length) and x.shape[0] <= batch_size
        torch.testing.assert_close(y, 2 * x)  # fields stay aligned
        for row in x[:, 0]:
            real = row[row > 0]
            # a window is a run of consecutive samples, zero-padded only at the end
            assert torch.equal(real, torch.arange(real[0], real[0] + len(real)))
            assert torch.all(row[len(real) :] == 0)
    again = list(
        random_windows([series, targets], length, batch_size, torch.Generator().manual_seed(seed))
    )
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(1, 40), min_size=1, max_size=5), length=st.integers(1, 16))
def test_grid_windows_cover_every_sample(lengths, length):
    series = [torch.arange(n, dtype=torch.float32)[None] + 1 for n in lengths]
    seen = torch.cat([x[:, 0].flatten() for (x,) in grid_windows([series], length, 3)])
    expected = set().union(*(set(range(1, n + 1)) for n in lengths))
    assert set(seen[seen > 0].tolist()) == expected


def test_windowed_prediction_of_the_identity_network_returns_the_input():
    est = TFiLMSuperResolver(ratio=2, **{**TINY, "batch_size": 3})
    signals = [np.random.default_rng(i).normal(size=(2, n)) for i, n in enumerate((5, 64, 100))]
    calls = []

    def forward(x):
        calls.append(x.shape)
        return x * 1.0

    out = list(
        est.forward_windows(
            [s.shape[-1] for s in signals],
            lambda i, a, b: signals[i][:, a:b],
            forward,
            window=32,
            overlap=8,
        )
    )
    for got, want in zip(out, signals, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert all(shape[0] <= 3 for shape in calls)
    assert (3, 2, 32) in calls  # windows of different series share batches


# ---------------------------------------------------------------------- parameters
def _registered_torch_classes():
    return sorted(
        {info.cls for info in list_models() if "max_epochs" in info.cls().get_params()},
        key=lambda cls: cls.__name__,
    )


def _fit_data(cls):
    X = _signals(n=6, length=64)
    tags = cls().__sklearn_tags__()
    if tags.input_tags.string:
        return (["good film", "bad film"] * 3, [1, 0] * 3)
    if cls().__sklearn_tags__().estimator_type == "classifier":
        return (X, [0, 1] * 3)
    if "ratio" in cls().get_params():
        return (X[:, ::2], X)
    return (X,)


@pytest.mark.parametrize("cls", _registered_torch_classes(), ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("max_epochs", 0),
        ("max_epochs", 1.5),
        ("learning_rate", 0.0),
        ("batch_size", "8"),
        ("patience", 0),
        ("validation_fraction", 1.0),
        ("precision", "float16"),
        ("max_time", -1),
        ("warm_start", "yes"),
    ],
)
def test_every_estimator_refuses_a_bad_engine_parameter_the_same_way(cls, param, value):
    est = cls(**{**cls.get_test_params()[0], param: value})
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {cls.__name__}"):
        est.fit(*_fit_data(cls))
    assert est.get_params()[param] == value  # nothing was changed or half-fitted
    assert not hasattr(est, "module_")


def test_invalid_parameter_error_is_both_value_and_type_error():
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


def test_numpy_scalars_are_accepted_as_parameters():
    est = TFiLMSuperResolver(
        ratio=np.int64(2), **{**TINY, "max_epochs": np.int32(1), "learning_rate": np.float32(1e-3)}
    )
    assert est.fit(_signals()).n_epochs_ == 1


def test_fit_does_not_change_parameters_or_set_public_non_fitted_attributes():
    est = TFiLMSuperResolver(ratio=2, **TINY)
    before = clone(est).get_params()
    attributes = set(vars(est))
    est.fit(_signals())
    assert est.get_params() == before
    added = set(vars(est)) - attributes
    assert all(name.endswith("_") or name.startswith("_") for name in added), added


# ---------------------------------------------------------------------- precision
def _conv_output_dtypes(module: torch.nn.Module, run) -> set:
    dtypes: list = []
    hooks = [
        layer.register_forward_hook(lambda _m, _i, out: dtypes.append(out.dtype))
        for layer in module.modules()
        if isinstance(layer, torch.nn.Conv1d)
    ]
    try:
        run()
    finally:
        for hook in hooks:
            hook.remove()
    return set(dtypes)


def test_bfloat16_prediction_runs_in_bfloat16_and_stays_close_to_float32():
    X = _signals()
    est = TFiLMSuperResolver(ratio=2, **TINY).fit(X)
    reference = est.predict(X[:, ::2])
    est.set_params(precision="bfloat16")
    assert _conv_output_dtypes(est.module_, lambda: est.predict(X[:, ::2])) == {torch.bfloat16}
    low = est.predict(X[:, ::2])
    assert low.dtype == np.float32
    assert not np.array_equal(low, reference)  # it did run in bfloat16
    assert snr(reference, low) > 25


def test_bfloat16_training_uses_autocast_and_learns(monkeypatch):
    autocast = []
    original = TFiLMSuperResolver.compute_loss

    def spy(self, module, batch):
        autocast.append(torch.is_autocast_enabled("cpu"))
        return original(self, module, batch)

    monkeypatch.setattr(TFiLMSuperResolver, "compute_loss", spy)
    X = _signals(n=16, length=256)
    params = {**TINY, "max_epochs": 8, "learning_rate": 3e-3, "patience": None}
    est = TFiLMSuperResolver(ratio=2, **params, precision="bfloat16", device="cpu").fit(X)
    assert autocast and all(autocast)
    losses = [h["train_loss"] for h in est.history_]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_bfloat16_classifier_probabilities_stay_close_to_float32():
    from tsfilm import TFiLMSequenceClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 48)).astype(np.float32)
    y = np.repeat([0, 1], 8)
    X[y == 1] += np.sin(np.linspace(0, 12, 48)).astype(np.float32)
    clf = TFiLMSequenceClassifier(**TFiLMSequenceClassifier.get_test_params()[0]).fit(X, y)
    reference = clf.predict_proba(X)
    low = clf.set_params(precision="bfloat16").predict_proba(X)
    assert not np.array_equal(low, reference)
    np.testing.assert_allclose(low, reference, atol=0.05)


def test_verbose_shows_a_progress_bar_and_silence_is_the_default(capsys):
    X = _signals()
    TFiLMSuperResolver(ratio=2, **TINY).fit(X)
    assert capsys.readouterr().err == ""
    TFiLMSuperResolver(ratio=2, **{**TINY, "verbose": 1}).fit(X)
    err = capsys.readouterr().err
    assert "TFiLMSuperResolver" in err and "2/2" in err and "loss=" in err


@pytest.mark.parametrize(
    ("native", "speedup", "expected"),
    [
        (False, 5.0, "float32"),
        (True, 0.07, "float32"),
        (True, 1.05, "float32"),
        (True, 1.5, "bfloat16"),
    ],
)
def test_auto_precision_uses_bfloat16_only_where_native_and_measured_faster(
    monkeypatch, native, speedup, expected
):
    from tsfilm.estimators import _base

    monkeypatch.setattr(_base, "_native_bfloat16_cpu", lambda: native)
    monkeypatch.setattr(_base, "bfloat16_speedup", lambda: speedup)
    assert _base.resolve_precision("auto", torch.device("cpu")) == expected
    assert _base.resolve_precision("float32", torch.device("cpu")) == "float32"
    est = TFiLMSuperResolver(ratio=2, **TINY).fit(_signals())
    assert est.precision_ == expected


def test_explicit_bfloat16_where_it_is_slower_warns_with_the_cost(monkeypatch):
    from tsfilm.estimators import _base

    monkeypatch.setattr(_base, "bfloat16_speedup", lambda: 0.1)
    with pytest.warns(UserWarning, match="10.0x slower than float32 on this CPU"):
        assert _base.resolve_precision("bfloat16", torch.device("cpu")) == "bfloat16"


def test_auto_precision_predicts_in_float32(monkeypatch):
    from tsfilm.estimators import _base

    monkeypatch.setattr(_base, "_native_bfloat16_cpu", lambda: True)
    monkeypatch.setattr(_base, "bfloat16_speedup", lambda: 2.0)
    X = _signals()
    est = TFiLMSuperResolver(ratio=2, **TINY).fit(X)
    assert est.precision_ == "bfloat16"
    assert _conv_output_dtypes(est.module_, lambda: est.predict(X[:, ::2])) == {torch.float32}


def test_bfloat16_speedup_ignores_a_pair_split_by_load():
    """A burst of load that slows one step of one pair does not decide the precision."""
    from tsfilm.estimators import _base

    times = iter([1.0, 1.1] * 3 + [9.0, 1.1] + [1.0, 1.1] * 3)  # fp32, bf16, ...
    ratio = _base._median_pair_ratio(lambda enabled: next(times), 7)
    assert ratio == pytest.approx(1.0 / 1.1)


def test_the_speedup_measurement_leaves_the_global_rng_alone():
    from tsfilm.estimators._base import bfloat16_speedup

    state = torch.random.get_rng_state()
    bfloat16_speedup.cache_clear()
    assert bfloat16_speedup() > 0
    assert torch.equal(torch.random.get_rng_state(), state)


def test_adam_is_fused_and_a_saved_state_takes_the_new_kernel_choice():
    import copy

    import torch

    from tsfilm.estimators._base import _load_optimizer_state, make_adam

    module = torch.nn.Linear(3, 2)
    fused = make_adam(module, 1e-3, torch.device("cpu"))
    assert fused.defaults["fused"] is True
    # A state saved by torch's default optimizer (as pickles written before) loads into
    # the fused one and keeps its moments.
    plain = torch.optim.Adam(module.parameters(), lr=1e-3)
    module(torch.randn(4, 3)).sum().backward()
    plain.step()
    saved = copy.deepcopy(plain.state_dict())
    _load_optimizer_state(fused, saved)
    assert all(g["fused"] is True and g["foreach"] is None for g in fused.param_groups)
    torch.testing.assert_close(
        fused.state_dict()["state"][0]["exp_avg"], saved["state"][0]["exp_avg"]
    )
    fused.step()
    assert saved["param_groups"][0]["fused"] is None  # the saved state is left as it was
