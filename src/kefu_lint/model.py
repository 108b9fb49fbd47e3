"""Result and input types shared by every layer: frozen dataclasses, no logic beyond validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Zone = Literal["red", "yellow", "green"]
ZONES: tuple[Zone, ...] = get_args(Zone)

#: Severity order used to rank findings and grades: a red finding outranks a yellow one.
ZONE_SEVERITY: dict[str, int] = {"green": 0, "yellow": 1, "red": 2}

Scene = Literal[
    "greeting", "presale", "order", "logistics_delay", "after_sales", "complaint", "closing"
]
SCENES: tuple[str, ...] = get_args(Scene)

#: What a Chinese CS team calls the zones and scenes (explain, reports).
ZONE_NAMES_ZH: dict[str, str] = {"red": "红色警示区", "yellow": "黄色观察区", "green": "绿色安全区"}
SCENE_NAMES_ZH: dict[str, str] = {
    "greeting": "问候", "presale": "售前咨询", "order": "下单", "logistics_delay": "物流延误",
    "after_sales": "售后", "complaint": "投诉", "closing": "结束语",
}

Grade = Zone

#: The README's score thresholds, the lowest value of each grade: red < 60 <= yellow < 100 = green.
GRADE_FLOORS: tuple[tuple[Grade, int], ...] = (("green", 100), ("yellow", 60), ("red", 0))


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` into the text as given."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid span [{self.start}, {self.end})")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a judgement by intent fired: the act, how sure the model is, the clause it judged
    (``text[start:end]`` of the reply as given) and what made it fire (the n-grams that
    weighed most, or the anchor phrase)."""

    intent: str
    confidence: float
    clause: str
    start: int
    end: int
    features: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IntentHit:
    """One act a message performs (``Linter.intents``): which, where (``text[start:end]`` is
    the clause, in the text as given), how sure the model is, and the n-grams that weighed most."""

    intent: str
    start: int
    end: int
    confidence: float
    features: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Violation:
    """One finding in one reply.

    ``text[start:end]`` is the flagged words. ``suggestion`` is better wording for those
    words (applied only by ``--unsafe-fixes``); ``fix`` is a replacement that is safe to
    apply automatically. ``advice_only`` marks a suggestion that cannot replace the flagged
    words where they stand (a clause of its own in the middle of one): it is shown, never
    applied. A suggestion ending in ``…`` continues with the rest of the reply.
    """

    code: str
    name: str
    zone: Zone
    message: str
    start: int
    end: int
    suggestion: str | None = None
    fix: str | None = None
    #: Set when the finding was judged by intent (rules/acts.py): why it fired.
    evidence: Evidence | None = None
    advice_only: bool = False

    def __post_init__(self) -> None:
        if self.zone not in ZONES:
            raise ValueError(f"unknown zone {self.zone!r}")
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid span [{self.start}, {self.end})")

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


@dataclass(frozen=True, slots=True)
class Score:
    """A score: ``value`` 0..100 and its ``grade`` by the thresholds in ``GRADE_FLOORS``
    (engine.py builds them; a grade that disagrees with its value is refused)."""

    value: int
    grade: Grade
    violations: tuple[Violation, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 100:
            raise ValueError(f"score {self.value} outside 0..100")
        if self.grade not in ZONES:
            raise ValueError(f"unknown grade {self.grade!r}")
        if self.grade != next(grade for grade, floor in GRADE_FLOORS if self.value >= floor):
            raise ValueError(f"grade {self.grade!r} disagrees with score {self.value} (thresholds {GRADE_FLOORS})")


@dataclass(frozen=True, slots=True)
class Message:
    """One reply read from any input: a script-file entry or a chat-log line.

    ``offsets[i]`` is the index in the decoded source text of ``text[i]``; readers fill it so
    that findings get exact line:column positions and fixes can be written back in place,
    also inside YAML block scalars and quoted CSV cells.
    """

    text: str
    source: str = "<string>"
    line: int = 1
    column: int = 1
    id: str | None = None
    scene: str | None = None
    ignore: tuple[str, ...] = ()
    offsets: tuple[int, ...] | None = field(default=None, repr=False, compare=False)

    def source_range(self, start: int, end: int) -> tuple[int, int] | None:
        """The source range of ``text[start:end]``, or None when it is not one contiguous slice."""
        if self.offsets is None or not self.text:
            return None
        if start >= end:
            position = self.offsets[start] if start < len(self.offsets) else self.offsets[-1] + 1
            return position, position
        first, last = self.offsets[start], self.offsets[end - 1]
        if last - first != end - 1 - start:
            return None  # an escape, a fold or a doubled quote sits inside the span
        return first, last + 1


Role = Literal["customer", "agent", "system"]
ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One line of a chat log. ``time`` is epoch seconds (None when the log has none);
    ``seq`` is the input order, the tie-breaker when times are equal or missing."""

    conversation_id: str
    role: Role
    text: str
    time: float | None = None
    agent: str | None = None
    shop: str | None = None
    message_id: str | None = None
    source: str = "<input>"
    line: int = 0
    seq: int = 0
    #: The log starts mid-conversation (the greeting is not judged on it).
    partial: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
