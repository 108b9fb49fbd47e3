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
        "intents": string_list,
        "excused_by_intents": string_list,
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
        # Judgement by intent (rules/acts.py): the acts this rule bans, and the acts that
        # excuse a phrase hit (a refusal that offers a remedy).
        self.intent_names: tuple[str, ...] = options.get("intents", ())
        self.excusing_intents: tuple[str, ...] = options.get("excused_by_intents", ())
        self._judge = None
        if self.intent_names or self.excusing_intents:
            from .acts import IntentJudge

            self._judge = IntentJudge(config.intents, self.intent_names + self.excusing_intents, rule=self.code)


    @property
    def fixable(self) -> bool:
        return any(p.fix is not None for p in self.phrases + self.patterns)

    @property
    def trigger(self) -> Trigger | None:
        if self.intent_names:
            return None  # an act can be worded any way: every reply is judged
        return Trigger(phrases=tuple(self._automaton.keys), patterns=self._patterns.guarded)

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        text = analysis.text
        hits = self._automaton.hits(text) + self._patterns.hits(text)
        found = list(self._phrase_findings(analysis, hits)) if hits else []
        yield from found
        if self.intent_names:
            yield from self._intent_findings(analysis, found)

    def _intent_findings(self, analysis: Analysis, phrase_findings: list[Violation]) -> Iterator[Violation]:
        """One finding per unit where a banned act fires and no phrase finding already sits."""
        judge = self._judge
        verdicts = judge.verdicts(analysis, self.intent_names)
        if not verdicts:
            return
        taken = [(v.start, v.end) for v in phrase_findings]
        reported: set[tuple[int, int]] = set()
        best: dict[tuple[int, int], object] = {}
        for verdict in verdicts:
            key = (verdict.start, verdict.end)
            if key not in best or verdict.probability > best[key].probability:
                best[key] = verdict
        for (unit_start, unit_end), verdict in sorted(best.items()):
            if judge.excused(analysis, verdict, verdicts) or not judge.claim(analysis, unit_start, unit_end):
                continue
            start, end = _trim(analysis.text, unit_start, unit_end)
            original_start, original_end = analysis.to_original(start, end)
            if any(s < original_end and original_start < e for s, e in taken) or (start, end) in reported:
                continue
            reported.add((start, end))
            yield self.violation(analysis, start, end, evidence=judge.evidence(analysis, verdict))

    def _phrase_findings(self, analysis: Analysis, hits) -> Iterator[Violation]:
        text = analysis.text
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
        excused_by_act = None
        for hit in hits:
            # An alternative offered after the phrase (…无法…,但我们可以为您…) excuses it.
            if any(start >= hit.end for start in excuse_starts):
                continue
            if self.excusing_intents:
                if excused_by_act is None:
                    excused_by_act = self._excused_by_act(analysis)
                if excused_by_act and not self._inexcusable_at(analysis, hit.start, hit.end):
                    continue
            phrase: Phrase = hit.payload
            yield self.violation(analysis, hit.start, hit.end, suggestion=phrase.suggest, fix=phrase.fix)

    def _excused_by_act(self, analysis: Analysis) -> bool:
        return self._judge.performs(analysis, self.excusing_intents)

    def _inexcusable_at(self, analysis: Analysis, start: int, end: int) -> bool:
        """True when an act the rule bans and nothing excuses (blame) fires on the hit's unit."""
        inexcusable = [n for n in self.intent_names if not self._judge.source.definitions[n].excused_by]
        return any(v.start <= start and end <= v.end for v in self._judge.verdicts(analysis, inexcusable))


_TRIM = " \t,.;:!?~，。；：！？～、…"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A unit without the punctuation around it: the finding points at the words."""
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


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
