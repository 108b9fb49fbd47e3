"""``kefu-lint lint --jsonl``: one JSON reply per line in, one JSON result per line out, for
hosts that keep kefu-lint as a long-lived subprocess instead of calling HTTP.

A line is a JSON string (the reply) or an object ``{"text", "scene", "id"}``; the answer is
``/v1/lint``'s object with the line's number added. A line that is not such a reply (not
JSON, a blank line, a wrong field) gets an error record with its number, in the same place
in the output, and the rest goes on: every line in has exactly one line out, so a host can
match answers to questions by order. Each answer is flushed as it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from ..engine import Linter
from ..formats.scripts import MAX_REPLY_CHARS
from .errors import RequestError
from .replies import reply_result


def answer_line(linter: Linter, number: int, raw: bytes, language: str = "zh", scene: str | None = None) -> dict[str, Any]:
    """The answer to line ``number`` (1-based) of the input (its bytes, UTF-8)."""
    try:
        try:
            line = raw.decode("utf-8").removeprefix("\ufeff" if number == 1 else "")
        except UnicodeDecodeError as error:
            raise RequestError(400, "bad-encoding", f"这一行不是 UTF-8 编码（第 {error.start + 1} 个字节）",
                               f"the line is not UTF-8 (byte {error.start + 1})") from None
        if not line.strip():
            raise RequestError(400, "blank-line", "空行：每行应为一条回复（JSON 字符串或 {\"text\": \"…\"}）",
                               'blank line: each line must be one reply (a JSON string or {"text": "…"})')
        try:
            item = json.loads(line, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            column = f"第 {error.colno} 列" if isinstance(error, json.JSONDecodeError) else ""
            raise RequestError(400, "bad-json", f"不是合法的 JSON{('（' + column + '）') if column else ''}",
                               f"not valid JSON{f' (column {error.colno})' if isinstance(error, json.JSONDecodeError) else ''}") from None
        if not isinstance(item, (str, dict)):
            raise RequestError(400, "bad-request", "每行应为 JSON 字符串或对象 {\"text\": \"…\"}", 'each line must be a JSON string or a {"text": "…"} object')
        return {"line": number, **reply_result(linter, item, "text", scene, max_chars=MAX_REPLY_CHARS)}
    except RequestError as error:
        return {"line": number, "error": {"code": error.code, "message": error.message(language)}}


def run_pipe(linter: Linter, lines: Iterable[bytes], output: IO[str], language: str = "zh", scene: str | None = None) -> int:
    """Answer every line; returns how many were error records."""
    errors = 0
    for number, line in enumerate(lines, start=1):
        answer = answer_line(linter, number, line.rstrip(b"\r\n"), language, scene)
        errors += "error" in answer
        output.write(json.dumps(answer, ensure_ascii=False) + "\n")
        output.flush()
    return errors


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
