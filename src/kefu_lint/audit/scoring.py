"""Score one conversation: reply rules on every agent message (with inferred scenes) plus the
conversation rules. Pure: messages in, result out. The local audit and Spark both call it.

Scene inference (documented in the README):
- the first agent message of a conversation is in ``greeting``;
- the last agent message is in ``closing`` (when the agent sent more than one);
- the first agent message after a customer message that matches the ruleset's
  ``scene_keywords``/``scene_patterns`` for a scene is in that scene (``complaint`` for an
  upset customer: 投诉, 差评, 太慢了, ?? …).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..engine import Linter, score_violations
from ..model import ChatMessage, Score, Violation
from ..rules.conversation import ConversationRule
from ..rules.matching import GuardedPattern, PhraseAutomaton
from ..text.normalize import normalize


@dataclass(frozen=True, slots=True)
class ConversationFinding:
    message_index: int
    violation: Violation
    level: str  # "reply" or "conversation"


@dataclass(frozen=True, slots=True)
class MessageResult:
    index: int
    message: ChatMessage
    scenes: tuple[str, ...]
    score: Score | None  # None for customer and system messages


@dataclass(frozen=True, slots=True)
class ConversationResult:
    conversation_id: str
    agent: str | None
    shop: str | None
    messages: tuple[MessageResult, ...]
    findings: tuple[ConversationFinding, ...]
    score: Score
    first_response_seconds: float | None

    @property
    def agent_messages(self) -> int:
        return sum(1 for m in self.messages if m.message.role == "agent")


@dataclass(frozen=True)
class ScorerSpec:
    """How to build the engine: small and picklable, so that worker processes and Spark
    executors each build the same Linter the driver would."""

    ruleset: str = "default"
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    tokenizer: str = "jieba"

    def linter(self) -> Linter:
        return Linter(self.ruleset, select=self.select, ignore=self.ignore, tokenizer=self.tokenizer)


class SceneInference:
    def __init__(self, keywords: dict[str, Sequence[str]], patterns: dict[str, Sequence[str]]) -> None:
        self._automaton = PhraseAutomaton((phrase, scene) for scene, phrases in keywords.items() for phrase in phrases)
        self._patterns = [(GuardedPattern(p), scene) for scene, items in patterns.items() for p in items]

    def topics(self, customer_text: str) -> set[str]:
        text = normalize(customer_text).text
        scenes = {hit.payload for hit in self._automaton.hits(text)}
        for pattern, scene in self._patterns:
            try:
                if pattern.search(text) is not None:
                    scenes.add(scene)
            except TimeoutError:
                pass  # a pathological pattern on a pathological message infers nothing
        return scenes

    def infer(self, messages: Sequence[ChatMessage]) -> list[tuple[str, ...]]:
        agent_positions = [i for i, m in enumerate(messages) if m.role == "agent"]
        scenes: list[set[str]] = [set() for _ in messages]
        if agent_positions:
            scenes[agent_positions[0]].add("greeting")
            if len(agent_positions) > 1:
                scenes[agent_positions[-1]].add("closing")
        pending: set[str] = set()
        for index, message in enumerate(messages):
            if message.role == "customer":
                pending |= self.topics(message.text)
            elif message.role == "agent" and pending:
                scenes[index] |= pending
                pending = set()
        return [tuple(sorted(s)) for s in scenes]


def order_messages(messages: Iterable[ChatMessage]) -> list[ChatMessage]:
    """By time when every message has one, else by input order (logs may be interleaved)."""
    messages = list(messages)
    if messages and all(m.time is not None for m in messages):
        return sorted(messages, key=lambda m: (m.time, m.seq))
    return sorted(messages, key=lambda m: m.seq)


class ConversationScorer:
    """Build once per process (it owns a Linter), then score many conversations."""

    def __init__(self, linter: Linter) -> None:
        self.linter = linter
        ruleset = linter.ruleset
        self.inference = SceneInference(dict(ruleset.scene_keywords), dict(ruleset.scene_patterns))
        selected = {rule.code for rule in linter.rules}
        self.conversation_rules = [r for r in ruleset.rules if isinstance(r, ConversationRule) and r.code in selected]

    def score(self, messages: Iterable[ChatMessage]) -> ConversationResult:
        ordered = order_messages(messages)
        if not ordered:
            raise ValueError("a conversation has at least one message")
        scenes = self.inference.infer(ordered)
        findings: list[ConversationFinding] = []
        results: list[MessageResult] = []
        for index, message in enumerate(ordered):
            score = None
            if message.role == "agent":
                violations = self.linter.lint(message.text, scene=scenes[index])
                score = self.linter.score_violations(violations)
                findings.extend(ConversationFinding(index, v, "reply") for v in violations)
            results.append(MessageResult(index, message, scenes[index], score))
        for rule in self.conversation_rules:
            findings.extend(ConversationFinding(i, v, "conversation") for i, v in rule.check_conversation(ordered))
        findings.sort(key=lambda f: (f.message_index, f.violation.start, f.violation.code))
        agents = Counter(m.agent for m in ordered if m.role == "agent" and m.agent)
        shops = Counter(m.shop for m in ordered if m.shop)
        return ConversationResult(
            conversation_id=ordered[0].conversation_id,
            agent=agents.most_common(1)[0][0] if agents else None,
            shop=shops.most_common(1)[0][0] if shops else None,
            messages=tuple(results),
            findings=tuple(findings),
            score=score_violations([f.violation for f in findings], self.linter.weights),
            first_response_seconds=first_response_seconds(ordered),
        )


def first_response_seconds(messages: Sequence[ChatMessage]) -> float | None:
    first_customer = next((m for m in messages if m.role == "customer"), None)
    if first_customer is None or first_customer.time is None:
        return None
    reply = next((m for m in messages if m.role == "agent" and m.seq != first_customer.seq and m.time is not None and m.time >= first_customer.time), None)
    return None if reply is None else reply.time - first_customer.time
