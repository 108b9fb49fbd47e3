"""Normalise a reply for matching while remembering where every character came from.

Rules match on the normalised text and report spans in the original, so normalisation may
drop, widen or replace characters but must keep, for each output character, the index of
the input character it came from.

What is folded, and why:
- compatibility forms (NFKC): full-width ``！？，ＡＢ１２`` match like ``!?,AB12``;
- ASCII case: ``sku`` matches the jargon entry ``SKU``;
- Traditional Chinese to Simplified: ``這個不歸我們管`` is caught like ``这个不归我们管``;
- invisible characters (zero-width, joiners, combining marks, variation selectors) vanish;
- filler between two Han characters (``不 行``, ``爱*买*不*买``) vanishes, because
  inserting it is the usual way to dodge a phrase filter.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters someone inserts between Han characters to break up a banned phrase. Sentence
# punctuation is not here: a comma between two words is a real boundary, not a dodge.
DODGE_FILLERS = frozenset(" \t\u3000*·•_|\\^-./+=#`'")

_converter_lock = threading.Lock()
_converter = None


def _t2s():
    """The shared OpenCC converter: immutable once built, so one per process is enough."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


def is_han(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3134F
    )


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    """Width/compatibility and case folding for one character; '' drops it."""
    if char.isascii():
        return char.lower()
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf"):
        return ""
    folded = unicodedata.normalize("NFKC", char)
    # NFKC turns U+3000 and friends into ASCII space and leaves the rest of the text alone.
    return "".join(c for c in folded if unicodedata.category(c) not in ("Mn", "Me", "Cf")).lower()


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """``text`` is the normalised form; ``origin[i]`` is the index in ``original`` of ``text[i]``."""

    original: str
    text: str
    origin: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised range ``[start, end)`` to the original text."""
        if start >= end:
            position = self.origin[start] if start < len(self.origin) else len(self.original)
            return position, position
        return self.origin[start], self.origin[end - 1] + 1


def normalize(original: str) -> NormalizedText:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(original):
        folded = _fold_char(char)
        for piece in folded:
            chars.append(piece)
            origin.append(index)
    chars, origin = _drop_dodge_fillers(chars, origin)
    text = "".join(chars)
    if not text.isascii():
        text = _to_simplified(text)
    return NormalizedText(original, text, tuple(origin))


def _drop_dodge_fillers(chars: list[str], origin: list[int]) -> tuple[list[str], list[int]]:
    if not any(c in DODGE_FILLERS for c in chars):
        return chars, origin
    keep_chars: list[str] = []
    keep_origin: list[int] = []
    count = len(chars)
    index = 0
    while index < count:
        char = chars[index]
        if char in DODGE_FILLERS and keep_chars and is_han(keep_chars[-1]):
            run_end = index
            while run_end < count and chars[run_end] in DODGE_FILLERS:
                run_end += 1
            if run_end < count and is_han(chars[run_end]):
                index = run_end
                continue
        keep_chars.append(char)
        keep_origin.append(origin[index])
        index += 1
    return keep_chars, keep_origin


def _to_simplified(text: str) -> str:
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    # A phrase-level conversion changed the length; convert character by character so the
    # offset map stays one-to-one.
    return "".join(_t2s_char(c) for c in text)


@lru_cache(maxsize=65536)
def _t2s_char(char: str) -> str:
    converted = _t2s().convert(char)
    return converted if len(converted) == 1 else char
