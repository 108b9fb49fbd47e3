"""Exit codes as a contract (issue #19, item 6): every command, in a broken environment.

An unwritable output, a missing file or folder, a bad encoding name, a ruleset that is not
there, a reader that closes the pipe: exit 2, one clear ``error:`` line, never a traceback
and never 1 (the "findings" code). The commands are read from ``kefu-lint --help``, so a
new command without its cases here fails this test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")

#: Per command, broken invocations and a fragment of the error each must print. Run in a
#: folder holding ``a.txt``, ``a.jsonl``, ``shop.yaml`` (a ruleset without intents) and
#: ``a-file`` (a file where a folder is needed: unwritable for root too).
BROKEN: dict[str, list[tuple[list[str], str]]] = {
    "check": [
        (["check", "missing/"], "missing: no such file or directory"),
        (["check", "--output-file", "a-file/report.txt", "a.txt"], "--output-file a-file/report.txt: cannot write"),
        (["check", "--baseline", "missing/b.json", "a.txt"], "--baseline missing/b.json: cannot write"),
        (["check", "--encoding", "nope", "a.txt"], "--encoding: unknown encoding 'nope'"),
        (["check", "--config", "missing.toml", "a.txt"], "config file missing.toml not found"),
        (["check", "--ruleset", "missing.yaml", "a.txt"], "ruleset 'missing.yaml' not found"),
    ],
    "audit": [
        (["audit", "--out", "a-file/out", "a.jsonl"], "a-file/out: cannot write"),
        (["audit", "--out", "out", "missing.jsonl"], "missing.jsonl: no such file"),
        (["audit", "--out", "out", "--encoding", "nope", "a.jsonl"], "--encoding: unknown encoding 'nope'"),
        (["audit", "--out", "out", "--report", "a-file/r.html", "a.jsonl"], "a-file/r.html: cannot write"),
        (["audit", "--out", "out", "--db", "a-file/x.db", "a.jsonl"], "a-file/x.db: cannot write"),
        (["audit", "--out", "out", "--ruleset", "missing.yaml", "a.jsonl"], "ruleset 'missing.yaml' not found"),
    ],
    "rules": [
        (["rules", "--ruleset", "missing.yaml"], "ruleset 'missing.yaml' not found"),
    ],
    "review": [
        (["review", "missing-out"], "missing-out: no audit database here"),
        (["review", "a-file"], "a-file: not a kefu-lint audit database"),
        (["review", "--host", "0.0.0.0", "a-file"], "--host 0.0.0.0: the workbench shows customers' chats"),
        (["review", "--user", "小李:boss", "missing-out"], "missing-out: no audit database here"),
    ],
    "explain": [
        (["explain", "KF101", "--ruleset", "missing.yaml"], "ruleset 'missing.yaml' not found"),
        (["explain", "KF999"], "no rule 'KF999' in ruleset 'default'"),
    ],
    "test": [
        (["test", "missing.yaml"], "ruleset 'missing.yaml' not found"),
    ],
    "train": [
        (["train", "missing.yaml"], "ruleset 'missing.yaml' not found"),
        (["train", "shop.yaml"], "declares no intents"),
        (["train", "--check", "missing.yaml"], "ruleset 'missing.yaml' not found"),
    ],
    "lint": [
        (["lint", "--ruleset", "missing.yaml", "不行"], "ruleset 'missing.yaml' not found"),
        (["lint", "--config", "missing.toml", "不行"], "config file missing.toml not found"),
        (["lint"], "--jsonl"),
    ],
    "serve": [
        (["serve", "--ruleset", "shop=missing.yaml", "--port", "0"], "ruleset 'missing.yaml' not found"),
        (["serve", "--config", "missing.toml"], "config file missing.toml not found"),
        (["serve", "--host", "0.0.0.0", "--port", "0"], "--token"),
    ],
    "server": [
        (["server", "--config", "missing.toml"], "config file missing.toml not found"),
    ],
}

#: What a command needs done first (an audit to review).
SETUP = {"review": ["audit", "--out", "out-pipe-review", "a.jsonl"]}
#: What each command prints to stdout when it works: run with the reader gone.
PRINTING = {
    "check": ["check", "a.txt"],
    "audit": ["audit", "--out", "out-pipe", "a.jsonl"],
    "rules": ["rules"],
    "review": ["review", "out-pipe-review", "--user", "小李:auditor", "--export", "overlay.yaml"],
    "explain": ["explain", "KF101"],
    "test": ["test", "default"],
    "train": ["train", "--check"],
    "lint": ["lint", "不行"],
}
#: Commands whose stdout is no report: they have their own tests of a closed channel.
NOT_PRINTING = {
    "serve": "answers over HTTP (tests/test_serve.py)",
    "server": "speaks LSP on stdout; the editor closing it ends the session (tests/test_lsp.py)",
}


def _commands() -> set[str]:
    result = subprocess.run([KEFU_LINT, "--help"], capture_output=True, text=True, timeout=60)
    listed = result.stdout.split("Commands:", 1)[1]
    return set(re.findall(r"^  (\S+)", listed, re.MULTILINE))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"conversation_id":"a","role":"agent","text":"不行"}\n', encoding="utf-8")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    (tmp_path / "shop.yaml").write_text("name: shop\nrules: {}\n", encoding="utf-8")
    return tmp_path


def test_every_command_has_broken_environment_cases():
    assert _commands() == set(BROKEN) == set(PRINTING) | set(NOT_PRINTING)


CASES = [(command, args, message) for command, cases in BROKEN.items() for args, message in cases]


@pytest.mark.parametrize("command, args, message", CASES, ids=[" ".join(args) for _, args, _ in CASES])
def test_a_broken_environment_is_exit_2_with_one_clear_line(folder, command, args, message):
    result = subprocess.run([KEFU_LINT, *args], capture_output=True, text=True, timeout=180, cwd=folder)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr


@pytest.mark.parametrize("command", sorted(PRINTING))
def test_a_reader_that_closes_the_pipe_is_exit_2_not_findings(folder, command):
    if command in SETUP:
        subprocess.run([KEFU_LINT, *SETUP[command]], capture_output=True, timeout=180, cwd=folder, check=True)
    process = subprocess.Popen([KEFU_LINT, *PRINTING[command]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=folder)
    process.stdout.close()  # before the command writes anything: its first write fails (EPIPE)
    stderr = process.stderr.read().decode("utf-8", "replace")
    assert process.wait(timeout=180) == 2, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert "error: the output was closed before kefu-lint finished writing it (broken pipe)" in stderr
