"""The Starlette application: native JSON endpoints under ``/v1``, LanguageTool's ``/v2``.

Starlette (on uvicorn) rather than FastAPI: the service has a dozen small endpoints whose
request shapes are checked by hand into the same Chinese/English 4xx answers the CLI gives,
so FastAPI's pydantic layer would add a dependency, a second validation path with English
messages, and about 10 µs a request, for nothing the OpenAPI document (written once, in
openapi.py, and tested against every answer) does not already give. uvicorn is the ASGI
server Starlette is developed against, and runs several worker processes on one port.
"""

from __future__ import annotations

import hmac
import json
import math
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..engine import Linter, combine_scores
from ..errors import KefuLintError
from ..formats.reply_json import conversation_dict, rule_dict, score_dict
from ..model import ROLES, ChatMessage, Score
from .errors import RequestError, error_response, language_of
from .replies import optional_text as _optional_text, reply_result, text_of
from .options import OPTIONS_VARIABLE, ServiceOptions
from .rulesets import ServedRulesets

Handler = Callable[[Request], Awaitable[Response]]


def create_app(options: ServiceOptions | None = None) -> Starlette:
    """The service for ``options`` (default: the default ruleset, loopback limits)."""
    from .languagetool import languagetool_routes
    from .openapi import openapi_document

    options = options or ServiceOptions()
    served = ServedRulesets(options)
    served.warm_up()  # the first request must not pay for the dictionary
    service = _Service(options, served)
    routes = [
        Route("/v1/health", service.health, methods=["GET"]),
        Route("/v1/version", service.version, methods=["GET"]),
        Route("/v1/rulesets", service.rulesets, methods=["GET"]),
        Route("/v1/rules", service.rules, methods=["GET"]),
        Route("/v1/rules/{code}", service.explain, methods=["GET"]),
        Route("/v1/lint", service.lint, methods=["POST"]),
        Route("/v1/batch", service.batch, methods=["POST"]),
        Route("/v1/conversation", service.conversation, methods=["POST"]),
        Route("/v1/draft", service.draft, methods=["POST"]),
        Route("/openapi.json", lambda request: _json(openapi_document(options)), methods=["GET"]),
        *languagetool_routes(service),
    ]
    middleware = []
    if options.cors_origins:
        # Outside the token check: a browser's preflight (OPTIONS) carries no token.
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(options.cors_origins), allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept-Language", "X-Kefu-Lint-Token"], max_age=600,
        ))
    middleware.append(Middleware(_BodyLimit, max_bytes=options.max_body_bytes))
    app = Starlette(
        routes=routes, middleware=middleware,
        exception_handlers={RequestError: _request_error, HTTPException: _http_error, Exception: _unexpected_error},
    )
    app.state.served = served
    return app


def app_from_environment() -> Starlette:
    """uvicorn's factory in each worker process: the options ``kefu-lint serve`` passed on."""
    text = os.environ.get(OPTIONS_VARIABLE)
    return create_app(ServiceOptions.from_json(text) if text else None)


class _Service:
    """The endpoints, over the served rulesets."""

    def __init__(self, options: ServiceOptions, served: ServedRulesets) -> None:
        self.options = options
        self.served = served

    # -- helpers shared by the endpoints (and languagetool.py) --

    def authorise(self, request: Request, form_key: str | None = None) -> None:
        """Refuse a request without the service's token (when it has one)."""
        token = self.options.token
        if token is None:
            return
        given = request.headers.get("x-kefu-lint-token")
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if given is None and form_key is not None:
            given = form_key
        if given is None or not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
            raise RequestError(401, "unauthorized", "缺少或错误的 API 令牌：请在请求头加上 Authorization: Bearer <令牌>",
                               "missing or wrong API token: send Authorization: Bearer <token>",
                               headers={"WWW-Authenticate": 'Bearer realm="kefu-lint"'})

    def linter(self, request: Request, name: str | None = None) -> tuple[str, Linter]:
        name = name or request.query_params.get("ruleset") or self.served.default
        linter = self.served.get(name)
        if linter is None:
            known = "、".join(self.served.linters)
            raise RequestError(404, "unknown-ruleset", f"没有名为「{name}」的规则集；本服务提供：{known}",
                               f"no ruleset {name!r}; this service serves: {', '.join(self.served.linters)}")
        return name, linter

    async def body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object; anything else is a 400/415 saying what is wrong."""
        self.authorise(request)
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if content_type not in ("application/json", ""):
            raise RequestError(415, "unsupported-media-type", f"请求体应为 JSON（Content-Type: application/json），而不是 {content_type}",
                               f"the body must be JSON (Content-Type: application/json), not {content_type}")
        raw = await request.body()
        try:
            data = json.loads(raw, parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            raise RequestError(400, "bad-json", "请求体不是 UTF-8 编码的 JSON", "the body is not UTF-8 JSON") from None
        except (ValueError, RecursionError) as error:
            where = f"（第 {error.lineno} 行第 {error.colno} 列）" if isinstance(error, json.JSONDecodeError) else ""
            where_en = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
            raise RequestError(400, "bad-json", f"请求体不是合法的 JSON{where}", f"the body is not valid JSON{where_en}") from None
        if not isinstance(data, dict):
            raise RequestError(400, "bad-request", "请求体应为 JSON 对象，例如 {\"text\": \"您好\"}",
                               'the body must be a JSON object, such as {"text": "您好"}')
        return data

    def text_of(self, value: Any, where: str) -> str:
        return text_of(value, where, self.options.max_text_chars)

    def reply(self, linter: Linter, item: Any, where: str, scene: Any = None) -> dict[str, Any]:
        return reply_result(linter, item, where, scene, max_chars=self.options.max_text_chars)

    def messages(self, value: Any, conversation_id: str) -> list[ChatMessage]:
        if not isinstance(value, list) or not value:
            raise RequestError(400, "bad-request", "messages 应为非空数组，每项形如 {\"role\": \"customer\", \"text\": \"…\"}",
                               'messages must be a non-empty array of {"role": "customer", "text": "…"}')
        if len(value) > self.options.max_messages:
            raise RequestError(413, "too-many-messages", f"一次最多 {self.options.max_messages} 条消息，收到 {len(value)} 条",
                               f"at most {self.options.max_messages} messages at once, got {len(value)}")
        parsed = []
        for index, item in enumerate(value):
            where = f"messages[{index}]"
            if not isinstance(item, dict):
                raise RequestError(400, "bad-request", f"{where} 应为对象", f"{where} must be an object")
            role = item.get("role")
            if role not in ROLES:
                raise RequestError(400, "bad-request", f"{where}.role 应为 {'、'.join(ROLES)} 之一，而不是 {role!r}",
                                   f"{where}.role must be one of {', '.join(ROLES)}, not {role!r}")
            time = item.get("time")
            if time is not None and (isinstance(time, bool) or not isinstance(time, (int, float)) or not math.isfinite(time)):
                raise RequestError(400, "bad-request", f"{where}.time 应为 Unix 时间戳（秒）或 null", f"{where}.time must be epoch seconds or null")
            parsed.append(ChatMessage(
                conversation_id, role, self.text_of(item.get("text"), f"{where}.text"), time=time,
                agent=_optional_text(item.get("agent"), f"{where}.agent"), shop=_optional_text(item.get("shop"), f"{where}.shop"),
                message_id=_optional_text(item.get("id"), f"{where}.id"), source="request", line=index + 1, seq=index,
            ))
        return parsed

    # -- endpoints --

    async def health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    async def version(self, request: Request) -> Response:
        self.authorise(request)
        linter = self.served.get(None)
        return _json({"name": "kefu-lint", "version": __version__, "tokenizer": linter.tokenizer_name if linter else None,
                      "rulesets": list(self.served.linters), "default_ruleset": self.served.default})

    async def rulesets(self, request: Request) -> Response:
        self.authorise(request)
        return _json({"default": self.served.default, "rulesets": [
            {"name": name, "source": self.served.sources[name], "rules": len(linter.rules), "tokenizer": linter.tokenizer_name}
            for name, linter in self.served.linters.items()
        ]})

    async def rules(self, request: Request) -> Response:
        self.authorise(request)
        name, linter = self.linter(request)
        return _json({"ruleset": name, "rules": [rule_dict(rule) for rule in linter.ruleset.rules]})

    async def explain(self, request: Request) -> Response:
        from ..formats.rule_docs import explain_page

        self.authorise(request)
        name, linter = self.linter(request)
        code = request.path_params["code"]
        try:
            page = explain_page(linter.ruleset, code, language_of(request), ruleset_name=name)
        except KefuLintError:
            raise RequestError(404, "unknown-rule", f"规则集「{name}」中没有规则「{code}」；GET /v1/rules 列出全部规则",
                               f"no rule {code!r} in ruleset {name!r}; GET /v1/rules lists them") from None
        rule = linter.ruleset.rule(code.upper()) or next((r for r in linter.ruleset.rules if r.name == code), None)
        return _json({"ruleset": name, "code": rule.code if rule else code, "rule": rule_dict(rule) if rule else None,
                      "documentation": page})

    async def lint(self, request: Request) -> Response:
        data = await self.body(request)
        name, linter = self.linter(request, _optional_text(data.get("ruleset"), "ruleset"))
        return _json({"ruleset": name, **self.reply(linter, data.get("text"), "text", data.get("scene"))})

    async def batch(self, request: Request) -> Response:
        data = await self.body(request)
        name, linter = self.linter(request, _optional_text(data.get("ruleset"), "ruleset"))
        replies = data.get("replies")
        if not isinstance(replies, list):
            raise RequestError(400, "bad-request", "replies 应为数组，每项是回复文本或 {\"text\": \"…\", \"scene\": \"…\", \"id\": \"…\"}",
                               'replies must be an array of texts or {"text", "scene", "id"} objects')
        if len(replies) > self.options.max_batch:
            raise RequestError(413, "batch-too-large", f"一批最多 {self.options.max_batch} 条回复，收到 {len(replies)} 条",
                               f"at most {self.options.max_batch} replies in a batch, got {len(replies)}")
        scene = data.get("scene")

        def work() -> dict[str, Any]:
            results = [self.reply(linter, item, f"replies[{index}]", scene) for index, item in enumerate(replies)]
            total = combine_scores(Score(r["score"], r["grade"]) for r in results)
            return {"ruleset": name, "results": results, "total": score_dict(total)}

        return _json(await run_in_threadpool(work))

    async def conversation(self, request: Request) -> Response:
        data = await self.body(request)
        name, linter = self.linter(request, _optional_text(data.get("ruleset"), "ruleset"))
        conversation_id = _optional_text(data.get("conversation_id"), "conversation_id") or "request"
        messages = self.messages(data.get("messages"), conversation_id)
        partial = data.get("partial", False)
        if not isinstance(partial, bool):
            raise RequestError(400, "bad-request", "partial 应为 true 或 false", "partial must be true or false")
        result = await run_in_threadpool(linter.lint_conversation, messages, partial=partial)
        return _json({"ruleset": name, **conversation_dict(result, linter.weights)})

    async def draft(self, request: Request) -> Response:
        from ..formats.reply_json import violation_dict

        data = await self.body(request)
        name, linter = self.linter(request, _optional_text(data.get("ruleset"), "ruleset"))
        conversation_id = _optional_text(data.get("conversation_id"), "conversation_id") or "request"
        so_far = self.messages(data.get("messages"), conversation_id) if data.get("messages") != [] else []
        draft = self.text_of(data.get("draft"), "draft")
        findings = await run_in_threadpool(linter.lint_draft, so_far, draft, agent=_optional_text(data.get("agent"), "agent"))
        score = linter.score_violations([f.violation for f in findings])
        return _json({"ruleset": name, "draft": draft, "score": score.value, "grade": score.grade, "findings": [
            {"level": f.level, **violation_dict(draft, f.violation, linter.weights.get(f.violation.code, 0))} for f in findings
        ]})


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json(content: Any, status: int = 200) -> Response:
    return JSONResponse(content, status_code=status)


async def _request_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestError)
    return error_response(request, error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return error_response(request, RequestError(404, "not-found", f"没有这个地址：{request.url.path}；接口列表见 /openapi.json",
                                                    f"no such path: {request.url.path}; see /openapi.json"))
    if error.status_code == 405:
        return error_response(request, RequestError(405, "method-not-allowed", f"{request.url.path} 不接受 {request.method} 请求",
                                                    f"{request.url.path} does not accept {request.method}",
                                                    headers=dict(error.headers or {})))
    return error_response(request, RequestError(error.status_code, "http-error", str(error.detail), str(error.detail)))


async def _unexpected_error(request: Request, error: Exception) -> Response:
    # A bug, not the caller's fault: say so without a traceback (uvicorn logs it).
    return PlainTextResponse("kefu-lint: internal error; see the server log", status_code=500)


class _BodyLimit:
    """Refuses a body over ``max_bytes`` (413) before it is read into memory: by its
    Content-Length, or while it streams in when it has none (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        too_large = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        error = RequestError(413, "body-too-large", f"请求体超过上限 {self.max_bytes:,} 字节：请分批发送",
                             f"the body is over the limit of {self.max_bytes:,} bytes: send it in smaller batches")
        await error_response(request, error)(scope, receive, send)


class _TooLarge(Exception):
    pass
