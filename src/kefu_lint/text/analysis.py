"""Everything the rules need to know about one reply, computed once and shared by all rules."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from .normalize import NormalizedText, normalize
from .tokenize import Tokenizer

# After NFKC folding, ！？；～ arrive as !?;~ and … as "...".
SENTENCE_DELIMITERS = frozenset("。!?;~\n\r")
QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "‘": "’", '"': '"', "《": "》"}


@dataclass(frozen=True, slots=True)
class Analysis:
    """A reply after normalisation and segmentation. All offsets index ``normalized.text``."""

    normalized: NormalizedText
    tokens: tuple[tuple[int, int], ...]
    token_starts: frozenset[int]
    token_ends: frozenset[int]
    sentences: tuple[tuple[int, int], ...]
    quotes: tuple[tuple[int, int], ...]

    @property
    def original(self) -> str:
        return self.normalized.original

    @property
    def text(self) -> str:
        return self.normalized.text

    def on_token_boundaries(self, start: int, end: int) -> bool:
        return start in self.token_starts and end in self.token_ends

    def in_quote(self, start: int, end: int) -> bool:
        """True when ``[start, end)`` lies inside quotation marks (the customer's words)."""
        return any(q_start <= start and end <= q_end for q_start, q_end in self.quotes)

    def token_at(self, position: int) -> tuple[int, int] | None:
        index = bisect_right(self.tokens, (position, float("inf"))) - 1
        if index >= 0 and self.tokens[index][0] == position:
            return self.tokens[index]
        return None

    def next_token(self, token: tuple[int, int]) -> tuple[int, int] | None:
        return self.token_at(token[1])

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        return self.normalized.to_original(start, end)


def analyze(original: str, tokenizer: Tokenizer) -> Analysis:
    normalized = normalize(original)
    text = normalized.text
    tokens = tuple(tokenizer.token_spans(text)) if text else ()
    return Analysis(
        normalized=normalized,
        tokens=tokens,
        token_starts=frozenset(start for start, _ in tokens),
        token_ends=frozenset(end for _, end in tokens),
        sentences=split_sentences(text),
        quotes=find_quotes(text),
    )


def split_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans, delimiters excluded; "..." (a folded …) also ends a sentence."""
    sentences = []
    start = 0
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        is_ellipsis = char == "." and text.startswith("...", index)
        if char in SENTENCE_DELIMITERS or is_ellipsis:
            if index > start:
                sentences.append((start, index))
            while index < length and (text[index] in SENTENCE_DELIMITERS or text[index] == "."):
                index += 1
            start = index
            continue
        index += 1
    if start < length:
        sentences.append((start, length))
    return tuple(sentences)


def find_quotes(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of quoted words, the quotation marks excluded. Unclosed quotes quote nothing."""
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
