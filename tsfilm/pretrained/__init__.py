"""Pretrained super-resolution models that ship with tsfilm.

Each model is a :class:`~tsfilm.TFiLMSuperResolver` in a model file
(``<name>.tsfilm``, loaded with :func:`tsfilm.load`, which validates everything and
unpickles nothing) with its model card (``<name>.md``: data, licences, training command
and time, test metrics beside the cubic spline and a Conv baseline). They are made by
``benchmarks/pretrain.py`` (:doc:`/user_guide/pretrained`).

=============  ===============  =====  ==========================================
name           rate             ratio  data
=============  ===============  =====  ==========================================
``speech-r2``  8 kHz -> 16 kHz  2      speech (telephony prompts, three voices)
``speech-r4``  4 kHz -> 16 kHz  4      speech (telephony prompts, three voices)
``piano-r4``   4 kHz -> 16 kHz  4      piano music (rendered music21 scores)
=============  ===============  =====  ==========================================

``speech-r2-causal`` (8 kHz -> 16 kHz, speech) is a causal network for live audio
(:doc:`/user_guide/streaming`): ``est.stream()`` and ``tsfilm upsample --stream`` run it
chunk by chunk with 3 ms of look-ahead; :func:`for_audio` picks it with ``causal=True``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["PretrainedModel", "card", "for_audio", "list_pretrained", "load", "model_path"]

#: Folder of the shipped model files and cards.
PRETRAINED_DIR = Path(__file__).resolve().parent
#: Names of the shipped models.
NAMES = ("speech-r2", "speech-r4", "piano-r4", "speech-r2-causal")
#: What a model is for: ``for_audio`` picks among the models of one kind of data.
DATA_KINDS = ("speech", "piano")


@dataclass(frozen=True)
class PretrainedModel:
    """Metadata of one pretrained model, read from its card.

    Attributes
    ----------
    name : str
        The name to pass to :func:`load`, e.g. ``"speech-r4"``.
    task : str
        ``"super_resolution"``.
    data : str
        What it was trained on: ``"speech"`` or ``"piano"``.
    rate_in, rate_out : int
        Sample rates (Hz) of its input and output.
    ratio : int
        ``rate_out // rate_in``.
    size : int
        Size of the model file in bytes.
    metrics : mapping
        Test metrics per model (``"tfilm"``, ``"spline"``, and ``"conv"`` when the
        baseline was trained, ``"offline"`` for a causal model): mappings with ``"snr"``
        (dB) and ``"lsd"``.
    path : pathlib.Path
        The model file.
    causal : bool
        Whether the network is causal (for streaming).
    lookahead : int
        Output samples a causal network waits for (0 for the offline ones).
    """

    name: str
    task: str
    data: str
    rate_in: int
    rate_out: int
    ratio: int
    size: int
    metrics: Mapping[str, Mapping[str, float]] = field(repr=False)
    path: Path = field(repr=False)
    causal: bool = False
    lookahead: int = 0


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str such as 'speech-r4'; got {type(name).__name__}.")
    if name not in NAMES:
        raise ValueError(f"No pretrained model {name!r}; the pretrained models are {list(NAMES)}.")
    return name


def model_path(name: str) -> Path:
    """The model file of a pretrained model.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.

    Returns
    -------
    pathlib.Path
        ``<package>/pretrained/<name>.tsfilm``.

    Raises
    ------
    ValueError
        If ``name`` is not a pretrained model.
    FileNotFoundError
        If the installation lacks the file (a package built without its data files).

    Examples
    --------
    >>> from tsfilm.pretrained import model_path
    >>> model_path("speech-r4").name
    'speech-r4.tsfilm'
    """
    path = PRETRAINED_DIR / f"{_check_name(name)}.tsfilm"
    if not path.is_file():
        raise FileNotFoundError(
            f"The pretrained model file {path} is missing from this installation; "
            "reinstall tsfilm, or make it with benchmarks/pretrain.py."
        )
    return path


def card(name: str) -> str:
    """The model card of a pretrained model, as markdown.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.

    Returns
    -------
    str
        The card: a front matter of ``key: JSON value`` lines between ``---`` lines, then
        the description, data and licences, training command and time, and test results.

    Examples
    --------
    >>> from tsfilm.pretrained import card
    >>> "## Test results" in card("speech-r2")
    True
    """
    path = PRETRAINED_DIR / f"{_check_name(name)}.md"
    if not path.is_file():
        raise FileNotFoundError(f"The model card {path} is missing from this installation.")
    return path.read_text(encoding="utf-8")


def _front_matter(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError("a model card starts with a '---' front matter")
    meta = {}
    for line in lines[1:]:
        if line.strip() == "---":
            return meta
        key, _, value = line.partition(":")
        meta[key.strip()] = json.loads(value)
    raise ValueError("the front matter of a model card ends with a '---' line")


def _info(name: str) -> PretrainedModel:
    meta = _front_matter(card(name))
    metrics = {k: MappingProxyType(dict(v)) for k, v in meta["metrics"].items()}
    path = model_path(name)
    return PretrainedModel(
        name=name,
        task=meta["task"],
        data=meta["data"],
        rate_in=int(meta["rate_in"]),
        rate_out=int(meta["rate_out"]),
        ratio=int(meta["ratio"]),
        size=path.stat().st_size,
        metrics=MappingProxyType(metrics),
        path=path,
        causal=bool(meta.get("causal", False)),
        lookahead=int(meta.get("lookahead", 0)),
    )


def list_pretrained() -> dict[str, PretrainedModel]:
    """The pretrained models that this installation holds, with their metadata.

    Returns
    -------
    dict of str to PretrainedModel
        Keyed by name, in the order of :data:`NAMES`; models whose file or card is
        missing are left out.

    Examples
    --------
    >>> from tsfilm.pretrained import list_pretrained
    >>> info = list_pretrained()["speech-r4"]
    >>> info.rate_in, info.rate_out, info.ratio, info.data
    (4000, 16000, 4, 'speech')
    >>> info.size < 8 * 2**20 and info.metrics["tfilm"]["snr"] > 0
    True
    """
    found = {}
    for name in NAMES:
        try:
            found[name] = _info(name)
        except FileNotFoundError:
            continue
    return found


def load(name: str, **params: Any):
    """Load a pretrained model, fitted and ready to predict or fine-tune.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`, e.g. ``"speech-r4"``.
    **params
        Hyper-parameters to set on the loaded estimator (``set_params``), e.g.
        ``warm_start=True, max_time=60`` to fine-tune it with ``fit`` on your data (at
        the model's ratio and 16 kHz), or ``device="cuda"``.

    Returns
    -------
    TFiLMSuperResolver
        The fitted estimator: ``ratio_``, ``sample_rate`` (the output rate in Hz) and
        ``predict``/``upsample`` on signals at ``sample_rate // ratio_`` Hz.

    Raises
    ------
    ValueError
        If ``name`` is not a pretrained model, or a parameter is invalid.
    TypeError
        If ``name`` is not a str.

    Examples
    --------
    >>> import numpy as np
    >>> from tsfilm import pretrained
    >>> est = pretrained.load("speech-r2")
    >>> est.ratio_, est.sample_rate
    (2, 16000)
    >>> low = np.sin(2 * np.pi * 440 * np.arange(800) / 8000).astype("float32")
    >>> est.upsample(low).shape
    (1600,)
    """
    from tsfilm import TFiLMSuperResolver
    from tsfilm.io import load as load_model_file

    path = model_path(name)
    est = load_model_file(path)
    if not isinstance(est, TFiLMSuperResolver):  # pragma: no cover - a broken installation
        raise ValueError(f"{path} holds a {type(est).__name__}, not a TFiLMSuperResolver.")
    if params:
        est.set_params(**params)
        est._validate_params()
    return est


def for_audio(
    rate: int, ratio: int | None = None, *, data: str = "speech", causal: bool = False
) -> str:
    """The pretrained model to use for audio at ``rate`` Hz.

    The models output 16 kHz. A model whose input rate is ``rate`` is chosen when one
    exists; otherwise the one with the highest input rate not above ``rate`` (the
    lowest one if all are above), and the audio has to be resampled to its input rate
    first (``tsfilm upsample`` does it and says so).

    Parameters
    ----------
    rate : int
        Sample rate of the audio in Hz.
    ratio : int, optional
        Up-sampling ratio wanted; None picks it from ``rate`` (2 for 8 kHz audio, 4 for
        4 kHz audio).
    data : {"speech", "piano"}, default="speech"
        What the audio holds.
    causal : bool, default=False
        Choose among the causal models (for streaming) instead of the offline ones.

    Returns
    -------
    str
        A name for :func:`load`.

    Raises
    ------
    ValueError
        If no pretrained model fits: an unknown ``data``, a ``ratio`` that no model of
        that data (and causality) has, or audio at or above the 16 kHz the models
        produce. The message lists the models.

    Examples
    --------
    >>> from tsfilm.pretrained import for_audio
    >>> for_audio(8000), for_audio(4000), for_audio(4000, data="piano")
    ('speech-r2', 'speech-r4', 'piano-r4')
    >>> for_audio(11025), for_audio(6000), for_audio(8000, ratio=4)
    ('speech-r2', 'speech-r4', 'speech-r4')
    >>> for_audio(8000, causal=True)
    'speech-r2-causal'
    """
    from numbers import Integral

    if not isinstance(rate, Integral) or isinstance(rate, bool) or rate < 1:
        raise ValueError(f"rate must be a positive int (Hz); got {rate!r}.")
    if ratio is not None and (
        not isinstance(ratio, Integral) or isinstance(ratio, bool) or ratio < 2
    ):
        raise ValueError(f"ratio must be an int >= 2 or None; got {ratio!r}.")
    models = list_pretrained()
    listing = "; ".join(
        f"{m.name} ({m.data}, {m.rate_in} -> {m.rate_out} Hz, ratio {m.ratio})"
        for m in models.values()
    )
    if data not in DATA_KINDS:
        raise ValueError(f"data must be one of {list(DATA_KINDS)}; got {data!r}.")
    candidates = [
        m
        for m in models.values()
        if m.data == data and (ratio is None or m.ratio == ratio) and m.causal == bool(causal)
    ]
    if not candidates:
        wanted = ("causal " if causal else "") + f"{data} model"
        wanted += "" if ratio is None else f" with ratio {ratio}"
        raise ValueError(f"No pretrained {wanted}; the pretrained models are: {listing}.")
    exact = [m for m in candidates if m.rate_in == rate]
    if exact:
        return exact[0].name
    rate_out = min(m.rate_out for m in candidates)
    if rate >= rate_out:
        raise ValueError(
            f"Audio at {rate} Hz is already at or above the {rate_out} Hz that the "
            f"pretrained models produce; they take {sorted({m.rate_in for m in candidates})} Hz. "
            f"Models: {listing}."
        )
    below = [m for m in candidates if m.rate_in < rate]
    if below:
        return max(below, key=lambda m: m.rate_in).name
    return min(candidates, key=lambda m: m.rate_in).name
