"""The training engine shared by every torch-backed tsfilm estimator.

What all networks share lives here: parameter validation of the engine's
hyper-parameters, device and precision, seeding without touching torch's global random
state, the optimiser, a wall-clock budget (``max_time``), validation and early stopping,
``history_``, a progress bar, Ctrl-C handling, NaN-loss detection, thread limits, the
one window sampler for training and validation, the one batched-prediction path,
pickling and model files.

An estimator built on it adds its hyper-parameters (``__init__`` and
``_parameter_constraints``) and four hooks:

``build_module(self) -> torch.nn.Module``
    The network, built from hyper-parameters and fitted attributes (``n_channels_``...).
``train_batches(self, data, generator) -> Iterable[tuple[Tensor, ...]]``
    One epoch of training batches (CPU tensors), drawn with ``generator``; usually
    :func:`random_windows` over the training series.
``valid_batches(self, data) -> Iterable[tuple[Tensor, ...]]``
    Deterministic validation batches; usually :func:`grid_windows`.
``compute_loss(self, module, batch) -> Tensor``
    The scalar loss of one batch (already on the device).

Optionally ``splits_batches(self) -> bool`` and ``loss_weight(self, batch) -> float``: a
loss that is the weighted mean of its parts' losses lets training on the CPU run each
batch in halves on two threads (:mod:`tsfilm.estimators._split`).

``fit`` prepares ``data`` and calls :meth:`TorchEstimator.run_training`; prediction runs
the network through :meth:`TorchEstimator.forward_batches` or
:meth:`TorchEstimator.forward_windows` inside :meth:`TorchEstimator.inference`.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import itertools
import math
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from tsfilm.estimators._distributed import _Local, distributed_context
from tsfilm.estimators._heap import heap_policy
from tsfilm.estimators._split import SplitSteps, concurrency_safe, part_generators, splittable
from tsfilm.estimators._threads import BatchWorkers, thread_policy
from tsfilm.nn.dropout import row_generators
from tsfilm.preprocessing import chunk_spans, overlap_add
from tsfilm.validation import StrictInterval, StrOptions, int_at_least

__all__ = [
    "ENGINE_PARAMS_DOC",
    "UNET_CONSTRAINTS",
    "TorchEstimator",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "document_engine_params",
    "grid_windows",
    "random_windows",
    "resolve_precision",
    "unet_kwargs",
]

ENGINE_PARAMS_DOC = """\
    max_epochs : int, default={max_epochs}
        Largest number of passes over the training data.
    batch_size : int, default={batch_size}
        Number of examples per optimiser step (and per network call in prediction).
    learning_rate : float, default={learning_rate}
        Adam's step size.
    validation_fraction : float, default={validation_fraction}
        Share of the series held out to monitor early stopping. With 0, or when too few
        series exist to hold any out, the training loss is monitored instead.
    patience : int or None, default={patience}
        Stop after this many epochs without improvement of the monitored loss and keep
        the best weights; None trains for ``max_epochs``.
    max_time : float or None, default=None
        Wall-clock budget of training in seconds. It is checked after every optimiser
        step: the epoch in progress ends there (its validation loss is still computed)
        and the best weights so far are kept. None trains without a time limit.
    device : {{"auto", "cpu", "cuda"}} or torch.device, default="auto"
        Where to train and predict; "auto" picks CUDA when present. Fitted models are
        pickled and saved with their weights on the CPU.
    precision : {{"auto", "float32", "bfloat16"}}, default="auto"
        "bfloat16" runs the forward pass under autocast. "auto" uses it only where it is
        faster: training on GPUs with bfloat16, and on CPUs with native bfloat16
        instructions (AVX512-BF16, AMX) where a short measurement, made once per process,
        confirms it; elsewhere, and for predictions, float32. An explicit "bfloat16" on a
        CPU where it is slower warns with the measured cost. The training precision used
        is ``precision_``.
    n_threads : int, "auto" or None, default="auto"
        Torch CPU threads during fit and predict. "auto" uses the cores other processes
        leave idle, at most torch's setting, measured at the start and after every epoch
        (``history_`` records the threads of each epoch): two threads on two cores with
        a third process busy run slower than one. An int fixes the number; None keeps
        torch's setting. Set 1 when running several fits in parallel processes. A
        prediction on the CPU with more than one thread runs them inside each batch while
        the cores are idle, and two whole batches at a time, the threads shared among
        them, once it measures other processes keeping cores busy (so that two fixed
        threads do not run slower than one). Training on the CPU with more than one
        thread possible (not 1) runs every batch in two halves at once, one per thread,
        the threads shared among them and two at least (also when "auto" records one):
        the batch's gradient up to float rounding, and on two cores the same weights,
        bit for bit, whether "auto" picks one thread or two.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and batch sampling. Torch's global random
        state is left as it was; the same integer and settings give the same model on
        the CPU.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar with epoch, losses and speed.
    warm_start : bool, default=False
        Continue training the fitted network (and Adam's state) on the next call to
        ``fit``; ``history_`` goes on counting epochs."""


#: Fused Adam runs on the CPU from torch 2.4 (on CUDA since 2.0).
_FUSED_ADAM_CPU = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 4)


def make_adam(
    module: torch.nn.Module, learning_rate: float, device: torch.device
) -> torch.optim.Adam:
    """Adam over ``module``'s parameters, fused into one kernel where torch can.

    Torch's default on the CPU updates the parameters one tensor after another: for the
    U-Nets' 74 tensors (0.66 M weights) the update took 2.7 ms against 0.6 ms fused (under
    1 % of a training step), for the 1M-parameter TFiLM text model 4.9 ms against 1.9 ms
    (a tenth of its step). The fused update is the same algorithm, rounded in another
    order.

    Parameters
    ----------
    module : torch.nn.Module
        The network to train.
    learning_rate : float
        Adam's step size.
    device : torch.device
        Where the parameters live: fused on CUDA, and on the CPU with torch >= 2.4;
        torch's default elsewhere.

    Returns
    -------
    torch.optim.Adam

    Examples
    --------
    >>> import torch
    >>> from tsfilm.estimators._base import make_adam
    >>> optimizer = make_adam(torch.nn.Linear(3, 2), 1e-3, torch.device("cpu"))
    >>> optimizer.defaults["lr"]
    0.001
    """
    fused = device.type == "cuda" or (device.type == "cpu" and _FUSED_ADAM_CPU)
    return torch.optim.Adam(module.parameters(), lr=learning_rate, fused=fused or None)


def _load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Load a saved optimizer state with ``optimizer``'s own kernel choice (``fused``,
    ``foreach``): a saved group would bring back the choice of the run that saved it,
    and torch places the ``step`` counters by that choice while loading."""
    keys = ("fused", "foreach")
    groups = [{**g, **{k: optimizer.defaults.get(k) for k in keys}} for g in state["param_groups"]]
    optimizer.load_state_dict({**state, "param_groups": groups})


def document_engine_params(cls: type) -> type:
    """Class decorator: put the engine's parameters where the docstring says ``{engine}``.

    The ``{engine}`` line may carry any indentation (``ruff format`` re-indents
    docstrings); the inserted text takes the indentation of the ``Parameters`` header,
    and its defaults are read from the class's own ``__init__`` signature, so they
    cannot drift apart.
    """
    import inspect
    import re
    import textwrap

    if not cls.__doc__ or "{engine}" not in cls.__doc__:
        return cls
    signature = inspect.signature(cls.__init__)
    defaults = {
        name: signature.parameters[name].default
        for name in ("max_epochs", "batch_size", "learning_rate", "validation_fraction", "patience")
    }
    text = textwrap.dedent(ENGINE_PARAMS_DOC.format(**defaults))
    header = re.search(r"^([ \t]*)Parameters[ \t]*$", cls.__doc__, flags=re.M)

    def indent(match: re.Match) -> str:
        return textwrap.indent(text, header.group(1) if header else match.group(1))

    cls.__doc__ = re.sub(r"^([ \t]*)\{engine\}[ \t]*$", indent, cls.__doc__, flags=re.M)
    return cls


class TrainingDivergedError(RuntimeError):
    """The training loss or the weights became NaN or infinite."""


class TrainingInterruptedWarning(RuntimeWarning):
    """Training was interrupted (Ctrl-C); the best weights so far were kept."""


#: Device types a network can train and predict on.
_DEVICE_TYPES = ("cpu", "cuda", "mps")
#: Pairs of training steps (float32, bfloat16) that ``precision="auto"`` times on the CPU.
_SPEEDUP_PAIRS = 7


def _resolve_device(device: str | torch.device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        resolved = None
    if resolved is None or resolved.type not in _DEVICE_TYPES:
        raise ValueError(
            f"device={str(device)!r} cannot run a network; use 'auto', 'cpu' or 'cuda' "
            "(or a torch.device of those types)."
        )
    available = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}
    if resolved.type in available and not available[resolved.type]():
        raise ValueError(
            f"device={str(device)!r} was requested but {resolved.type.upper()} is not "
            "available here; use 'auto'."
        )
    return resolved


# ---------------------------------------------------------------------- precision
@functools.cache
def _native_bfloat16_cpu() -> bool:
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX), from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = info.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@functools.cache
def bfloat16_speedup() -> float:
    """Time of a small U-Net training step in float32 over the same step in bfloat16.

    The network is a small :class:`~tsfilm.nn.TFiLMUNet` (its long kernels computed with
    the FFT, in float32 whatever the precision, as in training), so the figure is what
    bfloat16 buys tsfilm's networks, not a bare convolution: on an AMD EPYC with
    AVX512-BF16 a bare short-kernel convolution ran 1.5x faster in bfloat16 but the U-Net
    steps at most 1.1x. Measured once per process on the CPU (the median ratio of seven
    pairs of steps, one in each precision, after a warm-up: about a second) on one
    thread whatever torch's setting, so that another process on the cores does not decide
    the outcome, with torch's global random state untouched. Above 1 bfloat16 is faster.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            return _bfloat16_step_ratio()
    finally:
        torch.set_num_threads(threads)


def _bfloat16_step_ratio() -> float:
    from tsfilm.nn import TFiLMUNet

    torch.manual_seed(0)
    net = TFiLMUNet(depth=2, width=0.25, max_filters=64, block_length=64, dropout=0.0)
    x = torch.randn(4, 1, 4096)

    def step(enabled: bool) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
            loss = net(x).float().square().mean()
        loss.backward()
        return time.perf_counter() - start

    step(False), step(True)  # warm-up: kernels are chosen on the first call
    # Pairs of steps, one of each precision back to back, so that a change of load hits
    # both; the median of the pairs' ratios ignores a pair that a burst of load split.
    # (Best-of-three blocks, one precision after the other, picked bfloat16 in 2 of 9
    # processes on an Intel Xeon where it is 5 to 10 % slower.)
    return _median_pair_ratio(step, _SPEEDUP_PAIRS)


def _median_pair_ratio(step: Callable[[bool], float], pairs: int) -> float:
    """Median over ``pairs`` of ``step(False) / step(True)``, the two timed back to back."""
    return statistics.median(step(False) / step(True) for _ in range(pairs))


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a fit or predict runs in: ``precision`` with "auto" decided here.

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        The estimator's parameter.
    device : torch.device
        Where the network runs.

    Returns
    -------
    {"float32", "bfloat16"}
    """
    if device.type == "cuda" and precision == "auto":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if device.type != "cpu" or precision == "float32":
        return "float32" if precision == "auto" else precision
    if precision == "auto":
        return "bfloat16" if _native_bfloat16_cpu() and bfloat16_speedup() >= 1.1 else "float32"
    speedup = bfloat16_speedup()
    if speedup < 1:
        warnings.warn(
            f"precision='bfloat16' runs {1 / speedup:.1f}x slower than float32 on this CPU "
            "(measured; it has no fast bfloat16 instructions); use precision='auto'.",
            UserWarning,
            stacklevel=4,
        )
    return "bfloat16"


# ---------------------------------------------------------------------- windows
def _window(x: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """``x[..., start:start + length]``, zero-padded at the end when ``x`` is shorter."""
    part = x[..., start : start + length]
    missing = length - part.shape[-1]
    return torch.nn.functional.pad(part, (0, missing)) if missing > 0 else part


def _stack(fields: Sequence[Sequence[torch.Tensor]], picks, length: int) -> tuple:
    return tuple(torch.stack([_window(field[s], t, length) for s, t in picks]) for field in fields)


def random_windows(
    fields: Sequence[Sequence[torch.Tensor]],
    length: int,
    batch_size: int,
    generator: torch.Generator,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """One epoch of random training windows, batched.

    Every start position of every series is equally likely (a series of ``T`` steps
    has ``T - length + 1`` of them; a shorter series has one, at 0, and its window is
    zero-padded at the end). An epoch holds ``ceil(total steps / length)`` windows, so
    it sees about as many samples as the data has.

    Parameters
    ----------
    fields : sequence of sequence of Tensor
        Aligned series: ``fields[k][i]`` is series ``i`` of field ``k`` (for example
        inputs and targets), each of shape ``(C_k, T_i)``.
    length : int
        Window length.
    batch_size : int
        Windows per batch (the last batch may be smaller).
    generator : torch.Generator
        Source of the random draws.

    Yields
    ------
    tuple of Tensor
        One tensor per field, of shape ``(n_windows, C_k, length)``.

    Examples
    --------
    >>> import torch
    >>> x = [torch.arange(10.0)[None], torch.arange(4.0)[None]]
    >>> batches = list(random_windows([x], 3, 2, torch.Generator().manual_seed(0)))
    >>> [tuple(b[0].shape) for b in batches]
    [(2, 1, 3), (2, 1, 3), (1, 1, 3)]
    """
    lengths = torch.tensor([x.shape[-1] for x in fields[0]])
    room = (lengths - length + 1).clamp(min=1).double()
    n_windows = max(1, math.ceil(int(lengths.sum()) / length))
    series = torch.multinomial(room, n_windows, replacement=True, generator=generator)
    starts = (torch.rand(n_windows, generator=generator, dtype=torch.float64) * room[series]).long()
    picks = list(zip(series.tolist(), starts.tolist(), strict=True))
    for b in range(0, n_windows, batch_size):
        yield _stack(fields, picks[b : b + batch_size], length)


def grid_windows(
    fields: Sequence[Sequence[torch.Tensor]], length: int, batch_size: int
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Deterministic windows that cover every series, batched (for validation).

    Each series is cut into the non-overlapping windows of
    :func:`~tsfilm.preprocessing.chunk_spans` (the last one shifted back to end with
    the series); a series shorter than ``length`` is one zero-padded window.

    Parameters
    ----------
    fields : sequence of sequence of Tensor
        Aligned series, as for :func:`random_windows`.
    length : int
        Window length.
    batch_size : int
        Windows per batch.

    Yields
    ------
    tuple of Tensor
        One tensor per field, of shape ``(n_windows, C_k, length)``.

    Examples
    --------
    >>> import torch
    >>> x = [torch.arange(10.0)[None]]
    >>> [b[0][:, 0, 0].tolist() for b in grid_windows([x], 4, 8)]
    [[0.0, 4.0, 6.0]]
    """
    picks = [
        (s, start)
        for s, x in enumerate(fields[0])
        for start, _ in chunk_spans(int(x.shape[-1]), length, 0)
    ]
    for b in range(0, len(picks), batch_size):
        yield _stack(fields, picks[b : b + batch_size], length)


#: Constraints of the :class:`~tsfilm.nn.TFiLMUNet` hyper-parameters that the U-Net
#: estimators (super-resolution, imputation and their Conv baselines) expose.
UNET_CONSTRAINTS: dict[str, list] = {
    "depth": [int_at_least(1)],
    "width": [StrictInterval(Real, 0, None, closed="neither")],
    "max_filters": [int_at_least(1)],
    "block_length": [int_at_least(1)],
    "rnn": [StrOptions({"lstm", "gru", "bilstm"})],
    "modulation": [StrOptions({"affine", "scale"})],
    "tfilm": ["boolean"],
    "skip": ["boolean"],
    "residual": ["boolean"],
    "dropout": [StrictInterval(Real, 0, 1, closed="left")],
    "up_activation": [StrOptions({"relu", "leaky_relu"})],
}


def unet_kwargs(estimator: BaseEstimator, **fixed: Any) -> dict[str, Any]:
    """Keyword arguments of :class:`~tsfilm.nn.TFiLMUNet` from an estimator's parameters.

    Every :data:`UNET_CONSTRAINTS` parameter that the estimator has is passed on;
    ``network_defaults`` (a class attribute, e.g. ``{"tfilm": False}`` for the Conv
    baseline) and ``fixed`` (channels) complete them.
    """
    params = estimator.get_params(deep=False)
    chosen = {name: params[name] for name in UNET_CONSTRAINTS if name in params}
    return {**getattr(estimator, "network_defaults", {}), **chosen, **fixed}


# ---------------------------------------------------------------------- engine
class TorchEstimator(BaseEstimator):
    """Base class of the torch-backed estimators: the shared training engine.

    Subclasses list every hyper-parameter in their own ``__init__`` (scikit-learn reads
    the signature), extend ``_parameter_constraints`` with their own, decorate ``fit``
    with ``sklearn.base._fit_context`` and implement the hooks named in this module's
    docstring. See :doc:`/contributing` for a worked example.
    """

    #: Constraints of the engine's hyper-parameters; subclasses extend this dict.
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "max_epochs": [int_at_least(1)],
        "batch_size": [int_at_least(1)],
        "learning_rate": [StrictInterval(Real, 0, None, closed="neither")],
        "validation_fraction": [StrictInterval(Real, 0, 1, closed="left")],
        "patience": [int_at_least(1), None],
        "max_time": [StrictInterval(Real, 0, None, closed="neither"), None],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "n_threads": [int_at_least(1), StrOptions({"auto"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    #: Fitted attributes stored as JSON in model files, besides the weights.
    _saved_attributes: ClassVar[tuple[str, ...]] = ("history_", "n_epochs_", "best_epoch_")

    # ------------------------------------------------------------------ hooks
    def build_module(self) -> torch.nn.Module:
        """The network, built from hyper-parameters and fitted attributes."""
        raise NotImplementedError  # pragma: no cover - abstract

    def train_batches(self, data: Any, generator: torch.Generator) -> Iterable[tuple]:
        """One epoch of training batches (CPU tensors) drawn with ``generator``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def valid_batches(self, data: Any) -> Iterable[tuple]:
        """Deterministic validation batches (CPU tensors)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def compute_loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        """The scalar loss of one batch, already on the device."""
        raise NotImplementedError  # pragma: no cover - abstract

    def splits_batches(self) -> bool:
        """Whether a batch's loss is the mean of its parts' losses weighted by
        :meth:`loss_weight`, so that training on the CPU may run a batch in parts on
        separate threads (:mod:`tsfilm.estimators._split`). False here: an estimator says
        so for its own loss."""
        return False

    def loss_weight(self, batch: tuple) -> float:
        """The weight of a part of a batch in the batch's loss (see :meth:`splits_batches`):
        its rows, for a loss that averages over rows."""
        return float(batch[0].shape[0])

    # ------------------------------------------------------------------ fitting
    def _split_series(self, n_series: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices of training and validation series (validation may be empty)."""
        n_valid = math.floor(self.validation_fraction * n_series)
        if n_valid == 0 or n_valid == n_series:
            return np.arange(n_series), np.arange(0)
        order = np.random.RandomState(seed).permutation(n_series)
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    def continues_training(self) -> bool:
        """Whether this ``fit`` continues the fitted network (``warm_start`` and fitted)."""
        return bool(self.warm_start) and hasattr(self, "module_")

    def _autocast(self, device: torch.device, precision: str):
        if precision == "bfloat16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def run_training(
        self,
        series: Sequence[Sequence[Any]],
        prepare: Callable[[list[list[Any]]], Any] | None = None,
    ) -> None:
        """Split, train ``module_`` (built here unless warm-starting) and set fitted state.

        Parameters
        ----------
        series : sequence of sequences
            Aligned per-series data (``series[k][i]`` is item ``i`` of field ``k``:
            tensors, arrays or labels); the validation split picks whole series.
        prepare : callable, optional
            Turns the selected fields (a list with one list per field) into the ``data``
            that :meth:`train_batches` and :meth:`valid_batches` receive; by default
            they receive that list.
        """
        device = _resolve_device(self.device)
        # Data-parallel under torchrun or in a process group; otherwise hooks that do nothing.
        dist = distributed_context(device)
        # The split, the initialisation, the batches and dropout all follow from `seed`.
        seed = dist.same(int(check_random_state(self.random_state).randint(0, 2**31 - 1)))
        train_idx, valid_idx = self._split_series(len(series[0]), seed)

        def pick(index: np.ndarray) -> Any:
            fields = [[field[i] for i in index] for field in series]
            return fields if prepare is None else prepare(fields)

        train = pick(train_idx)
        valid = pick(valid_idx) if len(valid_idx) else None
        warm = self.continues_training()
        if warm:
            # Each continued fit draws new batches and dropout masks, not those of the last.
            seed = (seed + 7919 * len(self.history_)) % (2**31 - 1)
        fork_devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices), thread_policy(self.n_threads) as threads:
            torch.random.default_generator.manual_seed(seed)
            if device.type == "cuda":
                torch.cuda.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            self.precision_ = dist.same(resolve_precision(self.precision, device))
            module = self.module_ if warm else self.build_module()
            self._train_loop(
                module.to(device), train, valid, generator, device, warm, threads, dist
            )

    def _train_loop(
        self, module, train_data, valid_data, generator, device, warm, threads, dist
    ) -> None:
        deadline = math.inf if self.max_time is None else time.perf_counter() + self.max_time
        trained = dist.wrap(module)  # DistributedDataParallel in a process group
        optimizer = make_adam(module, self.learning_rate, device)
        if warm and getattr(self, "_optimizer_state", None) is not None:
            # Continue with Adam's moments, so that fitting epoch by epoch with warm_start
            # trains like one long fit.
            _load_optimizer_state(optimizer, self._optimizer_state)
            for group in optimizer.param_groups:
                group["lr"] = self.learning_rate
        history = list(self.history_) if warm else []
        best_loss, best_state, best_epoch = math.inf, None, 0
        since_best = 0
        first_epoch = len(history) + 1
        progress = _progress(self.max_epochs, dist.is_writer and self.verbose, type(self).__name__)
        interrupted = out_of_time = False
        # On the CPU, batches in halves on two threads (see tsfilm.estimators._split); the
        # same dropout masks row by row when a batch runs whole (n_threads=1).
        halves = (
            device.type == "cpu"
            and isinstance(dist, _Local)
            and self.splits_batches()
            and splittable(module)
            and concurrency_safe(module)
        )
        split = SplitSteps(functools.partial(self._autocast, device, self.precision_))
        most = threads.limit if self.n_threads in ("auto", None) else int(self.n_threads)
        use_split = halves and most > 1
        try:
            for epoch in range(first_epoch, first_epoch + self.max_epochs):
                n_threads = threads.update()
                start = time.perf_counter()
                module.train()
                total, count = 0.0, 0
                batches = dist.shard(
                    self.train_batches(train_data, generator),
                    self.loss_weight if self.splits_batches() else None,
                )
                for step, batch in enumerate(batches):
                    batch = tuple(t.to(device, non_blocking=True) for t in batch)
                    optimizer.zero_grad(set_to_none=True)
                    with dist.guard():  # an error on one process stops them all
                        if use_split:
                            loss = split.backward(
                                functools.partial(self.compute_loss, trained),
                                self.loss_weight,
                                batch,
                                n_threads,
                            )
                        else:
                            masks = (
                                row_generators(part_generators(batch[0].shape[0]))
                                if halves
                                else contextlib.nullcontext()
                            )
                            with masks, self._autocast(device, self.precision_):
                                loss = self.compute_loss(trained, batch)
                        if not torch.isfinite(loss):
                            raise TrainingDivergedError(
                                f"The training loss became {loss.item()} at epoch {epoch}, "
                                f"batch {step + 1}. Lower learning_rate or check the scale "
                                "of the input."
                            )
                    if not use_split:
                        loss.backward()
                    optimizer.step()
                    n = batch[0].shape[0]
                    total += float(loss.detach()) * n
                    count += n
                    if dist.agree(time.perf_counter() >= deadline):
                        out_of_time = True
                        break
                if not all(torch.isfinite(p).all() for p in module.parameters()):
                    raise TrainingDivergedError(
                        f"The network's weights became NaN or infinite at epoch {epoch}. "
                        "Lower learning_rate or check the scale of the input."
                    )
                total, count = dist.sum(total, count)
                train_loss = total / max(count, 1)
                valid_loss = (
                    self._evaluate(module, valid_data, device) if valid_data is not None else None
                )
                seconds = time.perf_counter() - start
                history.append(
                    {
                        "epoch": epoch,
                        "train_loss": train_loss,
                        "valid_loss": valid_loss,
                        "seconds": seconds,
                        "threads": n_threads,
                    }
                )
                monitored = valid_loss if valid_loss is not None else train_loss
                if monitored < best_loss:
                    best_loss, best_epoch, since_best = monitored, epoch, 0
                    best_state = {
                        k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()
                    }
                else:
                    since_best += 1
                progress.update(1)
                progress.set_postfix(
                    loss=f"{train_loss:.4g}",
                    valid=f"{valid_loss:.4g}" if valid_loss is not None else "-",
                    ex_per_s=f"{count / max(seconds, 1e-9):.0f}",
                )
                if out_of_time or (self.patience is not None and since_best >= self.patience):
                    break
        except KeyboardInterrupt:
            interrupted = True
        finally:
            split.close()
            progress.close()
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        # Kept only when training is meant to continue; it doubles the size of a pickle.
        # Stored on the CPU: load_state_dict moves it to the parameters' device.
        self._optimizer_state = (
            torch.utils._pytree.tree_map(
                lambda v: v.detach().to("cpu", copy=True) if torch.is_tensor(v) else v,
                optimizer.state_dict(),
            )
            if self.warm_start
            else None
        )
        self.history_ = history
        self.n_epochs_ = len(history)
        self.best_epoch_ = best_epoch if best_state is not None else len(history)
        if interrupted:
            warnings.warn(
                f"Training interrupted after {len(history)} epoch(s); keeping the weights of "
                f"epoch {self.best_epoch_}.",
                TrainingInterruptedWarning,
                stacklevel=3,
            )

    @torch.no_grad()
    def _evaluate(self, module: torch.nn.Module, data: Any, device: torch.device) -> float:
        module.eval()
        total, count = 0.0, 0
        for batch in self.valid_batches(data):
            batch = tuple(t.to(device) for t in batch)
            with self._autocast(device, self.precision_):
                loss = self.compute_loss(module, batch)
            n = batch[0].shape[0]
            total += float(loss) * n
            count += n
        return total / max(count, 1)

    # ------------------------------------------------------------------ prediction
    @contextlib.contextmanager
    def inference(self) -> Iterator[torch.device]:
        """Context for prediction: fitted check, device, eval mode, no grad, threads.

        Yields
        ------
        torch.device
            The device ``module_`` runs on.
        """
        check_is_fitted(self, "module_")
        device = _resolve_device(self.device)
        # "auto" trains in bfloat16 where that is faster but predicts in float32, so that
        # predictions keep float32's precision and do not depend on batch composition.
        precision = "float32" if self.precision == "auto" else self.precision
        precision = resolve_precision(precision, device)
        with thread_policy(self.n_threads) as policy, heap_policy(), torch.inference_mode():
            with self._autocast(device, precision):
                self.module_.to(device).eval()
                # On the CPU, forward_batches may run whole batches on these threads.
                workers = BatchWorkers(
                    policy.threads if device.type == "cpu" else 1,
                    lambda: self._autocast(device, precision),
                )
                token = _batch_workers.set(workers)
                try:
                    yield device
                finally:
                    _batch_workers.reset(token)
                    workers.close()

    def forward_batches(
        self,
        rows: Iterable[Any],
        forward: Callable[[list], np.ndarray],
        size: int | None = None,
        parallel: bool = False,
    ) -> Iterator[np.ndarray]:
        """Run ``forward`` on ``rows`` grouped into batches, and yield its outputs row by row.

        Parameters
        ----------
        rows : iterable
            One network input per row (an array to stack, an index...), consumed lazily.
        forward : callable
            Maps a list of at most ``size`` rows to an array with one output per row;
            called inside :meth:`inference`.
        size : int, optional
            Rows per batch; ``batch_size`` by default.
        parallel : bool, default=False
            Allow whole batches on several threads at once: on the CPU with more than
            one thread (``n_threads``), once other processes are measured keeping cores
            busy, the remaining batches run two at a time, the threads shared among
            them, instead of one after the other on all the threads
            (``tsfilm.estimators._threads.BatchWorkers``). ``forward`` must then
            be safe to call from several threads at once (no shared state but the
            network's weights); grad mode, autocast and the flushing of subnormals are
            set in each thread as in :meth:`inference`.

        Yields
        ------
        ndarray
            The output of every row, in input order.
        """
        rows, size = iter(rows), int(size or self.batch_size)
        batches = iter(lambda: list(itertools.islice(rows, size)), [])
        workers = _batch_workers.get()
        if parallel and workers is not None and workers.n > 1:
            yield from workers.map(forward, batches)
        else:
            for batch in batches:
                yield from forward(batch)

    def forward_windows(
        self,
        lengths: Sequence[int],
        get_window: Callable[[int, int, int], np.ndarray],
        forward: Callable[[np.ndarray], np.ndarray],
        *,
        window: int,
        overlap: int,
    ) -> Iterator[np.ndarray]:
        """Run ``forward`` on overlapping windows of many series and cross-fade them.

        Every series is cut into windows of ``window`` samples overlapping by at least
        ``overlap`` (:func:`~tsfilm.preprocessing.chunk_spans`; a shorter series is one
        shorter window). Windows of equal length go through the network together in
        batches of ``batch_size``, across series, and each series' outputs are blended
        back with :func:`~tsfilm.preprocessing.overlap_add` as they arrive, so memory
        holds the output and a batch (two while other processes keep the cores busy,
        see ``parallel`` of :meth:`forward_batches`), never a second copy of the input.

        Parameters
        ----------
        lengths : sequence of int
            Length of every series.
        get_window : callable
            ``get_window(i, start, stop)`` returns the network input of series ``i`` on
            ``[start, stop)``, shape ``(C_in, stop - start)``.
        forward : callable
            Maps a stacked batch ``(n, C_in, w)`` to its output ``(n, C_out, w)``.
        window, overlap : int
            Window length and least overlap.

        Yields
        ------
        ndarray of shape (C_out, lengths[i])
            The blended output of each series, in order.
        """
        spans = [chunk_spans(int(n), window, overlap) for n in lengths]
        jobs = [(i, start, stop) for i, sp in enumerate(spans) for start, stop in sp]

        def outputs() -> Iterator[np.ndarray]:
            # Consecutive windows of one length share batches.
            for _, group in itertools.groupby(jobs, key=lambda job: job[2] - job[1]):
                windows = (get_window(*job) for job in group)
                yield from self.forward_batches(
                    windows, lambda batch: forward(np.stack(batch)), parallel=True
                )

        stream = outputs()
        for i, sp in enumerate(spans):
            if len(sp) == 1:  # one window: nothing to blend
                yield next(stream)
            else:
                yield overlap_add(itertools.islice(stream, len(sp)), sp, int(lengths[i]), overlap)

    # ------------------------------------------------------------------ persistence
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        module = state.get("module_")
        if module is not None and any(p.device.type != "cpu" for p in module.parameters()):
            state["module_"] = copy.deepcopy(module).to("cpu")
        return state

    def save(self, path) -> None:
        """Save the fitted model to ``path`` (see :func:`tsfilm.save`).

        Parameters
        ----------
        path : str or path-like
            Destination; written atomically.
        """
        from tsfilm.io.model_file import save

        save(self, path)


_batch_workers: contextvars.ContextVar[BatchWorkers | None] = contextvars.ContextVar(
    "tsfilm_batch_workers", default=None
)


def _progress(total: int, verbose: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="epoch", disable=not verbose)
