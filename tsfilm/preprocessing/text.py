"""Texts to padded token ids: the input of the text classifiers."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from tsfilm.validation import StrOptions, int_at_least

__all__ = ["PAD_TOKEN", "TOKENIZERS", "UNK_TOKEN", "TextTokenizer", "check_texts"]

#: The token of id 0, which fills rows after the end of a document.
PAD_TOKEN = "<pad>"
#: The token of id 1, which replaces tokens outside the vocabulary.
UNK_TOKEN = "<unk>"
#: Accepted values of ``tokenizer``.
TOKENIZERS = ("word", "char", "byte")

# A word keeps inner apostrophes ("don't", "isn't": negations matter for sentiment);
# every other non-space character is a token of its own.
_WORD_PATTERN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def check_texts(X: Any, *, name: str = "X") -> list[str]:
    """Validate documents: an iterable of strings, one per document.

    Parameters
    ----------
    X : iterable of str
        A list, tuple, 1-D array or pandas Series of strings, or a generator (read once).
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    list of str
        The documents, as a new list (``X`` is left unchanged).

    Raises
    ------
    TypeError
        ``X`` is a single string or an item is not a string (missing values included).
    ValueError
        ``X`` is empty or is a 2-D table.

    Examples
    --------
    >>> check_texts(("a cat", ""))
    ['a cat', '']
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{name} must be an iterable of strings, one per document; got a single "
            f"{type(X).__name__}. Wrap it in a list: [{name}]."
        )
    if len(getattr(X, "shape", ())) > 1:
        raise ValueError(
            f"{name} must be one-dimensional, one string per document; got shape "
            f"{np.shape(X)}. Select the text column, e.g. df['text']."
        )
    if not isinstance(X, Iterable):
        raise TypeError(
            f"{name} must be an iterable of strings, one per document; got {type(X).__name__}."
        )
    texts = list(X)
    if not texts:
        raise ValueError(f"{name} is empty; give at least one document.")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            hint = (
                " Drop or fill missing values first."
                if text is None or (isinstance(text, float) and np.isnan(text))
                else " Decode bytes first."
                if isinstance(text, bytes)
                else ""
            )
            raise TypeError(
                f"{name}[{i}] is a {type(text).__name__} ({text!r:.40}), not a string; every "
                f"document must be a str.{hint}"
            )
    return [str(t) for t in texts]


class TextTokenizer(TransformerMixin, BaseEstimator):
    """Turn documents into padded rows of token ids with a learned vocabulary.

    ``fit`` counts the tokens of the training documents and keeps the
    ``max_vocabulary`` most frequent ones seen at least ``min_count`` times (ties
    broken alphabetically, so the vocabulary does not depend on document order).
    ``transform`` gives every document a row of ``max_length`` ids: its first
    ``max_length`` tokens, then padding. Id 0 is padding (``<pad>``) and id 1 stands
    for every token outside the vocabulary (``<unk>``), so any text is accepted.

    Parameters
    ----------
    tokenizer : {"word", "char", "byte"}, default="word"
        "word": runs of letters and digits (keeping inner apostrophes, as in
        "don't") and single punctuation marks; whitespace separates tokens and is
        dropped. "char": every character, whitespace included. "byte": every byte
        of the UTF-8 encoding, byte ``b`` written as the one-character token
        ``chr(b)``.
    max_vocabulary : int or None, default=20000
        Largest number of distinct tokens kept, the most frequent first, not
        counting ``<pad>`` and ``<unk>``; None keeps all.
    min_count : int, default=1
        Tokens seen fewer times in the training documents become ``<unk>``.
    max_length : int or None, default=256
        Ids per document (the paper's sequence length of 256): longer documents are
        truncated, shorter ones padded with 0. None pads to the longest document of
        each call and never truncates.
    lowercase : bool, default=True
        Lower-case documents before splitting them.

    Attributes
    ----------
    tokens_ : list of str
        The vocabulary by id: ``tokens_[0] == "<pad>"``, ``tokens_[1] == "<unk>"``,
        then the kept tokens, most frequent first.
    vocabulary_ : dict of str to int
        Token to id, the inverse of ``tokens_``.

    See Also
    --------
    tsfilm.TFiLMTextClassifier : Uses this tokenizer internally.

    Examples
    --------
    >>> from tsfilm.preprocessing import TextTokenizer
    >>> tok = TextTokenizer(max_length=6).fit(["a good film", "a bad film!"])
    >>> tok.tokens_
    ['<pad>', '<unk>', 'a', 'film', '!', 'bad', 'good']
    >>> tok.transform(["A good, good plot"])
    array([[2, 6, 1, 6, 1, 0]])
    >>> ids, lengths = tok.encode(["film", ""])
    >>> lengths
    array([1, 0])
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "tokenizer": [StrOptions(set(TOKENIZERS))],
        "max_vocabulary": [int_at_least(1), None],
        "min_count": [int_at_least(1)],
        "max_length": [int_at_least(1), None],
        "lowercase": ["boolean"],
    }

    def __init__(
        self,
        tokenizer: str = "word",
        *,
        max_vocabulary: int | None = 20000,
        min_count: int = 1,
        max_length: int | None = 256,
        lowercase: bool = True,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_vocabulary = max_vocabulary
        self.min_count = min_count
        self.max_length = max_length
        self.lowercase = lowercase

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def tokenize(self, text: str) -> list[str]:
        """Split one document into tokens (no vocabulary needed).

        Parameters
        ----------
        text : str
            One document.

        Returns
        -------
        list of str
            Its tokens, in order, not truncated.

        Examples
        --------
        >>> TextTokenizer().tokenize("Don't panic!")
        ["don't", 'panic', '!']
        >>> TextTokenizer("byte", lowercase=False).tokenize("é")
        ['Ã', '©']
        """
        self._validate_params()
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}.")
        if self.lowercase:
            text = text.lower()
        if self.tokenizer == "word":
            return _WORD_PATTERN.findall(text)
        if self.tokenizer == "char":
            return list(text)
        # latin-1 maps byte b to chr(b) one to one, so bytes become 1-character strings.
        return list(text.encode("utf-8").decode("latin-1"))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Iterable[str], y: Any = None) -> TextTokenizer:
        """Learn the vocabulary of the documents ``X``.

        Parameters
        ----------
        X : iterable of str
            Training documents.
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self : TextTokenizer
            The fitted tokenizer.
        """
        texts = check_texts(X)
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(self.tokenize(text))
        # Real text may spell the special tokens; their ids must stay 0 and 1.
        counts.pop(PAD_TOKEN, None)
        counts.pop(UNK_TOKEN, None)
        kept = sorted(
            (token for token, count in counts.items() if count >= self.min_count),
            key=lambda token: (-counts[token], token),
        )
        if self.max_vocabulary is not None:
            kept = kept[: self.max_vocabulary]
        self._set_tokens([PAD_TOKEN, UNK_TOKEN, *kept])
        return self

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], **params: Any) -> TextTokenizer:
        """A fitted tokenizer with a given vocabulary, e.g. a saved ``tokens_``.

        Parameters
        ----------
        tokens : sequence of str
            The vocabulary by id; must start with ``"<pad>"``, ``"<unk>"``.
        **params
            Constructor parameters.

        Returns
        -------
        TextTokenizer
            Fitted: ``transform`` works without ``fit``.

        Raises
        ------
        ValueError
            If ``tokens`` does not start with the special tokens or repeats a token.

        Examples
        --------
        >>> tok = TextTokenizer.from_tokens(["<pad>", "<unk>", "hi"], max_length=3)
        >>> tok.transform(["hi there"])
        array([[2, 1, 0]])
        """
        tokenizer = cls(**params)
        tokenizer._validate_params()
        tokens = list(tokens)
        if tokens[:2] != [PAD_TOKEN, UNK_TOKEN] or not all(isinstance(t, str) for t in tokens):
            raise ValueError(
                f"tokens must be strings starting with {PAD_TOKEN!r}, {UNK_TOKEN!r} (ids 0 "
                f"and 1); got {tokens[:3]!r}..."
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError("tokens must not repeat a token: each token has one id.")
        tokenizer._set_tokens(tokens)
        return tokenizer

    def _set_tokens(self, tokens: list[str]) -> None:
        self.tokens_ = tokens
        self.vocabulary_ = {token: i for i, token in enumerate(tokens)}

    def encode(self, X: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and the number of real (non-padding) ids of every document.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        ids : ndarray of shape (n_documents, max_length), int64
            Token ids, 1 for tokens outside the vocabulary, 0 after the end of each
            document. With ``max_length=None`` the width is the longest document's
            token count (at least 1).
        lengths : ndarray of shape (n_documents,), int64
            Real ids per row, after truncation (0 for a document without tokens).
        """
        check_is_fitted(self, "tokens_")
        self._validate_params()
        texts = check_texts(X)
        unk = self.vocabulary_[UNK_TOKEN]
        rows = []
        for text in texts:
            tokens = self.tokenize(text)
            if self.max_length is not None:
                tokens = tokens[: self.max_length]
            rows.append([self.vocabulary_.get(token, unk) for token in tokens])
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        width = self.max_length if self.max_length is not None else max(1, int(lengths.max()))
        ids = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        return ids, lengths

    def transform(self, X: Iterable[str]) -> np.ndarray:
        """Token ids of the documents, padded with 0.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        ids : ndarray of shape (n_documents, max_length), int64
            As the first output of :meth:`encode`.
        """
        return self.encode(X)[0]

    def inverse_transform(self, ids: Any) -> list[list[str]]:
        """The tokens of rows of ids, padding dropped.

        Parameters
        ----------
        ids : array-like of shape (n_documents, n_ids), int
            Rows as :meth:`transform` returns them.

        Returns
        -------
        list of list of str
            The tokens of every row (``"<unk>"`` where a token was unknown).

        Examples
        --------
        >>> tok = TextTokenizer().fit(["the end"])
        >>> tok.inverse_transform(tok.transform(["the start"])[:, :3])
        [['the', '<unk>']]
        """
        check_is_fitted(self, "tokens_")
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(
                f"ids must be a 2-D integer array (n_documents, n_ids); got shape "
                f"{ids.shape} and dtype {ids.dtype}."
            )
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.tokens_)):
            raise ValueError(f"ids must lie in [0, {len(self.tokens_)}), the vocabulary's ids.")
        return [[self.tokens_[i] for i in row if i != 0] for row in ids.tolist()]
