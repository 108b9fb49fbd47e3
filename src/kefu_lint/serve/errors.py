"""Request errors: a 4xx JSON answer in the caller's language, never a 500 with a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the JSON-lines pipe (pipe.py) raises these errors without Starlette installed
    from starlette.requests import Request
    from starlette.responses import JSONResponse


class RequestError(Exception):
    """A request the service refuses: ``status`` (4xx), a stable ``code`` and the reason in
    Chinese and English (``Accept-Language: en`` or ``?lang=en`` chooses English)."""

    def message(self, language: str) -> str:
        return self.en if language == "en" else self.zh

    def __init__(self, status: int, code: str, zh: str, en: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.headers = headers


def language_of(request: Request) -> str:
    """``en`` when the caller prefers English (``?lang=en`` or Accept-Language), else ``zh``."""
    chosen = request.query_params.get("lang")
    if chosen in ("zh", "en"):
        return chosen
    preferred: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, parameters = part.strip().partition(";")
        weight = 1.0
        if parameters.strip().startswith("q="):
            try:
                weight = float(parameters.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag:
            preferred.append((weight, tag.lower()))
    for _, tag in sorted(preferred, key=lambda item: -item[0]):
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"


def error_response(request: Request, error: RequestError) -> JSONResponse:
    from starlette.responses import JSONResponse

    message = error.en if language_of(request) == "en" else error.zh
    body: dict[str, Any] = {"error": {"status": error.status, "code": error.code, "message": message}}
    return JSONResponse(body, status_code=error.status, headers=error.headers)
