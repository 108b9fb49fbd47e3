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

import importlib.util
import os
import re
import string
import threading
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from functools import lru_cache

from .cache import read_cached, write_cached

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


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    """Width/compatibility and case folding for one character; '' drops it."""
    if char.isascii():
        return char.lower()
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf"):
        return ""
    if category == "Cs":
        # A lone surrogate (an undecodable byte in the caller's string) is no character:
        # OpenCC and the tokenizers cannot encode it. It is matched as U+FFFD, one for one.
        return "\ufffd"
    folded = unicodedata.normalize("NFKC", char)
    # NFKC turns U+3000 and friends into ASCII space and leaves the rest of the text alone.
    return "".join(c for c in folded if unicodedata.category(c) not in ("Mn", "Me", "Cf")).lower()


class NormalizedText:
    """``text`` is the normalised form; ``origin[i]`` is the index in ``original`` of ``text[i]``.

    Immutable. The offset map is only needed when a rule reports a finding, so the fast path
    stores the filler runs it removed and builds ``origin`` from them on first use.
    """

    __slots__ = ("_origin", "_removed", "original", "text")

    def __init__(
        self, original: str, text: str, origin: Sequence[int] | None = None, removed: Sequence[tuple[int, int]] = ()
    ) -> None:
        self.original = original
        self.text = text
        self._origin = origin
        self._removed = removed

    @property
    def origin(self) -> Sequence[int]:
        if self._origin is None:
            # Fast path: one output character per input character, minus the removed runs.
            identity = range(len(self.original))
            self._origin = _without_positions(identity, self._removed) if self._removed else identity
        return self._origin

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, NormalizedText)
            and (self.original, self.text) == (other.original, other.text)
            and list(self.origin) == list(other.origin)
        )

    def __hash__(self) -> int:
        return hash((self.original, self.text))

    def __repr__(self) -> str:
        return f"NormalizedText({self.original!r} -> {self.text!r})"

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised range ``[start, end)`` to the original text."""
        origin = self.origin
        if start >= end:
            position = origin[start] if start < len(origin) else len(self.original)
            return position, position
        return origin[start], origin[end - 1] + 1


# The hot-path patterns use the standard library's re: for these simple classes it is
# several times faster than the regex module, and they are ours, not user input.
# Characters whose fold is one character (or themselves): ASCII, Han, CJK punctuation and
# the full-width ASCII block. Text made only of these takes the fast path below.
_SIMPLE = re.compile(r"[^\u0020-\u007e\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e\u2018\u2019\u201c\u201d\u00b7]")
# Full-width ASCII (！ Ａ １) to ASCII, ideographic space to space, and upper case to lower.
_FAST_FOLD = {code: chr(code - 0xFEE0).lower() for code in range(0xFF01, 0xFF5F)}
_FAST_FOLD.update({ord(c): c.lower() for c in string.ascii_uppercase})
_FAST_FOLD[0x3000] = " "
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_FAST_FOLD)) + "]")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # with the supplementary ideographs
_FILLER_CLASS = "".join(re.escape(c) for c in sorted(DODGE_FILLERS))
_FILLER = re.compile(f"[{_FILLER_CLASS}]")
_DODGE_RUN = re.compile(f"(?<=[{_HAN}])[{_FILLER_CLASS}]+(?=[{_HAN}])")

_fold_table: list[int] | None = None


def _fast_fold_table() -> list[int]:
    """``_FAST_FOLD`` as a list indexed by code point, for ``str.translate``.

    With a dict, every character the table does not map costs translate a KeyError; with
    a list that maps every BMP character (to itself unless folded) lookups always hit, which
    is about twice as fast on Chinese text. Built on first use (a few milliseconds, 2 MB).
    """
    global _fold_table
    if _fold_table is None:
        table = list(range(0x10000))
        for code, folded in _FAST_FOLD.items():
            table[code] = ord(folded)
        _fold_table = table
    return _fold_table


def normalize(original: str) -> NormalizedText:
    if _SIMPLE.search(original) is not None:
        return _normalize_general(original)
    return _normalize_simple(original, True, True, True)


def normalize_many(originals: Sequence[str]) -> list[NormalizedText]:
    """``[normalize(text) for text in originals]``, with each cheap search done once over the
    whole batch first. They look for single characters, so the concatenated batch holds one
    exactly when some reply does; a step none of the replies needs is then skipped for all."""
    joined = "".join(originals)
    general = _SIMPLE.search(joined) is not None
    foldable = _FOLDABLE.search(joined) is not None
    filler = _FILLER.search(joined) is not None
    traditional = (_traditional_chars or _traditional_pattern()).search(joined) is not None
    return [
        _normalize_general(original) if general and _SIMPLE.search(original) is not None
        else _normalize_simple(original, foldable, filler, traditional)
        for original in originals
    ]


def _normalize_simple(original: str, foldable: bool, filler: bool, traditional: bool) -> NormalizedText:
    """Fast path: every character folds to exactly one character, so only the removed filler
    runs need remembering for the offset map. Each step is skipped when a cheap search shows
    it has nothing to do (most replies need one or two of them); a flag False says the caller
    knows already (``normalize_many``)."""
    text = original
    if foldable and _FOLDABLE.search(text) is not None:
        text = text.translate(_fold_table or _fast_fold_table())
    removed: list[tuple[int, int]] = []
    if filler and _FILLER.search(text) is not None:
        removed = [match.span() for match in _DODGE_RUN.finditer(text)]
        if removed:
            text = _without(text, removed)
    if traditional and (_traditional_chars or _traditional_pattern()).search(text) is not None:
        text = _to_simplified(text)
    return NormalizedText(original, text, None, removed)


def _kept(runs: Sequence[tuple[int, int]], length: int) -> Iterator[tuple[int, int]]:
    """The ranges of ``[0, length)`` left when the sorted, disjoint ``runs`` are removed."""
    position = 0
    for start, end in runs:
        yield position, start
        position = end
    yield position, length


def _without(text: str, runs: Sequence[tuple[int, int]]) -> str:
    return "".join(text[start:end] for start, end in _kept(runs, len(text)))


def _without_positions(positions: Sequence[int], runs: Sequence[tuple[int, int]]) -> list[int]:
    return [position for start, end in _kept(runs, len(positions)) for position in positions[start:end]]


def _normalize_general(original: str) -> NormalizedText:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(original):
        folded = _fold_char(char)
        for piece in folded:
            chars.append(piece)
            origin.append(index)
    text = "".join(chars)
    removed = [match.span() for match in _DODGE_RUN.finditer(text)]
    if removed:
        text, origin = _without(text, removed), _without_positions(origin, removed)
    if not text.isascii():
        text = _to_simplified(text)
    return NormalizedText(original, text, tuple(origin))


_traditional_chars: re.Pattern[str] | None = None
_traditional_lock = threading.Lock()  # not _converter_lock: building the set needs _t2s()


def _traditional_pattern() -> re.Pattern[str]:
    """A character class of the Han characters OpenCC would change (most replies hold none).

    Built once from OpenCC and cached on disk per OpenCC install, so a cold start neither
    imports OpenCC nor converts the 20,992 characters of the CJK block again.
    """
    global _traditional_chars
    if _traditional_chars is None:
        with _traditional_lock:
            if _traditional_chars is None:
                cache_name = f"traditional-{_opencc_fingerprint()}.txt"
                characters = read_cached(cache_name)
                if not characters:
                    han = [chr(code) for code in range(0x4E00, 0xA000)]
                    converted = _t2s().convert("\n".join(han)).split("\n")
                    characters = "".join(c for c, s in zip(han, converted) if c != s)
                    write_cached(cache_name, characters)
                _traditional_chars = re.compile("[" + re.escape(characters) + "]")
    return _traditional_chars


def _opencc_fingerprint() -> str:
    """Names the installed OpenCC (where it is and when it was installed) without importing it."""
    spec = importlib.util.find_spec("opencc")
    location = spec.origin if spec and spec.origin else "none"
    try:
        stamp = os.stat(location).st_mtime_ns
    except OSError:
        stamp = 0
    return f"{zlib.crc32(location.encode('utf-8')):08x}-{stamp}"


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
