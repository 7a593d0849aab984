"""Where the loaders keep their prepared arrays between calls.

Each cache entry is one ``.npz`` file named after the loader and a hash of everything
that decides its content: the loader's parameters, a fingerprint of the source files and
:data:`FORMAT_VERSION`. Changing any of them makes a new entry, so a stale entry is never
read. Entries hold plain arrays only (``allow_pickle=False``), so reading a cache file
cannot run code, and they are written atomically, so a crash or a concurrent writer never
leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when the layout or the preparation of any cached array changes.
FORMAT_VERSION = 1

#: Environment variable that overrides the default cache folder.
CACHE_DIR_ENV = "TSFILM_CACHE_DIR"


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder that holds the cached data sets.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Explicit folder. Takes precedence over everything else.

    Returns
    -------
    pathlib.Path
        ``cache_dir`` if given, else ``$TSFILM_CACHE_DIR`` if set, else
        ``platformdirs.user_cache_dir("tsfilm")``, with ``datasets`` appended in the
        last two cases. The folder is not created here.

    Examples
    --------
    >>> cache_root("/tmp/somewhere").as_posix()
    '/tmp/somewhere'
    """
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env) / "datasets"
    import platformdirs

    return Path(platformdirs.user_cache_dir("tsfilm")) / "datasets"


def cache_path(
    name: str, params: Mapping[str, Any], cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Return the cache file for a loader called with ``params``.

    Parameters
    ----------
    name : str
        Loader name, used as the file name prefix.
    params : mapping
        JSON-serialisable description of everything the cached arrays depend on.
    cache_dir : str or path-like, optional
        See :func:`cache_root`.

    Returns
    -------
    pathlib.Path
        ``<root>/<name>-<hash>.npz``, where the hash covers ``name``, ``params`` and
        :data:`FORMAT_VERSION`.

    Examples
    --------
    >>> a = cache_path("speech", {"rate": 16000}, "/tmp/c")
    >>> b = cache_path("speech", {"rate": 8000}, "/tmp/c")
    >>> a.name.startswith("speech-") and a.suffix == ".npz" and a != b
    True
    """
    key = json.dumps(
        {"name": name, "format": FORMAT_VERSION, "params": params},
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    return cache_root(cache_dir) / f"{name}-{digest}.npz"


def read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """Read a cache entry written by :func:`write_cache`.

    Parameters
    ----------
    path : pathlib.Path
        Cache file.

    Returns
    -------
    dict of str to numpy.ndarray or None
        The stored arrays, or None when the file is absent or unreadable (a damaged
        entry is treated as a miss and rebuilt, never as an error).
    """
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def write_cache(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write arrays to a cache entry atomically.

    The arrays go to a temporary file in the same folder, which then replaces ``path``
    in one step (``os.replace``), so readers see either no entry or a complete one.

    Parameters
    ----------
    path : pathlib.Path
        Cache file; its folder is created when missing.
    arrays : mapping of str to numpy.ndarray
        Arrays to store. Object arrays are refused, since they would need pickle.

    Raises
    ------
    ValueError
        If an array has dtype object.
    """
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise ValueError(f"cache array {key!r} has dtype object; store str or numbers.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            # Object arrays were refused above, so nothing here needs pickle.
            np.savez(handle, **arrays)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
