"""Judging a reply by what it does: the intent model's verdicts, unit by unit, for any rule.

A rule that names intents (option ``intents: [refusal, blame-shifting]``) flags every unit
(sentence or space-separated clause, ``intent/features.py``) in which one of them fires:
its probability reaches its threshold, or one of its anchor phrases occurs. The verdicts of
one reply are computed once and shared by every rule (``Analysis.memo``).

A verdict is *excused* when the same reply also performs one of the intent's ``excused_by``
acts (a refusal that offers a remedy is a decline, not a refusal without a way forward),
unless an inexcusable intent of the rule fires on the same unit.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from ..intent.classifier import logit
from ..intent.classifier import sigmoid as _sigmoid
from ..intent.features import act_units, customer_act_units, unit_containing, units
from ..model import Evidence
from ..text.analysis import Analysis
from .matching import PhraseAutomaton


@dataclass(frozen=True, slots=True)
class Verdict:
    """One intent firing on one unit (normalised offsets)."""

    intent: str
    start: int
    end: int
    probability: float
    anchor: str | None = None


#: A unit of fewer word characters is *short*: 「没有。」「好吧…」「不会呢」 are curt (yellow,
#: KF204) far more often than they refuse, and two or three characters carry little to tell a
#: refusal from an answer. A short unit is judged by intent only when the model is nearly
#: certain (``SHORT_UNIT_FLOOR``, for the pool and for its member alike): 「补不了」「改不了」
#: 「等着吧」 are, 「没有」「不远」「不贵」「没货了」 (0.6–0.8) are not. One character is never
#: judged; short banned words (滚, 爱买不买) are the phrase lists' business.
MIN_ACT_CHARACTERS = 4
MIN_JUDGED_CHARACTERS = 2
#: Chosen on the third development set (不/没 openers and short replies, evaluation/dev3/):
#: 0.9 catches five more of its bare refusals (70.9% -> 76.4%) and judges no more of its
#: look-alikes, of the other development sets or of the 6,029 JDDC agent lines red; 0.85 judged
#: no more red either, but 「没有」 scores 0.79 and 「没货了」 0.77: 0.9 keeps a margin.
SHORT_UNIT_FLOOR = 0.9
_SHORT_UNIT_LOGIT = logit(SHORT_UNIT_FLOOR)
_WORD_CHARACTERS = re.compile(r"\w")

#: A pool's member is reported when the pool fires on the unit, the member scores highest
#: of its members there, and its own model gives it at least an even chance: two models
#: that agree (measured on the development set: the fewest look-alikes judged red).
MEMBER_FLOOR = 0.5


def act_spans(analysis: Analysis, role: str) -> list[tuple[int, int]]:
    """The units a message's dialogue acts are read from. Contrasts divide an agent's clauses
    (a decline, 但 a remedy); a customer's run-on message is also read comma clause by comma
    clause (a complaint inside a question: on the held-out real customer lines upset recall
    45% -> 57% at 72% -> 71% precision, delay complaints 18% -> 36%). Short units count
    (「谢谢啦」 thanks), unlike for the banned acts."""
    key = ("act-spans", role)
    spans = analysis.memo.get(key)
    if spans is None:
        text = analysis.text
        candidates = act_units(analysis) if role == "agent" else customer_act_units(analysis)
        spans = analysis.memo[key] = [(s, e) for s, e in candidates if _WORD_CHARACTERS.search(text, s, e)]
    return spans


@dataclass(frozen=True)
class _RoleActs:
    """What tells the acts of one role's messages: per lane group the model must read, each
    reported intent's place in the group and its threshold (as a logit); and the intents'
    anchor phrases."""

    groups: tuple[tuple[int, tuple[tuple[str, int, float], ...]], ...]
    anchors: PhraseAutomaton


_role_acts: WeakKeyDictionary = WeakKeyDictionary()
_role_acts_lock = threading.Lock()


def _acts_plan(source, role: str, banned: bool) -> _RoleActs:
    key = (role, banned)
    plans = _role_acts.get(source)
    if plans is None or key not in plans:
        with _role_acts_lock:
            plans = _role_acts.setdefault(source, {})
            if key not in plans:
                model = source.model()
                names = [n for n, i in source.definitions.items() if i.role == role and i.reported and (banned or i.zone != "red")]
                by_group: dict[int, list] = {}
                for n in names:
                    group, first = model.group_of(model.index[n])
                    by_group.setdefault(group, []).append((n, model.index[n] - first, logit(source.threshold(n))))
                anchors = PhraseAutomaton((a, n) for n in names for a in source.definitions[n].anchors)
                plans[key] = _RoleActs(tuple((g, tuple(lanes)) for g, lanes in sorted(by_group.items())), anchors)
    return plans[key]


def performed_acts(source, analysis: Analysis, role: str, *, banned: bool = False) -> frozenset[str]:
    """The dialogue acts a message of ``role`` performs: every reported intent of that role
    that fires on one of its units (quotes excluded) or whose anchor phrase it contains.
    Banned (red) acts only with ``banned``: judging them is the red rules' business (pools,
    excuses, one finding per clause), and a conversation is made of the others. Memoised on
    the analysis, so the rules of one reply and the conversation's requirements share it."""
    key = ("acts", role, banned)
    memo = analysis.memo
    found = memo.get(key)
    if found is None:
        plan = _acts_plan(source, role, banned)
        acts: set[str] = set()
        if plan.groups:
            model = source.model()
            text = analysis.text
            for start, end in act_spans(analysis, role):
                if analysis.in_quote(start, end):
                    continue
                for group, lanes in plan.groups:  # only the groups that hold these acts
                    logits = model.group_logits(text[start:end], group)
                    acts.update(name for name, lane, threshold in lanes if logits[lane] >= threshold)
        if not plan.anchors.empty:
            acts.update(hit.payload for hit in plan.anchors.hits(analysis.text) if not analysis.in_quote(hit.start, hit.end))
        found = memo[key] = frozenset(acts)
    return found


class IntentJudge:
    """The verdicts a rule asks for, over an analysed reply. Built once per rule."""

    def __init__(self, source, names: Sequence[str], *, rule: str) -> None:
        self.source = source
        self.names = tuple(names)
        unknown = [name for name in self.names if name not in source]
        if unknown:
            from .base import OptionError

            raise OptionError(f"unknown intent(s) {', '.join(unknown)} for {rule}; the ruleset declares {', '.join(sorted(source.definitions)) or 'none'}")
        self.definitions = {name: source.definitions[name] for name in self.names}
        self._anchors = PhraseAutomaton((anchor, name) for name in self.names for anchor in self.definitions[name].anchors)
        self._plans: dict[tuple[str, ...], tuple] = {}

    def _model(self):
        return self.source.model()

    def unit_logits(self, analysis: Analysis, lanes: int) -> list[tuple[int, int, list[float], bool]]:
        """Every judged unit of the reply as (start, end, the logits of at least the model's
        first ``lanes`` intents, whether it is short), computed once per reply for all rules
        (a wider request recomputes)."""
        model = self._model()
        memo = analysis.memo
        key = ("intent-logits", id(model))
        cached = memo.get(key)
        if cached is None or cached[0] < lanes:
            # The head lanes at least: every rule that bans an act reads those, and a
            # wider request (an excuse) is rarer.
            lanes = max(lanes, model.head)
            text = analysis.text
            # A short unit is judged against SHORT_UNIT_FLOOR: 「不会呢」 is curt (KF204).
            judged = [(s, e, len(_WORD_CHARACTERS.findall(text, s, e))) for s, e in units(analysis)]
            cached = (lanes, [(start, end, model.logits(text[start:end], lanes), n < MIN_ACT_CHARACTERS) for start, end, n in judged if n >= MIN_JUDGED_CHARACTERS])
            memo[key] = cached
        return cached[1]

    def _plan(self, names: tuple[str, ...]):
        """For ``names``: the lanes every unit needs, each direct intent's lane and threshold,
        and each pool's lane, threshold, members and the lanes its members need."""
        plan = self._plans.get(names)
        if plan is None:
            model = self._model()
            source = self.source
            pooled = {member for pool in source.definitions.values() for member in pool.pools}
            # A pooled intent is judged through its pool only: the pool saw every red example.
            direct = tuple((name, model.index[name], logit(source.threshold(name))) for name in names if name not in pooled)
            pools = []
            for pool in source.definitions.values():
                if pool.pools and not set(pool.pools).isdisjoint(names):
                    members = tuple((m, model.index[m], logit(max(MEMBER_FLOOR, source.threshold(m)))) for m in pool.pools)
                    pools.append((model.index[pool.name], logit(source.threshold(pool.name)), members, 1 + max(lane for _, lane, _ in members)))
            width = 1 + max([lane for _, lane, _ in direct] + [lane for lane, _, _, _ in pools], default=0)
            plan = (width, direct, tuple(pools), frozenset(names))
            self._plans[names] = plan
        return plan

    def verdicts(self, analysis: Analysis, names: Sequence[str] | None = None) -> list[Verdict]:
        """Units where any of ``names`` (default: the rule's intents) fires, quotes excluded.

        An intent fires on its own threshold, or through a pool that holds it: when the
        pooled judgement fires on a unit, the member that scores highest there is the act,
        if its own model gives it at least an even chance (``MEMBER_FLOOR``). Members are
        scored only on the units where their pool fired.
        """
        names = self.names if names is None else tuple(names)
        if not names:
            return []
        memo_key = ("verdicts", names)
        memo = analysis.memo
        if memo_key in memo:
            return memo[memo_key]
        width, direct, pools, wanted = self._plan(names)
        model = self._model()
        found = []
        text = analysis.text
        for start, end, logits, short in self.unit_logits(analysis, width):
            # Thresholds are compared as logits: most units fire nothing, and need no exp().
            floor = _SHORT_UNIT_LOGIT if short else -math.inf
            fired = None
            for name, lane, threshold in direct:
                if logits[lane] >= max(threshold, floor) and not analysis.in_quote(start, end):
                    found.append(Verdict(name, start, end, _sigmoid(logits[lane])))
                    fired = fired or set()
                    fired.add(name)
            for pool_lane, threshold, members, member_width in pools:
                if logits[pool_lane] < max(threshold, floor) or analysis.in_quote(start, end):
                    continue
                member_logits = model.logits(text[start:end], member_width)
                winner, winner_lane, winner_threshold = max(members, key=lambda member: member_logits[member[1]])
                if winner in wanted and not (fired and winner in fired) and member_logits[winner_lane] >= max(winner_threshold, floor):
                    found.append(Verdict(winner, start, end, _sigmoid(logits[pool_lane])))
        if not self._anchors.empty:
            for hit in self._anchors.hits(analysis.text):
                if hit.payload in wanted and not analysis.in_quote(hit.start, hit.end):
                    unit = unit_containing(analysis, hit.start) or (hit.start, hit.end)
                    found.append(Verdict(hit.payload, unit[0], unit[1], 1.0, anchor=analysis.text[hit.start:hit.end]))
        memo[memo_key] = found
        return found

    def performs(self, analysis: Analysis, names: Sequence[str]) -> bool:
        """True when any unit of the reply performs any of ``names`` (for excuses)."""
        return bool(names) and not performed_acts(self.source, analysis, "agent").isdisjoint(names)

    def excused(self, analysis: Analysis, verdict: Verdict, inexcusable: Sequence[Verdict] = ()) -> bool:
        definition = self.definitions.get(verdict.intent) or self.source.definitions[verdict.intent]
        if not definition.excused_by:
            return False
        if any(v.start < verdict.end and verdict.start < v.end and not self.source.definitions[v.intent].excused_by for v in inexcusable):
            return False
        return self.performs(analysis, definition.excused_by)

    @staticmethod
    def claim(analysis: Analysis, start: int, end: int) -> bool:
        """Record that a rule reported a finding by intent on the unit ``[start, end)``;
        False when another rule already did. One clause gets one such finding (「不行」 is a
        negative opener *and* a refusal, but an auditor reads one finding, not two); rules run
        in code order, so KF101 reports it before KF102 would."""
        claimed = analysis.memo.setdefault("claimed-units", set())
        if (start, end) in claimed:
            return False
        claimed.add((start, end))
        return True

    def evidence(self, analysis: Analysis, verdict: Verdict) -> Evidence:
        start, end = analysis.to_original(verdict.start, verdict.end)
        features = (verdict.anchor,) if verdict.anchor else self._model().evidence(analysis.text[verdict.start:verdict.end], verdict.intent)
        return Evidence(
            intent=verdict.intent,
            confidence=round(verdict.probability, 3),
            clause=analysis.original[start:end],
            start=start,
            end=end,
            features=features,
        )
