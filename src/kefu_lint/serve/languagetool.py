"""LanguageTool's HTTP API (``POST /v2/check``, ``GET /v2/languages``), so that LanguageTool
clients (its browser extensions and editor plug-ins pointed at a custom server, client
libraries with a remote-server option) use kefu-lint unchanged.

How kefu-lint's findings map onto LanguageTool's answer:

- the text (``text``, or ``data``'s annotation with markup skipped) is checked line by line,
  each line one reply, as ``check`` reads a TXT script; offsets and lengths count UTF-16 code
  units, as LanguageTool's (Java) do, over the text as sent (markup included);
- ``rule.id`` is the code (KF101); ``enabledRules``/``disabledRules`` take codes or names, and
  like LanguageTool's server, identifiers of rules it does not have are ignored (a client
  sends its own list of LanguageTool rule IDs);
- ``level=picky`` adds the green-zone findings (the expected form, missing), which the default
  level leaves out as LanguageTool leaves out its picky rules;
- ``issueType`` is ``misspelling`` for the red zone, so that clients draw the red underline
  they keep for errors, and ``style`` for yellow and green; the category is the zone.

A served ruleset other than the default is reached under ``/rulesets/NAME/v2/…``, so a client
that only takes a server address (the browser extension) can still choose it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import regex
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..engine import Linter
from ..model import ZONE_NAMES_ZH, Violation
from ..formats.reply_json import Utf16Offsets
from ..formats.rule_docs import title
from .errors import RequestError, language_of

if TYPE_CHECKING:
    from .app import _Service

ISSUE_TYPES = {"red": "misspelling", "yellow": "style", "green": "style"}
ZONE_NAMES_EN = {"red": "red zone (banned)", "yellow": "yellow zone (coach)", "green": "green zone (expected form)"}
LANGUAGES = [{"name": "Chinese", "code": "zh", "longCode": "zh-CN"}]
CONTEXT_CHARS = 40
#: The sentence a finding is in: up to and including its closing punctuation.
_SENTENCE_END = regex.compile(r"[。！？!?；;…]+|\n")


def languagetool_routes(service: "_Service") -> list[Route]:
    check = _Checker(service)
    routes = []
    for prefix in ("", "/rulesets/{ruleset}"):
        routes += [
            Route(f"{prefix}/v2/check", check.check, methods=["POST", "GET"]),
            Route(f"{prefix}/v2/languages", check.languages, methods=["GET"]),
            Route(f"{prefix}/v2/healthcheck", check.healthcheck, methods=["GET"]),
        ]
    return routes


class _Checker:
    def __init__(self, service: "_Service") -> None:
        self.service = service

    async def languages(self, request: Request) -> Response:
        return JSONResponse(LANGUAGES)

    async def healthcheck(self, request: Request) -> Response:
        return Response("OK", media_type="text/plain")

    async def check(self, request: Request) -> Response:
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
                raise RequestError(415, "unsupported-media-type", "/v2/check 接受表单（application/x-www-form-urlencoded），与 LanguageTool 相同",
                                   "/v2/check takes a form (application/x-www-form-urlencoded), as LanguageTool does")
            form = await request.form()
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
        else:
            fields = dict(request.query_params)
        self.service.authorise(request, fields.get("apiKey"))
        _, linter = self.service.linter(request, request.path_params.get("ruleset"))
        language = fields.get("language")
        if not language:
            raise RequestError(400, "bad-request", "缺少参数 language（例如 zh-CN 或 auto）", "missing parameter: language (for example zh-CN or auto)")
        if language != "auto" and not language.lower().startswith("zh"):
            raise RequestError(400, "unsupported-language", f"kefu-lint 只检查中文（zh、zh-CN），不支持「{language}」",
                               f"kefu-lint checks Chinese only (zh, zh-CN), not {language!r}")
        text, origin = _text_and_origin(fields)
        self.service.text_of(text, "text")
        enabled = _codes(fields.get("enabledRules"), linter)
        disabled = _codes(fields.get("disabledRules"), linter)
        enabled_only = fields.get("enabledOnly", "false").lower() == "true"
        picky = fields.get("level", "default").lower() == "picky"
        english = _language_is_english(request, fields)
        matches = []
        sent = "".join(origin.sent_text) if origin.sent_text is not None else text
        utf16 = Utf16Offsets(sent)
        for start, line in _lines(text):
            for violation in linter.lint(line):
                if violation.code in disabled or (enabled_only and violation.code not in enabled):
                    continue
                if violation.zone == "green" and not picky and violation.code not in enabled:
                    continue
                matches.append(_match(linter, sent, utf16, origin, start, line, violation, english))
        return JSONResponse({
            "software": {"name": "kefu-lint", "version": __version__, "buildDate": None, "apiVersion": 1,
                         "premium": False, "status": ""},
            "warnings": {"incompleteResults": False},
            "language": {"name": "Chinese", "code": "zh-CN",
                         "detectedLanguage": {"name": "Chinese", "code": "zh-CN", "confidence": 1.0}},
            "matches": matches,
        })


class _Origin:
    """Where each character of the checked text came from in the text as sent (``data``'s
    markup is not checked; its ``interpretAs`` is, and maps to the markup's start)."""

    def __init__(self, positions: list[int] | None, sent_text: list[str] | None) -> None:
        self.positions = positions
        self.sent_text = sent_text

    def __call__(self, index: int, end: bool = False) -> int:
        if self.positions is None:
            return index
        if end:
            return self.positions[index - 1] + 1 if index > 0 else 0
        return self.positions[index] if index < len(self.positions) else (self.positions[-1] + 1 if self.positions else 0)


def _text_and_origin(fields: dict[str, str]) -> tuple[str, _Origin]:
    if "text" in fields:
        return fields["text"], _Origin(None, None)
    if "data" not in fields:
        raise RequestError(400, "bad-request", "缺少参数 text 或 data", "missing parameter: text or data")
    try:
        data = json.loads(fields["data"])
        annotation = data["annotation"]
        if not isinstance(annotation, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise RequestError(400, "bad-request", "参数 data 应为 JSON：{\"annotation\": [{\"text\": \"…\"}, {\"markup\": \"…\"}]}",
                           'data must be JSON: {"annotation": [{"text": "…"}, {"markup": "…"}]}') from None
    checked: list[str] = []
    positions: list[int] = []
    sent: list[str] = []
    position = 0
    for number, part in enumerate(annotation):
        if not isinstance(part, dict) or not isinstance(part.get("text", part.get("markup")), str):
            raise RequestError(400, "bad-request", f"data.annotation[{number}] 应含 text 或 markup 字符串",
                               f"data.annotation[{number}] needs a text or markup string")
        if "text" in part:
            checked.append(part["text"])
            positions.extend(range(position, position + len(part["text"])))
            sent.append(part["text"])
            position += len(part["text"])
        else:
            interpreted = part.get("interpretAs", "")
            if not isinstance(interpreted, str):
                raise RequestError(400, "bad-request", f"data.annotation[{number}].interpretAs 应为字符串",
                                   f"data.annotation[{number}].interpretAs must be a string")
            checked.append(interpreted)
            positions.extend([position] * len(interpreted))
            sent.append(part["markup"])
            position += len(part["markup"])
    return "".join(checked), _Origin(positions, sent)


def _lines(text: str):
    """Each line of ``text`` with its start: one reply a line, as a TXT script."""
    position = 0
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        if content.strip():
            yield position, content
        position += len(line)


def _codes(value: str | None, linter: Linter) -> set[str]:
    """Rule codes named (by code or name) in a comma-separated list; other IDs are ignored."""
    codes = set()
    by_name = {rule.name: rule.code for rule in linter.ruleset.rules}
    known = {rule.code for rule in linter.ruleset.rules}
    for part in (value or "").split(","):
        part = part.strip()
        if part.upper() in known:
            codes.add(part.upper())
        elif part in by_name:
            codes.add(by_name[part])
    return codes


def _language_is_english(request: Request, fields: dict[str, str]) -> bool:
    mother = fields.get("motherTongue", "")
    return language_of(request) == "en" and not mother.lower().startswith("zh")


def _match(linter: Linter, sent: str, utf16: Utf16Offsets, origin: _Origin, line_start: int, line: str, violation: Violation,
           english: bool) -> dict[str, Any]:
    start = origin(line_start + violation.start)
    end = origin(line_start + violation.end, end=True) if violation.end > violation.start else start
    context_start, context_end = max(start - CONTEXT_CHARS, 0), min(end + CONTEXT_CHARS, len(sent))
    context = sent[context_start:context_end]
    replacement = violation.fix if violation.fix is not None else (
        violation.suggestion.removesuffix("…") if violation.suggestion and not violation.advice_only else None)
    rule = linter.ruleset.rule(violation.code)
    description = title(rule, "en" if english else "zh") if rule is not None else violation.name
    zone_names = ZONE_NAMES_EN if english else ZONE_NAMES_ZH
    short = violation.message.split("：", 1)[0].split("，", 1)[0][:40]
    return {
        "message": violation.message + (f"（建议：{violation.suggestion}）" if violation.suggestion and replacement is None else ""),
        "shortMessage": short,
        "replacements": [{"value": replacement}] if replacement is not None else [],
        "offset": utf16(start),
        "length": utf16(end) - utf16(start),
        "context": {"text": context, "offset": utf16(start) - utf16(context_start), "length": utf16(end) - utf16(start)},
        "sentence": _sentence(line, violation.start, violation.end),
        "type": {"typeName": "Other"},
        "rule": {
            "id": violation.code,
            "subId": violation.name,
            "description": description,
            "issueType": ISSUE_TYPES[violation.zone],
            "category": {"id": f"KEFU_{violation.zone.upper()}", "name": zone_names[violation.zone]},
            "urls": [],
        },
        "ignoreForIncompleteSentence": False,
        "contextForSureMatch": 0,
    }


def _sentence(line: str, start: int, end: int) -> str:
    """The sentence of ``line`` holding ``[start, end)``."""
    sentence_start = 0
    for match in _SENTENCE_END.finditer(line):
        if match.end() <= start:
            sentence_start = match.end()
        elif match.start() >= end:
            return line[sentence_start:match.end()].strip()
    return line[sentence_start:].strip()
