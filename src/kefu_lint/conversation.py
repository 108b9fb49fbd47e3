"""The conversation as the engine sees it: messages in order, turns, each message's acts,
the timing measures, and whether it ended. Rules read it; the Linter builds it
(``Linter.lint_conversation``) for the local audit, Spark, the evaluation and the example
runner alike.

Policies (documented in the README):

- **Order**: by time when every message has one, else by input order.
- **Turn**: a run of consecutive messages by one role (system messages do not break a run).
- **Acts**: the intents of the message's role it performs (``rules/acts.py``), computed on
  first use and kept.
- **First response**: from the customer's first message to the first agent message after
  it; unknown (None) when either has no time. **Answer delay**: from the first message of a
  customer turn to the first agent message after the turn, likewise.
- **Ended**: the customer signed off in their last turn (an act ``sign-off``), or the agent
  spoke last and did not hand the chat over (an act ``transfer``). A chat that stops on a
  customer's message that is not a sign-off was cut off; a transfer continues elsewhere.
- **Ongoing**: a conversation judged while it goes on (an agent's draft) has not ended.
- **Partial**: a log known to start mid-conversation (``partial``); the greeting is not
  judged on it.
- **Who is responsible**: a finding belongs to the agent of the message it marks; a
  conversation's ``agent`` is the one who sent most messages (the first of them on a tie).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .model import ChatMessage, Score, Violation

#: The customer act that ends a conversation, and the agent act that hands it over.
SIGN_OFF = "sign-off"
HANDOVER = "transfer"


@dataclass(frozen=True, slots=True)
class Turn:
    """Messages ``[start, end)`` of the ordered conversation, all by ``role``."""

    role: str
    start: int
    end: int

    @property
    def indexes(self) -> range:
        return range(self.start, self.end)


def order_messages(messages: Iterable[ChatMessage]) -> list[ChatMessage]:
    """By time when every message has one, else by input order (logs may be interleaved)."""
    messages = list(messages)
    if messages and all(m.time is not None for m in messages):
        return sorted(messages, key=lambda m: (m.time, m.seq))
    return sorted(messages, key=lambda m: m.seq)


def _turns(messages: Sequence[ChatMessage]) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            continue  # a system notice between two agent messages does not end the turn
        if turns and turns[-1].role == message.role:
            turns[-1] = Turn(message.role, turns[-1].start, index + 1)
        else:
            turns.append(Turn(message.role, index, index + 1))
    return tuple(turns)


class Conversation:
    """One conversation, ordered, with lazily computed acts and normalised texts.

    ``acts_of(text, role)`` and ``normalized_of(text)`` come from the Linter that judges it,
    so every rule reads the same, cached, judgements.
    """

    def __init__(
        self,
        messages: Iterable[ChatMessage],
        *,
        acts_of: Callable[[str, str], frozenset[str]],
        normalized_of: Callable[[str], str],
        partial: bool = False,
        ongoing: bool = False,
    ) -> None:
        self.messages: tuple[ChatMessage, ...] = tuple(order_messages(messages))
        if not self.messages:
            raise ValueError("a conversation has at least one message")
        self.turns: tuple[Turn, ...] = _turns(self.messages)
        self.partial = partial
        #: Known not to be over (a draft judged mid-chat): it has not ended.
        self.ongoing = ongoing
        self._acts_of = acts_of
        self._normalized_of = normalized_of
        self._acts: dict[int, frozenset[str]] = {}
        self._texts: dict[int, str] = {}

    @property
    def id(self) -> str:
        return self.messages[0].conversation_id

    def __len__(self) -> int:
        return len(self.messages)

    def acts(self, index: int) -> frozenset[str]:
        """The acts message ``index`` performs (intents of its role)."""
        acts = self._acts.get(index)
        if acts is None:
            message = self.messages[index]
            acts = self._acts[index] = self._acts_of(message.text, message.role) if message.role != "system" else frozenset()
        return acts

    def normalized(self, index: int) -> str:
        text = self._texts.get(index)
        if text is None:
            text = self._texts[index] = self._normalized_of(self.messages[index].text)
        return text

    def turns_of(self, role: str) -> list[Turn]:
        return [turn for turn in self.turns if turn.role == role]

    def turn_at(self, index: int) -> Turn | None:
        return next((turn for turn in self.turns if turn.start <= index < turn.end), None)

    def next_of(self, role: str, after: int) -> int | None:
        """The first message by ``role`` after message ``after``."""
        return next((i for i in range(after + 1, len(self.messages)) if self.messages[i].role == role), None)

    # -- timing: one definition each --

    def delay(self, asked: int, answered: int | None) -> float | None:
        """Seconds from message ``asked`` to message ``answered``; None when either lacks a time."""
        if answered is None:
            return None
        start, end = self.messages[asked].time, self.messages[answered].time
        return None if start is None or end is None else end - start

    @property
    def first_response_seconds(self) -> float | None:
        first = next((i for i, m in enumerate(self.messages) if m.role == "customer"), None)
        return None if first is None else self.delay(first, self.next_of("agent", first))

    def answer_delays(self) -> list[tuple[int, int | None, float | None]]:
        """Per customer turn: its first message, the agent message that answered it (None
        when none did) and the delay in seconds (None when unknown)."""
        delays = []
        for turn in self.turns_of("customer"):
            answer = self.next_of("agent", turn.end - 1)
            delays.append((turn.start, answer, self.delay(turn.start, answer)))
        return delays

    # -- states --

    @property
    def ended(self) -> bool:
        spoken = [turn for turn in self.turns if turn.role in ("customer", "agent")]
        if not spoken or self.ongoing:
            return False
        last = spoken[-1]
        if last.role == "customer":
            return any(SIGN_OFF in self.acts(i) for i in last.indexes)
        return not any(HANDOVER in self.acts(i) for i in last.indexes)

    def agent_of(self, index: int) -> str | None:
        """The agent responsible for message ``index``: its own agent, or for a customer
        message the agent of the next agent message (the one who had to answer it), else
        of the last agent message before it."""
        message = self.messages[index]
        if message.role == "agent":
            return message.agent
        after = self.next_of("agent", index)
        if after is not None:
            return self.messages[after].agent
        before = next((i for i in range(index - 1, -1, -1) if self.messages[i].role == "agent"), None)
        return None if before is None else self.messages[before].agent


# -- results --


@dataclass(frozen=True, slots=True)
class ConversationFinding:
    message_index: int
    violation: Violation
    level: str  # "reply" or "conversation"
    #: The agent responsible (the marked message's agent, see ``Conversation.agent_of``).
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class MessageResult:
    index: int
    message: ChatMessage
    scenes: tuple[str, ...]
    score: Score | None  # None for customer and system messages
    acts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentResult:
    """One agent's part in a conversation: the score of the findings charged to them."""

    agent: str | None
    messages: int
    score: Score


@dataclass(frozen=True, slots=True)
class ConversationResult:
    conversation_id: str
    agent: str | None
    shop: str | None
    messages: tuple[MessageResult, ...]
    findings: tuple[ConversationFinding, ...]
    score: Score
    first_response_seconds: float | None
    ended: bool = False
    partial: bool = False
    agents: tuple[AgentResult, ...] = ()

    @property
    def agent_messages(self) -> int:
        return sum(1 for m in self.messages if m.message.role == "agent")


def main_agent(messages: Sequence[ChatMessage]) -> str | None:
    counts = Counter(m.agent for m in messages if m.role == "agent" and m.agent)
    if not counts:
        return None
    most = max(counts.values())
    return next(m.agent for m in messages if m.role == "agent" and m.agent and counts[m.agent] == most)


def main_shop(messages: Sequence[ChatMessage]) -> str | None:
    counts = Counter(m.shop for m in messages if m.shop)
    return counts.most_common(1)[0][0] if counts else None


class SceneInference:
    """The scenes of each agent message, for reply rules that apply only in some (a shop's
    rule with ``scenes: [presale]``):

    - the messages of the first agent turn are in ``greeting``; of the last agent turn, in
      ``closing`` when the conversation ended;
    - the first agent turn after a customer message that performs a ``complaint`` act is in
      ``complaint``;
    - the first agent turn after a customer message that matches the ruleset's
      ``scene_keywords``/``scene_patterns`` for a scene is in that scene.
    """

    def __init__(self, keywords: dict[str, Sequence[str]], patterns: dict[str, Sequence[str]]) -> None:
        from .rules.base import Requirement
        from .rules.conversation import Cues

        # Each topic scene is a cue like a condition's: its phrases, its patterns, and for
        # ``complaint`` the customer's act.
        names = sorted(set(keywords) | set(patterns) | {"complaint"})
        self._scenes = names
        self._cues = Cues([
            Requirement(name, tuple(keywords.get(name, ())), ("complaint",) if name == "complaint" else (), tuple(patterns.get(name, ())))
            for name in names
        ])

    def topics(self, conversation: Conversation, index: int) -> set[str]:
        acts = conversation.acts(index)
        return {self._scenes[i] for i in self._cues.shown(conversation.normalized(index), acts)}

    def infer(self, conversation: Conversation, *, topics: bool = True) -> list[tuple[str, ...]]:
        """Each message's scenes; the topic scenes (complaint, presale …) only with ``topics``:
        they cost a look at every customer message, and only a reply rule with ``scenes``
        reads them."""
        scenes: list[set[str]] = [set() for _ in conversation.messages]
        agent_turns = conversation.turns_of("agent")
        if agent_turns:
            for index in agent_turns[0].indexes:
                scenes[index].add("greeting")
            if len(agent_turns) > 1 and conversation.ended:
                for index in agent_turns[-1].indexes:
                    scenes[index].add("closing")
        if not topics:
            return [tuple(sorted(s)) for s in scenes]
        pending: set[str] = set()
        for turn in conversation.turns:
            if turn.role == "customer":
                for index in turn.indexes:
                    pending |= self.topics(conversation, index)
            elif turn.role == "agent" and pending:
                for index in turn.indexes:
                    scenes[index] |= pending
                pending = set()
        return [tuple(sorted(s)) for s in scenes]
