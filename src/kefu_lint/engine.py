"""The Linter: text -> normalised text and tokens -> rules -> violations -> score. No I/O.

Score model (documented in the README):

- every finding subtracts its rule's ``weight`` (ruleset data; defaults red 50, yellow 10,
  green 15) from 100, and the result is clamped to 0..100;
- the grade is the worst zone found: any red finding gives ``red`` (一票否决, one hit fails
  the reply), otherwise any finding gives ``yellow``, none gives ``green``;
- the value is capped by the grade, so a grade can always be read off the number:
  red < 60 <= yellow < 85 <= green.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError
from .model import SCENES, ZONE_SEVERITY, ZONES, IntentHit, Score, Violation
from .rules import Rule
from .rules.triggers import TriggerIndex
from .rulesets import Ruleset, load_ruleset
from .text.analysis import Analysis, analyze
from .text.tokenize import Tokenizer, make_tokenizer

#: Highest value each grade may carry: red < 60 <= yellow < 85 <= green.
GRADE_CEILING = {"red": 59, "yellow": 84, "green": 100}

#: Distinct (reply, scene) results kept per Linter: template replies repeat heavily in logs.
CACHE_SIZE = 16384


def select_rules(rules: Sequence[Rule], select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Rule]:
    """ruff-style selection. A selector is ``ALL``, a code, a code prefix (``KF1``), a rule
    name (``informal-you``) or a zone (``red``). Ignore wins over select."""
    select = list(select) if select is not None else ["ALL"]
    ignore = list(ignore or [])
    for selector in select + ignore:
        if not any(_selects(selector, rule) for rule in rules) and selector != "ALL":
            known = ", ".join(rule.code for rule in rules)
            raise ConfigError(f"selector {selector!r} matches no rule (known codes: {known}; also names, zones, prefixes, ALL)")
    return [
        rule
        for rule in rules
        if any(_selects(s, rule) for s in select) and not any(_selects(s, rule) for s in ignore)
    ]


def _selects(selector: str, rule: Rule) -> bool:
    return (
        selector == "ALL"
        or rule.code.startswith(selector.upper())
        or selector == rule.name
        or selector == rule.zone
    )


#: Fix passes before giving up on edits that keep producing new findings.
MAX_FIX_PASSES = 8


def replacement_of(violation: Violation, unsafe: bool) -> str | None:
    """The text that replaces the finding's span: its safe fix, or with ``unsafe`` its suggestion."""
    if violation.fix is not None:
        return violation.fix
    return violation.suggestion if unsafe else None


def apply_edits(text: str, violations: Sequence[Violation], unsafe: bool = False) -> tuple[str, list[Violation]]:
    """Apply the non-overlapping replacements left to right; overlapping ones are skipped."""
    used: list[Violation] = []
    pieces: list[str] = []
    position = 0
    for violation in sorted(violations, key=lambda v: (v.start, v.end)):
        replacement = replacement_of(violation, unsafe)
        if replacement is None or violation.start < position:
            continue
        if text[violation.start:violation.end] == replacement:
            continue
        pieces.append(text[position:violation.start])
        pieces.append(replacement)
        position = violation.end
        used.append(violation)
    pieces.append(text[position:])
    return "".join(pieces), used


def scene_set(scene: str | Iterable[str] | None) -> frozenset[str]:
    """Validate and normalise the ``scene`` argument to a set of known scenes."""
    if scene is None:
        return frozenset()
    scenes = frozenset((scene,)) if isinstance(scene, str) else frozenset(scene)
    unknown = scenes - set(SCENES)
    if unknown:
        raise ConfigError(f"unknown scene {sorted(unknown)[0]!r}; known scenes: {', '.join(SCENES)}")
    return scenes


def grade_of(violations: Iterable[Violation]) -> str:
    worst = max((ZONE_SEVERITY[v.zone] for v in violations), default=None)
    if worst is None:
        return "green"
    return "red" if worst == ZONE_SEVERITY["red"] else "yellow"


def score_violations(violations: Sequence[Violation], weights: dict[str, int]) -> Score:
    grade = grade_of(violations)
    raw = 100 - sum(weights.get(v.code, 0) for v in violations)
    value = min(max(raw, 0), GRADE_CEILING[grade])
    return Score(value=value, grade=grade, violations=tuple(violations))


class Linter:
    """Checks replies against a ruleset. Build once, call ``lint``/``score`` from any thread.

    >>> linter = Linter()                                  # doctest: +SKIP
    >>> [v.code for v in linter.lint("不行,这个不算售后")]    # doctest: +SKIP
    ['KF101', 'KF102']
    """

    def __init__(
        self,
        ruleset: str | Path | Ruleset = "default",
        *,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        tokenizer: str = "jieba",
    ) -> None:
        self.ruleset = ruleset if isinstance(ruleset, Ruleset) else load_ruleset(ruleset)
        self.rules: tuple[Rule, ...] = tuple(select_rules(self.ruleset.rules, select, ignore))
        self.weights = {rule.code: rule.weight for rule in self.ruleset.rules}
        self.tokenizer: Tokenizer = make_tokenizer(tokenizer, self.ruleset.tokenizer_words())
        # One pass tells which rules can find anything in a reply (rules/triggers.py).
        self._triggers = TriggerIndex([rule.trigger for rule in self.rules])
        self._cached_lint = lru_cache(maxsize=CACHE_SIZE)(self._lint)
        self._cached_intents = lru_cache(maxsize=CACHE_SIZE)(self._intents)
        self._rules_for_scenes = lru_cache(maxsize=256)(self._select_for_scenes)

    @property
    def tokenizer_name(self) -> str:
        return self.tokenizer.name

    def warm_up(self) -> None:
        """Load the tokenizer now instead of on the first reply (for latency-sensitive hosts)."""
        self.tokenizer.warm_up()

    def analyze(self, text: str) -> Analysis:
        return analyze(text, self.tokenizer)

    def lint(self, text: str, *, scene: str | Iterable[str] | None = None) -> list[Violation]:
        """Every finding in ``text``, ordered by position then code.

        ``scene`` is one scene, or several when a reply plays several parts at once (the
        first reply of a conversation that answers a complaint is both greeting and complaint).
        """
        if not isinstance(text, str):
            raise TypeError(f"lint() takes the reply as str, not {type(text).__name__}")
        return list(self._cached_lint(text, scene_set(scene)))

    def intents(self, text: str, *, role: str = "agent") -> list[IntentHit]:
        """The acts ``text`` performs, clause by clause, among the ruleset's intents for ``role``
        (``agent`` or ``customer``): for agent-assist tools and the conversation rules."""
        if not isinstance(text, str):
            raise TypeError(f"intents() takes the message as str, not {type(text).__name__}")
        return list(self._cached_intents(text, role))

    def _intents(self, text: str, role: str) -> tuple[IntentHit, ...]:
        from .intent.classifier import sigmoid
        from .intent.features import units

        if role not in ("agent", "customer"):
            raise ConfigError(f"unknown role {role!r}; intents are judged for agent or customer messages")
        source = self.ruleset.intents
        names = [name for name, intent in source.definitions.items() if intent.role == role and intent.reported]
        if not names:
            return ()
        model = source.model()
        analysis = analyze(text, self.tokenizer)
        lanes = [(name, model.index[name], source.threshold(name)) for name in names]
        hits = []
        for start, end in units(analysis):
            if analysis.in_quote(start, end):
                continue
            clause = analysis.text[start:end]
            logits = model.logits(clause)
            for name, lane, threshold in lanes:
                probability = sigmoid(logits[lane])
                if probability >= threshold:
                    original_start, original_end = analysis.to_original(start, end)
                    hits.append(IntentHit(name, original_start, original_end, round(probability, 3), model.evidence(clause, name)))
        hits.sort(key=lambda hit: (hit.start, -hit.confidence, hit.intent))
        return tuple(hits)

    def score(self, text: str, *, scene: str | Iterable[str] | None = None) -> Score:
        return score_violations(self.lint(text, scene=scene), self.weights)

    def score_violations(self, violations: Sequence[Violation]) -> Score:
        return score_violations(violations, self.weights)

    def fix(self, text: str, *, scene: str | Iterable[str] | None = None, unsafe: bool = False) -> tuple[str, list[Violation]]:
        """Apply fixes until none is left: ``(fixed text, the findings that were fixed)``.

        Safe fixes only, unless ``unsafe`` also applies suggestions. Overlapping edits wait
        for the next pass, so applying the result again changes nothing (idempotent).
        """
        applied: list[Violation] = []
        for _ in range(MAX_FIX_PASSES):
            edits = [v for v in self.lint(text, scene=scene) if replacement_of(v, unsafe) is not None]
            new_text, used = apply_edits(text, edits, unsafe)
            if not used or new_text == text:
                break
            applied.extend(used)
            text = new_text
        return text, applied

    def _select_for_scenes(self, scenes: frozenset[str]) -> tuple[int, dict[int, Rule]]:
        """The rules that apply in ``scenes``: their bits in the trigger mask, and each by its bit."""
        by_bit = {1 << index: rule for index, rule in enumerate(self.rules) if rule.applies_to(scenes)}
        return sum(by_bit), by_bit  # distinct bits: their sum is their union

    def _lint(self, text: str, scenes: frozenset[str]) -> tuple[Violation, ...]:
        applicable, by_bit = self._rules_for_scenes(scenes)
        if not applicable:
            return ()
        analysis = analyze(text, self.tokenizer)
        to_run = self._triggers.fired(analysis.text) & applicable
        found: list[Violation] = []
        while to_run:  # the set bits in rule order; a clean reply usually has none
            bit = to_run & -to_run
            found.extend(by_bit[bit].check(analysis))
            to_run ^= bit
        if len(found) > 1:
            found.sort(key=lambda v: (v.start, v.end, v.code))
        return tuple(found)


_default_linter: Linter | None = None
_default_lock = threading.Lock()


def default_linter() -> Linter:
    """The Linter behind ``kefu_lint.lint``/``score``, created on first use."""
    global _default_linter
    if _default_linter is None:
        with _default_lock:
            if _default_linter is None:
                _default_linter = Linter()
    return _default_linter


__all__ = ["Linter", "default_linter", "select_rules", "score_violations", "grade_of", "ZONES"]
