"""Child process that writes music21 scores to MIDI files for :mod:`tsfilm.datasets.piano`.

Run as a script, never imported by tsfilm: importing only the standard library and music21
keeps its start-up well under a second (tsfilm itself would pull in torch). Some music21
parsers loop without ever returning to the interpreter, so an in-process alarm cannot stop
them; in a child process the parent can simply kill it.

Protocol: one JSON request per line on stdin,
``{"score": <path>, "midi": <path>, "max_seconds": <float or null>}``, and
one JSON reply per line on the original stdout, ``{"ok": true}`` or
``{"ok": false, "error": "<type>: <message>"}``. The first line written is
``{"ok": true, "ready": true}`` once music21 is imported (or ``ok`` false if it cannot be).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

# music21's default of 10080 ticks per quarter note puts long movements past the
# 10-million-tick limit at which pretty_midi declares a file corrupt; 960 still places
# triplets and quintuplets exactly and keeps every other onset within half a millisecond.
_TICKS_PER_QUARTER = 960

# Measures kept beyond the tempo-based cut-off, so rounding never ends the MIDI file early.
_SPARE_QUARTERS = 8.0


def _write_midi(score_path: str, midi_path: str, max_seconds: float | None) -> None:
    from music21 import converter, defaults, stream
    from music21.repeat import ExpanderException

    defaults.ticksPerQuarter = _TICKS_PER_QUARTER
    defaults.ticksAtStart = _TICKS_PER_QUARTER
    # forceSource: parse the file itself rather than music21's pickled copy, which music21
    # would otherwise write to its scratch folder on the first parse.
    parsed = converter.parse(score_path, forceSource=True)
    if isinstance(parsed, stream.Opus):
        # A collection (e.g. an abc tune book) stands for its first work.
        if not parsed.scores:
            raise ValueError("the file holds no score")
        parsed = parsed.scores[0]
    cut = max_seconds is not None and _keep_opening(parsed, max_seconds)
    # The MIDI writer plays repeats out, and refuses repeats it cannot pair up. A cut
    # can leave a repeat open; closing it at the cut changes nothing that sounds before
    # max_seconds. Repeats that are broken in the score itself are dropped instead, so
    # the piece is played straight through.
    fixes = [_close_open_repeats, _drop_repeats] if cut else [_drop_repeats]
    while True:
        try:
            parsed.write("midi", fp=midi_path)
            return
        except ExpanderException:
            if not fixes:
                raise
            fixes.pop(0)(parsed)


def _keep_opening(score: object, max_seconds: float) -> bool:
    """Drop the measures that start after ``max_seconds`` at the score's fastest tempo.

    Writing a long quartet movement to MIDI takes music21 up to a minute; writing only
    the opening the caller will render takes a second or two. At the fastest tempo the
    score asks for, no measure that starts later can sound before ``max_seconds``, and
    every jump of a repeat starts at the end of a measure, so the opening sounds the same
    with or without the dropped measures. Returns whether any measure was dropped.
    """
    from music21 import stream

    if not isinstance(score, stream.Score):
        return False
    # The same tempo map the MIDI writer follows (120 quarters a minute when unmarked).
    bpms = [mark.getQuarterBPM() for _, _, mark in score.metronomeMarkBoundaries()]
    fastest = max((b for b in bpms if b), default=None)
    if fastest is None:
        return False
    cutoff = max_seconds * fastest / 60.0 + _SPARE_QUARTERS
    dropped = False
    for part in score.parts:
        for measure in list(part.getElementsByClass(stream.Measure)):
            if measure.offset >= cutoff:
                part.remove(measure)
                dropped = True
    return dropped


def _close_open_repeats(score: object) -> None:
    """End every part of a cut score with an end-repeat barline.

    The last measure left ends after the cut-off, so the jump back happens after
    ``max_seconds`` and cannot change what is rendered.
    """
    from music21 import bar, stream

    for part in score.parts:
        measures = part.getElementsByClass(stream.Measure)
        if measures:
            measures.last().rightBarline = bar.Repeat(direction="end")


def _drop_repeats(score: object) -> None:
    """Remove repeat barlines, endings and jumps (D.C., D.S., Fine, ...)."""
    from music21 import bar, repeat, spanner, stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = None
    for expression in list(score.recurse().getElementsByClass(repeat.RepeatExpression)):
        expression.activeSite.remove(expression)
    for bracket in list(score.recurse().getElementsByClass(spanner.RepeatBracket)):
        bracket.activeSite.remove(bracket)


def _reply(channel: TextIO, message: dict[str, object]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def main() -> None:
    """Serve requests from stdin until it is closed."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    # music21 prints to stdout; sending fd 1 to stderr keeps the reply channel clean.
    os.dup2(2, 1)
    try:
        import music21  # noqa: F401
    except ImportError as exc:
        _reply(replies, {"ok": False, "ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    _reply(replies, {"ok": True, "ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            _write_midi(request["score"], request["midi"], request.get("max_seconds"))
        except Exception as exc:
            _reply(replies, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        else:
            _reply(replies, {"ok": True})


if __name__ == "__main__":
    main()
