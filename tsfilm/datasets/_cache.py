"""What the loaders share: finding an installed data file, and caching prepared arrays.

Each cache entry is one ``.npz`` file named after the loader and a hash of everything that
decides its content: the loader's parameters, a fingerprint of the source files and
:data:`FORMAT_VERSION`, so a stale entry is never read. Entries hold plain arrays only
(``allow_pickle=False``), so reading one cannot run code, and are written atomically, so a
crash or a concurrent writer never leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import zipfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tsfilm.io._atomic import atomic_path

#: Bump when the layout or the preparation of any cached array changes.
FORMAT_VERSION = 1

#: Environment variable that overrides the default cache folder.
CACHE_DIR_ENV = "TSFILM_CACHE_DIR"


def package_file(distribution: str, member: str, install: str, what: str) -> Path:
    """The path of ``member`` in an installed distribution, or an error naming ``install``."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModuleNotFoundError(
            f"{what} ships in the {distribution} package, which is not installed. "
            f"Install it with: {install}",
            name=distribution.replace("-", "_"),
        ) from exc
    path = Path(str(dist.locate_file(member)))
    if not path.exists():
        raise FileNotFoundError(
            f"{distribution} {dist.version} is installed but {member} is missing "
            f"(looked at {path}). Reinstall it with: {install}"
        )
    return path


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder that holds the cached data sets.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Explicit folder. Takes precedence over everything else.

    Returns
    -------
    pathlib.Path
        ``cache_dir`` if given, else ``$TSFILM_CACHE_DIR/datasets`` if that variable is
        set, else ``platformdirs.user_cache_dir("tsfilm")/datasets``. Not created here.

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
    """Return ``<root>/<name>-<hash>.npz``, hashing ``name``, JSON ``params`` and the format."""
    key = json.dumps(
        {"name": name, "format": FORMAT_VERSION, "params": params},
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    return cache_root(cache_dir) / f"{name}-{digest}.npz"


def read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or None when it is absent or damaged (then rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def write_cache(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write a cache entry atomically (a temporary file, then ``os.replace``).

    Object arrays are refused with a ValueError, since they would need pickle.
    """
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise ValueError(f"cache array {key!r} has dtype object; store str or numbers.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def cached(
    name: str,
    params: Mapping[str, Any],
    build: Callable[[], dict[str, np.ndarray]],
    keys: Collection[str],
    cache: bool,
    cache_dir: str | os.PathLike[str] | None,
) -> dict[str, np.ndarray]:
    """The entry for ``params`` if it holds exactly ``keys``, else ``build()``, stored."""
    if not cache:
        return build()
    path = cache_path(name, params, cache_dir)
    stored = read_cache(path)
    if stored is not None and set(stored) == set(keys):
        return stored
    arrays = build()
    write_cache(path, arrays)
    return arrays
