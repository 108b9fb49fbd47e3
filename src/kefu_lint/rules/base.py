"""The Rule base class and the rule-option types a ruleset entry may use."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import regex

from ..model import Evidence, Role, Violation, Zone
from ..text.analysis import Analysis
from .triggers import Trigger


@dataclass(frozen=True, slots=True)
class Example:
    """A ruleset example: a bad reply and the words the rule must mark, or a good reply."""

    text: str
    bad: bool
    marks: tuple[str, ...] = ()
    scene: str | None = None
    fixed: str | None = None
    line: int | None = None
    #: For conversation rules: (role, time in seconds or None, text) per message.
    conversation: tuple[tuple[Role, float | None, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One validated ruleset entry: the data a rule class is built from."""

    code: str
    name: str
    zone: Zone
    weight: int
    message: str
    check: str
    scenes: tuple[str, ...] = ()
    suggest: str | None = None
    #: The rule's documentation by language (``zh``, ``en``); a shop's rule may give one
    #: text for every language, kept under ``""``.
    doc: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()
    origin: str = "<ruleset>"
    #: The ruleset's intents (a ``rulesets.IntentSource``), for rules that judge by intent.
    intents: Any = field(default=None, compare=False, repr=False)


class OptionError(ValueError):
    """An option value of the wrong shape; the ruleset loader adds file, line and key."""


@dataclass(frozen=True, slots=True)
class Option:
    """One option a check accepts: how a ruleset value is read, the value when the entry
    leaves it out, and what it means. Declared once on the check class; the loader fills
    in defaults, and the README's option tables and ``explain`` are generated from it."""

    parse: Callable[[Any], Any]
    doc: str
    #: The parsed value a rule gets when its entry does not set the option; ``None`` means
    #: unset (the check derives its behaviour from other options, as its doc says).
    default: Any = None

    @property
    def type_name(self) -> str:
        return getattr(self.parse, "type_name", self.parse.__name__.replace("_", " "))


ParserT = TypeVar("ParserT", bound=Callable[..., Any])


def _typed(name: str) -> Callable[[ParserT], ParserT]:
    """Name an option parser's type for the generated docs (``list of phrases``)."""

    def mark(parse: ParserT) -> ParserT:
        setattr(parse, "type_name", name)  # read back by Option.type_name
        return parse

    return mark


# --- option types: each turns a YAML value into a Python value or raises OptionError ---

@_typed("string")
def string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OptionError(f"expected a non-empty string, got {value!r}")
    return value


@_typed("list of strings")
def string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise OptionError(f"expected a list of strings, got {type(value).__name__}")
    return tuple(string(item) for item in value)


@_typed("integer")
def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"expected an integer, got {value!r}")
    return value


@_typed("true/false")
def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"expected true or false, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Phrase:
    """A phrase to match, with optional better wording (``suggest``) and a safe ``fix``."""

    text: str
    suggest: str | None = None
    fix: str | None = None


PHRASE_KEYS = {"phrase", "suggest", "fix"}


@_typed("list of phrases")
def phrase_list(value: Any) -> tuple[Phrase, ...]:
    """Items are ``"短语"`` or ``{phrase: 短语, suggest: 更好的说法, fix: 安全替换}``."""
    if not isinstance(value, list):
        raise OptionError(f"expected a list of phrases, got {type(value).__name__}")
    phrases = []
    for item in value:
        if isinstance(item, str):
            phrases.append(Phrase(string(item)))
        elif isinstance(item, Mapping):
            unknown = set(item) - PHRASE_KEYS
            if unknown:
                raise OptionError(f"unknown key(s) {sorted(unknown)} in phrase {dict(item)!r}; allowed: {sorted(PHRASE_KEYS)}")
            if "phrase" not in item:
                raise OptionError(f"phrase entry {dict(item)!r} needs a 'phrase'")
            phrases.append(
                Phrase(
                    string(item["phrase"]),
                    string(item["suggest"]) if item.get("suggest") is not None else None,
                    str(item["fix"]) if item.get("fix") is not None else None,
                )
            )
        else:
            raise OptionError(f"expected a phrase string or mapping, got {item!r}")
    return tuple(phrases)


@_typed("list of patterns")
def pattern_list(value: Any) -> tuple[Phrase, ...]:
    """Like :func:`phrase_list`, but each ``phrase`` is a regular expression (``regex`` syntax)."""
    import regex

    patterns = phrase_list(value)
    for pattern in patterns:
        try:
            regex.compile(pattern.text)
        except regex.error as error:
            raise OptionError(f"bad regular expression {pattern.text!r}: {error}") from None
    return patterns


@_typed("mapping of strings")
def string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise OptionError(f"expected a mapping of strings, got {type(value).__name__}")
    return {string(str(key)): string(str(item)) for key, item in value.items()}


@_typed("mapping of string lists")
def string_map_of_lists(value: Any) -> dict[str, tuple[str, ...]]:
    """``{kind: [words]}``."""
    if not isinstance(value, Mapping):
        raise OptionError(f"expected a mapping of lists, got {type(value).__name__}")
    return {string(str(key)): string_list(items) for key, items in value.items()}


@dataclass(frozen=True, slots=True)
class Requirement:
    """Something a message may show: any of its phrases or patterns occurs, or it performs
    any of its acts (intents of the ruleset, judged by the model and the intents' anchors).
    ``name`` is what a finding says is missing (道歉、原因说明 …).

    Cues combine: with ``also`` the message must show that cue too (and), with ``but_not``
    it must not show that one (not); the alternatives of one cue are its "or". A delay
    complaint about the parcel, not the refund: ``{acts: [delay-complaint], also: {any: [快递, 物流]}}``.

    ``echo: N`` (in a condition's ``require``): a message of the range also shows the element
    when it repeats N characters in a row of the anchor message: the agent read the
    customer's details back (「把个人改成王[姓名x]吗」 after 「改成王[姓名x]」)."""

    name: str = ""
    any: tuple[str, ...] = ()
    acts: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    also: Requirement | None = None
    but_not: Requirement | None = None
    echo: int | None = None

    @property
    def all_acts(self) -> frozenset[str]:
        """Every act this cue or its combined cues read."""
        acts = set(self.acts)
        for part in (self.also, self.but_not):
            if part is not None:
                acts |= part.all_acts
        return frozenset(acts)


REQUIREMENT_KEYS = {"name", "any", "acts", "patterns", "also", "but_not", "echo"}


@_typed("requirement")
def requirement(value: Any, *, named: bool = False) -> Requirement:
    """``{name: 道歉, any: [抱歉, 对不起], acts: [apology], patterns: ["[?？]{2,}"]}``."""
    if not isinstance(value, Mapping) or not set(value) <= REQUIREMENT_KEYS:
        raise OptionError(f"expected a mapping with keys among {sorted(REQUIREMENT_KEYS)}, got {value!r}")
    if named and "name" not in value:
        raise OptionError(f"a requirement needs a 'name' (what a finding says is missing): {dict(value)!r}")
    if not any(value.get(key) for key in ("any", "acts", "patterns", "echo")):
        raise OptionError(f"{dict(value)!r} needs at least one of 'any' (phrases), 'acts' (intents), 'patterns' or 'echo'")
    echo = integer(value["echo"]) if "echo" in value else None
    if echo is not None and echo < 2:
        raise OptionError(f"echo counts the characters repeated in a row, at least 2, got {echo}")
    patterns = string_list(value.get("patterns", []))
    for pattern in patterns:
        pattern_list([pattern])
    return Requirement(
        string(value["name"]) if "name" in value else "",
        string_list(value.get("any", [])),
        string_list(value.get("acts", [])),
        patterns,
        requirement(value["also"]) if "also" in value else None,
        requirement(value["but_not"]) if "but_not" in value else None,
        echo,
    )


@_typed("list of requirements")
def requirement_list(value: Any) -> tuple[Requirement, ...]:
    if not isinstance(value, list) or not value:
        raise OptionError("expected a non-empty list of {name, any: [phrases], acts: [intents]}")
    return tuple(requirement(item, named=True) for item in value)


def choice(*allowed: str) -> Callable[[Any], str]:
    @_typed("one of " + " | ".join(allowed))
    def parse(value: Any) -> str:
        if value not in allowed:
            raise OptionError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    return parse


class Rule:
    """A rule: built once from its ruleset entry, then asked to ``check`` many replies.

    A subclass is a *check*: the logic a ruleset entry selects with ``check:``, and the
    ``options`` it accepts. Everything else about a rule (code, name, zone, message, its
    documentation, its data) is the ruleset entry's, so a built-in rule and a shop's own
    rule are made the same way. Rules are immutable after ``__init__`` and hold no
    per-reply state, so one instance serves many threads.
    """

    check_name: ClassVar[str] = ""
    options: ClassVar[Mapping[str, Option]] = {}
    #: True when findings of this rule span the whole reply (green "missing" rules).
    whole_reply: ClassVar[bool] = False
    #: What a suggestion of this rule replaces: "words" (the flagged words, anywhere), or
    #: "clause" (a clause of its own: it replaces the flagged words only where they end a
    #: clause, or, ending in ``…``, only where the reply goes on; elsewhere it is advice).
    suggestion_kind: str = "words"

    def __init__(self, config: RuleConfig) -> None:
        self.config = config
        self.code = config.code
        self.name = config.name
        self.zone = config.zone
        self.weight = config.weight

    # -- API for the engine --

    #: "reply" rules check one reply; "conversation" rules check a whole conversation.
    level: ClassVar[str] = "reply"

    @property
    def trigger(self) -> Trigger | None:
        """What a reply must contain before this rule can flag it (see rules/triggers.py);
        None runs the rule on every reply."""
        return None

    def applies_to(self, scenes: frozenset[str]) -> bool:
        return self.level == "reply" and (not self.config.scenes or not scenes.isdisjoint(self.config.scenes))

    def check(self, analysis: Analysis) -> Iterator[Violation]:  # pragma: no cover - abstract
        raise NotImplementedError

    def stands_in(self, conversation, index: int) -> bool:
        """Whether this rule's findings on message ``index`` stand where the conversation
        puts it. A reply rule judges the reply alone, so by default they always do; a rule
        whose verdict depends on what the customer said before (a bare 「嗯」 answers a
        statement, not a question) says so here."""
        return True

    @property
    def fixable(self) -> bool:
        return False

    @classmethod
    def documentation(cls) -> str:
        """What the check does, for ruleset authors (the class docstring)."""
        import inspect  # only `explain` and the docs need it; kept off the cold start

        return inspect.cleandoc(cls.__doc__ or "")

    def doc(self, language: str = "zh") -> str:
        """The rule's documentation in ``language`` (zh or en), or in the language it has."""
        docs = self.config.doc
        text = docs.get(language) or docs.get("") or next(iter(docs.values()), None)
        return text.strip() if text else self.documentation()

    # -- helpers for subclasses --

    def violation(
        self,
        analysis: Analysis,
        start: int,
        end: int,
        *,
        suggestion: str | None = None,
        fix: str | None = None,
        evidence: Evidence | None = None,
        **message_fields: str,
    ) -> Violation:
        """A finding for the normalised range ``[start, end)``, reported in original offsets."""
        original_start, original_end = analysis.to_original(start, end)
        return self.violation_in(
            analysis.original, original_start, original_end,
            suggestion=suggestion if suggestion is not None else self.config.suggest, fix=fix, evidence=evidence, **message_fields,
        )

    def violation_in(
        self,
        text: str,
        start: int,
        end: int,
        *,
        suggestion: str | None = None,
        fix: str | None = None,
        evidence: Evidence | None = None,
        **message_fields: str,
    ) -> Violation:
        """A finding for ``text[start:end]`` in original offsets, with the message filled in."""
        message = self.config.message.format_map(_Defaulting(matched=text[start:end], **message_fields))
        advice_only = self.suggestion_kind == "clause" and suggestion is not None and fix is None and not _fits_clause(text, start, end, suggestion)
        return Violation(self.code, self.name, self.zone, message, start, end, suggestion, fix, evidence, advice_only)


    def whole_reply_violation(
        self, analysis: Analysis, *, suggestion: str | None = None, **message_fields: str
    ) -> Violation:
        """A finding about the reply as a whole (something missing, or the reply too curt)."""
        start, end = trimmed_range(analysis.original)
        return self.violation_in(analysis.original, start, end, suggestion=suggestion, fix=None, evidence=None, **message_fields)


#: What may follow a clause before it ends: particles, then a mark, a space or the end.
_CLAUSE_END = regex.compile(r"[了吧呢哦噢啊哈呀啦嘛哟喔~～]*(?:[\p{P}\p{S}\s]|$)")
#: What may stand just before a clause: a mark or a space.
_CLAUSE_BREAK = regex.compile(r"[\p{P}\p{S}\s]")  # match: just before a clause; search: a suggestion of several


def _fits_clause(text: str, start: int, end: int, suggestion: str) -> bool:
    """Whether a clause suggestion can replace the words ``text[start:end]``: where they start
    a clause and end one (「不知道，…」 → 「我马上帮您查询一下，…」), or, for one ending in …,
    where the reply goes on (「不能退款」 → 「很抱歉，暂时无法退款」). 「不会掉色的」 →
    「请您放心掉色的」 would say the opposite, and 「您下单时没有就是没有」 →
    「您下单时很抱歉，…」 would start a sentence of clauses in the middle of one: there the
    suggestion is advice. A one-clause suggestion may go on after a topic (「这个跟我们没关系」
    → 「这个我来帮您协调处理」)."""
    if start > 0 and _CLAUSE_BREAK.match(text[start - 1]) is None and _CLAUSE_BREAK.search(suggestion.rstrip("…。！？!?")):
        return False
    if text[end:end + 1] in ("?", "？") and not suggestion.endswith(("吗", "？", "?")):
        return False  # 「看不懂吗？」 → 「我再为您详细说明一下？」 would ask a statement
    return (_CLAUSE_END.match(text, end) is not None) != suggestion.endswith("…")


class _Defaulting(dict):
    """``str.format_map`` helper: an unknown ``{field}`` in a shop's message stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def trimmed_range(text: str) -> tuple[int, int]:
    """The range of ``text`` without leading and trailing whitespace."""
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return (start, end) if start < end else (0, len(text))
