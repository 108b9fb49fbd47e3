"""`kefu-lint check` against a careless user and a broken environment (issue #19).

Every case runs the installed console script on real files: a clear one-line error naming
the file (and key, line or byte offset), exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([KEFU_LINT, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def assert_clean_error(result: subprocess.CompletedProcess, *expected: str) -> None:
    """Exit 2, no traceback, and each expected fragment in the output."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 2, output
    for fragment in expected:
        assert fragment in output, output


# ----------------------------------------------------------------------------- D22 charset guessing

@pytest.mark.parametrize("data, offset", [
    ("你自己看".encode("utf-8") + b"\xa0\n", 12),  # was "detected" as cp855 / cp932, exit 0
    ("不行，你自己看".encode("utf-8") + b"\x98\n", 21),
    ("亲".encode("utf-8") + b"\xff" + "不归我们管\n".encode("utf-8"), 3),
])
def test_utf8_text_with_one_bad_byte_is_an_error_with_its_offset(tmp_path, data, offset):
    path = tmp_path / "s.txt"
    path.write_bytes(data)
    result = run("check", str(path))
    assert_clean_error(result, f"s.txt: byte {offset}: cannot decode as UTF-8")


def test_charset_guess_picks_no_exotic_codepage():
    from kefu_lint.formats.decode import GUESSABLE_ENCODINGS, _detect

    # bytes that are neither UTF-8 nor GB18030; whatever a guesser calls them, not cp1251
    guessed = _detect("Привет, как дела? Всё хорошо.".encode("cp1251") + b"\x98")
    assert guessed is None or guessed in GUESSABLE_ENCODINGS


# ----------------------------------------------------------------------------- D21 config types

@pytest.mark.parametrize("line, message", [
    ('per-file-ignores = {x = 5}', "per-file-ignores.'x' must be a list of rule codes"),
    ('per-file-ignores = {"*.txt" = "KF101"}', "per-file-ignores.'*.txt' must be a list of rule codes"),
    ('per-file-ignores = ["KF101"]', "per-file-ignores must be a table of globs"),
    ('encoding = 5', "encoding must be the name of a text encoding"),
    ('encoding = "nope"', "encoding: unknown encoding 'nope'"),
    ('encoding = "rot13"', "encoding: unknown encoding 'rot13'"),
    ('respect-gitignore = "no"', "respect-gitignore must be true or false, not the string 'no'"),
    ('respect-gitignore = 0', "respect-gitignore must be true or false"),
    ('select = "KF101"', "select must be a list of rule codes"),
    ('exclude = "drafts"', "exclude must be a list of path globs"),
    ('extend-exclude = [1]', "extend-exclude must be a list of path globs"),
    ('tokenizer = 5', "tokenizer must be one of jieba, jieba-rs, auto"),
    ('fail-on = ["red"]', "fail-on must be one of red, yellow, green, never"),
    ('text-column = [1]', "text-column must be a column name or a 1-based column number"),
    ('text-column = 0', "text-column must be a column name or a 1-based column number"),
    ('text-column = true', "text-column must be a column name or a 1-based column number"),
    ('scenes = {"*" = 5}', "scenes.'*' must be one of greeting"),
    ('scenes = "presale"', "scenes must be a table of globs to scenes"),
    ('ruleset = 5', "ruleset must be a shipped ruleset name or a path"),
])
def test_every_config_key_is_type_checked(tmp_path, line, message):
    (tmp_path / "kefu-lint.toml").write_text(line + "\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    result = run("check", "a.txt", cwd=tmp_path)
    assert_clean_error(result, "kefu-lint.toml: " + message)
    assert len((result.stdout + result.stderr).strip().splitlines()) == 1


def test_yaml_and_pyproject_config_are_checked_the_same_way(tmp_path):
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / ".kefu-lint.yaml").write_text("select: KF101\n", encoding="utf-8")
    assert_clean_error(run("check", "a.txt", cwd=tmp_path), ".kefu-lint.yaml: select must be a list")
    (tmp_path / ".kefu-lint.yaml").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.kefu-lint]\nrespect-gitignore = "false"\n', encoding="utf-8")
    assert_clean_error(run("check", "a.txt", cwd=tmp_path), "pyproject.toml: respect-gitignore must be true or false")


def test_valid_config_values_still_apply(tmp_path):
    (tmp_path / "kefu-lint.toml").write_text(
        'per-file-ignores = {"a.txt" = ["KF101"]}\nrespect-gitignore = false\ntext-column = 2\nencoding = "GB18030"\n',
        encoding="utf-8")
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    result = run("check", "a.txt", "--select", "KF101", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------- D12 encoding names

@pytest.mark.parametrize("name", ["nope", "base64", "rot13"])
def test_a_bad_encoding_name_on_the_command_line_is_a_usage_error(tmp_path, name):
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"conversation_id":"a","role":"agent","text":"不行"}\n', encoding="utf-8")
    assert_clean_error(run("check", "--encoding", name, str(tmp_path / "a.txt")), f"--encoding: unknown encoding {name!r}")
    assert_clean_error(run("audit", "--encoding", name, "--out", str(tmp_path / "out"), str(tmp_path / "a.jsonl")),
                       f"--encoding: unknown encoding {name!r}")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- D25, D26 rulesets

@pytest.mark.parametrize("extends, message", [
    ("/etc/passwd", "extends '/etc/passwd' is outside the project"),
    ("../../../etc/hostname", "extends '../../../etc/hostname' is outside the project"),
    ("/proc/self/environ", "extends '/proc/self/environ' is outside the project"),
    ("[default, platform]", "extends names one ruleset"),
    ("5", "extends names one ruleset"),
])
def test_extends_resolves_only_shipped_names_and_project_files(tmp_path, extends, message):
    (tmp_path / "shop.yaml").write_text(f"extends: {extends}\nrules: {{}}\n", encoding="utf-8")
    result = run("rules", "--ruleset", "shop.yaml", cwd=tmp_path)
    assert_clean_error(result, "shop.yaml", message)
    assert "root:" not in result.stdout + result.stderr


def test_extends_inside_the_project_still_works(tmp_path):
    (tmp_path / "base.yaml").write_text("extends: default\nrules: {}\n", encoding="utf-8")
    (tmp_path / "shop.yaml").write_text("extends: base.yaml\nrules: {}\n", encoding="utf-8")
    result = run("rules", "--ruleset", "shop.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "KF101" in result.stdout


def test_unknown_key_echo_is_cut_short_and_control_characters_are_an_error(tmp_path):
    (tmp_path / "long.yaml").write_text("rules: {}\n" + "x" * 300 + ": 1\n", encoding="utf-8")
    result = run("rules", "--ruleset", "long.yaml", cwd=tmp_path)
    assert_clean_error(result, "unknown key")
    assert "x" * 41 not in result.stderr
    (tmp_path / "ctl.yaml").write_text('rules: {}\nname: "a\x01b"\n', encoding="utf-8")
    assert_clean_error(run("rules", "--ruleset", "ctl.yaml", cwd=tmp_path), "ctl.yaml: invalid YAML")


# ----------------------------------------------------------------------------- D13 file names

NON_UTF8_NAME = os.fsdecode(b"bad\xff\xfe.txt")


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github", "junit"])
def test_a_file_name_that_is_not_utf8_is_shown_escaped_in_every_format(tmp_path, output_format):
    (tmp_path / NON_UTF8_NAME).write_text("不行\n", encoding="utf-8")
    result = run("check", "-o", output_format, ".", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and result.returncode == 1, output
    shown = "bad\\xff\\xfe.txt"
    if output_format == "json":
        assert json.loads(result.stdout)["findings"][0]["path"] == shown
    elif output_format == "sarif":
        location = json.loads(result.stdout)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == shown
    else:
        assert shown in result.stdout


def test_an_audit_of_a_log_whose_name_is_not_utf8_completes(tmp_path):
    log = tmp_path / os.fsdecode(b"log\xff.jsonl")
    log.write_text('{"conversation_id":"a","role":"agent","text":"不行"}\n{broken\n', encoding="utf-8")
    # The broken line is there to put the name in the rejected table: one rejection is accepted.
    result = run("audit", "--out", "out", "--max-rejected", "1", log.name, cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "log\\xff.jsonl:2: 拒收：" in result.stderr
    db = sqlite3.connect(tmp_path / "out" / "audit.db")
    try:
        assert db.execute("SELECT source FROM rejected").fetchall() == [("log\\xff.jsonl",)]
        assert json.loads(db.execute("SELECT inputs FROM runs").fetchone()[0]) == ["log\\xff.jsonl"]
    finally:
        db.close()


# ----------------------------------------------------------------------------- D16, D17, D18 folders

def test_a_symlink_loop_in_a_folder_is_reported_and_the_rest_checked(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("不行\n", encoding="utf-8")
    os.symlink("self.txt", folder / "self.txt")  # a link to itself
    os.symlink(".", folder / "here")  # a folder loop: not followed
    result = run("check", "-o", "concise", "d", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "d/a.txt:1:1: KF101" in result.stdout
    assert "d/self.txt:1:1: KF000" in result.stdout and "Too many levels of symbolic links" in result.stdout


def test_a_fifo_in_a_folder_or_named_directly_is_reported_never_waited_on(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("不行\n", encoding="utf-8")
    os.mkfifo(folder / "p.txt")
    in_folder = run("check", "-o", "concise", "d", cwd=tmp_path, timeout=60)  # hung forever before
    assert in_folder.returncode == 2 and "d/a.txt:1:1: KF101" in in_folder.stdout
    assert "d/p.txt:1:1: KF000" in in_folder.stdout and "FIFO" in in_folder.stdout
    named = run("check", "d/p.txt", cwd=tmp_path, timeout=60)  # exit 0, "All checked!" before
    assert named.returncode == 2 and "d/p.txt:1:1: KF000" in named.stdout and "All checked" not in named.stdout
    # --force-exclude (the pre-commit hook) decides by the name before anything is opened: a
    # FIFO named like a reply script is still reported, one named like another tool's file is
    # left alone, and neither is read
    os.mkfifo(folder / "requirements.txt")
    forced = run("check", "-o", "concise", "--force-exclude", "d/p.txt", "d/requirements.txt", "d/a.txt", cwd=tmp_path, timeout=60)
    assert forced.returncode == 2 and "d/p.txt:1:1: KF000" in forced.stdout and "d/a.txt:1:1: KF101" in forced.stdout
    assert "requirements" not in forced.stdout + forced.stderr, forced.stdout + forced.stderr


def _too_deep_to_list(root: Path) -> None:
    """Folders nested past PATH_MAX (made with openat, as a tool unpacking an archive may):
    the walk cannot list the deepest ones, whoever runs it (root included)."""
    descriptor = os.open(root, os.O_RDONLY)
    try:
        for _ in range(20):
            os.mkdir("x" * 250, dir_fd=descriptor)
            deeper = os.open("x" * 250, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = deeper
        os.close(os.open("deep.txt", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=descriptor))
    finally:
        os.close(descriptor)


@pytest.mark.parametrize("how", ["too-deep", "chmod-000"])
def test_a_folder_that_cannot_be_listed_is_reported(tmp_path, how):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("不行\n", encoding="utf-8")
    if how == "chmod-000":
        if os.geteuid() == 0:
            pytest.skip("root reads a chmod 000 folder; the too-deep case covers root")
        (folder / "sub").mkdir()
        (folder / "sub" / "b.txt").write_text("您好\n", encoding="utf-8")
        (folder / "sub").chmod(0)
    else:
        _too_deep_to_list(folder)
    try:
        result = run("check", "-o", "json", "d", cwd=tmp_path)
    finally:
        if how == "chmod-000":
            (folder / "sub").chmod(0o755)
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert ("d/a.txt", "KF101") in {(f["path"], f["code"]) for f in findings}
    unlisted = [f for f in findings if f["code"] == "KF000"]
    assert len(unlisted) == 1 and "cannot list this folder" in unlisted[0]["message"]
    assert unlisted[0]["path"].startswith("d/") and json.loads(result.stdout)["grade"] is None


# ----------------------------------------------------------------------------- D19 write failures

def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_fix_that_cannot_be_written_leaves_the_file_whole_and_exits_2(tmp_path):
    path = tmp_path / "big.txt"
    original = ("你好，" * 40 + "\n").encode("utf-8")
    path.write_bytes(original)
    assert run("check", "big.txt", cwd=tmp_path).returncode == 1  # warm the caches outside the limit
    result = subprocess.run([KEFU_LINT, "check", "--fix", "big.txt"], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, preexec_fn=_file_size_limit(64))
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert "error: big.txt: cannot write the fixes: File too large" in result.stderr
    assert path.read_bytes() == original  # was truncated to the limit: the file's replies lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]


def test_fix_on_a_read_only_file_is_refused_and_the_rest_fixed(tmp_path):
    (tmp_path / "ro.txt").write_text("你好\n", encoding="utf-8")
    (tmp_path / "rw.txt").write_text("你好\n", encoding="utf-8")
    (tmp_path / "ro.txt").chmod(0o444)
    result = run("check", "--fix", ".", cwd=tmp_path)
    assert "Traceback" not in result.stdout + result.stderr
    assert (tmp_path / "rw.txt").read_text(encoding="utf-8") == "您好\n"
    if os.geteuid() == 0:
        return  # root may write a read-only file; the size-limit test covers a refused write
    assert result.returncode == 2 and "error: ro.txt: cannot write the fixes: the file is read-only" in result.stderr
    assert (tmp_path / "ro.txt").read_text(encoding="utf-8") == "你好\n"


@pytest.mark.parametrize("option", ["--baseline", "--output-file"])
def test_baseline_or_output_file_in_a_missing_folder_is_a_clear_error(tmp_path, option):
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    for target in ("missing/out.json", "a-file/out.json"):
        result = run("check", option, target, "a.txt", cwd=tmp_path)
        assert_clean_error(result, f"error: {option} {target}: cannot write")


# ----------------------------------------------------------------------------- D20 baselines

@pytest.mark.parametrize("content, message", [
    ('{"kefu-lint-baseline": 1, "findings": {"abc": 1e400}}', "the count of 'abc' must be a whole number from 1, not inf"),
    ('{"kefu-lint-baseline": 1, "findings": {"abc": "2"}}', "the count of 'abc' must be a whole number"),
    ('{"kefu-lint-baseline": 1, "findings": {"abc": -1}}', "the count of 'abc' must be a whole number from 1"),
    ('{"kefu-lint-baseline": 1, "findings": {"abc": true}}', "the count of 'abc' must be a whole number"),
    ('{"kefu-lint-baseline": 1, "findings": {"abc": NaN}}', "the count of 'abc' must be a whole number"),
    ('{"kefu-lint-baseline": 1, "findings": ["abc"]}', "'findings' must map fingerprints to counts"),
    ('{"kefu-lint-baseline": 3, "entries": []}', "version '3'; this kefu-lint reads version 2"),
    ('{"kefu-lint-baseline": "2", "entries": []}', "version '2'; this kefu-lint reads version 2"),
    ('{"kefu-lint-baseline": 2, "findings": {}}', "'entries' must be a list"),
    ('{"kefu-lint-baseline": 2, "entries": [{"code": "KF101"}]}', "第 1 条记录不完整"),
    ('{"findings": {}}', "no 'kefu-lint-baseline' version key"),
    ('[1, 2]', "no 'kefu-lint-baseline' version key"),
    ('{"kefu-lint-baseline": 1, ', "invalid JSON"),
    ("[" * 100_000, "invalid JSON"),
])
def test_a_baseline_of_the_wrong_shape_is_a_clear_error(tmp_path, content, message):
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / "b.json").write_text(content, encoding="utf-8")
    assert_clean_error(run("check", "--baseline", "b.json", "a.txt", cwd=tmp_path), "b.json: 不是 kefu-lint 基线文件（not a kefu-lint baseline file", message)


def test_a_recorded_baseline_still_hides_its_findings(tmp_path):
    (tmp_path / "a.txt").write_text("不行\n", encoding="utf-8")
    assert run("check", "--baseline", "b.json", "a.txt", cwd=tmp_path).returncode == 0
    result = run("check", "--baseline", "b.json", "a.txt", cwd=tmp_path)
    assert result.returncode == 0 and "1 个问题已被基线隐藏" in result.stdout


# ----------------------------------------------------------------------------- D23 CR-only files

@pytest.mark.parametrize("name, content, expected", [
    ("cr.txt", "您好\r不行\r你好\r", [("KF101", 2, 1), ("KF202", 3, 1)]),
    ("cr.csv", '内容\r您好\r"你\r好"\r不能\r', [("KF202", 3, 2), ("KF101", 5, 1)]),
    ("cr.yaml", "- 您好\r- 不行\r- |\r  你好\r", [("KF101", 2, 3), ("KF202", 4, 3)]),
    ("crlf.txt", "您好\r\n不行\r\n你好\r\n", [("KF101", 2, 1), ("KF202", 3, 1)]),
])
def test_cr_only_line_ends_give_the_right_lines(tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content.encode("utf-8"))
    result = run("check", "-o", "json", name, cwd=tmp_path)
    found = [(f["code"], f["line"], f["column"]) for f in json.loads(result.stdout)["findings"]]
    assert found == expected


def test_fix_keeps_cr_only_line_ends(tmp_path):
    (tmp_path / "cr.txt").write_bytes("您好\r你好\r".encode("utf-8"))
    run("check", "--fix", "cr.txt", cwd=tmp_path)
    assert (tmp_path / "cr.txt").read_bytes() == "您好\r您好\r".encode("utf-8")


# ----------------------------------------------------------------------------- D27 lone surrogates

@pytest.mark.parametrize("tokenizer", ["jieba", "jieba-rs"])
def test_the_api_takes_lone_surrogates(tokenizer):
    from kefu_lint import Linter
    from kefu_lint.model import ChatMessage

    if tokenizer == "jieba-rs":
        pytest.importorskip("rjieba")
    linter = Linter(tokenizer=tokenizer)
    for text in ("\ud800", "\ud800不行", "不行\udcff你好", "這個不歸我們管\udfff", "\udc80你的电话13812345678"):
        violations = linter.lint(text)
        assert all(0 <= v.start <= v.end <= len(text) for v in violations)
        linter.score(text)
        linter.fix(text)
        linter.intents(text)
    assert [("\ud800不行"[v.start:v.end]) for v in linter.lint("\ud800不行") if v.code == "KF101"] == ["不行"]
    fixed, _ = linter.fix("\udcff你好")
    assert fixed == "\udcff您好"  # the surrogate is kept as given; only the fix changes the text
    result = linter.lint_conversation([ChatMessage("c", "customer", "\ud800在吗"), ChatMessage("c", "agent", "不行\ud800", seq=1)])
    assert "KF101" in {f.violation.code for f in result.findings}


def test_module_level_lint_takes_a_lone_surrogate():
    import kefu_lint

    assert kefu_lint.lint("\ud800") == []
    assert kefu_lint.score("\ud800不行").grade == "red"
