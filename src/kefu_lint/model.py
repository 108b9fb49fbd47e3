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

Grade = Zone


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` into the text as given."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid span [{self.start}, {self.end})")


@dataclass(frozen=True, slots=True)
class Violation:
    """One finding in one reply.

    ``text[start:end]`` is the flagged words. ``suggestion`` is better wording for those
    words (applied only by ``--unsafe-fixes``); ``fix`` is a replacement that is safe to
    apply automatically.
    """

    code: str
    name: str
    zone: Zone
    message: str
    start: int
    end: int
    suggestion: str | None = None
    fix: str | None = None

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
    """A reply's score: ``value`` 0..100, ``grade`` from the worst zone found."""

    value: int
    grade: Grade
    violations: tuple[Violation, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 100:
            raise ValueError(f"score {self.value} outside 0..100")
        if self.grade not in ZONES:
            raise ValueError(f"unknown grade {self.grade!r}")


@dataclass(frozen=True, slots=True)
class Message:
    """One reply read from any input: a script file entry or a chat-log line.

    ``line``/``column`` locate ``text[0]`` in the source; ``offsets`` optionally maps every
    character of ``text`` to its (line, column) where the text is not a contiguous slice of
    the source (YAML block scalars, quoted CSV cells).
    """

    text: str
    source: str = "<string>"
    line: int = 1
    column: int = 1
    id: str | None = None
    scene: str | None = None
    ignore: tuple[str, ...] = ()
    positions: tuple[tuple[int, int], ...] | None = field(default=None, repr=False)

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column), 1-based, of character ``offset`` of ``text`` in the source."""
        if self.positions is not None and self.positions:
            return self.positions[min(offset, len(self.positions) - 1)]
        before = self.text[:offset]
        newlines = before.count("\n")
        if newlines == 0:
            return self.line, self.column + offset
        return self.line + newlines, offset - before.rfind("\n")
