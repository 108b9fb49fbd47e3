"""`kefu-lint serve` end to end: a real uvicorn process on loopback, driven by httpx and by the
LanguageTool client library (`language_tool_python` with its remote-server option); every JSON
answer validated against the OpenAPI document the service serves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from hypothesis import given, settings, strategies as st  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

from kefu_lint import Linter  # noqa: E402
from kefu_lint.model import ChatMessage  # noqa: E402

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
TOKEN = "s3cret-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(*args: str, env_extra: dict[str, str] | None = None):
    port = _free_port()
    env = {**os.environ, **(env_extra or {})}
    process = subprocess.Popen([KEFU_LINT, "serve", "--port", str(port), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kefu-lint serve exited: {process.stderr.read().decode()}")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("kefu-lint serve did not come up in 60 s")


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two rulesets (the default and `platform`), no token: as on a developer's machine."""
    process, url = _start("--ruleset", "default=default", "--ruleset", "platform=platform")
    yield url
    _stop(process)


@pytest.fixture(scope="module")
def guarded():
    """A token from the environment, CORS for one extension, small limits."""
    process, url = _start("--cors-origin", "chrome-extension://abc", "--max-batch", "3", "--max-body-bytes", "4000",
                          env_extra={"KEFU_LINT_TOKEN": TOKEN})
    yield url
    _stop(process)


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=30) as session:
        yield session


@pytest.fixture(scope="module")
def openapi(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    return document


def _valid(openapi, name: str, answer) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": openapi["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(answer), key=str)
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"


@pytest.fixture(scope="module")
def reference():
    return Linter()


# ----------------------------------------------------------------------------- native endpoints

def test_lint_matches_the_library_with_utf16_offsets(client, openapi, reference):
    text = "😀不行,这个不算售后"
    answer = client.post("/v1/lint", json={"text": text}).json()
    _valid(openapi, "LintResponse", answer)
    expected = reference.score(text)
    assert (answer["score"], answer["grade"]) == (expected.value, expected.grade)
    assert [(f["code"], f["start"], f["end"]) for f in answer["findings"]] == [(v.code, v.start, v.end) for v in expected.violations]
    first = answer["findings"][0]
    assert (first["start"], first["utf16_start"], first["text"]) == (1, 2, "不行")  # the emoji is two UTF-16 units
    assert text.encode("utf-16-le")[first["utf16_start"] * 2:first["utf16_end"] * 2].decode("utf-16-le") == "不行"


def test_lint_applies_safe_fixes_and_scenes(client, openapi, reference):
    text = "亲，你的电话13812345678收到了"
    answer = client.post("/v1/lint", json={"text": text, "scene": "order"}).json()
    _valid(openapi, "LintResponse", answer)
    assert answer["fixed"] == reference.fix(text, scene="order")[0] != text


def test_batch_and_ruleset_choice(client, openapi, reference):
    replies = ["不行", {"text": "您好，请问有什么可以帮您？", "id": "greet"}]
    answer = client.post("/v1/batch", json={"replies": replies}).json()
    _valid(openapi, "BatchResponse", answer)
    assert [r["grade"] for r in answer["results"]] == [reference.score("不行").grade, reference.score(replies[1]["text"]).grade]
    assert answer["results"][1]["id"] == "greet" and answer["total"]["grade"] == "red"
    platform = client.post("/v1/lint?ruleset=platform", json={"text": "不行"}).json()
    assert platform["ruleset"] == "platform"
    assert client.post("/v1/lint", json={"text": "不行", "ruleset": "platform"}).json()["ruleset"] == "platform"


def test_conversation_is_the_audits_scoring(client, openapi, reference):
    messages = [
        {"role": "customer", "text": "我的快递怎么还没到，都一周了", "time": 0, "agent": None},
        {"role": "agent", "text": "不知道，你问问快递吧", "time": 50, "agent": "小王"},
    ]
    answer = client.post("/v1/conversation", json={"messages": messages, "conversation_id": "c1"}).json()
    _valid(openapi, "ConversationResponse", answer)
    expected = reference.lint_conversation([
        ChatMessage("c1", m["role"], m["text"], time=m["time"], agent=m["agent"], source="request", line=i + 1, seq=i)
        for i, m in enumerate(messages)
    ])
    assert (answer["score"], answer["grade"]) == (expected.score.value, expected.score.grade)
    assert [(f["message_index"], f["code"], f["level"]) for f in answer["findings"]] == [
        (f.message_index, f.violation.code, f.level) for f in expected.findings]
    assert answer["first_response_seconds"] == 50 and answer["agent"] == "小王"
    draft = client.post("/v1/draft", json={"messages": messages[:1], "draft": "不知道"}).json()
    _valid(openapi, "DraftResponse", draft)
    assert "KF101" in {f["code"] for f in draft["findings"]}


def test_rules_explain_health_version(client, openapi):
    for path, schema in (("/v1/health", "Health"), ("/v1/version", "Version"), ("/v1/rulesets", "Rulesets"),
                         ("/v1/rules", "RulesResponse"), ("/v1/rules/KF101", "ExplainResponse")):
        answer = client.get(path)
        assert answer.status_code == 200, path
        _valid(openapi, schema, answer.json())
    assert client.get("/v1/rulesets").json()["rulesets"][1]["name"] == "platform"
    zh = client.get("/v1/rules/negative-opener").json()["documentation"]
    en = client.get("/v1/rules/KF101", headers={"Accept-Language": "en-US,en;q=0.9"}).json()["documentation"]
    assert zh.startswith("# KF101 negative-opener（红色警示区") and "## 检查什么" in zh
    assert "## What it does" in en
    assert client.get("/v1/version").json()["tokenizer"] == Linter().tokenizer_name


# ----------------------------------------------------------------------------- LanguageTool

@pytest.fixture(scope="module")
def languagetool(server):
    language_tool_python = pytest.importorskip("language_tool_python")
    tool = language_tool_python.LanguageTool("zh-CN", remote_server=server)
    yield tool
    tool.close()


def test_languagetool_client_unchanged(languagetool, openapi, client):
    text = "😀不行,这个不算售后\n您好，请问有什么可以帮您？"
    matches = languagetool.check(text)
    assert [m.rule_id for m in matches] == ["KF101", "KF102"]
    first = matches[0]
    # the client turns LanguageTool's UTF-16 offsets back into Python's
    assert text[first.offset:first.offset + first.error_length] == "不行"
    assert first.replacements == ["很抱歉，这个暂时无法办理"]
    assert first.category == "KEFU_RED" and first.rule_issue_type == "misspelling"
    assert first.sentence.startswith("😀不行")
    corrected = languagetool.correct("不行,这个不算售后")
    assert corrected.startswith("很抱歉，这个暂时无法办理")
    raw = client.post("/v2/check", data={"text": text, "language": "zh-CN"}).json()
    _valid(openapi, "LanguageToolCheck", raw)


def test_languagetool_rule_selection_and_ruleset_prefix(server, languagetool):
    language_tool_python = pytest.importorskip("language_tool_python")
    languagetool.disabled_rules = {"KF101", "WHITESPACE_RULE"}  # an ID kefu-lint has not is ignored, as LanguageTool does
    try:
        assert [m.rule_id for m in languagetool.check("不行,这个不算售后")] == ["KF102"]
    finally:
        languagetool.disabled_rules = set()
    platform = language_tool_python.LanguageTool("zh-CN", remote_server=f"{server}/rulesets/platform/")
    try:
        assert "KF101" in {m.rule_id for m in platform.check("不行")}
    finally:
        platform.close()


def test_languagetool_annotated_data(client):
    data = json.dumps({"annotation": [{"markup": "<p>"}, {"text": "不行"}, {"markup": "</p>"}]})
    matches = client.post("/v2/check", data={"data": data, "language": "zh"}).json()["matches"]
    assert [(m["rule"]["id"], m["offset"], m["length"]) for m in matches][:1] == [("KF101", 3, 2)]
    refused = client.post("/v2/check", data={"text": "hello", "language": "en-US"})
    assert refused.status_code == 400 and "中文" in refused.json()["error"]["message"]


# ----------------------------------------------------------------------------- limits and errors

def test_bad_input_is_a_clear_4xx(client, openapi):
    cases = [
        (client.post("/v1/lint", content=b"{oops", headers={"Content-Type": "application/json"}), 400, "bad-json"),
        (client.post("/v1/lint", json=["不行"]), 400, "bad-request"),
        (client.post("/v1/lint", json={"text": 5}), 400, "bad-request"),
        (client.post("/v1/lint", json={"text": "你好", "scene": "party"}), 400, "unknown-scene"),
        (client.post("/v1/lint", json={"text": "你好", "ruleset": "shop-z"}), 404, "unknown-ruleset"),
        (client.post("/v1/lint", content="text=1", headers={"Content-Type": "text/plain"}), 415, "unsupported-media-type"),
        (client.post("/v1/lint", json={"text": "好" * 20_001}), 413, "text-too-long"),
        (client.post("/v1/conversation", json={"messages": [{"role": "boss", "text": "x"}]}), 400, "bad-request"),
        (client.get("/v1/lint"), 405, "method-not-allowed"),
        (client.get("/v1/nothing"), 404, "not-found"),
        (client.get("/v1/rules/KF999"), 404, "unknown-rule"),
    ]
    for answer, status, code in cases:
        assert answer.status_code == status, answer.text
        body = answer.json()
        _valid(openapi, "Error", body)
        assert body["error"]["code"] == code
    english = client.post("/v1/lint", json={"text": 5}, headers={"Accept-Language": "en"}).json()["error"]["message"]
    assert english == "text must be a string"


@settings(max_examples=40)
@given(body=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
                         lambda children: st.lists(children, max_size=4) | st.dictionaries(
                             st.sampled_from(["text", "scene", "replies", "messages", "role", "time", "id", "ruleset", "draft"]),
                             children, max_size=4), max_leaves=12),
       path=st.sampled_from(["/v1/lint", "/v1/batch", "/v1/conversation", "/v1/draft"]))
def test_no_json_body_gets_a_server_error(client, body, path):
    answer = client.post(path, json=body)
    assert answer.status_code < 500, (path, body, answer.text)
    assert "error" in answer.json() or answer.status_code == 200


def test_limits_token_and_cors(guarded):
    with httpx.Client(base_url=guarded, timeout=30) as session:
        assert session.get("/v1/health").status_code == 200  # no token needed
        refused = session.post("/v1/lint", json={"text": "不行"})
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert session.post("/v1/lint", json={"text": "不行"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert session.post("/v1/lint", json={"text": "不行"}, headers=auth).json()["grade"] == "red"
        assert session.post("/v2/check", data={"text": "不行", "language": "zh", "apiKey": TOKEN}).status_code == 200
        too_many = session.post("/v1/batch", json={"replies": ["a", "b", "c", "d"]}, headers=auth)
        assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "batch-too-large"
        big = json.dumps({"text": "好" * 3000}).encode()
        assert session.post("/v1/lint", content=big, headers={**auth, "Content-Type": "application/json"}).status_code == 413

        def chunks():
            yield big[:2000]
            yield big[2000:]

        chunked = session.post("/v1/lint", content=chunks(), headers={**auth, "Content-Type": "application/json"})
        assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "body-too-large"
        preflight = session.options("/v2/check", headers={"Origin": "chrome-extension://abc", "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "chrome-extension://abc"
        other = session.options("/v2/check", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers


def test_beyond_loopback_needs_a_token():
    result = subprocess.run([KEFU_LINT, "serve", "--host", "0.0.0.0", "--port", "1"], capture_output=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if k != "KEFU_LINT_TOKEN"})
    assert result.returncode == 2
    assert "--token" in result.stderr.decode() and "Traceback" not in result.stderr.decode()


# ----------------------------------------------------------------------------- rulesets share tokenizers

def test_rulesets_share_one_tokenizer(tmp_path):
    from kefu_lint.serve.options import ServiceOptions
    from kefu_lint.serve.rulesets import ServedRulesets

    own_words = tmp_path / "words.yaml"
    own_words.write_text("extends: default\ndictionary: [鲜花饼]\n", encoding="utf-8")
    served = ServedRulesets(ServiceOptions(rulesets=(("a", "default"), ("b", "platform"), ("c", "default"), ("w", str(own_words)))))
    a, b, c, w = (served.linters[name] for name in "abcw")
    assert a.tokenizer is b.tokenizer is c.tokenizer
    assert w.tokenizer is not a.tokenizer  # another dictionary segments differently
    assert len(served.tokenizers) == 2
    assert a.lint("不行") == Linter().lint("不行")


def test_a_busy_port_is_a_clear_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([KEFU_LINT, "serve", "--port", str(port)], capture_output=True, timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == 2 and f"127.0.0.1:{port}" in stderr and "Traceback" not in stderr
