"""TextTokenizer and check_texts: ids, padding, truncation, unknowns, vocabulary limits."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from tsfilm.preprocessing import TextTokenizer
from tsfilm.preprocessing.text import PAD_TOKEN, UNK_TOKEN, check_texts
from tsfilm.validation import InvalidParameterError

DOCS = ["The cat sat.", "The dog sat!", "the cat, the dog"]


def test_word_vocabulary_is_ordered_by_count_then_alphabet():
    tok = TextTokenizer().fit(DOCS)
    # the x4, cat/dog/sat x2, then punctuation x1 in code-point order.
    assert tok.tokens_ == [PAD_TOKEN, UNK_TOKEN, "the", "cat", "dog", "sat", "!", ",", "."]
    assert tok.vocabulary_ == {t: i for i, t in enumerate(tok.tokens_)}
    # The vocabulary does not depend on the order of the documents.
    assert TextTokenizer().fit(DOCS[::-1]).tokens_ == tok.tokens_


def test_transform_pads_with_zero_and_maps_unknowns_to_one():
    tok = TextTokenizer(max_length=6).fit(DOCS)
    ids = tok.transform(["The bird sat", "", "cat"])
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [[2, 1, 5, 0, 0, 0], [0, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0]])
    _, lengths = tok.encode(["The bird sat", "", "cat"])
    np.testing.assert_array_equal(lengths, [3, 0, 1])
    assert tok.inverse_transform(ids) == [["the", UNK_TOKEN, "sat"], [], ["cat"]]


def test_truncation_keeps_the_first_tokens():
    tok = TextTokenizer(max_length=2).fit(DOCS)
    ids, lengths = tok.encode(["the cat sat on the mat"])
    np.testing.assert_array_equal(ids, [[2, 3]])
    np.testing.assert_array_equal(lengths, [2])


def test_max_length_none_pads_to_the_longest_document():
    tok = TextTokenizer(max_length=None).fit(DOCS)
    assert tok.transform(["the cat sat on the mat", "cat"]).shape == (2, 6)
    assert tok.transform(["", ""]).shape == (2, 1)


def test_vocabulary_limits():
    tok = TextTokenizer(max_vocabulary=2).fit(DOCS)
    assert tok.tokens_ == [PAD_TOKEN, UNK_TOKEN, "the", "cat"]
    tok = TextTokenizer(min_count=2).fit(DOCS)
    assert tok.tokens_ == [PAD_TOKEN, UNK_TOKEN, "the", "cat", "dog", "sat"]
    assert tok.transform(["dog!"])[0, :2].tolist() == [4, 1]


def test_word_mode_keeps_contractions_and_lowercases():
    tok = TextTokenizer()
    assert tok.tokenize("Don't STOP--now") == ["don't", "stop", "-", "-", "now"]
    assert TextTokenizer(lowercase=False).tokenize("Hi") == ["Hi"]


def test_char_and_byte_modes():
    char = TextTokenizer("char", max_length=4).fit(["ab a"])
    assert char.tokens_ == [PAD_TOKEN, UNK_TOKEN, "a", " ", "b"]
    np.testing.assert_array_equal(char.transform(["ba z"]), [[4, 2, 3, 1]])

    byte = TextTokenizer("byte", max_length=3).fit(["é"])
    # é is two UTF-8 bytes, each a token.
    assert byte.tokens_ == [PAD_TOKEN, UNK_TOKEN, "\xa9", "\xc3"]
    np.testing.assert_array_equal(byte.transform(["é!"]), [[3, 2, 1]])
    assert TextTokenizer("char").tokenize("é") == ["é"]


def test_special_token_spellings_in_text_never_get_their_own_id():
    tok = TextTokenizer("char").fit(["<pad> <unk>"])
    assert tok.tokens_.count(PAD_TOKEN) == 1 and tok.tokens_.count(UNK_TOKEN) == 1
    word = TextTokenizer().fit(["<unk>"])
    assert word.tokens_ == [PAD_TOKEN, UNK_TOKEN, "<", ">", "unk"]
    np.testing.assert_array_equal(word.transform(["<unk>"])[0, :3], [2, 4, 3])


def test_accepts_arrays_series_tuples_and_generators():
    expected = TextTokenizer().fit(DOCS).tokens_
    for docs in (np.array(DOCS, dtype=object), pd.Series(DOCS), tuple(DOCS), iter(DOCS)):
        assert TextTokenizer().fit(docs).tokens_ == expected


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        ("one string", TypeError, "single str"),
        (b"bytes", TypeError, "single bytes"),
        ([], ValueError, "empty"),
        (["ok", 3], TypeError, r"X\[1\] is a int"),
        (["ok", None], TypeError, "missing values"),
        (["ok", float("nan")], TypeError, "missing values"),
        ([b"raw"], TypeError, "Decode bytes"),
        (pd.DataFrame({"text": DOCS}), ValueError, r"df\['text'\]"),
        (5, TypeError, "iterable of strings"),
    ],
)
def test_bad_documents_are_refused_clearly(bad, error, match):
    with pytest.raises(error, match=match):
        TextTokenizer().fit(bad)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"tokenizer": "bpe"}, "'tokenizer' parameter of TextTokenizer"),
        ({"max_vocabulary": 0}, "'max_vocabulary' parameter"),
        ({"min_count": 1.5}, "'min_count' parameter"),
        ({"max_length": True}, "'max_length' parameter"),
        ({"lowercase": "yes"}, "'lowercase' parameter"),
    ],
)
def test_bad_parameters_are_refused_in_fit(params, match):
    tok = TextTokenizer(**params)  # __init__ only stores
    with pytest.raises(InvalidParameterError, match=match):
        tok.fit(DOCS)


def test_transform_before_fit_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TextTokenizer().transform(DOCS)


def test_from_tokens_rebuilds_a_fitted_tokenizer():
    tok = TextTokenizer(max_length=5).fit(DOCS)
    again = TextTokenizer.from_tokens(tok.tokens_, max_length=5)
    np.testing.assert_array_equal(again.transform(DOCS), tok.transform(DOCS))
    with pytest.raises(ValueError, match="starting with"):
        TextTokenizer.from_tokens(["a", "b"])
    with pytest.raises(ValueError, match="repeat"):
        TextTokenizer.from_tokens([PAD_TOKEN, UNK_TOKEN, "a", "a"])


def test_inverse_transform_rejects_bad_ids():
    tok = TextTokenizer().fit(DOCS)
    with pytest.raises(ValueError, match="2-D integer"):
        tok.inverse_transform([1, 2])
    with pytest.raises(ValueError, match="vocabulary's ids"):
        tok.inverse_transform([[99]])


def test_sklearn_contract_clone_pickle_pipeline():
    tok = TextTokenizer(max_length=4)
    assert clone(tok).get_params() == tok.get_params()
    tok.fit(DOCS)
    restored = pickle.loads(pickle.dumps(tok))
    np.testing.assert_array_equal(restored.transform(DOCS), tok.transform(DOCS))
    pipe = make_pipeline(TextTokenizer(max_length=4), FunctionTransformer(np.sign))
    assert pipe.fit_transform(DOCS).shape == (3, 4)
    assert tok.__sklearn_tags__().input_tags.string


def test_input_is_not_modified():
    docs = list(DOCS)
    TextTokenizer().fit(docs).transform(docs)
    assert docs == DOCS
    assert check_texts(docs) is not docs


@settings(max_examples=25, deadline=None)
@given(
    texts=st.lists(st.text(max_size=30), min_size=1, max_size=6),
    mode=st.sampled_from(["word", "char", "byte"]),
    max_length=st.integers(1, 12),
)
def test_ids_and_lengths_are_consistent(texts, mode, max_length):
    tok = TextTokenizer(mode, max_length=max_length).fit(texts)
    ids, lengths = tok.encode(texts)
    assert ids.shape == (len(texts), max_length)
    assert ((ids >= 0) & (ids < len(tok.tokens_))).all()
    for row, n, text in zip(ids, lengths, texts, strict=True):
        assert n == min(len(tok.tokenize(text)), max_length)
        assert (row[:n] > 1).all()  # every training token is known
        assert (row[n:] == 0).all()
