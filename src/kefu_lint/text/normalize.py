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

import string
import threading
import unicodedata

import regex
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


# Characters whose fold is one character (or themselves): ASCII, Han, CJK punctuation and
# the full-width ASCII block. Text made only of these takes the fast path below.
_SIMPLE = regex.compile(r"[^\u0020-\u007e\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e\u2018\u2019\u201c\u201d\u2026\u00b7]")
# Full-width ASCII (！ Ａ １) to ASCII, ideographic space to space, and upper case to lower.
_FAST_FOLD = {code: chr(code - 0xFEE0).lower() for code in range(0xFF01, 0xFF5F)}
_FAST_FOLD.update({ord(c): c.lower() for c in string.ascii_uppercase})
_FAST_FOLD[0x3000] = " "
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_FILLER_CLASS = "".join(regex.escape(c) for c in sorted(DODGE_FILLERS))
_DODGE = regex.compile(f"[{_HAN}][{_FILLER_CLASS}]+[{_HAN}]")
_DODGE_RUN = regex.compile(f"(?<=[{_HAN}])[{_FILLER_CLASS}]+(?=[{_HAN}])")


def normalize(original: str) -> NormalizedText:
    if _SIMPLE.search(original) is None:
        # Fast path: every character folds to exactly one character.
        text = original.translate(_FAST_FOLD)
        if "\u2026" in text:  # … folds to "..." (three characters): take the general path
            return _normalize_general(original)
        origin = range(len(original))
        if _DODGE.search(text):
            chars, origin_list = _drop_dodge_fillers(list(text), list(origin))
            text, origin = "".join(chars), origin_list
        if _has_traditional(text):
            text = _to_simplified(text)
        return NormalizedText(original, text, tuple(origin))
    return _normalize_general(original)


def _normalize_general(original: str) -> NormalizedText:
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


_traditional: frozenset[str] | None = None
_traditional_lock = threading.Lock()  # not _converter_lock: building the table needs _t2s()


def _has_traditional(text: str) -> bool:
    """True when ``text`` holds a character OpenCC would change (most replies hold none)."""
    global _traditional
    if text.isascii():
        return False
    if _traditional is None:
        converter = _t2s()
        with _traditional_lock:
            if _traditional is None:
                han = [chr(code) for code in range(0x4E00, 0xA000)]
                converted = converter.convert("\n".join(han)).split("\n")
                _traditional = frozenset(c for c, s in zip(han, converted) if c != s)
    return not _traditional.isdisjoint(text)


def _drop_dodge_fillers(chars: list[str], origin: list[int]) -> tuple[list[str], list[int]]:
    """Remove runs of filler characters that sit between two Han characters."""
    text = "".join(chars)
    runs = [match.span() for match in _DODGE_RUN.finditer(text)]
    if not runs:
        return chars, origin
    kept_text: list[str] = []
    kept_origin: list[int] = []
    position = 0
    for start, end in runs:
        kept_text.append(text[position:start])
        kept_origin.extend(origin[position:start])
        position = end
    kept_text.append(text[position:])
    kept_origin.extend(origin[position:])
    return list("".join(kept_text)), kept_origin


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
