"""Triggers: which rules can possibly find something in a reply, worked out in one pass.

Most replies are clean, and calling a dozen rules that each scan the text for their own
phrases costs more than the tokenizer. So each rule declares a :class:`Trigger`, what the
normalised text must contain before the rule can flag anything, and :class:`TriggerIndex`
checks all of them at once: one Aho-Corasick automaton for every rule's phrases, then the
patterns of the rules not yet triggered. The engine then calls only the rules whose trigger fired.

A trigger may be wider than its rule (the rule still decides) but never narrower: a rule
whose trigger did not fire must have nothing to report. tests/test_triggers.py holds every
rule to that on the ruleset examples, the JDDC sample and generated text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import ahocorasick


class Searchable(Protocol):
    """A compiled pattern (``regex``/``re``) or a :class:`~.matching.GuardedPattern`."""

    def search(self, text: str) -> object | None: ...


@dataclass(frozen=True)
class Trigger:
    """What a reply's normalised text must hold before a rule can flag it: any of the
    ``phrases`` (normalised keys), a match of any of the ``patterns``, or a length of at
    most ``max_length`` characters. A rule without a trigger runs on every reply (the green
    rules, which flag what is missing)."""

    phrases: tuple[str, ...] = ()
    patterns: tuple[Searchable, ...] = ()
    max_length: int | None = None


#: Joins a batch for one automaton pass: no phrase holds it (phrases are normalised text),
#: so no match spans two replies.
_SEPARATOR = "\x00"


class TriggerIndex:
    """The triggers of an ordered list of rules; ``fired(text)`` is a bit mask over that order."""

    def __init__(self, triggers: Sequence[Trigger | None]) -> None:
        self.always = 0
        self._joinable = True
        self._automaton = ahocorasick.Automaton()
        self._patterns: list[tuple[int, Searchable]] = []
        self._lengths: list[tuple[int, int]] = []
        for index, trigger in enumerate(triggers):
            bit = 1 << index
            if trigger is None:
                self.always |= bit
                continue
            keys = list(trigger.phrases)
            for pattern in trigger.patterns:
                prefix = getattr(pattern, "literal_prefix", "")
                if prefix:  # every match starts with it: the automaton can look for it
                    keys.append(prefix)
                else:
                    self._patterns.append((bit, pattern))
            for key in filter(None, keys):
                self._automaton.add_word(key, self._automaton.get(key, 0) | bit)
                self._joinable = self._joinable and _SEPARATOR not in key
            if trigger.max_length is not None:
                self._lengths.append((bit, trigger.max_length))
        self._has_phrases = len(self._automaton) > 0
        if self._has_phrases:
            self._automaton.make_automaton()
        self._pattern_bits = 0
        for bit, _ in self._patterns:  # a rule may have several patterns: a union, not a sum
            self._pattern_bits |= bit

    def fired(self, text: str) -> int:
        mask = self.always
        if self._has_phrases:
            for _, bits in self._automaton.iter(text):
                mask |= bits
        return self._after_phrases(text, mask)

    def fired_many(self, texts: Sequence[str]) -> list[int]:
        """``[self.fired(text) for text in texts]``, the phrases of all found in one pass of
        the automaton over the batch (joined by a character no phrase holds)."""
        if not self._joinable:
            return [self.fired(text) for text in texts]
        masks = [self.always] * len(texts)
        if self._has_phrases and texts:
            starts = []
            position = 0
            for text in texts:
                starts.append(position)
                position += len(text) + 1
            for end, bits in self._automaton.iter(_SEPARATOR.join(texts)):
                masks[bisect_right(starts, end) - 1] |= bits
        return [self._after_phrases(text, mask) for text, mask in zip(texts, masks)]

    def _after_phrases(self, text: str, mask: int) -> int:
        if self._pattern_bits & ~mask:
            try:
                for bit, pattern in self._patterns:
                    if not mask & bit and pattern.search(text) is not None:
                        mask |= bit
            except TimeoutError:
                mask |= self._pattern_bits  # the rule's own check reports the timeout
        for bit, limit in self._lengths:
            if len(text) <= limit:
                mask |= bit
        return mask
