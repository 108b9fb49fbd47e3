"""Hosts that pipe: `check --stdin-filename NAME` and `lint --jsonl` (a long-lived subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kefu_lint import Linter

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")


def run(*args, stdin: bytes = b"", cwd=None):
    return subprocess.run([KEFU_LINT, *map(str, args)], input=stdin, capture_output=True, cwd=cwd, timeout=120)


def test_stdin_filename_reads_as_that_file_with_its_config(tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "pyproject.toml").write_text('[tool.kefu-lint]\nignore = ["KF102"]\n', encoding="utf-8")
    yaml_text = "- id: a\n  text: 不行,这个不算售后\n# a YAML comment, not a reply\n".encode()
    result = run("check", "-o", "json", "--stdin-filename", "shop/replies.yaml", "-", stdin=yaml_text, cwd=tmp_path)
    findings = json.loads(result.stdout)["findings"]
    assert result.returncode == 1
    assert [(f["path"], f["line"], f["column"], f["code"]) for f in findings] == [("shop/replies.yaml", 2, 9, "KF101")]
    fixed = run("check", "--fix", "--stdin-filename", "shop/replies.yaml", "-", stdin="- 您的电话13812345678\n".encode(), cwd=tmp_path)
    assert fixed.stdout.decode() == "- 您的电话138****5678\n"
    refused = run("check", "--stdin-filename", "a.txt", "examples", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr.decode()


def test_a_leading_hash_on_stdin_is_text():
    result = run("check", "-o", "json", "-", stdin="#3号链接不行，这个不算售后\n".encode())
    findings = json.loads(result.stdout)["findings"]
    assert [f["reply"] for f in findings][:1] == ["#3号链接不行，这个不算售后"]
    # named as a TXT script, a # line is that format's comment again
    as_txt = run("check", "-o", "json", "--stdin-filename", "a.txt", "-", stdin="#3号链接不行\n".encode())
    assert json.loads(as_txt.stdout)["findings"] == []


def test_jsonl_answers_each_line_as_it_comes():
    process = subprocess.Popen([KEFU_LINT, "lint", "--jsonl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reference = Linter()
    try:
        for line, text in ((b'"#1 \xe4\xb8\x8d\xe8\xa1\x8c"\n', "#1 不行"), ('{"text": "您好，请问有什么可以帮您？", "id": "g"}\n'.encode(), "您好，请问有什么可以帮您？")):
            process.stdin.write(line)
            process.stdin.flush()  # no EOF: the answer must come while the pipe stays open
            answer = json.loads(process.stdout.readline())
            expected = reference.score(text)
            assert (answer["text"], answer["score"], answer["grade"]) == (text, expected.value, expected.grade)
            assert [f["code"] for f in answer["findings"]] == [v.code for v in expected.violations]
        process.stdin.write(b"\n{oops\n\xff\xfe\n[1, 2]\n{\"text\": 3}\n\"\xe6\x82\xa8\xe5\xa5\xbd\"\n")
        process.stdin.close()
        answers = [json.loads(line) for line in process.stdout.read().decode().splitlines()]
    finally:
        process.wait(timeout=60)
    assert [a["line"] for a in answers] == [3, 4, 5, 6, 7, 8]
    assert [a.get("error", {}).get("code") for a in answers] == ["blank-line", "bad-json", "bad-encoding", "bad-request", "bad-request", None]
    assert answers[-1]["grade"] == "green"
    assert process.returncode == 2 and b"Traceback" not in process.stderr.read()


def test_lint_arguments_and_english_errors():
    result = run("lint", "不行", "您好")
    answers = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [a["grade"] for a in answers] == ["red", "green"] and result.returncode == 0
    english = run("lint", "--jsonl", "--lang", "en", stdin=b"{oops\n")
    assert json.loads(english.stdout)["error"]["message"].startswith("not valid JSON")
