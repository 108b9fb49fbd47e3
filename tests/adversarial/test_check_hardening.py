"""`kefu-lint check` against a careless user and a broken environment (issue #19).

Every case runs the installed console script on real files: a clear one-line error naming
the file (and key, line or byte offset), exit code 2, never a traceback.
"""

from __future__ import annotations

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
