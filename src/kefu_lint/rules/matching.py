"""Finding phrases and patterns in an analysed reply: the mechanism every phrase rule shares.

One Aho-Corasick automaton scans a whole phrase list in a single pass. A hit counts only
when it starts and ends on token boundaries (regex ``\\b`` means nothing in Chinese: 你 must
not match inside 迷你), lies outside quotation marks, and is not covered by an exception.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick
import regex

from ..errors import PatternTimeoutWarning
from ..text.analysis import Analysis
from ..text.normalize import normalize

Payload = TypeVar("Payload")

#: Seconds one ruleset regex may run on one reply before it is cut off.
PATTERN_TIME_LIMIT = 0.25


def normalized_key(phrase: str) -> str:
    return normalize(phrase).text


@dataclass(frozen=True, slots=True)
class Hit(Generic[Payload]):
    start: int
    end: int
    payload: Payload


class PhraseAutomaton(Generic[Payload]):
    """All occurrences of a list of phrases, found in one pass over the normalised text."""

    def __init__(self, entries: Iterable[tuple[str, Payload]]) -> None:
        self._automaton = ahocorasick.Automaton()
        self.keys: list[str] = []
        for phrase, payload in entries:
            key = normalized_key(phrase)
            if not key:
                continue
            existing = self._automaton.get(key, None)
            if existing is None:
                self._automaton.add_word(key, (len(key), payload))
                self.keys.append(key)
        self.empty = not self.keys
        if not self.empty:
            self._automaton.make_automaton()

    def hits(self, text: str) -> list[Hit[Payload]]:
        if self.empty or not text:
            return []
        return [
            Hit(end + 1 - length, end + 1, payload)
            for end, (length, payload) in self._automaton.iter(text)
        ]


class CompiledPatterns(Generic[Payload]):
    """Ruleset regular expressions, each run with a time limit."""

    def __init__(self, entries: Iterable[tuple[str, Payload]], *, rule: str) -> None:
        self._patterns = [(regex.compile(normalized_pattern(p)), p, payload) for p, payload in entries]
        self._rule = rule

    def hits(self, text: str) -> list[Hit[Payload]]:
        found: list[Hit[Payload]] = []
        for compiled, source, payload in self._patterns:
            try:
                for match in compiled.finditer(text, timeout=PATTERN_TIME_LIMIT):
                    if match.end() > match.start():
                        found.append(Hit(match.start(), match.end(), payload))
            except TimeoutError:
                warnings.warn(
                    PatternTimeoutWarning(
                        f"{self._rule}: pattern {source!r} exceeded its {PATTERN_TIME_LIMIT}s time "
                        f"limit on a reply of {len(text)} characters and was skipped for it; "
                        "simplify the pattern (avoid nested repeats such as (a+)+)"
                    ),
                    stacklevel=2,
                )
        return found


def normalized_pattern(pattern: str) -> str:
    """Fold the literal characters of a pattern the way replies are folded (Traditional, width, case)."""
    folded = normalize(pattern)
    # Normalisation drops some characters (spaces between Han); only keep the fold when it
    # changed characters one for one, otherwise the pattern's syntax could break.
    return folded.text if len(folded.text) == len(pattern) else pattern.lower()


def covered(start: int, end: int, ranges: Sequence[tuple[int, int]]) -> bool:
    """True when ``[start, end)`` intersects any of ``ranges``."""
    return any(r_start < end and start < r_end for r_start, r_end in ranges)


def keep_longest(hits: list[Hit[Payload]]) -> list[Hit[Payload]]:
    """Leftmost-longest, non-overlapping: 不买就别问 is one finding, not two."""
    ordered = sorted(hits, key=lambda hit: (hit.start, -(hit.end - hit.start)))
    kept: list[Hit[Payload]] = []
    for hit in ordered:
        if kept and hit.start < kept[-1].end:
            continue
        kept.append(hit)
    return kept


def filter_hits(
    analysis: Analysis,
    hits: list[Hit[Payload]],
    *,
    exceptions: PhraseAutomaton | None = None,
    boundaries: bool = True,
    skip_quotes: bool = True,
) -> list[Hit[Payload]]:
    """Drop hits that split a token, sit inside quotes, or overlap an exception."""
    if not hits:
        return hits
    text = analysis.text
    exception_ranges = [(h.start, h.end) for h in exceptions.hits(text)] if exceptions else []
    result = []
    for hit in hits:
        if boundaries and not analysis.on_token_boundaries(hit.start, hit.end):
            continue
        if skip_quotes and analysis.in_quote(hit.start, hit.end):
            continue
        if exception_ranges and covered(hit.start, hit.end, exception_ranges):
            continue
        result.append(hit)
    return keep_longest(result)
