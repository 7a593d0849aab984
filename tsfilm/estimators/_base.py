"""The training engine shared by every torch-backed tsfilm estimator.

What all networks share lives here: device and precision, seeding without touching
torch's global random state, the optimiser, batching through the estimator's own batch
source, validation and early stopping, ``history_``, a progress bar, Ctrl-C handling,
NaN-loss detection, thread limits, pickling and model files.

An estimator built on it adds only three things:

``_build_module(self) -> torch.nn.Module``
    The network, built from hyper-parameters and fitted attributes (``n_channels_``...).
``_train_batches(self, data, generator) -> Iterable[tuple[Tensor, ...]]``
    One epoch of training batches (CPU tensors), drawn with ``generator``.
``_valid_batches(self, data) -> Iterable[tuple[Tensor, ...]]``
    Deterministic validation batches.
``_loss(self, module, batch) -> Tensor``
    The scalar loss of one batch (already on the device).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "ENGINE_PARAMS_DOC",
    "TorchEstimator",
    "TrainingDivergedError",
    "document_engine_params",
]

ENGINE_PARAMS_DOC = """\
    max_epochs : int, default={max_epochs}
        Largest number of passes over the training data.
    batch_size : int, default={batch_size}
        Number of examples per optimiser step.
    learning_rate : float, default={learning_rate}
        Adam's step size.
    validation_fraction : float, default={validation_fraction}
        Share of the series held out to monitor early stopping. With 0, or when too few
        series exist to hold any out, the training loss is monitored instead.
    patience : int or None, default={patience}
        Stop after this many epochs without improvement of the monitored loss and keep
        the best weights; None trains for ``max_epochs``.
    device : {{"auto", "cpu", "cuda"}} or torch.device, default="auto"
        Where to train and predict; "auto" picks CUDA when present. Fitted models are
        pickled and saved with their weights on the CPU.
    precision : {{"float32", "bfloat16"}}, default="float32"
        "bfloat16" runs the forward pass under autocast (faster on recent CPUs and GPUs).
    n_threads : int or None, default=None
        Torch CPU threads during fit and predict; None keeps torch's setting. Set 1 when
        running several fits in parallel processes.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and batch sampling. Torch's global random
        state is left as it was; the same integer gives the same model on the CPU.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar with epoch, losses and speed.
    warm_start : bool, default=False
        Continue training the fitted network (and Adam's state) on the next call to
        ``fit``; ``history_`` goes on counting epochs."""


def document_engine_params(cls: type) -> type:
    """Class decorator: put the engine's parameters where the docstring says ``{engine}``.

    The ``{engine}`` line may carry any indentation (``ruff format`` re-indents
    docstrings); the inserted text takes that indentation, and its defaults are read
    from the class's own ``__init__`` signature, so they cannot drift apart.
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
        # The "Parameters" header sets the indentation; the placeholder may have lost it.
        return textwrap.indent(text, header.group(1) if header else match.group(1))

    cls.__doc__ = re.sub(r"^([ \t]*)\{engine\}[ \t]*$", indent, cls.__doc__, flags=re.M)
    return cls


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


def _resolve_device(device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a string or torch.device, got {type(device).__name__}.")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available; use 'auto'.")
    return resolved


@contextlib.contextmanager
def _torch_threads(n_threads: int | None) -> Iterator[None]:
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TorchEstimator(BaseEstimator):
    """Base class of the torch-backed estimators: the shared training engine.

    Subclasses list every hyper-parameter in their own ``__init__`` (scikit-learn reads
    the signature) and implement the hooks named in this module's docstring.
    """

    #: Fitted attributes stored as JSON in model files, besides the weights.
    _saved_attributes: ClassVar[tuple[str, ...]] = ("history_", "n_epochs_", "best_epoch_")
    #: Every concrete subclass, by "module:qualname", so model files name a known class.
    _model_classes: ClassVar[dict[str, type]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TorchEstimator._model_classes[f"{cls.__module__}:{cls.__qualname__}"] = cls

    # ------------------------------------------------------------------ hooks
    def _build_module(self) -> torch.nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _train_batches(self, data: Any, generator: torch.Generator) -> Iterable[tuple]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _valid_batches(self, data: Any) -> Iterable[tuple]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _loss(self, module: torch.nn.Module, batch: tuple) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover - abstract

    # ------------------------------------------------------------- engine
    def _check_engine_params(self) -> None:
        def positive_int(name: str) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")

        positive_int("max_epochs")
        positive_int("batch_size")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(
                f"learning_rate must be a positive number, got {self.learning_rate!r}."
            )
        if not (0.0 <= float(self.validation_fraction) < 1.0):
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}."
            )
        if self.patience is not None:
            positive_int("patience")
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16', got {self.precision!r}.")
        if self.n_threads is not None:
            positive_int("n_threads")

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _split_series(self, n_series: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices of training and validation series (validation may be empty)."""
        n_valid = math.floor(self.validation_fraction * n_series)
        if n_valid == 0 or n_valid == n_series:
            return np.arange(n_series), np.arange(0)
        order = np.random.RandomState(seed).permutation(n_series)
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    def _autocast(self, device: torch.device):
        if self.precision == "bfloat16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _run_training(self, train_data: Any, valid_data: Any | None, seed: int) -> None:
        """Train ``self.module_`` (built here unless warm-starting) and set fitted state."""
        self._check_engine_params()
        device = _resolve_device(self.device)
        warm = bool(self.warm_start) and hasattr(self, "module_")
        if warm:
            # Each continued fit draws new batches and dropout masks, not those of the last.
            seed = (seed + 7919 * len(self.history_)) % (2**31 - 1)
        fork_devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices), _torch_threads(self.n_threads):
            torch.random.default_generator.manual_seed(seed)
            if device.type == "cuda":
                torch.cuda.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            module = self.module_ if warm else self._build_module()
            module = module.to(device)
            self._train_loop(module, train_data, valid_data, generator, device, warm)

    def _train_loop(self, module, train_data, valid_data, generator, device, warm) -> None:
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate)
        if warm and getattr(self, "_optimizer_state", None) is not None:
            # Continue with Adam's moments, so that fitting epoch by epoch with warm_start
            # trains like one long fit.
            optimizer.load_state_dict(self._optimizer_state)
            for group in optimizer.param_groups:
                group["lr"] = self.learning_rate
        history = list(self.history_) if warm else []
        best_loss, best_state, best_epoch = math.inf, None, 0
        since_best = 0
        first_epoch = len(history) + 1
        progress = _progress(self.max_epochs, self.verbose, type(self).__name__)
        interrupted = False
        try:
            for epoch in range(first_epoch, first_epoch + self.max_epochs):
                start = time.perf_counter()
                module.train()
                total, count = 0.0, 0
                for step, batch in enumerate(self._train_batches(train_data, generator)):
                    batch = tuple(t.to(device, non_blocking=True) for t in batch)
                    with self._autocast(device):
                        loss = self._loss(module, batch)
                    if not torch.isfinite(loss):
                        raise TrainingDivergedError(
                            f"The training loss became {loss.item()} at epoch {epoch}, batch "
                            f"{step + 1}. Lower learning_rate or check the scale of the input."
                        )
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    n = batch[0].shape[0]
                    total += float(loss.detach()) * n
                    count += n
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
                if self.patience is not None and since_best >= self.patience:
                    break
        except KeyboardInterrupt:
            interrupted = True
        finally:
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
                RuntimeWarning,
                stacklevel=3,
            )

    @torch.no_grad()
    def _evaluate(self, module: torch.nn.Module, data: Any, device: torch.device) -> float:
        module.eval()
        total, count = 0.0, 0
        for batch in self._valid_batches(data):
            batch = tuple(t.to(device) for t in batch)
            with self._autocast(device):
                loss = self._loss(module, batch)
            n = batch[0].shape[0]
            total += float(loss) * n
            count += n
        return total / max(count, 1)

    @contextlib.contextmanager
    def _inference(self) -> Iterator[torch.device]:
        """Context for prediction: fitted check, device, eval mode, no grad, threads."""
        check_is_fitted(self, "module_")
        device = _resolve_device(self.device)
        with _torch_threads(self.n_threads), torch.inference_mode(), self._autocast(device):
            self.module_.to(device).eval()
            yield device

    # ------------------------------------------------------------- persistence
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        module = state.get("module_")
        if module is not None and any(p.device.type != "cpu" for p in module.parameters()):
            state["module_"] = copy.deepcopy(module).to("cpu")
        return state

    def save(self, path) -> None:
        """Save the fitted model to ``path`` (see :func:`tsfilm.save`)."""
        from tsfilm.io.model_file import save

        save(self, path)


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, verbose: int, name: str):
    if not verbose:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="epoch")
