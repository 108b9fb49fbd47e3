"""The Linter: text -> normalised text and tokens -> rules -> violations -> score. No I/O.

Score model (documented in the README, "Score model"; one model for replies, conversations,
files and runs):

- every finding subtracts its rule's ``weight`` (ruleset data; defaults red 50, yellow 10,
  green 15) from 100, clamped to 0..100;
- a red finding caps the value at 59 (一票否决: one hit fails the reply); without one the
  value stays within 60..99 (a reply with a finding is never green, and only a red finding
  fails it, however many small ones add up: auditors grade by the worst zone);
- the grade is read off the value by the thresholds: red < 60 <= yellow < 100 = green, so the
  grade and the score can never disagree;
- an aggregate (a file, a run) is the mean of its replies' values, capped by its worst reply's
  grade, so its grade is its worst reply's grade and still the thresholds of its value.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import regex

from .conversation import (
    AgentResult,
    Conversation,
    ConversationFinding,
    ConversationResult,
    MessageResult,
    SceneInference,
    main_agent,
    main_shop,
    order_messages,
)
from .errors import ConfigError
from .model import GRADE_FLOORS, SCENES, ZONE_SEVERITY, ZONES, ChatMessage, Grade, IntentHit, Score, Violation
from .rules import ConditionRule, Rule
from .rules.acts import act_spans, performed_acts
from .rules.matching import GuardedPattern, PhraseAutomaton
from .rules.triggers import TriggerIndex
from .rulesets import Ruleset, load_ruleset
from .text.analysis import Analysis, analyze
from .text.normalize import normalize, normalize_many
from .text.punctuation import full_width_punctuation
from .text.tokenize import Tokenizer, TokenizerPool, make_tokenizer

#: Highest value each grade may carry (the thresholds read the other way).
GRADE_CEILING = {"red": 59, "yellow": 99, "green": 100}
#: The range a reply's value is kept in, by its worst finding's zone (None: no finding).
VALUE_RANGE = {"red": (0, 59), "yellow": (60, 99), "green": (60, 99), None: (100, 100)}

#: Distinct (reply, scene) results kept per Linter: template replies repeat heavily in logs.
CACHE_SIZE = 16384
#: lint_many judges a batch this many replies at a time: a quarter of the cache, so a part's
#: results and the rewrites its suggestions are tried with fit in it together.
BATCH_PART = CACHE_SIZE // 4


_MISSING = object()


class _ResultCache:
    """The Linter's results by key (reply, scenes, judged in a conversation): the ``size``
    most recently used, as ``functools.lru_cache`` keeps them, and also a batch at a time
    (``get_many``), whose misses are worked out together by ``compute_many``."""

    def __init__(self, compute_many: Callable[[list[tuple]], list], size: int) -> None:
        self._compute_many = compute_many
        self._size = size
        self._results: dict[tuple, object] = {}  # least recently used first
        self._lock = threading.Lock()  # Linter is shared between threads
        self.hits = self.misses = 0

    def __call__(self, *key):
        with self._lock:
            value = self._results.pop(key, _MISSING)
            if value is not _MISSING:
                self._results[key] = value
                self.hits += 1
                return value
        return self._store([key], self._compute_many([key]))[0]

    def get_many(self, keys: Sequence[tuple]) -> list:
        """The result of each key, in order; each distinct new key computed once."""
        found: dict[tuple, object] = {}
        with self._lock:
            for key in keys:
                if key in found:
                    continue
                value = self._results.pop(key, _MISSING)
                if value is not _MISSING:
                    self._results[key] = value
                    found[key] = value
            self.hits += len(keys) - sum(1 for key in keys if key not in found)
        new = [key for key in dict.fromkeys(keys) if key not in found]
        if new:
            found.update(zip(new, self._store(new, self._compute_many(new))))
        return [found[key] for key in keys]

    def _store(self, keys: list[tuple], values: list) -> list:
        with self._lock:
            self.misses += len(keys)
            for key, value in zip(keys, values):
                self._results[key] = value
            while len(self._results) > self._size:
                del self._results[next(iter(self._results))]
        return values

    def cache_clear(self) -> None:
        with self._lock:
            self._results.clear()
            self.hits = self.misses = 0


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
    if not unsafe or violation.advice_only or violation.suggestion is None:
        return None
    return violation.suggestion.removesuffix("…")  # 「很抱歉，暂时无法…」 + the rest of the reply


def apply_edits(text: str, violations: Sequence[Violation], unsafe: bool = False) -> tuple[str, list[Violation]]:
    """Apply the non-overlapping replacements left to right; overlapping ones are skipped.
    With ``unsafe``, of two starting together the longer goes first: a suggestion for 「你问问
    仓库」 replaces the words that the safe fix of 「你」 would only touch."""
    used: list[Violation] = []
    pieces: list[str] = []
    touched: list[tuple[int, int]] = []  # where each replacement stands in the new text
    position = length = 0
    for violation in sorted(violations, key=lambda v: (v.start, -v.end if unsafe else v.end)):
        replacement = replacement_of(violation, unsafe)
        if replacement is None or violation.start < position:
            continue
        if text[violation.start:violation.end] == replacement:
            continue
        kept = text[position:violation.start]
        pieces.append(kept)
        pieces.append(replacement)
        length += len(kept)
        touched.append((length, length + len(replacement)))
        length += len(replacement)
        position = violation.end
        used.append(violation)
    pieces.append(text[position:])
    return _full_width_where_touched("".join(pieces), touched), used


#: Marks full_width_punctuation may widen (it maps each character to one: offsets hold).
_NARROW_MARKS = frozenset(",!?;:().")


def _full_width_where_touched(text: str, touched: Sequence[tuple[int, int]]) -> str:
    """``text`` with Chinese punctuation in each replacement and in the run of marks on either
    side of it: the words a fix wrote are followed by 「，」, not the 「,」 typed after the
    words they replaced (「你好,」 → 「您好，」, 「!!!」 → 「！」). The rest stays as typed."""
    if not touched:
        return text
    wide = full_width_punctuation(text)
    if wide == text:
        return text
    chars = list(text)
    for start, end in touched:
        while start > 0 and text[start - 1] in _NARROW_MARKS:
            start -= 1
        while end < len(text) and text[end] in _NARROW_MARKS:
            end += 1
        chars[start:end] = wide[start:end]
    return "".join(chars)


def scene_set(scene: str | Iterable[str] | None) -> frozenset[str]:
    """Validate and normalise the ``scene`` argument to a set of known scenes."""
    if scene is None:
        return frozenset()
    scenes = frozenset((scene,)) if isinstance(scene, str) else frozenset(scene)
    unknown = scenes - set(SCENES)
    if unknown:
        raise ConfigError(f"unknown scene {sorted(unknown)[0]!r}; known scenes: {', '.join(SCENES)}")
    return scenes


def grade_of_score(value: int) -> Grade:
    """The grade of a score by the README's thresholds: the only place a grade comes from."""
    return next(grade for grade, floor in GRADE_FLOORS if value >= floor)


def grade_of(violations: Iterable[Violation], weights: dict[str, int] | None = None) -> str:
    """The grade of a reply with these findings (weights by code; by zone when not given)."""
    violations = list(violations)
    if weights is None:
        from .rulesets import DEFAULT_WEIGHTS

        weights = {v.code: DEFAULT_WEIGHTS[v.zone] for v in violations}
    return score_violations(violations, weights).grade


def score_violations(violations: Sequence[Violation], weights: dict[str, int]) -> Score:
    worst = max((v.zone for v in violations), key=ZONE_SEVERITY.__getitem__, default=None)
    low, high = VALUE_RANGE[worst]
    value = min(max(100 - sum(weights.get(v.code, 0) for v in violations), low), high)
    return Score(value=value, grade=grade_of_score(value), violations=tuple(violations))


def combine_scores(scores: Iterable[Score]) -> Score | None:
    """The score of a file or a run: the mean of its replies' values, capped by the worst
    reply's grade (a file with a red reply is red however many good ones it has); None for
    no replies."""
    scores = list(scores)
    if not scores:
        return None
    worst = max(scores, key=lambda score: ZONE_SEVERITY[score.grade]).grade
    value = min(round(sum(score.value for score in scores) / len(scores)), GRADE_CEILING[worst])
    return Score(value=value, grade=grade_of_score(value), violations=tuple(v for s in scores for v in s.violations))


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
        tokenizer: str = "auto",
        shop_numbers: Iterable[str] = (),
        tokenizers: TokenizerPool | None = None,
    ) -> None:
        """``tokenizer``: ``auto`` (the default) is jieba-rs when ``kefu-lint[fast]`` is
        installed, else jieba: the two give identical findings, jieba-rs loads about 7 times
        faster. ``tokenizers``: a pool to share the tokenizer with other Linters of the same
        dictionary (see :class:`TokenizerPool`)."""
        self.ruleset = ruleset if isinstance(ruleset, Ruleset) else load_ruleset(ruleset)
        #: The shop's own numbers (hotline, return-address phone), digits only: no rule flags
        #: them, so no fix masks them (``shop-numbers`` in the config).
        self.shop_numbers = frozenset(filter(None, map(_digits, shop_numbers)))
        self.rules: tuple[Rule, ...] = tuple(select_rules(self.ruleset.rules, select, ignore))
        self.weights = {rule.code: rule.weight for rule in self.ruleset.rules}
        words = self.ruleset.tokenizer_words()
        self.tokenizer: Tokenizer = tokenizers.get(tokenizer, words) if tokenizers is not None else make_tokenizer(tokenizer, words)
        # One pass tells which rules can find anything in a reply (rules/triggers.py).
        self._triggers = TriggerIndex([rule.trigger for rule in self.rules])
        self._cached_lint = _ResultCache(self._lint_new, CACHE_SIZE)
        self._cached_offered = lru_cache(maxsize=CACHE_SIZE)(self._offered)
        self._cached_intents = lru_cache(maxsize=CACHE_SIZE)(self._intents)
        self._cached_acts = lru_cache(maxsize=CACHE_SIZE)(self._acts)
        self._rules_for_scenes = lru_cache(maxsize=256)(self._select_for_scenes)
        # Conditions over a whole conversation (rules/conversation.py); in a conversation they
        # judge there, not reply by reply.
        self.conversation_rules: tuple[ConditionRule, ...] = tuple(
            rule for rule in self.rules if isinstance(rule, ConditionRule) and rule.range is not None
        )
        openers = self.ruleset.mid_conversation_openers
        self._mid_way = GuardedPattern("|".join(f"(?:{p})" for p in openers)) if openers else None
        #: Reply rules whose findings depend on where the conversation puts the reply.
        self._context_rules = {rule.code: rule for rule in self.rules if type(rule).stands_in is not Rule.stands_in}
        self._scenes = SceneInference(dict(self.ruleset.scene_keywords), dict(self.ruleset.scene_patterns))
        #: Whether any reply rule applies only in some scenes (then topic scenes are inferred).
        self._reads_topics = any(rule.config.scenes and not isinstance(rule, ConditionRule) for rule in self.rules)

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
        return list(self._cached_offered(text, scene_set(scene)))

    def _found(self, text: str, scene: str | Iterable[str] | None) -> list[Violation]:
        """The findings as the rules make them, their suggestions not yet tried (what fixing reads)."""
        return list(self._cached_lint(text, scene_set(scene), False))

    def lint_many(self, replies: Iterable[str], *, scene: str | Iterable[str] | None = None,
                  scenes: Sequence[str | Iterable[str] | None] | None = None) -> list[list[Violation]]:
        """The findings of each reply: exactly ``[self.lint(reply, scene=scene) for reply in
        replies]``, with the per-reply work done once per batch: the scene checked once, each
        distinct reply judged once, and the replies the cache has not seen normalised and
        searched for triggers together. ``scenes`` gives each reply its own scene instead."""
        replies = list(replies)
        for reply in replies:
            if not isinstance(reply, str):
                raise TypeError(f"lint_many() takes the replies as str, not {type(reply).__name__}")
        if scenes is None:
            shared = scene_set(scene)
            keys = [(reply, shared, False) for reply in replies]
        else:
            scenes = list(scenes)
            if len(scenes) != len(replies):
                raise ValueError(f"lint_many() got {len(replies)} replies but {len(scenes)} scenes")
            checked: dict = {}
            keys = [(reply, _memo_scene_set(checked, each), False) for reply, each in zip(replies, scenes)]
        found: list[list[Violation]] = []
        # A part at a time, small enough that its results are still in the cache when its
        # suggestions are tried: a batch larger than the cache had its first replies evicted
        # by its last and linted each of them twice (a 100,000-reply library took 15.7× the
        # time of 10,000).
        for start in range(0, len(keys), BATCH_PART):
            part = keys[start:start + BATCH_PART]
            self._cached_lint.get_many(part)  # the new replies judged as one batch…
            # …then each as lint() returns it: its suggestions tried (_offered), from the cache
            found.extend(list(self._cached_offered(reply, scenes)) for reply, scenes, _ in part)
        return found

    def score_many(self, replies: Iterable[str], *, scene: str | Iterable[str] | None = None,
                   scenes: Sequence[str | Iterable[str] | None] | None = None) -> list[Score]:
        """The score of each reply: exactly ``[self.score(reply, scene=scene) for reply in replies]``."""
        return [score_violations(found, self.weights) for found in self.lint_many(replies, scene=scene, scenes=scenes)]

    def _offered(self, text: str, scenes: frozenset[str]) -> tuple[Violation, ...]:
        """The findings with only the suggestions that work offered as rewrites: the reply is
        rewritten with them (as ``fix(unsafe=True)`` does) and the result re-linted. When the
        rewrite is refused (still red: a refusal the linter had not flagged shows once the
        opener is polite, 「很抱歉，这个暂时无法办理，这个退不了」; or it reads badly), each
        suggestion is advice only, to rewrite the reply with, not to drop in."""
        found = self._cached_lint(text, scenes, False)
        offered = [v for v in found if v.fix is None and replacement_of(v, unsafe=True) is not None]
        if not offered:
            return found
        _, applied = self.fix(text, scene=scenes, unsafe=True)
        if any(v.fix is None for v in applied):
            return found  # the rewrite was kept: its suggestions work
        return tuple(replace(v, advice_only=True) if v in offered else v for v in found)

    def intents(self, text: str, *, role: str = "agent") -> list[IntentHit]:
        """The acts ``text`` performs, clause by clause, among the ruleset's intents for ``role``
        (``agent`` or ``customer``): for agent-assist tools and the conversation rules."""
        if not isinstance(text, str):
            raise TypeError(f"intents() takes the message as str, not {type(text).__name__}")
        return list(self._cached_intents(text, role))

    def _intents(self, text: str, role: str) -> tuple[IntentHit, ...]:
        from .intent.classifier import sigmoid

        _check_role(role)
        source = self.ruleset.intents
        analysis = analyze(text, self.tokenizer)
        acts = performed_acts(source, analysis, role, banned=True) if source.definitions else frozenset()
        if not acts:
            return ()
        model = source.model()
        lanes = [(name, model.index[name], source.threshold(name)) for name in sorted(acts)]
        hits = []
        width = 1 + max(lane for _, lane, _ in lanes)
        for start, end in act_spans(analysis, role):
            if analysis.in_quote(start, end):
                continue
            clause = analysis.text[start:end]
            logits = model.logits(clause, width)
            for name, lane, threshold in lanes:
                probability = sigmoid(logits[lane])
                if probability >= threshold:
                    original_start, original_end = analysis.to_original(start, end)
                    hits.append(IntentHit(name, original_start, original_end, round(probability, 3), model.evidence(clause, name)))
        for name in acts - {hit.intent for hit in hits}:  # performed by an anchor phrase only
            for hit in PhraseAutomaton((a, a) for a in source.definitions[name].anchors).hits(analysis.text):
                if not analysis.in_quote(hit.start, hit.end):
                    original_start, original_end = analysis.to_original(hit.start, hit.end)
                    hits.append(IntentHit(name, original_start, original_end, 1.0, (hit.payload,)))
        hits.sort(key=lambda hit: (hit.start, -hit.confidence, hit.intent))
        return tuple(hits)

    def acts(self, text: str, *, role: str = "agent") -> frozenset[str]:
        """The names of the acts ``text`` performs (``intents`` without spans and evidence)."""
        if not isinstance(text, str):
            raise TypeError(f"acts() takes the message as str, not {type(text).__name__}")
        return self._cached_acts(text, role)

    def _acts(self, text: str, role: str) -> frozenset[str]:
        _check_role(role)
        source = self.ruleset.intents
        if not source.definitions:
            return frozenset()
        return performed_acts(source, analyze(text, self.tokenizer), role)

    def conversation(self, messages: Iterable[ChatMessage], *, partial: bool = False, ongoing: bool = False) -> Conversation:
        """``messages`` as the engine judges them: ordered, in turns, with lazy acts. It is
        partial (starts mid-conversation) when ``partial`` says so, any message does, or its
        first message is the customer's and goes on from something said before (the
        ruleset's ``mid_conversation_openers``: 「那我这批海苔还能退吗」)."""
        messages = order_messages(messages)
        partial = partial or any(m.partial for m in messages) or self._starts_mid_way(messages)
        return Conversation(
            messages, acts_of=lambda text, role: self.acts(text, role=role),
            normalized_of=lambda text: normalize(text).text, partial=partial, ongoing=ongoing,
        )

    def _starts_mid_way(self, ordered: Sequence[ChatMessage]) -> bool:
        if self._mid_way is None or not ordered or ordered[0].role != "customer":
            return False
        try:
            return self._mid_way.search(normalize(ordered[0].text).text) is not None
        except TimeoutError:
            return False  # a pathological pattern on a pathological message says nothing

    def lint_draft(
        self, messages: Iterable[ChatMessage], draft: str, *, agent: str | None = None, partial: bool = False,
    ) -> list[ConversationFinding]:
        """For agent-assist tools: the findings on ``draft`` if the agent sent it now, as the
        next message of ``messages`` (the conversation so far). The conversation is judged as
        still going on, so the close is not required of a draft; an upset customer's need for
        empathy, a change to confirm or a slow first answer are."""
        so_far = order_messages(messages)
        last = so_far[-1] if so_far else None
        message = ChatMessage(
            last.conversation_id if last else "draft", "agent", draft, agent=agent,
            shop=last.shop if last else None, seq=(max(m.seq for m in so_far) + 1) if so_far else 0,
        )
        # The draft has no time: it is judged on what it says (timing rules read the log).
        result = self.lint_conversation(self.conversation([*so_far, message], partial=partial, ongoing=True))
        return [f for f in result.findings if f.message_index == len(so_far)]

    def lint_conversation(self, messages: Iterable[ChatMessage] | Conversation, *, partial: bool = False) -> ConversationResult:
        """Judge a whole conversation: every agent message by the reply rules (with the scenes
        the conversation gives it), then the conversation's conditions. Each finding names
        its message and the agent responsible for it."""
        return self.lint_conversations([messages], partial=partial)[0]

    def lint_conversations(self, conversations: Iterable[Iterable[ChatMessage] | Conversation], *,
                           partial: bool = False) -> list[ConversationResult]:
        """``[self.lint_conversation(c, partial=partial) for c in conversations]``, the agent
        replies of all of them judged as one batch (``lint_many``)."""
        judged = []
        for messages in conversations:
            conversation = messages if isinstance(messages, Conversation) else self.conversation(messages, partial=partial)
            judged.append((conversation, self._scenes.infer(conversation, topics=self._reads_topics)))
        checked: dict = {}
        keys = [(message.text, _memo_scene_set(checked, scenes[index]), True)
                for conversation, scenes in judged for index, message in enumerate(conversation.messages) if message.role == "agent"]
        verdicts = iter(self._cached_lint.get_many(keys))
        return [self._conversation_result(conversation, scenes, verdicts) for conversation, scenes in judged]

    def _conversation_result(self, conversation: Conversation, scenes: list[tuple[str, ...]], verdicts) -> ConversationResult:
        """The result of one conversation, its agent replies' findings taken from ``verdicts``
        in message order."""
        ordered = conversation.messages
        findings: list[ConversationFinding] = []
        results: list[MessageResult] = []
        for index, message in enumerate(ordered):
            score = None
            if message.role == "agent":
                violations = next(verdicts)
                if self._context_rules:
                    violations = tuple(v for v in violations if v.code not in self._context_rules
                                       or self._context_rules[v.code].stands_in(conversation, index))
                score = score_violations(violations, self.weights)
                findings.extend(ConversationFinding(index, v, "reply", message.agent) for v in violations)
            acts = tuple(sorted(conversation.acts(index))) if message.role != "system" else ()
            results.append(MessageResult(index, message, scenes[index], score, acts))
        for rule in self.conversation_rules:
            findings.extend(
                ConversationFinding(i, v, "conversation", conversation.agent_of(i)) for i, v in rule.check_conversation(conversation)
            )
        findings.sort(key=lambda f: (f.message_index, f.violation.start, f.violation.code))
        return ConversationResult(
            conversation_id=conversation.id,
            agent=main_agent(ordered),
            shop=main_shop(ordered),
            messages=tuple(results),
            findings=tuple(findings),
            score=score_violations([f.violation for f in findings], self.weights),
            first_response_seconds=conversation.first_response_seconds,
            ended=conversation.ended,
            partial=conversation.partial,
            agents=self._agent_results(ordered, findings),
        )

    def _agent_results(self, ordered: Sequence[ChatMessage], findings: Sequence[ConversationFinding]) -> tuple[AgentResult, ...]:
        """Per agent who took part: the score of the findings charged to them."""
        sent = Counter(m.agent for m in ordered if m.role == "agent")
        charged: dict[str | None, list[Violation]] = {agent: [] for agent in sent}
        for finding in findings:
            charged.setdefault(finding.agent, []).append(finding.violation)
        return tuple(
            AgentResult(agent, sent.get(agent, 0), score_violations(violations, self.weights))
            for agent, violations in charged.items()
        )

    def score(self, text: str, *, scene: str | Iterable[str] | None = None) -> Score:
        return score_violations(self.lint(text, scene=scene), self.weights)

    def score_violations(self, violations: Sequence[Violation]) -> Score:
        return score_violations(violations, self.weights)

    def fix(self, text: str, *, scene: str | Iterable[str] | None = None, unsafe: bool = False,
            exclude: Iterable[str] = ()) -> tuple[str, list[Violation]]:
        """Apply fixes until none is left: ``(fixed text, the findings that were fixed)``.

        Safe fixes only, unless ``unsafe`` also applies suggestions; findings of the codes in
        ``exclude`` (suppressed ones) are left alone. Overlapping edits wait for the next pass,
        so applying the result again changes nothing (idempotent).

        A reply rewritten with suggestions is written in Chinese punctuation throughout, and
        is kept only when it reads well (``reads_well``): otherwise the suggestions stay advice
        and only the safe fixes are applied, rather than a reply that contradicts itself.
        """
        exclude = frozenset(exclude)
        safe_text, safe_applied = self._apply_fixes(text, scene, False, exclude)
        if not unsafe:
            return safe_text, safe_applied
        rewritten, applied = self._apply_fixes(text, scene, True, exclude)
        if all(v.fix is not None for v in applied):
            return rewritten, applied  # no suggestion was needed: the safe result
        rewritten = full_width_punctuation(rewritten)
        # A red finding must be rewritten by its own suggestion: one that went away only
        # because another suggestion offered help now excuses words still telling the
        # customer to go away (「我马上帮您查询一下，您问问仓库吧」).
        # And a rewrite fixes the reply's own problems: a suggestion that another rule then
        # flags (and rewrites again) took the reply somewhere it was not.
        original = self._found(text, scene)
        red = Counter(v.code for v in original if v.zone == "red" and v.code not in exclude)
        rewritten_red = Counter(v.code for v in applied if v.zone == "red")
        strays = {v.code for v in applied} - {v.code for v in original}
        if (strays or any(rewritten_red[code] < count for code, count in red.items())
                or not self.reads_well(text, rewritten, scene=scene) or self._red_left_behind(text, original, scene)):
            return safe_text, safe_applied
        return rewritten, applied

    def _red_left_behind(self, text: str, found: Sequence[Violation], scene) -> bool:
        """Whether a part of the reply that no suggestion rewrites is red on its own. In the
        whole reply the linter may judge a refusal once, as the clause it flags: in 「系统就是这样，
        没办法」 the suggestion rewrites 「系统就是这样」, and 「没办法」, never flagged by itself,
        would stay behind the polite words (「…我来帮您想想办法，没办法」), read as help there."""
        rewritten = sorted((v.start, v.end) for v in found if v.fix is None and replacement_of(v, unsafe=True) is not None)
        kept, position = [], 0
        for start, end in rewritten:
            kept.append(text[position:start])
            position = max(position, end)
        kept.append(text[position:])
        for part in kept:
            part = part.strip(_EDGE_MARKS)
            if part and any(v.zone == "red" for v in self._found(part, scene)):
                return True
        return False

    def _apply_fixes(self, text: str, scene, unsafe: bool, exclude: frozenset[str]) -> tuple[str, list[Violation]]:
        applied: list[Violation] = []
        for _ in range(MAX_FIX_PASSES):
            edits = [v for v in self._found(text, scene) if v.code not in exclude and replacement_of(v, unsafe) is not None]
            new_text, used = apply_edits(text, edits, unsafe)
            if not used or new_text == text:
                break
            applied.extend(used)
            text = new_text
        return text, applied

    def reads_well(self, original: str, rewritten: str, *, scene: str | Iterable[str] | None = None) -> bool:
        """Whether a reply rewritten by suggestions can replace ``original``: it refuses or
        deflects nowhere (no red finding left: 「我马上帮您查询一下，您问问仓库吧」 offers help
        and pushes the customer away at once), brings no problem of its own, and has no word
        doubled or pronoun stacked by a replacement (「快递快递」, 「我们我帮您」)."""
        before = {v.code for v in self._found(original, scene)}
        after = self._found(rewritten, scene)
        if any(v.zone == "red" or v.code not in before for v in after):
            return False
        return not any(pattern.search(rewritten) and not pattern.search(original) for pattern in _SPLICE_FAULTS)

    def _select_for_scenes(self, scenes: frozenset[str], in_conversation: bool) -> tuple[int, dict[int, Rule]]:
        """The rules that apply in ``scenes``: their bits in the trigger mask, and each by its
        bit. In a conversation, the conditions judge the conversation instead."""
        by_bit = {
            1 << index: rule
            for index, rule in enumerate(self.rules)
            if rule.applies_to(scenes) and not (in_conversation and isinstance(rule, ConditionRule))
        }
        return sum(by_bit), by_bit  # distinct bits: their sum is their union

    def _lint(self, text: str, scenes: frozenset[str], in_conversation: bool) -> tuple[Violation, ...]:
        applicable, by_bit = self._rules_for_scenes(scenes, in_conversation)
        if not applicable:
            return ()
        analysis = analyze(text, self.tokenizer)
        return self._run_rules(text, analysis, self._triggers.fired(analysis.text) & applicable, by_bit)

    def _lint_new(self, keys: list[tuple[str, frozenset[str], bool]]) -> list[tuple[Violation, ...]]:
        """``[self._lint(*key) for key in keys]``: the replies normalised and their triggers
        found in one pass each (``normalize_many``, ``TriggerIndex.fired_many``)."""
        if len(keys) == 1:
            return [self._lint(*keys[0])]
        plans = [self._rules_for_scenes(scenes, in_conversation) for _, scenes, in_conversation in keys]
        texts = list(dict.fromkeys(text for (text, _, _), (applicable, _) in zip(keys, plans) if applicable))
        normalized = dict(zip(texts, normalize_many(texts)))
        fired = dict(zip(texts, self._triggers.fired_many([normalized[text].text for text in texts])))
        return [
            # an Analysis each: it memoises per reply what rules work out, as _lint's does
            self._run_rules(text, Analysis(normalized[text], self.tokenizer), fired[text] & applicable, by_bit) if applicable else ()
            for (text, _, _), (applicable, by_bit) in zip(keys, plans)
        ]

    def _run_rules(self, text: str, analysis: Analysis, to_run: int, by_bit: dict[int, Rule]) -> tuple[Violation, ...]:
        found: list[Violation] = []
        own = _own_number_spans(text, self.shop_numbers) if self.shop_numbers else ()
        while to_run:  # the set bits in rule order; a clean reply usually has none
            bit = to_run & -to_run
            rule = by_bit[bit]
            found_here = rule.check(analysis)
            if own and not rule.whole_reply:
                found_here = (v for v in found_here if not _only_own_numbers(text, v, own))
            found.extend(found_here)
            to_run ^= bit
        if len(found) > 1:
            found.sort(key=lambda v: (v.start, v.end, v.code))
        return tuple(found)


#: What a replacement spliced into a reply must not leave behind: a word written twice
#: (快递快递), or a subject pronoun followed by the suggestion's own (我们我帮您, 你我帮您,
#: 您自己我帮您).
_SPLICE_FAULTS = (
    regex.compile(r"(\p{Han}{2,})\1"),
    regex.compile(r"(?:我们|咱们|你们|我|你|您)(?:自己)?(?:我们|我)(?=帮|来|马上|为|再|把|会|这就)"),
    # a sentence's opening (an apology, a condition) run on from the words before it
    regex.compile(r"\p{Han}(?:很抱歉|非常抱歉)|(?:我们|我|您)(?:如有问题|如果您)"),
)
#: Marks and spaces a kept part of a reply is trimmed of before it is linted on its own.
_EDGE_MARKS = " \t\n，,。.！!？?；;：:、~～…"
#: A number as written: digits with dashes or spaces between them (138 0000 5678 is the
#: shop's 138-0000-5678, as KF104 reads a number after its label).
_NUMBER_RUN = regex.compile(r"\d(?:[ \t\u3000\-]*\d)*")


def _digits(text: str) -> str:
    # full-width digits count as digits; ² is no digit of a phone number (and int("²") fails)
    return "".join(str(int(c)) for c in text if c.isdecimal())


def _own_number_spans(text: str, numbers: frozenset[str]) -> tuple[tuple[int, int], ...]:
    """Where the shop's own numbers are written in ``text`` (digits compared, dashes ignored)."""
    return tuple(match.span() for match in _NUMBER_RUN.finditer(text) if _digits(match.group()) in numbers)


def _only_own_numbers(text: str, violation: Violation, own: tuple[tuple[int, int], ...]) -> bool:
    """True when the finding is about numbers and every number it flags is the shop's own."""
    runs = [m.span() for m in _NUMBER_RUN.finditer(text, violation.start, violation.end)]
    return bool(runs) and all(any(s <= start and end <= e for s, e in own) for start, end in runs)


def _memo_scene_set(checked: dict, scene) -> frozenset[str]:
    """``scene_set(scene)``, each distinct scene of a batch checked once."""
    key = scene if isinstance(scene, (str, tuple, type(None))) else tuple(scene)
    found = checked.get(key)
    if found is None:
        found = checked[key] = scene_set(scene)
    return found


def _check_role(role: str) -> None:
    if role not in ("agent", "customer"):
        raise ConfigError(f"unknown role {role!r}; intents are judged for agent or customer messages")


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


__all__ = ["Linter", "default_linter", "select_rules", "score_violations", "combine_scores", "grade_of", "grade_of_score", "ZONES"]
