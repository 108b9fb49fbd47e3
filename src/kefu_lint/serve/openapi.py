"""The OpenAPI 3.1 document served at ``/openapi.json``: written once here, and every answer
the tests get is validated against the schema it declares (tests/test_serve.py)."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..model import ROLES, SCENES, ZONES
from .options import ServiceOptions

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None, *, closed: bool = False) -> Schema:
    schema: Schema = {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}
    if closed:
        schema["additionalProperties"] = False
    return schema


STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
INTEGER: Schema = {"type": "integer"}
GRADE: Schema = {"type": "string", "enum": list(ZONES)}
SCORE: Schema = {"type": "integer", "minimum": 0, "maximum": 100}
SCENE: Schema = {"type": "string", "enum": list(SCENES)}

FINDING = _object({
    "code": {"type": "string", "pattern": "^KF[0-9]{3}$"}, "name": STRING, "zone": GRADE, "message": STRING,
    "text": STRING,
    "start": {"type": "integer", "minimum": 0, "description": "character (code point) offset"},
    "end": {"type": "integer", "minimum": 0},
    "utf16_start": {"type": "integer", "minimum": 0, "description": "UTF-16 offset, as JavaScript's String indexes"},
    "utf16_end": {"type": "integer", "minimum": 0},
    "suggestion": NULLABLE_STRING, "advice_only": {"type": "boolean"}, "fix": NULLABLE_STRING,
    "points": INTEGER, "evidence": {"type": ["object", "null"]},
})
REPLY = _object({
    "id": NULLABLE_STRING, "text": STRING, "scene": NULLABLE_STRING, "score": SCORE, "grade": GRADE,
    "findings": {"type": "array", "items": _ref("Finding")},
    "fixed": {"type": "string", "description": "the reply with the safe fixes applied"},
})
REPLY_INPUT: Schema = {"oneOf": [STRING, _object({"text": STRING}, {"scene": SCENE, "id": STRING})]}
MESSAGE_INPUT = _object({"role": {"type": "string", "enum": list(ROLES)}, "text": STRING},
                        {"time": {"type": ["number", "null"], "description": "epoch seconds"}, "agent": STRING, "shop": STRING, "id": STRING})
TOTAL: Schema = {"oneOf": [{"type": "null"}, _object({"score": SCORE, "grade": GRADE})]}

SCHEMAS: dict[str, Schema] = {
    "Error": _object({"error": _object({"status": INTEGER, "code": STRING, "message": STRING})}),
    "Finding": FINDING,
    "Reply": REPLY,
    "LintRequest": _object({"text": STRING}, {"scene": {"oneOf": [SCENE, {"type": "array", "items": SCENE}]}, "ruleset": STRING, "id": STRING}),
    "LintResponse": {"allOf": [_ref("Reply"), _object({"ruleset": STRING})]},
    "BatchRequest": _object({"replies": {"type": "array", "items": REPLY_INPUT}}, {"scene": SCENE, "ruleset": STRING}),
    "BatchResponse": _object({"ruleset": STRING, "results": {"type": "array", "items": _ref("Reply")}, "total": TOTAL}),
    "Message": MESSAGE_INPUT,
    "ConversationRequest": _object({"messages": {"type": "array", "items": _ref("Message"), "minItems": 1}},
                                   {"conversation_id": STRING, "partial": {"type": "boolean"}, "ruleset": STRING}),
    "ConversationResponse": _object({
        "ruleset": STRING, "conversation_id": STRING, "agent": NULLABLE_STRING, "shop": NULLABLE_STRING,
        "score": SCORE, "grade": GRADE, "first_response_seconds": {"type": ["number", "null"]},
        "ended": {"type": "boolean"}, "partial": {"type": "boolean"},
        "findings": {"type": "array", "items": {"allOf": [_ref("Finding"), _object({
            "message_index": INTEGER, "level": {"type": "string", "enum": ["reply", "conversation"]}, "agent": NULLABLE_STRING})]}},
        "messages": {"type": "array", "items": _object({
            "index": INTEGER, "role": STRING, "text": STRING, "scenes": {"type": "array", "items": STRING},
            "acts": {"type": "array", "items": STRING}, "score": {"type": ["integer", "null"]}, "grade": {"type": ["string", "null"]}})},
        "agents": {"type": "array", "items": _object({"agent": NULLABLE_STRING, "messages": INTEGER, "score": SCORE, "grade": GRADE})},
    }),
    "DraftRequest": _object({"messages": {"type": "array", "items": _ref("Message")}, "draft": STRING},
                            {"agent": STRING, "ruleset": STRING, "conversation_id": STRING}),
    "DraftResponse": _object({"ruleset": STRING, "draft": STRING, "score": SCORE, "grade": GRADE,
                              "findings": {"type": "array", "items": {"allOf": [_ref("Finding"), _object({"level": STRING})]}}}),
    "Rule": _object({"code": STRING, "name": STRING, "zone": GRADE, "weight": INTEGER, "scenes": {"type": "array", "items": STRING},
                     "level": STRING, "applies_in": STRING, "fixable": {"type": "boolean"}}),
    "RulesResponse": _object({"ruleset": STRING, "rules": {"type": "array", "items": _ref("Rule")}}),
    "ExplainResponse": _object({"ruleset": STRING, "code": STRING, "rule": {"oneOf": [{"type": "null"}, _ref("Rule")]},
                                "documentation": STRING}),
    "Health": _object({"status": {"const": "ok"}}),
    "Version": _object({"name": {"const": "kefu-lint"}, "version": STRING, "tokenizer": NULLABLE_STRING,
                        "rulesets": {"type": "array", "items": STRING}, "default_ruleset": STRING}),
    "Rulesets": _object({"default": STRING, "rulesets": {"type": "array", "items": _object(
        {"name": STRING, "source": STRING, "rules": INTEGER, "tokenizer": STRING})}}),
    "LanguageToolCheck": _object({
        "software": _object({"name": STRING, "version": STRING, "apiVersion": INTEGER}),
        "language": _object({"name": STRING, "code": STRING}),
        "matches": {"type": "array", "items": _object({
            "message": STRING, "shortMessage": STRING, "offset": INTEGER, "length": INTEGER,
            "replacements": {"type": "array", "items": _object({"value": STRING})},
            "context": _object({"text": STRING, "offset": INTEGER, "length": INTEGER}), "sentence": STRING,
            "rule": _object({"id": STRING, "description": STRING, "issueType": STRING,
                             "category": _object({"id": STRING, "name": STRING})}),
        })},
    }),
    "LanguageToolLanguages": {"type": "array", "items": _object({"name": STRING, "code": STRING, "longCode": STRING})},
}


def _answer(schema: str, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


ERRORS: dict[str, Schema] = {
    "400": _answer("Error", "bad input: the message says what and where"),
    "401": _answer("Error", "missing or wrong API token"),
    "404": _answer("Error", "unknown ruleset or rule"),
    "413": _answer("Error", "body, reply or batch over its limit"),
    "415": _answer("Error", "not JSON (not a form, for /v2/check)"),
}
RULESET_PARAMETER: Schema = {"name": "ruleset", "in": "query", "required": False, "schema": STRING,
                             "description": "a served ruleset (GET /v1/rulesets); default: the first served"}
LANG_PARAMETER: Schema = {"name": "lang", "in": "query", "required": False, "schema": {"enum": ["zh", "en"]},
                          "description": "language of error messages and docs (or Accept-Language)"}


def _post(summary: str, request: str, response: str) -> Schema:
    return {"post": {"summary": summary, "parameters": [RULESET_PARAMETER, LANG_PARAMETER],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
                     "responses": {"200": _answer(response), **ERRORS}}}


def _get(summary: str, response: str, parameters: list[Schema] | None = None) -> Schema:
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": {"200": _answer(response), **ERRORS}}}


def openapi_document(options: ServiceOptions) -> Schema:
    languagetool_form = _object({"language": STRING}, {
        "text": STRING, "data": STRING, "enabledRules": STRING, "disabledRules": STRING,
        "enabledOnly": {"enum": ["true", "false"]}, "level": {"enum": ["default", "picky"]}, "apiKey": STRING,
    })
    check = {"post": {
        "summary": "LanguageTool-compatible check (one reply per line)",
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": languagetool_form}}},
        "responses": {"200": _answer("LanguageToolCheck"), **ERRORS},
    }}
    document: Schema = {
        "openapi": "3.1.0",
        "info": {"title": "kefu-lint", "version": __version__,
                 "description": "Lint Chinese e-commerce customer-service replies (客服话术). Offsets: start/end count "
                                "characters, utf16_start/utf16_end count UTF-16 code units (JavaScript)."},
        "paths": {
            "/v1/health": {"get": {"summary": "liveness (no token needed)", "responses": {"200": _answer("Health")}}},
            "/v1/version": _get("version, tokenizer and served rulesets", "Version"),
            "/v1/rulesets": _get("the served rulesets", "Rulesets"),
            "/v1/rules": _get("a ruleset's rules", "RulesResponse", [RULESET_PARAMETER]),
            "/v1/rules/{code}": _get("a rule's documentation (kefu-lint explain)", "ExplainResponse", [
                {"name": "code", "in": "path", "required": True, "schema": STRING}, RULESET_PARAMETER, LANG_PARAMETER]),
            "/v1/lint": _post("lint and score one reply", "LintRequest", "LintResponse"),
            "/v1/batch": _post(f"lint and score up to {options.max_batch} replies", "BatchRequest", "BatchResponse"),
            "/v1/conversation": _post("judge a whole conversation (the audit's scoring)", "ConversationRequest", "ConversationResponse"),
            "/v1/draft": _post("findings on a draft reply if the agent sent it now", "DraftRequest", "DraftResponse"),
            "/v2/check": check,
            "/v2/languages": _get("LanguageTool-compatible language list", "LanguageToolLanguages"),
            "/rulesets/{ruleset}/v2/check": {"post": {**check["post"], "parameters": [
                {"name": "ruleset", "in": "path", "required": True, "schema": STRING}]}},
        },
        "components": {"schemas": SCHEMAS},
    }
    if options.token is not None:
        document["components"]["securitySchemes"] = {"token": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"token": []}]
    return document
