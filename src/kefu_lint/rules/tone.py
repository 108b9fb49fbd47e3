"""Tone: emotional punctuation and curt one-word replies."""

from __future__ import annotations

from collections.abc import Iterator

import regex

from ..model import Violation
from ..text.analysis import Analysis
from .base import Phrase, Rule, RuleConfig, integer, phrase_list, string_list
from .matching import normalized_key
from .triggers import Trigger

_NOT_WORDS = regex.compile(r"[\p{P}\p{S}\p{Z}\s]+")


class EmotionalPunctuation(Rule):
    """## What it does
    Flags runs of emotional punctuation: !!!, ???, ?!, 。。。 and their full-width forms.

    ## Why is this bad?
    Yellow zone. The standard asks that emotion pass a three-second buffer (三秒缓冲期)
    before it is typed; a run of ! or ? reads as shouting or impatience to the customer.
    The ellipsis (……) is ordinary punctuation and is not flagged.

    ## Example
    ```
    您的订单已经发货了!!!
    ```

    ## Use instead
    ```
    您的订单已经发货了!
    ```

    ## Fix safety
    Safe: the run is collapsed to its first mark, in the width the agent typed it.
    """

    check_name = "punctuation-run"
    code_default = "KF201"
    rule_name = "emotional-punctuation"
    options = {"runs": string_list, "min_length": integer}

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        runs = config.options.get("runs", ("!?", "。"))
        minimum = max(2, config.options.get("min_length", 2))
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
    """## What it does
    Flags a reply that is nothing but a bare 嗯 / 哦 / 有 / 没有 / 在 / 可以 …

    ## Why is this bad?
    Yellow zone. A one-word answer reads as impatience and usually leaves out what the
    customer needs next; the standard asks for complete answers (acknowledge → answer →
    offer further help).

    ## Example
    ```
    有
    ```

    ## Use instead
    ```
    有的亲,这款现在有货,今天下单今天发出
    ```

    ## Fix safety
    No automatic fix; the suggested fuller reply is applied only with ``--unsafe-fixes``.
    """

    check_name = "curt-reply"
    code_default = "KF204"
    rule_name = "curt-reply"
    whole_reply = True
    options = {"words": phrase_list}

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.words: dict[str, Phrase] = {}
        for phrase in config.options.get("words", ()):
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
