"""Replies, conversations and rules as JSON objects: the one shape ``kefu-lint serve``'s
native endpoints and ``kefu-lint lint --jsonl`` answer with (the OpenAPI document in
serve/openapi.py describes it, and a test validates every answer against it).

Offsets are given twice: ``start``/``end`` count characters (code points, as Python and the
``check`` JSON count them) and ``utf16_start``/``utf16_end`` count UTF-16 code units, as
JavaScript's ``String.prototype.slice`` does: an emoji before the finding moves them apart.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from ..conversation import ConversationResult
from ..model import Score, Violation
from ..rules.base import Rule
from .writers import evidence_dict

JsonObject = dict[str, Any]


class Utf16Offsets:
    """Character index → UTF-16 index of one text (astral characters take two code units)."""

    def __init__(self, text: str) -> None:
        self.astral = [index for index, char in enumerate(text) if ord(char) > 0xFFFF]

    def __call__(self, index: int) -> int:
        return index + bisect_left(self.astral, index) if self.astral else index


def violation_dict(text: str, violation: Violation, points: int, utf16: Utf16Offsets | None = None) -> JsonObject:
    utf16 = utf16 or Utf16Offsets(text)
    return {
        "code": violation.code,
        "name": violation.name,
        "zone": violation.zone,
        "message": violation.message,
        "text": text[violation.start:violation.end],
        "start": violation.start,
        "end": violation.end,
        "utf16_start": utf16(violation.start),
        "utf16_end": utf16(violation.end),
        "suggestion": violation.suggestion,
        "advice_only": violation.advice_only,
        "fix": violation.fix,
        "points": points,
        "evidence": evidence_dict(violation.evidence),
    }


def reply_dict(text: str, score: Score, weights: dict[str, int], *, fixed: str | None = None,
               reply_id: str | None = None, scene: str | None = None) -> JsonObject:
    """One reply's result: its score and grade, its findings, and the reply with the safe
    fixes applied (``fixed``; the text itself when nothing was fixable)."""
    utf16 = Utf16Offsets(text)
    return {
        "id": reply_id,
        "text": text,
        "scene": scene,
        "score": score.value,
        "grade": score.grade,
        "findings": [violation_dict(text, v, weights.get(v.code, 0), utf16) for v in score.violations],
        "fixed": text if fixed is None else fixed,
    }


def score_dict(score: Score | None) -> JsonObject | None:
    return None if score is None else {"score": score.value, "grade": score.grade}


def conversation_dict(result: ConversationResult, weights: dict[str, int]) -> JsonObject:
    """A conversation judged by ``Linter.lint_conversation`` (the audit's scoring)."""
    messages = result.messages
    return {
        "conversation_id": result.conversation_id,
        "agent": result.agent,
        "shop": result.shop,
        "score": result.score.value,
        "grade": result.score.grade,
        "first_response_seconds": result.first_response_seconds,
        "ended": result.ended,
        "partial": result.partial,
        "findings": [
            {"message_index": f.message_index, "level": f.level, "agent": f.agent,
             **violation_dict(messages[f.message_index].message.text, f.violation, weights.get(f.violation.code, 0))}
            for f in result.findings
        ],
        "messages": [
            {"index": m.index, "role": m.message.role, "text": m.message.text, "agent": m.message.agent,
             "scenes": list(m.scenes), "acts": list(m.acts), **(score_dict(m.score) or {"score": None, "grade": None})}
            for m in messages
        ],
        "agents": [{"agent": a.agent, "messages": a.messages, "score": a.score.value, "grade": a.score.grade} for a in result.agents],
    }


def rule_dict(rule: Rule) -> JsonObject:
    """A rule's row, as ``kefu-lint rules -o json`` prints it."""
    from .rule_docs import applies_in

    return {"code": rule.code, "name": rule.name, "zone": rule.zone, "weight": rule.weight, "scenes": list(rule.config.scenes),
            "level": rule.level, "applies_in": applies_in(rule), "fixable": rule.fixable}


__all__ = ["Utf16Offsets", "violation_dict", "reply_dict", "conversation_dict", "rule_dict", "score_dict"]
