"""Tone: emotional punctuation and curt one-word replies."""

from __future__ import annotations

from collections.abc import Iterator

import regex

from ..model import Violation
from ..text.analysis import Analysis
from .base import Option, OptionError, Phrase, Rule, RuleConfig, integer, phrase_list, requirement, string_list
from .conversation import Cues
from .matching import normalized_key
from .triggers import Trigger

_NOT_WORDS = regex.compile(r"[\p{P}\p{S}\p{Z}\s]+")


class EmotionalPunctuation(Rule):
    """Flags runs of repeated punctuation marks: each string in ``runs`` is a class of marks
    (full- and half-width forms alike), and ``min_length`` or more marks of one class in a
    row are a finding. The safe fix keeps the first mark, in the width it was typed.
    """

    check_name = "punctuation-run"
    options = {
        "runs": Option(string_list, "classes of marks; a run mixes marks of one class (\"!?\" catches ?!)", ("!?", "。")),
        "min_length": Option(integer, "how many marks in a row make a run (at least 2)", 2),
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        runs = config.options["runs"]
        minimum = max(2, config.options["min_length"])
        alternatives = []
        # Any run of two or more marks of one class holds two of them side by side, so
        # the pairs are a trigger the shared phrase automaton can check.
        self._mark_pairs: list[str] = []
        for marks in runs:
            folded = "".join(dict.fromkeys(normalized_key(marks) or marks))
            alternatives.append("[" + "".join(regex.escape(c) for c in folded) + "]{%d,}" % minimum)
            self._mark_pairs.extend(a + b for a in folded for b in folded)
        self._pattern = regex.compile("|".join(alternatives))

    @property
    def fixable(self) -> bool:
        return True

    @property
    def trigger(self) -> Trigger:
        return Trigger(phrases=tuple(self._mark_pairs))

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        for match in self._pattern.finditer(analysis.text):
            start, end = analysis.to_original(*match.span())
            first_mark = analysis.original[start]
            yield self.violation(analysis, *match.span(), suggestion=first_mark, fix=first_mark)


class CurtReply(Rule):
    """Flags a reply that is nothing but one of the listed ``words`` (a bare 嗯, 哦, 有),
    punctuation, emoji and spaces aside. The finding spans the reply; its suggestion is
    the word's fuller answer.
    """

    check_name = "curt-reply"
    whole_reply = True
    options = {
        "words": Option(phrase_list, "the curt replies, each with a fuller answer as its `suggest`", ()),
        "answers": Option(requirement, "in a conversation, the bare word is curt only as the answer to a customer turn that shows this cue (a question, a request): after a statement 「嗯」 acknowledges it; a lone reply is judged without it"),
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        answers = config.options["answers"]
        self._answers = Cues((answers,)) if answers is not None else None
        if self._answers is not None and self._answers.acts:
            known = config.intents.definitions if config.intents is not None else {}
            unknown = sorted(a for a in self._answers.acts if a not in known)
            if unknown:
                raise OptionError(f"unknown act(s) {', '.join(unknown)}; the ruleset's intents are {', '.join(sorted(known)) or 'none'}")
        self.words: dict[str, Phrase] = {}
        for phrase in config.options["words"]:
            self.words.setdefault(_NOT_WORDS.sub("", normalized_key(phrase.text)), phrase)
        # A curt reply is short: text much longer than the longest word (punctuation and
        # emoji aside) is never one of them, so it is not even stripped and looked up.
        self.max_length = max([12] + [2 * len(word) for word in self.words])

    @property
    def trigger(self) -> Trigger:
        return Trigger(max_length=self.max_length)

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        text = analysis.text
        if len(text) > self.max_length:  # skip the substitution for everything else
            return
        phrase = self.words.get(_NOT_WORDS.sub("", text))
        if phrase is not None:
            yield self.whole_reply_violation(
                analysis, suggestion=phrase.suggest or self.config.suggest
            )

    def stands_in(self, conversation, index: int) -> bool:
        """With ``answers``: a finding stands when the customer turn the message answers
        (the last one before it) shows the cue, or when no customer spoke before it."""
        if self._answers is None:
            return True
        asked = next((i for i in range(index - 1, -1, -1) if conversation.messages[i].role == "customer"), None)
        if asked is None:
            return True
        turn = conversation.turn_at(asked)
        return any(
            self._answers.shown(conversation.normalized(i), conversation.acts(i) if self._answers.acts else frozenset())
            for i in turn.indexes
        )
