"""Everything the rules need to know about one reply, computed once and shared by all rules."""

from __future__ import annotations

import re
from bisect import bisect_right

from .normalize import NormalizedText, normalize
from .tokenize import Tokenizer

# After NFKC folding, ！？；～ arrive as !?;~ and … as "..." (see _SENTENCE_BREAK).
QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "‘": "’", '"': '"', "《": "》"}


class Analysis:
    """A reply after normalisation. All offsets index ``normalized.text``.

    Tokens, sentences and quotes are computed on first use and then shared by every rule:
    a reply in which no rule finds a candidate is never segmented at all.
    """

    __slots__ = ("normalized", "_tokenizer", "_tokens", "_starts", "_ends", "_sentences", "_quotes", "_memo")

    def __init__(self, normalized: NormalizedText, tokenizer: Tokenizer) -> None:
        self.normalized = normalized
        self._tokenizer = tokenizer
        self._tokens: list[tuple[int, int]] | None = None
        self._starts: frozenset[int] | None = None
        self._ends: frozenset[int] | None = None
        self._sentences: tuple[tuple[int, int], ...] | None = None
        self._quotes: tuple[tuple[int, int], ...] | None = None
        self._memo: dict | None = None

    @property
    def memo(self) -> dict:
        """Results of higher layers computed once per reply and shared by rules (intent verdicts)."""
        if self._memo is None:
            self._memo = {}
        return self._memo

    @property
    def original(self) -> str:
        return self.normalized.original

    @property
    def text(self) -> str:
        return self.normalized.text

    @property
    def tokens(self) -> list[tuple[int, int]]:
        if self._tokens is None:
            self._tokens = self._tokenizer.token_spans(self.normalized.text) if self.normalized.text else []
        return self._tokens

    @property
    def token_starts(self) -> frozenset[int]:
        if self._starts is None:
            self._starts = frozenset(start for start, _ in self.tokens)
        return self._starts

    @property
    def token_ends(self) -> frozenset[int]:
        if self._ends is None:
            self._ends = frozenset(end for _, end in self.tokens)
        return self._ends

    @property
    def sentences(self) -> tuple[tuple[int, int], ...]:
        if self._sentences is None:
            self._sentences = split_sentences(self.normalized.text)
        return self._sentences

    @property
    def quotes(self) -> tuple[tuple[int, int], ...]:
        if self._quotes is None:
            self._quotes = find_quotes(self.normalized.text)
        return self._quotes

    def on_token_boundaries(self, start: int, end: int) -> bool:
        return start in self.token_starts and end in self.token_ends

    def in_quote(self, start: int, end: int) -> bool:
        """True when ``[start, end)`` lies inside quotation marks (the customer's words).

        Quotes are disjoint and in order, so only the last one opening at or before
        ``start`` can hold the range: a bisection, not a scan (rules ask per finding)."""
        quotes = self.quotes
        index = bisect_right(quotes, (start, float("inf"))) - 1
        return index >= 0 and end <= quotes[index][1]

    def token_at(self, position: int) -> tuple[int, int] | None:
        tokens = self.tokens
        index = bisect_right(tokens, (position, float("inf"))) - 1
        if index >= 0 and tokens[index][0] == position:
            return tokens[index]
        return None

    def next_token(self, token: tuple[int, int]) -> tuple[int, int] | None:
        return self.token_at(token[1])

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        return self.normalized.to_original(start, end)


def analyze(original: str, tokenizer: Tokenizer) -> Analysis:
    return Analysis(normalize(original), tokenizer)


_SENTENCE_BREAK = re.compile(r"(?:[。!?;~\n\r]|\.\.\.)(?:[。!?;~\n\r.])*")
_QUOTE_OPENERS = re.compile("[" + re.escape("".join(QUOTE_PAIRS)) + "]")


def split_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans, delimiters excluded; "..." (a folded …) also ends a sentence."""
    sentences = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        if match.start() > start:
            sentences.append((start, match.start()))
        start = match.end()
    if start < len(text):
        sentences.append((start, len(text)))
    return tuple(sentences)


def find_quotes(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of quoted words, the quotation marks excluded. Unclosed quotes quote nothing."""
    if _QUOTE_OPENERS.search(text) is None:
        return ()
    quotes = []
    index = 0
    length = len(text)
    while index < length:
        closer = QUOTE_PAIRS.get(text[index])
        if closer is not None:
            close_at = text.find(closer, index + 1)
            if close_at != -1:
                quotes.append((index + 1, close_at))
                index = close_at + 1
                continue
        index += 1
    return tuple(quotes)
