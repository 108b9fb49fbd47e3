"""Conversation conditions: what a conversation requires, as ruleset data (``check: condition``).

A condition says *where* to look and *what* must be there:

- ``anchor`` (optional): the message the requirement hangs on, ``{role, any, acts,
  patterns, also, but_not, which}``: the first (``which: first``, the default) or every (``every``,
  ``every-turn``) message of ``role`` that shows the cue (no cue: any message of the role);
- ``range``: the messages to search, ``{role, turn, turns, messages}``: the role's
  ``turn: first`` or ``turn: last``, or after the anchor the next ``turns: N`` turns or
  ``messages: N`` messages of the role (neither: all of them);
- ``applies`` (optional): conversation states that must hold, ``ended`` and ``complete``
  (not a log that starts mid-conversation);
- ``require``: elements that must each occur somewhere in the range, each any of its
  phrases, patterns or acts (intents), combined with ``also`` (and: the same message shows
  that cue too) and ``but_not`` (not: it must not show that one), or ``echo: N`` (the message
  repeats N characters in a row of the anchor message: details read back); or ``max_seconds``: the range's first message must
  come within that many seconds of the anchor (a timing rule); or ``only``: a cue the range
  must not consist of (every message of it shows the cue and the range said nothing else: a
  bare 「好的」 as the whole answer to a question);
- ``unless`` (optional): a cue that excuses the range (a transfer hands the request to a
  colleague, who answers it);
- ``unanswered`` (optional): when nothing answered the anchor, flag it if its turn shows
  this cue (a question left unanswered);
- ``mark``: the message a finding marks: ``range-start`` (default), ``range-end`` or ``anchor``.

In a conversation judged while it goes on (``Linter.lint_draft``), a range of all later
messages is not judged: what it requires can still come.

A lone reply checked in one of the rule's ``scenes`` (a script entry with ``scene:
closing``) is judged as if it were the range: it must hold every required element.
Timing conditions need a conversation and judge no lone reply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from dataclasses import dataclass
from typing import Any

from ..model import SCENE_NAMES_ZH, Violation
from ..text.analysis import Analysis
from ..text.punctuation import append_sentence, full_width_punctuation, prepend_clause
from .acts import performed_acts
from .base import (
    Option,
    OptionError,
    _typed,
    Requirement,
    Rule,
    RuleConfig,
    choice,
    integer,
    requirement,
    requirement_list,
    string,
    string_list,
    trimmed_range,
)
from .matching import GuardedPattern, PhraseAutomaton

ConversationHit = tuple[int, Violation]

ROLES = ("agent", "customer")
STATES = ("ended", "complete")


@dataclass(frozen=True, slots=True)
class Anchor:
    role: str
    cue: Requirement | None
    which: str  # first | every | every-turn


@dataclass(frozen=True, slots=True)
class Range:
    role: str
    turn: str | None = None  # first | last
    turns: int | None = None
    messages: int | None = None


def _role(value: Any) -> str:
    if value not in ROLES:
        raise OptionError(f"role must be agent or customer, got {value!r}")
    return value


@_typed("anchor")
def anchor_option(value: Any) -> Anchor:
    if not isinstance(value, Mapping) or not set(value) <= {"role", "any", "acts", "patterns", "also", "but_not", "which"}:
        raise OptionError(f"an anchor is {{role, any, acts, patterns, also, but_not, which}}, got {value!r}")
    cue_keys = {k: value[k] for k in ("any", "acts", "patterns", "also", "but_not") if k in value}
    which = choice("first", "every", "every-turn")(value.get("which", "first"))
    return Anchor(_role(value.get("role", "customer")), requirement(cue_keys) if cue_keys else None, which)


@_typed("range")
def range_option(value: Any) -> Range:
    if not isinstance(value, Mapping) or not set(value) <= {"role", "turn", "turns", "messages"}:
        raise OptionError(f"a range is {{role, turn: first|last, turns: N, messages: N}}, got {value!r}")
    counts = [k for k in ("turn", "turns", "messages") if k in value]
    if len(counts) > 1:
        raise OptionError(f"a range takes one of turn, turns or messages, got {', '.join(counts)}")
    turns = integer(value["turns"]) if "turns" in value else None
    messages = integer(value["messages"]) if "messages" in value else None
    if (turns is not None and turns < 1) or (messages is not None and messages < 1):
        raise OptionError("turns and messages count from 1")
    turn = choice("first", "last")(value["turn"]) if "turn" in value else None
    return Range(_role(value.get("role", "agent")), turn, turns, messages)


@_typed("list of states")
def states_option(value: Any) -> tuple[str, ...]:
    states = string_list(value)
    for state in states:
        choice(*STATES)(state)
    return states


#: Distinct (message, acts) verdicts each set of cues keeps (a dozen sets: a few MiB in all).
CUE_CACHE_SIZE = 4096


class Cues:
    """Tells which of several requirements a text shows: one automaton over every phrase,
    the patterns, and the acts the caller supplies."""

    def __init__(self, requirements: Sequence[Requirement]) -> None:
        self.requirements = tuple(requirements)
        self._phrases = PhraseAutomaton((p, i) for i, r in enumerate(self.requirements) for p in r.any)
        self._patterns = [(GuardedPattern(p), i) for i, r in enumerate(self.requirements) for p in r.patterns]
        self.acts = frozenset(a for r in self.requirements for a in r.all_acts)
        # The combined cues (also / but_not) of each requirement, told by cues of their own.
        self._combined = [
            (i, Cues((r.also,)) if r.also is not None else None, Cues((r.but_not,)) if r.but_not is not None else None)
            for i, r in enumerate(self.requirements) if r.also is not None or r.but_not is not None
        ]
        # Logs repeat their messages (quick replies, 在吗, 好的谢谢): each (text, acts) is
        # looked at once. A pattern search under its time limit costs more than the lookup.
        self.shown = lru_cache(maxsize=CUE_CACHE_SIZE)(self._shown)

    def _shown(self, text: str, acts: frozenset[str]) -> frozenset[int]:
        """Indexes of the requirements ``text`` (normalised) with ``acts`` shows."""
        found = {hit.payload for hit in self._phrases.hits(text)} if not self._phrases.empty else set()
        for pattern, index in self._patterns:
            if index not in found:
                try:
                    if pattern.search(text) is not None:
                        found.add(index)
                except TimeoutError:
                    pass  # a pathological pattern on a pathological message shows nothing
        if acts:
            found.update(i for i, r in enumerate(self.requirements) if not acts.isdisjoint(r.acts))
        for index, also, but_not in self._combined:
            if index in found and ((also is not None and not also.shown(text, acts)) or (but_not is not None and but_not.shown(text, acts))):
                found.discard(index)
        return frozenset(found)


class ConditionRule(Rule):
    """Flags a conversation that lacks what the condition requires: the ``require``d
    elements somewhere in a ``range`` of messages (the first or last turn of a role, the
    turns after an ``anchor`` such as a complaint), or an answer within ``max_seconds`` of
    the anchor. A lone reply in one of the entry's ``scenes`` must hold every required
    element itself. With a ``template`` and ``insert: start|end`` the suggestion adds the
    template to the reply (applied only with ``--unsafe-fixes``).
    """

    check_name = "condition"
    level = "conversation"
    whole_reply = True
    options = {
        "anchor": Option(anchor_option, "the message the requirement hangs on: {role, any, acts, patterns, also, but_not, which: first | every | every-turn}"),
        "range": Option(range_option, "where to look: {role, turn: first | last} or, after the anchor, {role, turns: N} / {role, messages: N}"),
        "applies": Option(states_option, "conversation states that must hold: ended, complete", ()),
        "require": Option(requirement_list, "elements that must each occur in the range: [{name, any, acts, patterns, also, but_not, echo}] (also: and; but_not: not; echo: N characters of the anchor repeated)", ()),
        "max_seconds": Option(integer, "a timing rule: the range's first message within this many seconds of the anchor"),
        "only": Option(requirement, "a finding when every message of the range shows this cue: the range said nothing else (a bare answer)"),
        "unless": Option(requirement, "the range is excused when a message of it shows this cue (a transfer)"),
        "unanswered": Option(requirement, "when nothing answered the anchor, flag it if its turn shows this cue (a question)"),
        "mark": Option(choice("range-start", "range-end", "anchor"), "the message a finding marks (default: range-start; anchor when there is no range)"),
        "template": Option(string, "the wording a suggestion adds to the reply"),
        "insert": Option(choice("start", "end", "none"), "where the template goes", "none"),
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        options = config.options
        self.anchor: Anchor | None = options["anchor"]
        self.range: Range | None = options["range"]
        self.applies: tuple[str, ...] = options["applies"]
        self.requirements: tuple[Requirement, ...] = options["require"]
        self.max_seconds: int | None = options["max_seconds"]
        self.mark: str = options["mark"] or ("anchor" if self.anchor is not None and self.range is None else "range-start")
        self.template: str | None = options["template"]
        self.insert: str = options["insert"]
        only = options["only"]
        unless = options["unless"]
        kinds = [name for name, given in (("require", self.requirements), ("max_seconds", self.max_seconds is not None), ("only", only is not None)) if given]
        if len(kinds) > 1:
            raise OptionError(f"a condition takes one of require, max_seconds or only, got {' and '.join(kinds)}")
        if not kinds:
            raise OptionError("a condition needs 'require' (elements), 'max_seconds' (a timing limit) or 'only' (what the range must not consist of)")
        if only is not None and (self.range is None or config.scenes):
            raise OptionError("an 'only' condition judges a range of a conversation, not lone replies: give a 'range' and no 'scenes'")
        if self.range is None and not config.scenes:
            raise OptionError("a condition needs a 'range' (where in the conversation), or 'scenes' to judge lone replies")
        if self.max_seconds is not None and self.anchor is None:
            raise OptionError("a timing condition (max_seconds) needs an 'anchor' to count from")
        self._required = Cues(self.requirements)
        self._anchor_cue = Cues((self.anchor.cue,)) if self.anchor is not None and self.anchor.cue is not None else None
        unanswered = options["unanswered"]
        self._unanswered = Cues((unanswered,)) if unanswered is not None else None
        self._only = Cues((only,)) if only is not None else None
        self._unless = Cues((unless,)) if unless is not None else None
        known = config.intents.definitions if config.intents is not None else {}
        for cues in (self._required, self._anchor_cue, self._unanswered, self._only, self._unless):
            unknown = sorted(a for a in (cues.acts if cues else ()) if a not in known)
            if unknown:
                raise OptionError(f"unknown act(s) {', '.join(unknown)}; the ruleset's intents are {', '.join(sorted(known)) or 'none'}")

    # -- a lone reply in the rule's scenes --

    def applies_to(self, scenes: frozenset[str]) -> bool:
        return bool(self.config.scenes) and self.max_seconds is None and not scenes.isdisjoint(self.config.scenes)

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        acts = self._acts(analysis, "agent", self._required)
        shown = self._required.shown(analysis.text, acts)
        missing = [r.name for i, r in enumerate(self.requirements) if i not in shown]
        if missing:
            yield self.whole_reply_violation(
                analysis, suggestion=self._with_template(analysis.original), missing="、".join(missing), template=self.template or "",
            )

    def _acts(self, analysis: Analysis, role: str, cues: Cues) -> frozenset[str]:
        if not cues.acts or self.config.intents is None:
            return frozenset()
        return performed_acts(self.config.intents, analysis, role)

    def _with_template(self, reply: str) -> str | None:
        if not self.template or self.insert == "none":
            return None
        # the whole reply is rewritten, so it is written in Chinese punctuation throughout
        joined = append_sentence(reply, self.template) if self.insert == "end" else prepend_clause(self.template, reply)
        return full_width_punctuation(joined)

    # -- a conversation --

    def check_conversation(self, conversation) -> Iterator[ConversationHit]:
        if self.range is None:
            return  # judges lone replies in its scenes only
        if "ended" in self.applies and not conversation.ended:
            return
        if "complete" in self.applies and conversation.partial:
            return
        spec = self.range
        if conversation.ongoing and spec.turn is None and spec.turns is None and spec.messages is None:
            return  # "somewhere in all later turns" can still come true in a chat that goes on
        for anchor in self._anchors(conversation):
            in_range = self._range(conversation, anchor)
            if not in_range:
                if anchor is not None and self._unanswered is not None:
                    turn = conversation.turn_at(anchor)
                    if any(self._shows(conversation, i, self._unanswered) for i in turn.indexes):
                        yield self.finding(conversation, anchor, seconds="∞", limit=str(self.max_seconds or ""))
                continue
            marked = {"range-start": in_range[0], "range-end": in_range[-1], "anchor": anchor if anchor is not None else in_range[0]}[self.mark]
            if self._unless is not None and any(self._shows(conversation, i, self._unless) for i in in_range):
                continue
            if self._only is not None:
                if all(self._shows(conversation, i, self._only) for i in in_range):
                    yield self.finding(conversation, marked)  # {matched}: the bare words
                continue
            if self.max_seconds is not None:
                waited = conversation.delay(anchor, in_range[0])
                if waited is not None and waited > self.max_seconds:
                    yield self.finding(conversation, marked, seconds=f"{waited:.0f}", limit=str(self.max_seconds))
                continue
            shown: set[int] = set()
            echoes = self._echoes(conversation, anchor)
            for index in in_range:
                shown |= self._shows(conversation, index, self._required)
                if echoes:
                    text = conversation.normalized(index)
                    shown.update(i for i, size, grams in echoes if i not in shown and _repeats(text, size, grams))
                if len(shown) == len(self.requirements):
                    break
            missing = [r.name for i, r in enumerate(self.requirements) if i not in shown]
            if missing:
                yield self.finding(conversation, marked, missing="、".join(missing), template=self.template or "")

    def _echoes(self, conversation, anchor: int | None) -> list[tuple[int, int, frozenset[str]]]:
        """Per requirement with ``echo: N``: its index, N and the anchor message's runs of N characters."""
        if anchor is None:
            return []
        text = conversation.normalized(anchor)
        return [
            (i, r.echo, frozenset(text[k:k + r.echo] for k in range(len(text) - r.echo + 1)))
            for i, r in enumerate(self.requirements) if r.echo is not None and len(text) >= r.echo
        ]

    def _shows(self, conversation, index: int, cues: Cues) -> frozenset[int]:
        acts = conversation.acts(index) if cues.acts else frozenset()
        return cues.shown(conversation.normalized(index), acts)

    def _anchors(self, conversation) -> list[int | None]:
        anchor = self.anchor
        if anchor is None:
            return [None]
        if anchor.which == "every-turn":
            starts = [turn.start for turn in conversation.turns_of(anchor.role)]
            return [s for s in starts if self._anchor_cue is None or any(self._shows(conversation, i, self._anchor_cue) for i in conversation.turn_at(s).indexes)]
        found: list[int | None] = []
        for index, message in enumerate(conversation.messages):
            if message.role == anchor.role and (self._anchor_cue is None or self._shows(conversation, index, self._anchor_cue)):
                found.append(index)
                if anchor.which == "first":
                    break
        return found

    def _range(self, conversation, anchor: int | None) -> list[int]:
        spec = self.range
        assert spec is not None  # only a condition over a conversation has a range
        turns = conversation.turns_of(spec.role)
        if spec.turn == "first":
            chosen = [t for t in turns if anchor is None or t.start > anchor][:1]
        elif spec.turn == "last":
            chosen = [t for t in turns if anchor is None or t.start > anchor][-1:]
        else:
            chosen = [t for t in turns if anchor is None or t.start > anchor]
            if spec.turns is not None:
                chosen = chosen[:spec.turns]
        indexes = [i for t in chosen for i in t.indexes if conversation.messages[i].role == spec.role]
        return indexes[:spec.messages] if spec.messages is not None else indexes

    def describe(self, labels: Mapping[str, str]) -> list[str]:
        """The condition in words (for ``kefu-lint explain``), with acts by their Chinese labels."""
        roles = {"agent": "客服", "customer": "顾客"}

        def cue(requirement: Requirement) -> str:
            parts = []
            if requirement.acts:
                parts.append("行为" + "、".join(f"「{labels.get(a, a)}」" for a in requirement.acts))
            if requirement.any:
                shown = "、".join(requirement.any[:8]) + (" …" if len(requirement.any) > 8 else "")
                parts.append(f"词语 {shown}")
            if requirement.patterns:
                parts.append("模式 " + "、".join(requirement.patterns))
            if requirement.echo:
                parts.append(f"复述锚点消息中连续 {requirement.echo} 个字")
            said = "，或".join(parts)
            if requirement.also is not None:
                said = f"（{said}），并且（{cue(requirement.also)}）"
            if requirement.but_not is not None:
                said = f"{said}，但没有（{cue(requirement.but_not)}）"
            return said

        lines = []
        if self.anchor is not None:
            which = {"first": "第一条", "every": "每一条", "every-turn": "每一轮"}[self.anchor.which]
            shows = f"带有{cue(self.anchor.cue)}的" if self.anchor.cue is not None else ""
            lines.append(f"锚点：{roles[self.anchor.role]}{which}{shows}消息")
        if self.range is not None:
            who = roles[self.range.role]
            after = "此后" if self.anchor is not None else ""
            if self.range.turn is not None:
                where = f"{who}的{'第一' if self.range.turn == 'first' else '最后一'}轮消息"
            elif self.range.turns is not None:
                where = f"{who}{after}的 {self.range.turns} 轮消息"
            elif self.range.messages is not None:
                where = f"{who}{after}的 {self.range.messages} 条消息"
            else:
                where = f"{who}{after}的全部消息"
            lines.append(f"范围：{where}")
        if self.applies:
            lines.append("适用：" + "、".join({"ended": "对话已结束", "complete": "对话完整（不从中途开始）"}[a] for a in self.applies))
        for requirement in self.requirements:
            lines.append(f"要求「{requirement.name}」：{cue(requirement)}")
        if self.max_seconds is not None:
            lines.append(f"时限：{self.max_seconds} 秒内回复")
        if self._only is not None:
            lines.append(f"不得只有：范围内每条消息都只是{cue(self._only.requirements[0])}时判定")
        if self._unless is not None:
            lines.append(f"例外：范围内出现{cue(self._unless.requirements[0])}时不判定")
        if self._unanswered is not None:
            lines.append(f"无人回复时：若该轮有{cue(self._unanswered.requirements[0])}即判定")
        if self.config.scenes:
            scenes = "、".join(f"「{SCENE_NAMES_ZH.get(s, s)}」" for s in self.config.scenes)
            lines.append(f"单条话术：{scenes}场景中的回复按同样要求判断")
        return lines

    def finding(self, conversation, index: int, **fields: str) -> ConversationHit:
        """A finding that spans the whole of message ``index``."""
        text = conversation.messages[index].text
        start, end = trimmed_range(text)
        return index, self.violation_in(text, start, end, suggestion=self.config.suggest, fix=None, evidence=None, **fields)


def _repeats(text: str, size: int, grams: frozenset[str]) -> bool:
    """True when ``text`` holds one of ``grams``, the anchor's runs of ``size`` characters
    (a run of whitespace alone repeats nothing)."""
    return any(text[k:k + size] in grams for k in range(len(text) - size + 1) if not text[k:k + size].isspace())
