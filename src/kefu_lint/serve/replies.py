"""One reply from a request, checked and answered: the same for an HTTP request
(``/v1/lint``, ``/v1/batch``) and a line of ``kefu-lint lint --jsonl``."""

from __future__ import annotations

from typing import Any

from ..engine import Linter, scene_set
from ..errors import KefuLintError
from ..formats.reply_json import reply_dict
from ..model import SCENES
from .errors import RequestError


def text_of(value: Any, where: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise RequestError(400, "bad-request", f"{where} 应为字符串", f"{where} must be a string")
    if len(value) > max_chars:
        raise RequestError(413, "text-too-long", f"{where} 有 {len(value):,} 个字符，超过上限 {max_chars:,}",
                           f"{where} has {len(value):,} characters, over the limit of {max_chars:,}")
    return value


def optional_text(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise RequestError(400, "bad-request", f"{where} 应为字符串", f"{where} must be a string")


def scenes_of(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RequestError(400, "bad-request", f"{where} 应为场景名或场景名数组", f"{where} must be a scene name or an array of them")
    try:
        return scene_set(values)
    except KefuLintError:
        unknown = next(v for v in values if v not in SCENES)
        raise RequestError(400, "unknown-scene", f"{where}：未知场景「{unknown}」；可用场景：{'、'.join(SCENES)}",
                           f"{where}: unknown scene {unknown!r}; known scenes: {', '.join(SCENES)}") from None


def reply_result(linter: Linter, item: Any, where: str, scene: Any = None, *, max_chars: int) -> dict[str, Any]:
    """One reply's result; ``item`` is the text or ``{"text", "scene", "id"}`` (its scene
    wins over ``scene``, the request's)."""
    reply_id = None
    if isinstance(item, dict):
        reply_id = optional_text(item.get("id"), f"{where}.id")
        scene = item.get("scene", scene)
        item = item.get("text")
    prefix = "" if where == "text" else f"{where}."
    text = text_of(item, f"{prefix}text" if prefix else "text", max_chars)
    scenes = scenes_of(scene, f"{prefix}scene")
    score = linter.score(text, scene=scenes)
    fixed = linter.fix(text, scene=scenes)[0] if any(v.fix is not None for v in score.violations) else text
    return reply_dict(text, score, linter.weights, fixed=fixed, reply_id=reply_id, scene=scene if isinstance(scene, str) else None)
