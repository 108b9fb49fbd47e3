"""Phrase-list rules: a list of phrases (and optional patterns) that must not appear in a reply."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..model import Violation
from ..text.analysis import Analysis
from ..text.punctuation import CLAUSE_MARKS, SENTENCE_ENDS
from .base import Option, Phrase, Rule, RuleConfig, boolean, choice, pattern_list, phrase_list, string_list
from .matching import CompiledPatterns, PhraseAutomaton, filter_hits
from .triggers import Trigger

if TYPE_CHECKING:
    from .acts import IntentJudge, Verdict


class PhraseRule(Rule):
    """Flags listed phrases and patterns, and, with ``intents``, any reply that performs a
    banned act however it is worded. A phrase hit is excused by a listed phrase after it or,
    with ``excused_by_intents``, by an act such as an offered remedy; the act a rule bans
    and nothing excuses (blame) is never excused. Phrases with a ``fix`` are replaced by
    ``--fix``; a ``suggest`` is shown and applied only with ``--unsafe-fixes``.
    """

    check_name = "phrases"
    options = {
        "phrases": Option(phrase_list, "the phrases to flag, each with an optional better wording (`suggest`) and safe `fix`", ()),
        "patterns": Option(pattern_list, "regular expressions to flag, matched against the normalised reply", ()),
        "exceptions": Option(string_list, "phrases that contain a listed phrase but are fine (a hit inside one is dropped)", ()),
        "excused_by": Option(string_list, "phrases that, later in the reply, excuse a hit (an alternative offered)", ()),
        "warned_by": Option(string_list, "words that, earlier in the hit's clause, make it a warning against the act (请勿加微信, 不要私下转账): the hit is dropped", ()),
        "boundaries": Option(boolean, "a hit must start and end on jieba token boundaries", True),
        "skip_quotes": Option(boolean, "words inside quotation marks are the customer's and not flagged", True),
        "intents": Option(string_list, "intents (acts) the rule bans, judged by the intent model in any wording", ()),
        "excused_by_intents": Option(string_list, "intents that excuse a refusal in the same reply (a remedy, help, a transfer)", ()),
        "suggestions": Option(choice("words", "clause"), "what a `suggest` replaces: other `words` in place, or a `clause` of its own (applied only where the flagged words end a clause; ending in … only where the reply goes on; elsewhere shown as advice)", "words"),
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        options = config.options
        self.phrases: tuple[Phrase, ...] = options["phrases"]
        self.patterns: tuple[Phrase, ...] = options["patterns"]
        self.exception_phrases: tuple[str, ...] = options["exceptions"]
        self.excuse_phrases: tuple[str, ...] = options["excused_by"]
        self.warning_words: tuple[str, ...] = options["warned_by"]
        self.boundaries: bool = options["boundaries"]
        self.skip_quotes: bool = options["skip_quotes"]
        self.suggestion_kind = options["suggestions"]
        self._automaton = PhraseAutomaton((p.text, p) for p in self.phrases)
        self._patterns = CompiledPatterns(((p.text, p) for p in self.patterns), rule=self.code)
        self._exceptions = PhraseAutomaton((e, e) for e in self.exception_phrases)
        self._excuses = PhraseAutomaton((e, e) for e in self.excuse_phrases)
        self._warnings = PhraseAutomaton((w, w) for w in self.warning_words)
        # Judgement by intent (rules/acts.py): the acts this rule bans, and the acts that
        # excuse a phrase hit (a refusal that offers a remedy).
        self.intent_names: tuple[str, ...] = options["intents"]
        self.excusing_intents: tuple[str, ...] = options["excused_by_intents"]
        self._judge: IntentJudge | None = None
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
        judge = self._intent_judge
        verdicts = judge.verdicts(analysis, self.intent_names)
        if not verdicts:
            return
        taken = [(v.start, v.end) for v in phrase_findings]
        reported: set[tuple[int, int]] = set()
        best: dict[tuple[int, int], Verdict] = {}
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
        warnings = [w for w in self._warnings.hits(text) if _word_at(analysis, w.start, w.end)] if hits and self.warning_words else []
        excused_by_act = None
        for hit in hits:
            # An alternative offered after the phrase (…无法…,但我们可以为您…) excuses it.
            if any(start >= hit.end for start in excuse_starts):
                continue
            if warnings and _warned(analysis, hit.start, warnings):
                continue
            if self.excusing_intents:
                if excused_by_act is None:
                    excused_by_act = self._excused_by_act(analysis)
                if excused_by_act and not self._inexcusable_at(analysis, hit.start, hit.end):
                    continue
            phrase: Phrase = hit.payload
            yield self.violation(analysis, hit.start, hit.end, suggestion=phrase.suggest, fix=phrase.fix)

    def _excused_by_act(self, analysis: Analysis) -> bool:
        return self._intent_judge.performs(analysis, self.excusing_intents)

    def _inexcusable_at(self, analysis: Analysis, start: int, end: int) -> bool:
        """True when an act the rule bans and nothing excuses (blame) fires on the hit's unit."""
        judge = self._intent_judge
        inexcusable = [n for n in self.intent_names if not judge.source.definitions[n].excused_by]
        return any(v.start <= start and end <= v.end for v in judge.verdicts(analysis, inexcusable))

    @property
    def _intent_judge(self) -> IntentJudge:
        """The judge of the rule's intents; asked only by a rule that names some."""
        assert self._judge is not None, "an intent judgement of a rule without intents"
        return self._judge


_TRIM = " \t,.;:!?~，。；：！？～、…"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A unit without the punctuation around it: the finding points at the words."""
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


#: Where a clause ends (the project's sentence and clause marks, and the half-width full stop
#: and line break a normalised reply keeps): a warning word before one warns about another clause.
_CLAUSE_END = frozenset(SENTENCE_ENDS + CLAUSE_MARKS + ".\n")
#: How far before a hit a warning word still governs it: 「请不要扫陌生人的二维码付款」 (five
#: characters between), but not 「不要相信陌生人加我微信领红包」's lure after a whole clause.
WARNING_REACH = 6


def _word_at(analysis: Analysis, start: int, end: int) -> bool:
    """A warning word stands as a word: on token boundaries (not the 别 of 特别), or right
    after a space the agent typed (jieba reads the joined 「您拍别私下」 as 拍别)."""
    if analysis.on_token_boundaries(start, end):
        return True
    original_start, _ = analysis.to_original(start, end)
    return original_start == 0 or analysis.original[original_start - 1].isspace()


def _warned(analysis: Analysis, start: int, warnings) -> bool:
    """True when a warning word (请勿, 不要 …) stands shortly before ``start`` in the same
    clause: no clause mark between them, and no space where the agent typed one (normalising
    joins 「别私下转账哈 我的微信」's pieces, the original keeps the break)."""
    text = analysis.text
    for warning in warnings:
        if warning.end <= start <= warning.end + WARNING_REACH and not any(c in _CLAUSE_END for c in text[warning.end:start]):
            _, after_warning = analysis.to_original(warning.start, warning.end)
            hit_start, _ = analysis.to_original(start, start + 1)
            if not any(c.isspace() for c in analysis.original[after_warning:hit_start]):
                return True
    return False
