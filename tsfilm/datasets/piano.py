"""Piano music for audio super-resolution, rendered from the music21 score corpus."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterable
from numbers import Integral, Real
from pathlib import Path
from typing import IO, Any

import numpy as np
from sklearn.utils import Bunch

from tsfilm.datasets._cache import cache_path, package_file, read_cache, write_cache
from tsfilm.validation import StrictInterval, int_at_least, validate_params

__all__ = ["DEFAULT_SOUNDFONT", "PEAK", "load_piano"]

#: Where Debian's ``fluid-soundfont-gm`` installs the FluidR3 General MIDI soundfont.
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

#: Peak amplitude of every returned signal.
PEAK = 0.9

_PIP_INSTALL = "pip install music21 pretty_midi pyfluidsynth"
_APT_INSTALL = "apt-get install fluidsynth fluid-soundfont-gm"

# Score formats, best first: a work in two encodings is loaded once, in the first. Roman-
# numeral analyses (.rntxt) are chord labels, not music, and are left out.
_SCORE_SUFFIXES = (".mxl", ".musicxml", ".xml", ".krn", ".abc")

# Bump when the rendering changes (truncation, instrument mapping, normalisation).
_RENDER_VERSION = 1

# The longest wait for the worker to import music21, before any score is parsed.
_STARTUP_TIMEOUT = 120.0

_WORKER_SCRIPT = Path(__file__).with_name("_midi_export_worker.py")


class _SkipPiece(Exception):
    """A piece cannot be rendered; ``lasting=False`` (e.g. a timeout) keeps it out of the cache."""

    def __init__(self, reason: str, *, lasting: bool = True) -> None:
        super().__init__(reason)
        self.lasting = lasting


def _corpus_root() -> Path:
    return package_file("music21", "music21/corpus", _PIP_INSTALL, "The piano score corpus")


def _corpus_scores(root: Path) -> dict[str, list[str]]:
    """Score files by top-level folder (sorted POSIX paths under ``root``), one per work."""
    rank = {suffix: i for i, suffix in enumerate(_SCORE_SUFFIXES)}
    scores: dict[str, list[str]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith(("_", ".")):
            continue
        best: dict[str, Path] = {}
        for path in folder.rglob("*"):
            suffix = path.suffix.lower()
            if suffix not in rank or not path.is_file():
                continue
            work = path.relative_to(root).with_suffix("").as_posix()
            if work not in best or rank[suffix] < rank[best[work].suffix.lower()]:
                best[work] = path
        if best:
            scores[folder.name] = sorted(p.relative_to(root).as_posix() for p in best.values())
    return scores


def _select(scores: dict[str, list[str]], composers: list[str], n_pieces: int | None) -> list[str]:
    """Pieces shared out evenly between composers, evenly spaced within each one."""
    if n_pieces is None:
        quota = {c: len(scores[c]) for c in composers}
    else:
        # Round-robin: a composer with few pieces hands its unused share to the others.
        quota = dict.fromkeys(composers, 0)
        left = n_pieces
        while left:
            open_ = [c for c in composers if quota[c] < len(scores[c])]
            if not open_:
                break
            for c in open_[:left]:
                quota[c] += 1
            left -= min(left, len(open_))
    chosen = []
    for c in composers:
        available = scores[c]
        # Evenly spaced: Bach's sorted list starts with dozens of similar chorales.
        picks = np.round(np.linspace(0, len(available) - 1, quota[c])).astype(int)
        chosen.extend(available[i] for i in picks)
    return chosen


class _ScoreWorker:
    """Writes scores to MIDI in a child process, replaced after a timeout or a crash."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def __enter__(self) -> _ScoreWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _pump(stream: IO[str], replies: queue.Queue[dict[str, Any] | None]) -> None:
        # A reader thread gives replies a timeout on every platform (select() on pipes is
        # POSIX-only); it owns the pipe and closes it at end of file, never racing a read.
        with stream:
            for line in stream:
                replies.put(json.loads(line))
        replies.put(None)

    def _start(self) -> None:
        boot = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
        self._process = subprocess.Popen(
            [sys.executable, "-c", boot, str(_WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # music21's parser warnings; failures come as replies
            text=True,
            encoding="utf-8",
        )
        self._replies = queue.Queue()
        assert self._process.stdout is not None
        threading.Thread(
            target=self._pump, args=(self._process.stdout, self._replies), daemon=True
        ).start()
        try:
            ready = self._wait(_STARTUP_TIMEOUT)
        except TimeoutError:
            ready = {"ok": False, "error": f"no answer within {_STARTUP_TIMEOUT:g} s"}
        if ready is None or not ready.get("ok"):
            self.close()
            detail = ready["error"] if ready else "it exited during start-up"
            raise RuntimeError(
                f"The music21 score worker could not start ({detail}). "
                f"Check the installation with: {_PIP_INSTALL}"
            )

    def _wait(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def midi(self, score: Path, timeout: float, max_seconds: float | None = None) -> bytes:
        """Parse ``score``; return it (its first ``max_seconds``) as MIDI, or raise _SkipPiece."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        assert self._process is not None and self._process.stdin is not None
        with tempfile.TemporaryDirectory(prefix="tsfilm-piano-") as tmp:
            midi = Path(tmp) / "score.mid"
            request = json.dumps(
                {"score": str(score), "midi": str(midi), "max_seconds": max_seconds}
            )
            try:
                self._process.stdin.write(request + "\n")
                self._process.stdin.flush()
                reply = self._wait(timeout)
            except TimeoutError:
                raise _SkipPiece(
                    f"music21 did not finish within timeout={timeout:g} s", lasting=False
                ) from None
            except OSError as exc:  # the child died before reading the request
                self.close()
                raise _SkipPiece(f"the music21 worker failed ({exc})", lasting=False) from None
            if reply is None:
                self.close()
                raise _SkipPiece("the music21 worker exited while parsing it", lasting=False)
            if not reply["ok"]:
                raise _SkipPiece(f"music21 failed: {reply['error']}")
            return midi.read_bytes()

    def close(self) -> None:
        """Stop the child process, if one runs."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:  # a broken pipe to a killed child
                pass


def _truncate(instrument: Any, seconds: float) -> None:
    """Drop every event of a pretty_midi instrument from ``seconds`` on."""
    instrument.notes = [n for n in instrument.notes if n.start < seconds]
    for note in instrument.notes:
        note.end = min(note.end, seconds)
    instrument.pitch_bends = [b for b in instrument.pitch_bends if b.time < seconds]
    instrument.control_changes = [c for c in instrument.control_changes if c.time < seconds]


class _Renderer:
    """Renders MIDI files to piano audio with FluidSynth."""

    def __init__(self, soundfont: Path, rate: int) -> None:
        try:
            import pretty_midi
        except ImportError as exc:
            raise ImportError(f"Rendering piano audio needs pretty_midi: {_PIP_INSTALL}") from exc
        try:
            import fluidsynth
        except ImportError as exc:
            # pyfluidsynth is a wrapper: its import also fails when the C library is absent.
            raise ImportError(
                f"Rendering piano audio needs pyfluidsynth and the FluidSynth library ({exc}). "
                f"Install them with: {_PIP_INSTALL} and {_APT_INSTALL}"
            ) from exc
        self._pretty_midi = pretty_midi
        self._fluidsynth = fluidsynth
        self.soundfont = soundfont
        self.rate = rate

    def render(self, midi: bytes, max_seconds: float | None) -> np.ndarray:
        """Play MIDI on the piano: float32 audio at ``rate``, peak ``PEAK``; or _SkipPiece."""
        try:
            music = self._pretty_midi.PrettyMIDI(io.BytesIO(midi))
        except Exception as exc:  # pretty_midi and mido raise many types on bad files
            raise _SkipPiece(
                f"pretty_midi rejected its MIDI file ({type(exc).__name__}: {exc})"
            ) from None
        for instrument in music.instruments:
            instrument.program = 0
            instrument.is_drum = False
            if max_seconds is not None:
                _truncate(instrument, max_seconds)
        # A fresh synthesizer per piece, so that no controller or reverb tail carries over.
        synth = self._fluidsynth.Synth(samplerate=float(self.rate))
        try:
            sfid = synth.sfload(str(self.soundfont))
            if sfid == -1:
                raise OSError(f"FluidSynth could not load the soundfont {self.soundfont}.")
            audio = music.fluidsynth(fs=self.rate, synthesizer=synth, sfid=sfid, normalize=False)
        finally:
            synth.delete()
        if max_seconds is not None:
            audio = audio[: round(max_seconds * self.rate)]
        peak = np.abs(audio).max(initial=0.0)
        if not peak > 0:
            raise _SkipPiece("it renders to silence")
        return (audio * (PEAK / peak)).astype(np.float32)


_SECONDS = StrictInterval(Real, 0, None, closed="neither")


@validate_params(
    {
        "n_pieces": [int_at_least(1), None],
        "rate": [StrictInterval(Integral, 8000, 96000, closed="both")],
        "max_seconds": [_SECONDS, None],
        "timeout": [_SECONDS],
    },
    prefer_skip_nested_validation=True,
)
def load_piano(
    n_pieces: int | None = 20,
    *,
    composers: str | Iterable[str] = ("bach", "beethoven", "mozart"),
    rate: int = 16000,
    max_seconds: float | None = 60.0,
    timeout: float = 60.0,
    soundfont: str | os.PathLike[str] | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Bunch:
    """Load pieces of the music21 corpus rendered as piano audio.

    The scores ship with the PyPI package ``music21``, which writes each to MIDI
    (repeats played out, and only the measures that can sound within ``max_seconds``).
    Every part is played by General MIDI program 0 (acoustic grand piano), rendered by
    FluidSynth with the FluidR3 soundfont at ``rate`` and scaled to a peak of
    :data:`PEAK`. Nothing is downloaded.

    Music21 parses each score in a child process killed after ``timeout`` seconds, as
    some scores make its parsers loop forever. Pieces that time out, cannot be read or
    render to silence are left out with a warning, so fewer than ``n_pieces`` signals
    can come back. Every piece is cached on its own (keyed by the score file, the
    music21 version, the soundfont and the arguments that change the audio), failures
    other than timeouts included.

    Parameters
    ----------
    n_pieces : int or None, default=20
        Number of pieces, shared out as evenly as possible between ``composers`` (a
        composer with too few pieces leaves its share to the others) and evenly spaced
        in each composer's sorted list of files. None loads every piece.
    composers : str or iterable of str, default=("bach", "beethoven", "mozart")
        Top-level folders of the music21 corpus, such as ``"bach"``, ``"beethoven"``,
        ``"mozart"``, ``"haydn"`` or ``"schumann_robert"``.
    rate : int, default=16000
        Sample rate in Hz, between 8000 and 96000 (FluidSynth's range).
    max_seconds : float or None, default=60.0
        Render at most this many seconds of each piece. None renders whole pieces
        (several minutes each for the quartet movements).
    timeout : float, default=60.0
        Seconds music21 may spend parsing one score and writing its MIDI file. The
        quartet movements take 2 to 15 s on an idle machine and more under load.
    soundfont : str or path-like, optional
        General MIDI soundfont (``.sf2``); defaults to :data:`DEFAULT_SOUNDFONT`.
    cache : bool, default=True
        Read and write the cache. False renders every piece and writes nothing.
    cache_dir : str or path-like, optional
        Cache folder; :func:`~tsfilm.datasets.cache_root` by default.

    Returns
    -------
    sklearn.utils.Bunch
        signals : list of numpy.ndarray of shape (n_samples_i,), float32
            One mono signal per rendered piece, peak amplitude :data:`PEAK`, at most
            ``max_seconds * rate`` samples long.
        piece : numpy.ndarray of str, shape (n_signals,)
            Score file of each signal relative to the corpus, e.g.
            ``"bach/bwv1.6.mxl"``.
        composer : numpy.ndarray of str, shape (n_signals,)
            Corpus folder of each signal, e.g. ``"bach"``.
        skipped : numpy.ndarray of str, shape (n_skipped,)
            Selected pieces that could not be rendered.
        rate : int
            Sample rate of every signal in Hz.
        description : str
            Where the data comes from, how it was made and its licences.

        Signals are ordered by composer (in the order given) and then by file.

    Raises
    ------
    ImportError
        If music21, pretty_midi, pyfluidsynth or the FluidSynth library is missing; the
        message names the ``pip``/``apt-get`` command.
    FileNotFoundError
        If the soundfont is missing (``apt-get install fluid-soundfont-gm``).
    RuntimeError
        If none of the selected pieces could be rendered, or music21's process cannot
        start.

    Examples
    --------
    Five seconds of two pieces, one Bach chorale and one Beethoven quartet movement
    (rendering takes a few seconds; later calls read the cache):

    >>> piano = load_piano(2, composers=("bach", "beethoven"), max_seconds=5)  # doctest: +SKIP
    >>> piano.piece.tolist(), piano.rate  # doctest: +SKIP
    (['bach/bwv1.6.mxl', 'beethoven/opus132.mxl'], 16000)
    >>> piano.signals[0].shape, round(float(abs(piano.signals[0]).max()), 3)  # doctest: +SKIP
    ((80000,), 0.9)
    """
    rate, timeout = int(rate), float(timeout)
    max_seconds = None if max_seconds is None else float(max_seconds)
    composers = [composers] if isinstance(composers, str) else list(composers)
    if not composers:
        raise ValueError("composers is empty; name at least one corpus folder, e.g. 'bach'.")
    if len(set(composers)) != len(composers):
        raise ValueError(f"composers has duplicates: {composers}.")

    root = _corpus_root()
    music21_version = importlib.metadata.version("music21")
    scores = _corpus_scores(root)
    unknown = [c for c in composers if c not in scores]
    if unknown:
        raise ValueError(
            f"No scores for {unknown} in the music21 corpus; choose among {sorted(scores)}."
        )
    soundfont = DEFAULT_SOUNDFONT if soundfont is None else Path(soundfont)
    if not soundfont.is_file():
        raise FileNotFoundError(
            f"The soundfont {soundfont} is missing. Install FluidR3 and FluidSynth with: "
            f"{_APT_INSTALL} (or pass soundfont= with another General MIDI .sf2 file)."
        )
    font_stat = soundfont.stat()

    signals: list[np.ndarray] = []
    kept: list[str] = []
    skipped: list[str] = []
    reasons: list[str] = []
    renderer: _Renderer | None = None
    with _ScoreWorker() as worker:
        for piece in _select(scores, composers, n_pieces):
            score = root / piece
            score_stat = score.stat()
            path = None
            if cache:
                params = {
                    "piece": piece,
                    "score": [score_stat.st_size, score_stat.st_mtime_ns],
                    "music21": music21_version,
                    "soundfont": [str(soundfont.resolve()), font_stat.st_size],
                    "rate": rate,
                    "max_seconds": max_seconds,
                    "render": _RENDER_VERSION,
                }
                path = cache_path("piano", params, cache_dir)
                stored = read_cache(path)
                if stored is not None and set(stored) == {"signal"}:
                    signals.append(stored["signal"])
                    kept.append(piece)
                    continue
                if stored is not None and set(stored) == {"skipped"}:
                    skipped.append(piece)
                    reasons.append(f"{stored['skipped']} (remembered from an earlier call)")
                    continue
            if renderer is None:
                renderer = _Renderer(soundfont, rate)
            try:
                midi = worker.midi(score, timeout, max_seconds)
                signal = renderer.render(midi, max_seconds)
            except _SkipPiece as exc:
                skipped.append(piece)
                reasons.append(str(exc))
                if path is not None and exc.lasting:
                    write_cache(path, {"skipped": np.array(str(exc))})
                continue
            if path is not None:
                write_cache(path, {"signal": signal})
            signals.append(signal)
            kept.append(piece)

    for piece, reason in zip(skipped, reasons, strict=True):
        warnings.warn(f"Skipped piano piece {piece!r}: {reason}.", UserWarning, stacklevel=2)
    if not signals:
        raise RuntimeError(
            f"None of the {len(skipped)} selected pieces could be rendered: "
            + "; ".join(f"{p}: {r}" for p, r in zip(skipped, reasons, strict=True))
        )
    span = "whole pieces" if max_seconds is None else f"the first {max_seconds:g} s of each piece"
    description = (
        f"Scores from the music21 {music21_version} corpus ({', '.join(composers)}), written "
        f"to MIDI by music21, every part played by General MIDI program 0 (acoustic grand "
        f"piano) and rendered by FluidSynth with the soundfont {soundfont.name} at {rate} Hz; "
        f"{span}, each scaled to peak {PEAK}. The corpus scores are public-domain music "
        f"encoded by the music21 and Humdrum projects (see music21's corpus documentation "
        f"for each file's licence); FluidR3_GM is MIT-licensed."
    )
    return Bunch(
        signals=signals,
        piece=np.array(kept, dtype=str),
        composer=np.array([p.split("/", 1)[0] for p in kept], dtype=str),
        skipped=np.array(skipped, dtype=str),
        rate=rate,
        description=description,
    )
