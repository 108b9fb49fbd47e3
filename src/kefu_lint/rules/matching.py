"""Finding phrases and patterns in an analysed reply: the mechanism every phrase rule shares.

One Aho-Corasick automaton scans a whole phrase list in a single pass. A hit counts only
when it starts and ends on token boundaries (regex ``\\b`` means nothing in Chinese: 你 must
not match inside 迷你), lies outside quotation marks, and is not covered by an exception.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

import ahocorasick
import regex

if sys.version_info >= (3, 11):
    from re._constants import MAXREPEAT as _MAXREPEAT
    from re._parser import parse as _parse_regex
else:
    from sre_constants import MAXREPEAT as _MAXREPEAT
    from sre_parse import parse as _parse_regex

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


class GuardedPattern:
    """A ruleset regular expression, searched under a time limit unless it provably needs none.

    A shop's pattern may backtrack catastrophically (``(a+)+b``), so searches are cut off
    after ``PATTERN_TIME_LIMIT``. The limit has a price (the regex module's timeout costs a
    few microseconds a search, more than a whole short search), so a pattern that can only
    try a bounded number of ways at each position (see :func:`backtracks_boundedly`) runs
    without it: its search is linear in the text anyway.
    """

    __slots__ = ("bounded", "compiled", "finditer", "literal_prefix", "search", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.compiled = regex.compile(normalized_pattern(source), regex.IGNORECASE)
        self.bounded = backtracks_boundedly(self.compiled.pattern)
        #: Text every match starts with ("" when there is none), for the shared automaton.
        self.literal_prefix = literal_prefix(self.compiled)
        if self.bounded:
            self.search = self.compiled.search
            self.finditer = self.compiled.finditer
        else:
            self.search = partial(self.compiled.search, timeout=PATTERN_TIME_LIMIT)
            self.finditer = partial(self.compiled.finditer, timeout=PATTERN_TIME_LIMIT)


def literal_prefix(compiled: regex.Pattern) -> str:
    """The literal text every match of ``compiled`` starts with: ``不买`` for ``不买.{0,4}别问``.

    Replies are lower-cased, so under IGNORECASE the lower-cased prefix is what a match
    starts with. Empty when there is none, when full case-folding or a non-ASCII cased
    letter makes that untrue, or when the standard parser cannot read the pattern.
    """
    if compiled.flags & regex.FULLCASE:
        return ""
    tree = _standard_parse(compiled.pattern, compiled.flags)
    if tree is None:
        return ""
    if tree and tree[0][0].name == "SUBPATTERN" and len(tree) == 1:
        _, add_flags, _, body = tree[0][1]
        tree = [] if add_flags else list(body)  # a scoped (?i:…) group changes case rules
    prefix = []
    for op, argument in tree:
        if op.name != "LITERAL":
            break
        character = chr(argument)
        if compiled.flags & regex.IGNORECASE and not character.isascii() and character.lower() != character.upper():
            break
        prefix.append(character.lower() if compiled.flags & regex.IGNORECASE else character)
    return "".join(prefix)


# regex-module syntax the standard parser would misread as literals: fuzzy constraints
# ({e<=1}), and version-1 nested sets and set operations.
_REGEX_ONLY_SYNTAX = regex.compile(r"\{(?!\d*(?:,\d*)?\})|\[\[|--|&&|\|\||~~")


def _standard_parse(pattern: str, flags: int = 0) -> list | None:
    """The standard library's parse of ``pattern``, or None when it may not mean what the
    regex module makes of it (then callers keep the general, guarded path)."""
    if flags & regex.VERSION1 or _REGEX_ONLY_SYNTAX.search(pattern):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = _parse_regex(pattern)
        return [parsed[index] for index in range(len(parsed))]  # SubPattern iterates by index
    except Exception:  # noqa: BLE001 - any syntax the stdlib does not know
        return None


#: Most ways a bounded pattern may try at one position.
MAX_BOUNDED_WAYS = 4096


def backtracks_boundedly(pattern: str) -> bool:
    """True when a regex can try at most ``MAX_BOUNDED_WAYS`` ways to match at a position.

    That holds when every repeat has an upper bound and repeats one character (a literal, a
    class, ``.``), there are no back-references, and the choices (repeat ranges times
    alternatives) multiply to at most the limit. ``不买.{0,4}别问`` qualifies; ``(a+)+b``,
    ``.*x`` and anything the standard library cannot parse do not, and keep the time limit.
    """
    tree = _standard_parse(pattern)
    if tree is None:
        return False
    ways = _ways(tree)
    return ways is not None and ways <= MAX_BOUNDED_WAYS


_ONE_CHARACTER = {"LITERAL", "NOT_LITERAL", "ANY", "IN", "CATEGORY"}


def _ways(items: list) -> int | None:
    """Choices a parsed sequence can make at one position, or None when unbounded."""
    ways = 1
    for op, argument in items:
        name = op.name
        if name in _ONE_CHARACTER or name == "AT":
            continue
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, body = argument
            body = list(body)
            if high == _MAXREPEAT or len(body) != 1 or body[0][0].name not in _ONE_CHARACTER:
                return None
            ways *= high - low + 1
        elif name in ("SUBPATTERN", "ATOMIC_GROUP", "ASSERT", "ASSERT_NOT"):
            inner = _ways(list(argument[-1]))
            if inner is None:
                return None
            ways *= inner
        elif name == "BRANCH":
            branches = [_ways(list(branch)) for branch in argument[1]]
            if None in branches:
                return None
            ways *= sum(branch for branch in branches if branch is not None)
        else:  # back-references, conditionals and anything new: keep the time limit
            return None
        if ways > MAX_BOUNDED_WAYS:
            return None
    return ways


class CompiledPatterns(Generic[Payload]):
    """Ruleset regular expressions, each guarded by a time limit when it needs one."""

    def __init__(self, entries: Iterable[tuple[str, Payload]], *, rule: str) -> None:
        self._patterns = [(GuardedPattern(source), payload) for source, payload in entries]
        self._rule = rule
        self.guarded = tuple(pattern for pattern, _ in self._patterns)

    def hits(self, text: str) -> list[Hit[Payload]]:
        found: list[Hit[Payload]] = []
        for pattern, payload in self._patterns:
            try:
                for match in pattern.finditer(text):
                    if match.end() > match.start():
                        found.append(Hit(match.start(), match.end(), payload))
            except TimeoutError:
                warning = PatternTimeoutWarning(pattern_timeout_message(self._rule, pattern.source))
                # Who timed out, for callers that collapse the warnings of many replies into one.
                warning.rule, warning.pattern = self._rule, pattern.source
                warnings.warn(warning, stacklevel=2)
        return found


def pattern_timeout_message(rule: str, source: str, replies: int = 1) -> str:
    """The warning of a pattern cut off by its time limit on ``replies`` replies."""
    on = "a reply" if replies == 1 else f"{replies} replies"
    return (f"{rule}: pattern {source!r} exceeded its {PATTERN_TIME_LIMIT}s time limit on {on} and was skipped for"
            f" {'it' if replies == 1 else 'them'}; simplify the pattern (avoid nested repeats such as (a+)+)")


def normalized_pattern(pattern: str) -> str:
    """Fold a pattern's characters the way replies are folded, without touching its syntax.

    Regex syntax is ASCII, so only non-ASCII characters are folded (full width to ASCII,
    Traditional to Simplified), and always as literals: a full-width （ in a pattern matches
    the （ of a reply (folded to "("); it does not open a group. ASCII stays as written so
    ``\\D`` keeps its meaning; the replies' lower-casing is matched by compiling with
    IGNORECASE (see :class:`GuardedPattern`).
    """
    pieces = []
    for char in pattern:
        if char.isascii():
            pieces.append(char)
            continue
        folded = normalize(char).text
        if len(folded) != 1:
            folded = char
        pieces.append(regex.escape(folded) if folded.isascii() else folded)
    return "".join(pieces)


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
