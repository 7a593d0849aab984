"""Speech recordings for audio super-resolution: Debian's Asterisk prompts or wav/flac files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from types import MappingProxyType

import numpy as np
from sklearn.utils import Bunch

from tsfilm.datasets._cache import cached
from tsfilm.io.audio import _soundfile, read_audio, resample_audio
from tsfilm.validation import StrictInterval, int_at_least, validate_params

__all__ = ["DEBIAN_SOUNDS_DIR", "SPEECH_VOICES", "VoiceInfo", "load_speech", "read_g722"]

#: Folder where Debian installs the Asterisk prompts, one sub-folder per voice.
DEBIAN_SOUNDS_DIR = Path("/usr/share/asterisk/sounds")

#: Sample rate of the G.722 prompts.
G722_RATE = 16000

_PCM16_SCALE = np.float32(32768.0)

# Sub-folders of a voice that hold no speech ("silence/<n>" is n seconds of silence).
_SKIPPED_SUBFOLDERS = frozenset({"silence"})

_AUDIO_SUFFIXES = frozenset({".wav", ".flac"})


@dataclass(frozen=True)
class VoiceInfo:
    """Metadata of one Asterisk voice.

    Attributes
    ----------
    speaker : str
        Speaker's name; ``en_US_f_Allison`` and ``es_MX_f_Allison`` share one speaker, so
        keep them on the same side of a speaker split.
    gender : str
        ``"female"`` or ``"male"``.
    language : str
        BCP 47 language tag, e.g. ``"en-US"``.
    package : str
        Debian package that installs the voice.
    licence : str
        SPDX licence identifier of the recordings.
    """

    speaker: str
    gender: str
    language: str
    package: str
    licence: str


#: The voices of the Debian G.722 prompt packages, keyed by their folder name under
#: :data:`DEBIAN_SOUNDS_DIR`. The alias folders (``en``, ``en_US``, ...) are symbolic
#: links to these and are never read.
SPEECH_VOICES: Mapping[str, VoiceInfo] = MappingProxyType(
    {
        "en_US_f_Allison": VoiceInfo(
            "Allison", "female", "en-US", "asterisk-core-sounds-en-g722", "CC-BY-SA-3.0"
        ),
        "es_MX_f_Allison": VoiceInfo(
            "Allison", "female", "es-MX", "asterisk-core-sounds-es-g722", "CC-BY-SA-3.0"
        ),
        "fr_CA_f_June": VoiceInfo(
            "June", "female", "fr-CA", "asterisk-core-sounds-fr-g722", "CC-BY-SA-3.0"
        ),
        "it_IT_m_Carlo": VoiceInfo(
            "Carlo", "male", "it-IT", "asterisk-core-sounds-it-g722", "CC-BY-3.0"
        ),
        "ru_RU_f_IvrvoiceRU": VoiceInfo(
            "IvrvoiceRU", "female", "ru-RU", "asterisk-core-sounds-ru-g722", "CC-BY-3.0"
        ),
    }
)


def read_g722(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a raw G.722 file (64 kbit/s, 16 kHz) to float samples.

    Parameters
    ----------
    path : str or path-like
        Headerless G.722 file, as shipped in ``asterisk-core-sounds-*-g722``.

    Returns
    -------
    numpy.ndarray of shape (n_samples,), float32
        Samples at 16 kHz in ``[-1, 1)``; ``n_samples`` is twice the file size in bytes.

    Raises
    ------
    ImportError
        If the ``g722`` package is missing (``pip install "tsfilm[data]"``).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "quiet.g722")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes(100))
    >>> read_g722(path).shape
    (200,)
    """
    try:
        import G722
    except ImportError as exc:
        raise ImportError(
            'Decoding G.722 needs the g722 package: pip install "tsfilm[data]"'
        ) from exc
    payload = Path(path).read_bytes()
    # A fresh decoder per file: its adaptive state would carry over to the next file.
    pcm = G722.G722(G722_RATE, 64000).decode(payload)
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / _PCM16_SCALE


@dataclass(frozen=True)
class _Group:
    """One voice or speaker: where its files are and how to read them."""

    name: str
    gender: str
    language: str
    base: Path  # file ids are paths relative to this folder
    files: tuple[Path, ...]
    codec: str  # "g722" or "soundfile"


def _walk(folder: Path, suffixes: Iterable[str], skip: frozenset[str] = frozenset()) -> list[Path]:
    """Sorted files under ``folder`` with one of ``suffixes``, not following symlinks."""
    suffixes = frozenset(suffixes)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        found.extend(Path(dirpath) / f for f in filenames if Path(f).suffix.lower() in suffixes)
    # Sorted as strings: Path ordering differs between Python versions.
    return sorted(found, key=Path.as_posix)


def _debian_groups(voices: list[str] | None) -> list[_Group]:
    names = list(SPEECH_VOICES) if voices is None else voices
    unknown = [v for v in names if v not in SPEECH_VOICES]
    if unknown:
        raise ValueError(
            f"Unknown voice(s) {unknown}; choose among {list(SPEECH_VOICES)} "
            "(or pass root= for your own folder of recordings)."
        )
    groups = []
    for name in names:
        info = SPEECH_VOICES[name]
        folder = DEBIAN_SOUNDS_DIR / name
        files = _walk(folder, {".g722"}, _SKIPPED_SUBFOLDERS) if folder.is_dir() else []
        if not files:
            raise FileNotFoundError(
                f"The {name} voice is not installed (no *.g722 files under {folder}). "
                f"Install it with: apt-get install {info.package}"
            )
        groups.append(
            _Group(name, info.gender, info.language, DEBIAN_SOUNDS_DIR, tuple(files), "g722")
        )
    return groups


def _folder_groups(root: Path, voices: list[str] | None) -> list[_Group]:
    if not root.is_dir():
        raise FileNotFoundError(f"root={str(root)!r} is not a folder.")
    files = _walk(root, _AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"No .wav or .flac files under {root}.")
    by_speaker: dict[str, list[Path]] = {}
    for f in files:
        parts = f.relative_to(root).parts
        speaker = parts[0] if len(parts) > 1 else root.name
        by_speaker.setdefault(speaker, []).append(f)
    names = sorted(by_speaker) if voices is None else voices
    unknown = [v for v in names if v not in by_speaker]
    if unknown:
        raise ValueError(f"No speaker(s) {unknown} under {root}; found {sorted(by_speaker)}.")
    return [
        _Group(name, "unknown", "unknown", root, tuple(by_speaker[name]), "soundfile")
        for name in names
    ]


def _seconds(path: Path, codec: str) -> float:
    """Duration of a file from its size or header, without decoding it."""
    if codec == "g722":  # 64 kbit/s at 16 kHz: one byte per two samples
        return 2 * path.stat().st_size / G722_RATE
    info = _soundfile().info(path)
    return info.frames / info.samplerate


def _select(group: _Group, min_seconds: float, max_files: int | None) -> list[Path]:
    """Files at least ``min_seconds`` long, then ``max_files`` evenly spaced among them."""
    kept = list(group.files)
    if min_seconds > 0:
        kept = [f for f in kept if _seconds(f, group.codec) >= min_seconds]
    if max_files is not None and max_files < len(kept):
        # Evenly spaced, so a small slice spans the whole prompt list; the step is at
        # least one, so rounding never picks a file twice.
        picks = np.round(np.linspace(0, len(kept) - 1, max_files)).astype(int)
        kept = [kept[i] for i in picks]
    return kept


def _decode(path: Path, codec: str, rate: int) -> np.ndarray:
    if codec == "g722":
        signal = read_g722(path)
        if rate != G722_RATE:
            signal = np.clip(resample_audio(signal, G722_RATE, rate), -1.0, 1.0)
        return signal
    data, _ = read_audio(path, rate=rate)
    # Several channels of one recording are the same speech; their mean is the mono signal.
    return data.mean(axis=0, dtype=np.float32) if data.shape[0] > 1 else data[0]


def _load_group(
    group: _Group,
    files: list[Path],
    rate: int,
    cache: bool,
    cache_dir: str | os.PathLike[str] | None,
) -> list[np.ndarray]:
    ids = np.array([f.relative_to(group.base).as_posix() for f in files], dtype=str)

    def decode() -> dict[str, np.ndarray]:
        signals = [_decode(f, group.codec, rate) for f in files]
        samples = np.concatenate(signals) if signals else np.zeros(0, np.float32)
        # 16-bit sources at their own rate hold multiples of 1/32768: int16 loses nothing.
        pcm = samples * _PCM16_SCALE
        if np.array_equal(pcm, np.round(pcm)) and np.abs(pcm).max(initial=0) <= 32767:
            samples = pcm.astype(np.int16)
        offsets = np.cumsum([0] + [len(s) for s in signals], dtype=np.int64)
        return {"samples": samples, "offsets": offsets, "files": ids}

    stats = [f.stat() for f in files]
    params = {
        "base": str(group.base.resolve()),
        "codec": group.codec,
        "rate": rate,
        "files": [[str(i), st.st_size, st.st_mtime_ns] for i, st in zip(ids, stats, strict=True)],
    }
    stored = cached("speech", params, decode, ("samples", "offsets", "files"), cache, cache_dir)
    samples, offsets = stored["samples"], stored["offsets"]
    if samples.dtype == np.int16:
        samples = samples.astype(np.float32) / _PCM16_SCALE
    return [samples[offsets[i] : offsets[i + 1]] for i in range(len(ids))]


@validate_params(
    {
        "rate": [int_at_least(1)],
        "max_files": [int_at_least(1), None],
        "min_seconds": [StrictInterval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def load_speech(
    voices: str | Iterable[str] | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    rate: int = 16000,
    max_files: int | None = None,
    min_seconds: float = 0.0,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Bunch:
    """Load speech recordings as float32 signals.

    By default reads the Asterisk telephony prompts installed by Debian
    (``asterisk-core-sounds-<lang>-g722``) under
    ``/usr/share/asterisk/sounds/<voice>/**/*.g722``, leaving out the ``silence``
    prompts: about 2,800 studio recordings by four speakers, G.722 at 16 kHz, whose band
    ends near 7 kHz (so upsampling ratios 2 and 4 are the meaningful ones). With
    ``root`` it reads every ``.wav``/``.flac`` file under that folder instead; the
    first-level sub-folder of a file names its speaker (files directly in ``root``
    belong to a speaker named after ``root``), as in VCTK's ``wav48/<speaker>/`` layout.

    Nothing is downloaded. Decoded signals are cached per voice, keyed by the selected
    files (name, size, modification time) and ``rate``.

    Parameters
    ----------
    voices : str or iterable of str, optional
        Voices to load: keys of :data:`SPEECH_VOICES`, or speaker folder names under
        ``root``. None loads all of them.
    root : str or path-like, optional
        Folder of wav/flac recordings to read instead of the Debian prompts. Files are
        resampled to ``rate`` and mixed down to mono.
    rate : int, default=16000
        Sample rate of the returned signals in Hz. The Debian prompts are 16 kHz; other
        rates are made with :func:`tsfilm.io.resample_audio`.
    max_files : int, optional
        Keep at most this many files per voice, evenly spaced in sorted path order (after
        the ``min_seconds`` filter). Small values give fast, representative slices.
    min_seconds : float, default=0.0
        Drop files shorter than this many seconds.
    cache : bool, default=True
        Read and write the cache. False decodes every file and writes nothing.
    cache_dir : str or path-like, optional
        Cache folder; :func:`~tsfilm.datasets.cache_root` by default.

    Returns
    -------
    sklearn.utils.Bunch
        signals : list of numpy.ndarray of shape (n_samples_i,), float32
            One mono signal per file, values in ``[-1, 1]``.
        voice : numpy.ndarray of str, shape (n_files,)
            Voice (or speaker folder) of each signal.
        file : numpy.ndarray of str, shape (n_files,)
            Path of each file relative to the source folder (``DEBIAN_SOUNDS_DIR`` or
            ``root``), e.g. ``"it_IT_m_Carlo/digits/1.g722"``; unique per signal.
        gender : numpy.ndarray of str, shape (n_files,)
            ``"female"``, ``"male"``, or ``"unknown"`` for ``root`` folders.
        language : numpy.ndarray of str, shape (n_files,)
            BCP 47 tag such as ``"en-US"``, or ``"unknown"`` for ``root`` folders.
        rate : int
            Sample rate of every signal in Hz.
        description : str
            Where the data comes from and its licence.

        Signals are ordered by voice (in the order requested, or sorted) and then by
        path.

    Raises
    ------
    FileNotFoundError
        If a requested Debian voice is not installed (the message names the
        ``apt-get install`` command), or ``root`` is not a folder or holds no wav/flac.
    ImportError
        If ``g722`` or ``soundfile`` is missing (``pip install "tsfilm[data]"``).

    Examples
    --------
    Three prompts spread over the Italian voice, decoded without touching the cache:

    >>> speech = load_speech("it_IT_m_Carlo", max_files=3, cache=False)
    >>> len(speech.signals), speech.rate, str(speech.gender[0])
    (3, 16000, 'male')
    >>> speech.file.tolist()
    ['it_IT_m_Carlo/activated.g722', 'it_IT_m_Carlo/im-sorry.g722', 'it_IT_m_Carlo/your.g722']
    """
    rate = int(rate)
    if isinstance(voices, str):
        voices = [voices]
    elif voices is not None:
        voices = list(voices)
        if not voices:
            raise ValueError("voices is empty; pass None to load every voice.")

    if root is None:
        groups = _debian_groups(voices)
        description = (
            "Asterisk core sound prompts (Debian asterisk-core-sounds-*-g722), G.722 at "
            "16 kHz, band-limited to about 7 kHz. Licences: CC-BY-SA-3.0 (en, es, fr), "
            "CC-BY-3.0 (it, ru)."
        )
    else:
        root = Path(root)
        groups = _folder_groups(root, voices)
        description = f"Recordings read from {root}."

    signals: list[np.ndarray] = []
    voice, file, gender, language = [], [], [], []
    for group in groups:
        files = _select(group, float(min_seconds), max_files)
        loaded = _load_group(group, files, rate, cache, cache_dir)
        signals.extend(loaded)
        voice += [group.name] * len(files)
        gender += [group.gender] * len(files)
        language += [group.language] * len(files)
        file += [f.relative_to(group.base).as_posix() for f in files]

    return Bunch(
        signals=signals,
        voice=np.array(voice, dtype=str),
        file=np.array(file, dtype=str),
        gender=np.array(gender, dtype=str),
        language=np.array(language, dtype=str),
        rate=rate,
        description=description,
    )
