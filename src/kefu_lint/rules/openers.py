"""How a reply opens: the 不-opener rule."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import TYPE_CHECKING

import regex

from ..model import Violation
from ..text.analysis import Analysis
from .base import Option, Phrase, Rule, RuleConfig, phrase_list, string_list
from ..intent.features import unit_containing
from .matching import Hit, PhraseAutomaton, covered, normalized_key
from .triggers import Trigger

_SKIPPABLE = regex.compile(r"[\p{P}\p{S}\p{Z}\s]+")
_CLAUSE_BREAK = regex.compile(r"[,，、;；:：\s]")
_WORD_CHARACTER = regex.compile(r"[^\p{P}\p{S}\p{Z}\s]")

if TYPE_CHECKING:
    from .acts import IntentJudge


def _word_at(text: str, word_positions: list[int], index: int, word: str) -> bool:
    """True when the word characters from number ``index`` on spell ``word``."""
    if index + len(word) > len(word_positions):
        return False
    return all(text[word_positions[index + offset]] == char for offset, char in enumerate(word))


class NegativeOpener(Rule):
    """Flags a sentence that opens, after leading vocatives, with a listed negation, or, with
    ``intents``, with any other word starting with a listed prefix that the intent model
    judges a refusal or contradiction. Exceptions and questions (a sentence ending in a
    listed question ending) are never flagged; neither is a negation inside a sentence.
    """

    check_name = "negative-opener"
    # 「不会掉色的」 → 「请您放心掉色的」 says the opposite: an opener's better wording is a clause
    suggestion_kind = "clause"
    options = {
        "prefixes": Option(string_list, "the characters a negation starts with; a sentence opening with one is a candidate", ("不",)),
        "phrases": Option(phrase_list, "negations flagged whenever they open a sentence, each with a better wording", ()),
        "exceptions": Option(string_list, "openers that start with a prefix but are polite or descriptive (不好意思, 不锈钢)", ()),
        "vocatives": Option(string_list, "words of address skipped before the opener (亲, 您好, 宝宝)", ()),
        "question_endings": Option(string_list, "a sentence ending in one asks the customer and is not flagged", ()),
        "condition_markers": Option(string_list, "an opener whose clause holds one states a condition (不是国行的话…) and is not flagged", ()),
        "intents": Option(string_list, "intents that make an unlisted negation opener a finding (refusal, contradiction)", ()),
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        options = config.options
        self.prefixes: tuple[str, ...] = options["prefixes"]
        self.phrases: tuple[Phrase, ...] = options["phrases"]
        self.exception_phrases: tuple[str, ...] = options["exceptions"]
        self.vocative_words: tuple[str, ...] = options["vocatives"]
        self.question_endings: tuple[str, ...] = options["question_endings"]
        self.condition_markers: tuple[str, ...] = options["condition_markers"]
        self._phrases = PhraseAutomaton((p.text, p) for p in self.phrases)
        self._exceptions = PhraseAutomaton((e, e) for e in self.exception_phrases)
        self._vocatives = PhraseAutomaton((v, v) for v in self.vocative_words)
        # Vocatives as the cheap pre-test sees them: normalised, punctuation removed.
        self._bare_vocatives = frozenset(filter(None, (_SKIPPABLE.sub("", key) for key in self._vocatives.keys)))
        # With intents, a sentence that opens with a negation is flagged only when it does
        # what the intents name (refuses, contradicts): 不过, 不用担心, 不锈钢 open with 不 too.
        self.intent_names: tuple[str, ...] = options["intents"]
        self._judge: IntentJudge | None = None
        if self.intent_names:
            from .acts import IntentJudge

            self._judge = IntentJudge(config.intents, self.intent_names, rule=self.code)


    @property
    def trigger(self) -> Trigger:
        return Trigger(phrases=tuple(normalized_key(p) for p in self.prefixes) + tuple(self._phrases.keys))

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        text = analysis.text
        phrase_candidates = self._phrases.hits(text)
        if not self._could_open_a_sentence(text, analysis.sentences, phrase_candidates):
            return  # no need to segment the reply: most 不 sit inside a sentence
        vocative_ends: dict[int, int] = {}
        for hit in self._vocatives.hits(text):
            if analysis.on_token_boundaries(hit.start, hit.end):
                vocative_ends[hit.start] = max(hit.end, vocative_ends.get(hit.start, 0))
        phrase_hits: dict[int, Hit] = {}
        for hit in phrase_candidates:
            if analysis.on_token_boundaries(hit.start, hit.end):
                best = phrase_hits.get(hit.start)
                if best is None or hit.end > best.end:
                    phrase_hits[hit.start] = hit
        exception_ranges = None
        for sentence_start, sentence_end in analysis.sentences:
            position = self._content_start(text, sentence_start, sentence_end, vocative_ends)
            if position >= sentence_end:
                continue
            opener = self._opener_at(analysis, position, sentence_end, phrase_hits)
            if opener is None:
                continue
            start, end, phrase = opener
            if analysis.in_quote(start, end) or self._asks_or_supposes(analysis, start, sentence_end):
                continue
            if exception_ranges is None:
                exception_ranges = [(h.start, h.end) for h in self._exceptions.hits(text)]
            if covered(start, end, exception_ranges):
                continue
            evidence = None
            # A listed opener (不行, 不能, 不知道 …) is a refusal by the ruleset's word; any
            # other negation is flagged only when the intent model says the sentence refuses,
            # contradicts or professes ignorance: no exception list has to foresee it.
            if self._judge is not None:
                if phrase is None:
                    verdict = self._opening_act(analysis, start)
                    if verdict is None:
                        continue
                    evidence = self._judge.evidence(analysis, verdict)
                # The clause is reported here; a rule judging it by intent leaves it alone.
                unit = unit_containing(analysis, start)
                if unit is not None:
                    self._judge.claim(analysis, *unit)
            yield self.violation(analysis, start, end, suggestion=phrase.suggest if phrase else None, evidence=evidence)

    def _opening_act(self, analysis: Analysis, start: int):
        """The strongest of the rule's intents on the unit the opener starts, or None."""
        assert self._judge is not None  # asked only when the rule names intents
        verdicts = [v for v in self._judge.verdicts(analysis) if v.start <= start < v.end]
        return max(verdicts, key=lambda v: v.probability, default=None)

    def _could_open_a_sentence(self, text: str, sentences, phrase_candidates) -> bool:
        """A cheap test before the reply is segmented: does a negation follow the start of
        its sentence with nothing but punctuation and vocative words in between?

        Token boundaries are not checked here, so the test is never narrower than the rule:
        whatever the rule flags passes it, and most replies with a 不 inside a sentence
        (是不是, 都不用) never reach the tokenizer. Linear in the reply: each candidate is
        placed in its sentence by bisection, and each sentence's opening is read once, not
        once per 不 in it (a long reply with thousands of 不 took seconds).
        """
        starts = {hit.start for hit in phrase_candidates}
        for prefix in self.prefixes:
            position = text.find(prefix)
            while position != -1:
                starts.add(position)
                position = text.find(prefix, position + 1)
        if not starts or not sentences:
            return False
        sentence_starts = [start for start, _ in sentences]
        openings: dict[int, tuple[list[int], set[int]]] = {}
        for start in sorted(starts):
            index = bisect_right(sentence_starts, start) - 1
            if index < 0 or start >= sentences[index][1]:
                continue
            if index not in openings:
                openings[index] = self._vocative_prefixes(text, *sentences[index])
            word_positions, reachable = openings[index]
            # the number of word characters before the candidate, in its sentence
            if bisect_left(word_positions, start) in reachable:
                return True
        return False

    def _vocative_prefixes(self, text: str, start: int, end: int) -> tuple[list[int], set[int]]:
        """For the sentence ``[start, end)``: the positions of its word characters (all but
        punctuation and spaces), and the counts ``k`` of word characters such that the first
        ``k`` are nothing but vocative words (亲,您好…). A candidate opens the sentence when
        the count of word characters before it is one of them."""
        word_positions = [match.start() for match in _WORD_CHARACTER.finditer(text, start, end)]
        reachable = {0}
        frontier = 0
        index = 0
        # Only counts reachable so far can be extended, so stop past the furthest of them.
        while index <= frontier and index < len(word_positions):
            if index in reachable:
                for word in self._bare_vocatives:
                    if _word_at(text, word_positions, index, word):
                        reachable.add(index + len(word))
                        frontier = max(frontier, index + len(word))
            index += 1
        return word_positions, reachable

    def _asks_or_supposes(self, analysis: Analysis, start: int, end: int) -> bool:
        """True when the opener's clause is a question back to the customer (不需要税号吗) or
        a condition (「不是国行的话页面会单独标注」「不满意的话可以退」): neither refuses nor
        contradicts anyone.

        Only the clause counts: 「不包含企业的哦 还请您谅解，请问还有其他问题吗」 refuses
        first and asks something else afterwards. Agents separate clauses with spaces, which
        normalisation removes between Han characters (a dodge), so a gap in the offset map
        where the original had whitespace also ends the clause.
        """
        if not self.question_endings and not self.condition_markers:
            return False
        text = analysis.text
        clause_end = _CLAUSE_BREAK.search(text, start, end)
        stop = clause_end.start() if clause_end else end
        origin, original = analysis.normalized.origin, analysis.original
        for position in range(start + 1, stop):
            if origin[position] - origin[position - 1] > 1 and original[origin[position - 1] + 1:origin[position]].isspace():
                stop = position
                break
        clause = _SKIPPABLE.sub("", text[start:stop])
        return clause.endswith(self.question_endings) or any(marker in clause for marker in self.condition_markers)

    def _content_start(self, text: str, position: int, end: int, vocative_ends: dict[int, int]) -> int:
        """Skip punctuation, emoji and vocatives (亲,您好…) at the start of a sentence."""
        while position < end:
            skipped = _SKIPPABLE.match(text, position, end)
            if skipped:
                position = skipped.end()
                continue
            if position in vocative_ends:
                position = vocative_ends[position]
                continue
            break
        return position

    def _opener_at(self, analysis: Analysis, position: int, sentence_end: int, phrase_hits: dict):
        """The negation the sentence opens with, as (start, end, phrase or None), or None."""
        hit = phrase_hits.get(position)
        if hit is not None:
            return hit.start, hit.end, hit.payload
        token = analysis.token_at(position)
        if token is None or not analysis.text.startswith(self.prefixes, position):
            return None
        start, end = token
        if end - start == 1:
            # A lone 不 is shown with the word it negates (不 + 知道) so the finding reads well.
            following = analysis.next_token(token)
            if following and following[1] <= sentence_end and not _SKIPPABLE.match(analysis.text, following[0]):
                end = following[1]
        return start, end, None
