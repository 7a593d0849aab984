"""Audio files in and out, and sample-rate conversion.

Signals are float arrays in ``[-1, 1]`` laid out ``(n_channels, n_samples)``, the order
the rest of tsfilm (and torch's ``Conv1d``) uses. Files are read and written with
``soundfile`` (``pip install "tsfilm[data]"``); any format libsndfile knows works (wav,
flac, ogg, ...).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import ModuleType

import numpy as np
from scipy.signal import resample_poly

from tsfilm.io._atomic import atomic_path
from tsfilm.validation import int_at_least, validate_params

__all__ = ["read_audio", "resample_audio", "write_audio"]


def _soundfile() -> ModuleType:
    try:
        import soundfile
    except ImportError as exc:  # pragma: no cover - soundfile is installed in the test env
        raise ImportError(
            'Reading and writing audio files needs soundfile: pip install "tsfilm[data]"'
        ) from exc
    return soundfile


@validate_params(
    {"x": ["array-like"], "orig_rate": [int_at_least(1)], "target_rate": [int_at_least(1)]},
    prefer_skip_nested_validation=True,
)
def resample_audio(x: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a signal along its last axis with a polyphase filter.

    The ratio ``target_rate / orig_rate`` is reduced by their greatest common divisor
    and applied exactly with :func:`scipy.signal.resample_poly` (anti-aliasing FIR,
    Kaiser window).

    Parameters
    ----------
    x : array-like of shape (..., n_samples)
        Signal(s); any leading axes (channels, batch) are kept.
    orig_rate : int
        Sample rate of ``x`` in Hz.
    target_rate : int
        Wanted sample rate in Hz.

    Returns
    -------
    numpy.ndarray of shape (..., ceil(n_samples * target_rate / orig_rate))
        The resampled signal, C-contiguous: float32 when ``x`` is float32, float64
        otherwise. A new array even when the rates are equal.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        If a rate is not an int >= 1 or ``x`` is not array-like (a scalar); both a
        ``TypeError`` and a ``ValueError``.

    Examples
    --------
    >>> x = np.zeros((2, 1000), dtype=np.float32)
    >>> resample_audio(x, 44100, 16000).shape  # ceil(1000 * 160 / 441)
    (2, 363)
    >>> resample_audio(x, 44100, 16000).dtype
    dtype('float32')
    """
    orig_rate, target_rate = int(orig_rate), int(target_rate)
    x = np.asarray(x)
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    if orig_rate == target_rate:
        return x.astype(dtype, copy=True)
    g = math.gcd(orig_rate, target_rate)
    out = resample_poly(x.astype(dtype, copy=False), target_rate // g, orig_rate // g, axis=-1)
    return np.ascontiguousarray(out, dtype=dtype)  # resample_poly returns a strided view


@validate_params(
    {"path": [str, os.PathLike], "rate": [int_at_least(1), None]},
    prefer_skip_nested_validation=True,
)
def read_audio(path: str | os.PathLike[str], rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 samples.

    Parameters
    ----------
    path : str or path-like
        Audio file in any format libsndfile reads (wav, flac, ogg, ...).
    rate : int, optional
        Sample rate to return, in Hz. When it differs from the file's rate the signal is
        resampled with :func:`resample_audio`. None keeps the file's rate.

    Returns
    -------
    data : numpy.ndarray of shape (n_channels, n_samples), float32
        Samples in ``[-1, 1]`` (clipped after resampling, whose filter can overshoot).
    rate : int
        Sample rate of ``data`` in Hz.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    sklearn.utils._param_validation.InvalidParameterError
        If ``path`` is not a str or path-like, or ``rate`` is neither None nor an int
        >= 1 (both a ``TypeError`` and a ``ValueError``).
    ImportError
        If soundfile is not installed.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> write_audio(path, np.full(8000, 0.5), 8000)
    >>> data, sr = read_audio(path, rate=16000)
    >>> data.shape, data.dtype, sr
    ((1, 16000), dtype('float32'), 16000)
    """
    rate = None if rate is None else int(rate)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No audio file at {path}.")
    sf = _soundfile()
    frames, file_rate = sf.read(path, dtype="float32", always_2d=True)
    data = np.ascontiguousarray(frames.T)
    if rate is None or rate == file_rate:
        return data, int(file_rate)
    data = np.clip(resample_audio(data, int(file_rate), rate), -1.0, 1.0)
    return data, rate


@validate_params(
    {
        "path": [str, os.PathLike],
        "data": ["array-like"],
        "rate": [int_at_least(1)],
        "subtype": [str],
    },
    prefer_skip_nested_validation=True,
)
def write_audio(
    path: str | os.PathLike[str],
    data: np.ndarray,
    rate: int,
    *,
    subtype: str = "PCM_16",
) -> None:
    """Write float samples to an audio file, atomically.

    The file is written to a temporary name in the same folder and then renamed over
    ``path``, so a reader never sees a half-written file and a failed write leaves the
    old file (if any) untouched.

    Parameters
    ----------
    path : str or path-like
        Destination; the format follows the extension (``.wav``, ``.flac``, ``.ogg``,
        ...). The folder must exist.
    data : array-like of shape (n_samples,) or (n_channels, n_samples)
        Floating-point samples; values outside ``[-1, 1]`` are clipped.
    rate : int
        Sample rate in Hz.
    subtype : str, default="PCM_16"
        libsndfile sample format, e.g. ``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        If ``path`` is not a str or path-like, ``data`` is not array-like, ``rate`` is
        not an int >= 1 or ``subtype`` is not a str (both a ``TypeError`` and a
        ``ValueError``).
    TypeError
        If ``data`` is not floating point (scale integer PCM first, e.g.
        ``x / 32768``).
    ValueError
        If ``data`` is not 1-D or 2-D, has more channels than samples (probably
        ``(n_samples, n_channels)``: pass ``data.T``), is empty, contains NaN, or if
        the extension or ``subtype`` is unknown.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "stereo.wav")
    >>> write_audio(path, np.zeros((2, 100)), 16000)
    >>> read_audio(path)[0].shape
    (2, 100)
    """
    rate = int(rate)
    data = np.asarray(data)
    if not np.issubdtype(data.dtype, np.floating):
        raise TypeError(
            f"data must be floating point in [-1, 1], got dtype {data.dtype}; "
            "scale integer PCM first (e.g. x / 32768)."
        )
    if data.ndim == 1:
        data = data[np.newaxis]
    if data.ndim != 2:
        raise ValueError(
            f"data must have shape (n_samples,) or (n_channels, n_samples), got {data.shape}."
        )
    if data.shape[1] == 0:
        raise ValueError("data has no samples.")
    if data.shape[0] > data.shape[1]:
        raise ValueError(
            f"data has shape {data.shape}: more channels than samples. Pass "
            "(n_channels, n_samples); for (n_samples, n_channels) use data.T."
        )
    if np.isnan(data).any():
        raise ValueError("data contains NaN; fill or drop the missing samples first.")

    path = Path(path)
    sf = _soundfile()
    file_format = path.suffix.lstrip(".").upper()
    if file_format not in sf.available_formats():
        raise ValueError(
            f"Cannot tell the audio format from {path.name!r}; use an extension among "
            f"{sorted(f.lower() for f in sf.available_formats())}."
        )
    if not sf.check_format(file_format, subtype):
        raise ValueError(
            f"subtype {subtype!r} is not valid for {file_format} files; valid: "
            f"{sorted(sf.available_subtypes(file_format))}."
        )
    frames = np.clip(data, -1.0, 1.0).T
    with atomic_path(path) as tmp:
        sf.write(tmp, frames, rate, subtype=subtype, format=file_format)
