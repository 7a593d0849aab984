"""pytest configuration of the whole checkout."""

from __future__ import annotations

import importlib.util

# tsfilm.sktime raises ImportError without the sktime extra: skip its doctests there.
collect_ignore_glob = [] if importlib.util.find_spec("sktime") else ["tsfilm/sktime/*"]
