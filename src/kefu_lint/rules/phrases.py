"""Phrase-list rules: a list of phrases (and optional patterns) that must not appear in a reply."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Violation
from ..text.analysis import Analysis
from .base import Phrase, Rule, RuleConfig, boolean, pattern_list, phrase_list, string_list
from .matching import CompiledPatterns, PhraseAutomaton, filter_hits
from .triggers import Trigger


class PhraseRule(Rule):
    """## What it does
    Flags the phrases listed in the ruleset entry (a shop's own banned wording).

    ## Why is this bad?
    The ruleset entry's ``doc`` says why.

    ## Fix safety
    Phrases with a ``fix`` are replaced automatically; ``suggest`` is shown and applied only
    with ``--unsafe-fixes``.
    """

    check_name = "phrases"
    options = {
        "phrases": phrase_list,
        "patterns": pattern_list,
        "exceptions": string_list,
        "excused_by": string_list,
        "boundaries": boolean,
        "skip_quotes": boolean,
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        options = config.options
        self.phrases: tuple[Phrase, ...] = options.get("phrases", ())
        self.patterns: tuple[Phrase, ...] = options.get("patterns", ())
        self.exception_phrases: tuple[str, ...] = options.get("exceptions", ())
        self.excuse_phrases: tuple[str, ...] = options.get("excused_by", ())
        self.boundaries: bool = options.get("boundaries", True)
        self.skip_quotes: bool = options.get("skip_quotes", True)
        self._automaton = PhraseAutomaton((p.text, p) for p in self.phrases)
        self._patterns = CompiledPatterns(((p.text, p) for p in self.patterns), rule=self.code)
        self._exceptions = PhraseAutomaton((e, e) for e in self.exception_phrases)
        self._excuses = PhraseAutomaton((e, e) for e in self.excuse_phrases)


    @property
    def fixable(self) -> bool:
        return any(p.fix is not None for p in self.phrases + self.patterns)

    @property
    def trigger(self) -> Trigger:
        return Trigger(phrases=tuple(self._automaton.keys), patterns=self._patterns.guarded)

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        text = analysis.text
        hits = self._automaton.hits(text) + self._patterns.hits(text)
        if not hits:
            return
        # filter_hits resolves overlaps itself, after the boundary check: a candidate that
        # splits a token must not knock out an overlapping one that does not.
        hits = filter_hits(
            analysis,
            hits,
            exceptions=self._exceptions,
            boundaries=self.boundaries,
            skip_quotes=self.skip_quotes,
        )
        excuse_starts = [hit.start for hit in self._excuses.hits(text)] if hits else []
        for hit in hits:
            # An alternative offered after the phrase (…无法…,但我们可以为您…) excuses it.
            if any(start >= hit.end for start in excuse_starts):
                continue
            phrase: Phrase = hit.payload
            yield self.violation(analysis, hit.start, hit.end, suggestion=phrase.suggest, fix=phrase.fix)


class Refusal(PhraseRule):
    """## What it does
    Flags refusal and blame-shifting wording (拒单/推诿话术) such as 「这个不算售后」,
    「不归我们管」, 「找快递去」.

    ## Why is this bad?
    The three-colour standard puts refusal phrasing in the red zone: one occurrence fails
    the reply (一票否决). Pushing the problem back to the customer or to a third party is
    what turns a question into a complaint.

    A refusal that offers an alternative in the same reply (很抱歉…无法…,但我们可以为您…)
    is not flagged: the phrases that excuse it are listed under ``excused_by``.

    ## Example
    ```
    这个不算售后,不归我们管
    ```

    ## Use instead
    ```
    很抱歉给您带来不便,这个情况我马上帮您联系售后处理
    ```

    ## Fix safety
    No automatic fix: the better wording depends on what the shop can offer. The
    suggestion is applied only with ``--unsafe-fixes``.
    """

    code_default = "KF102"
    rule_name = "refusal"


class RudePhrase(PhraseRule):
    """## What it does
    Flags rude phrases: 「不买别问」 and its variants with words inserted, 「爱买不买」,
    telling the customer to read it themselves, questioning whether they understand,
    「我已经说过了」.

    ## Why is this bad?
    Red zone. A brand whose agent answered 「不买别问」 was exposed publicly and lost 40% of
    its monthly sales: rude replies cost money, not only ratings.

    ## Example
    ```
    不买就别问了,自己看详情页
    ```

    ## Use instead
    ```
    您可以慢慢考虑,详情页里有尺码表,我也可以帮您推荐
    ```

    ## Fix safety
    No automatic fix; the suggestion is applied only with ``--unsafe-fixes``.
    """

    code_default = "KF103"
    rule_name = "rude-phrase"


class InformalYou(PhraseRule):
    """## What it does
    Flags 你 where the customer should be addressed as 您.

    ## Why is this bad?
    Yellow zone. The standard's professional image starts with addressing the customer as
    您. Only the standalone word is flagged: 迷你 and 你们 are left alone, as are the
    customer's own words quoted in 「…」.

    ## Example
    ```
    你好,你的快递明天到
    ```

    ## Use instead
    ```
    您好,您的快递明天到
    ```

    ## Fix safety
    Safe: 你 → 您 changes nothing but the form of address.
    """

    code_default = "KF202"
    rule_name = "informal-you"


class Jargon(PhraseRule):
    """## What it does
    Flags industry jargon the customer may not know (SKU, DSR, 揽收 …).

    ## Why is this bad?
    Yellow zone. The standard asks agents to explain things in the customer's words; an
    answer the customer cannot read is not an answer.

    ## Example
    ```
    这个SKU暂时缺货
    ```

    ## Use instead
    ```
    这个款式/规格暂时缺货
    ```

    ## Fix safety
    No automatic fix; the plain-language suggestion is applied only with ``--unsafe-fixes``.
    """

    code_default = "KF203"
    rule_name = "jargon"
