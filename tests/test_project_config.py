"""One configuration for every command (issue #16, item 3), end to end through the console script.

`check`, `audit`, `rules`, `explain`, `test` and `train` find ``[tool.kefu-lint]`` /
``kefu-lint.toml`` / ``.kefu-lint.yaml`` the same way, also from a sub-folder of the
project, and paths print relative to the working directory, as ruff prints them.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
CONFIGS = {
    "pyproject.toml": '[tool.kefu-lint]\nruleset = "platform"\n',
    "kefu-lint.toml": 'ruleset = "platform"\n',
    ".kefu-lint.yaml": "ruleset: platform\n",
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([KEFU_LINT, *args], capture_output=True, text=True, timeout=180, cwd=cwd)


@pytest.fixture(params=sorted(CONFIGS))
def project(request, tmp_path: Path) -> Path:
    (tmp_path / request.param).write_text(CONFIGS[request.param], encoding="utf-8")
    sub = tmp_path / "scripts" / "presale"
    sub.mkdir(parents=True)
    (sub / "a.txt").write_text("这是最好的产品\n", encoding="utf-8")
    (sub / "a.jsonl").write_text('{"conversation_id":"a","role":"agent","text":"这是最好的产品"}\n', encoding="utf-8")
    return tmp_path


def test_every_command_reads_the_configured_ruleset_from_a_sub_folder(project):
    sub = project / "scripts" / "presale"
    check = run("check", "-o", "concise", "a.txt", cwd=sub)
    assert check.returncode == 1 and check.stdout.startswith("a.txt:1:3: KF502 [red]"), check.stdout + check.stderr
    rules = json.loads(run("rules", "-o", "json", cwd=sub).stdout)
    assert "KF502" in {rule["code"] for rule in rules}
    explain = run("explain", "KF502", cwd=sub)
    assert explain.returncode == 0 and explain.stdout.startswith("# KF502 absolute-claim")
    tested = run("test", cwd=sub)
    assert tested.returncode == 0, tested.stdout
    assert tested.stdout.strip().splitlines()[-1] == run("test", "platform", cwd=sub).stdout.strip().splitlines()[-1]
    audited = run("audit", "--out", str(project / "out"), "a.jsonl", cwd=sub)
    assert audited.returncode == 0, audited.stderr
    db = sqlite3.connect(project / "out" / "audit.db")
    try:
        assert "KF502" in {code for (code,) in db.execute("SELECT code FROM findings")}
    finally:
        db.close()


def test_the_command_line_still_wins_and_paths_print_relative_to_the_working_directory(project):
    sub = project / "scripts"
    assert "KF502" not in {r["code"] for r in json.loads(run("rules", "--ruleset", "default", "-o", "json", cwd=sub).stdout)}
    result = run("check", "-o", "json", "presale", cwd=sub)
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["presale/a.txt"]
    from_root = run("check", "-o", "json", "scripts", cwd=project)
    assert [f["path"] for f in json.loads(from_root.stdout)["findings"]] == ["scripts/presale/a.txt"]


def test_config_globs_stay_relative_to_the_config_file(tmp_path):
    (tmp_path / "kefu-lint.toml").write_text('per-file-ignores = {"scripts/presale/*" = ["KF101"]}\n', encoding="utf-8")
    sub = tmp_path / "scripts" / "presale"
    sub.mkdir(parents=True)
    (sub / "a.txt").write_text("不行\n", encoding="utf-8")
    assert run("check", "a.txt", cwd=sub).returncode == 0  # the glob names the file from the project root
    assert run("check", "a.txt", "--config", str(tmp_path / "none.toml"), cwd=sub).returncode == 2


def test_audit_takes_select_ignore_and_tokenizer_from_the_config(tmp_path):
    (tmp_path / "kefu-lint.toml").write_text('ignore = ["KF101", "KF102", "KF103"]\ntokenizer = "jieba"\n', encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"conversation_id":"a","role":"agent","text":"不行"}\n', encoding="utf-8")
    assert run("audit", "--out", "out", "a.jsonl", cwd=tmp_path).returncode == 0
    db = sqlite3.connect(tmp_path / "out" / "audit.db")
    try:
        codes = {code for (code,) in db.execute("SELECT code FROM findings")}
    finally:
        db.close()
    assert not codes & {"KF101", "KF102", "KF103"}
