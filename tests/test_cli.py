"""`kefu-lint check` and friends, end to end through the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import EXAMPLES
from kefu_lint import Linter

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")


def run(*args, cwd=None, stdin: bytes | None = None, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(env_extra or {})
    result = subprocess.run(
        [KEFU_LINT, *map(str, args)], cwd=cwd, input=stdin, capture_output=True, env=env, timeout=180
    )
    result.out = result.stdout.decode("utf-8", "replace")
    result.err = result.stderr.decode("utf-8", "replace")
    return result


def test_examples_bad_exit_1_with_underlined_words():
    result = run("check", EXAMPLES / "scripts" / "bad.yaml")
    assert result.returncode == 1, result.err
    assert "bad.yaml:4:9: KF101 [red]" in result.out
    lines = result.out.splitlines()
    at = lines.index("4 | 不行,这个不算售后")
    assert lines[at + 1] == "  | ^^^^"  # two CJK characters are four columns wide
    assert result.out.rstrip().endswith("总评：红（得分 59）")
    assert "Traceback" not in result.err
    english = run("check", "--lang", "en", EXAMPLES / "scripts" / "bad.yaml").out
    assert "Found 14 findings (red 6, yellow 6, green 2) in 9 replies, 1 file." in english
    assert english.rstrip().endswith("Overall grade: red (score 59)")


def test_examples_good_exit_0():
    result = run("check", EXAMPLES / "scripts" / "good.yaml")
    assert result.returncode == 0, result.out + result.err
    assert "检查了 5 条回复、1 个文件，未发现问题。" in result.out
    assert result.out.rstrip().endswith("总评：绿（得分 100）")


def test_colour_only_when_asked_and_no_color_wins():
    assert "\x1b[" not in run("check", EXAMPLES / "scripts" / "bad.yaml").out  # not a terminal
    assert "\x1b[" in run("check", "--color", "always", EXAMPLES / "scripts" / "bad.yaml").out
    assert "\x1b[" not in run("check", EXAMPLES / "scripts" / "bad.yaml", env_extra={"NO_COLOR": "1"}).out


@pytest.fixture(scope="session")
def sarif_schema(tmp_path_factory):
    """The official SARIF 2.1.0 schema, as shipped in Microsoft's @microsoft/jest-sarif npm package."""
    path = os.environ.get("KEFU_LINT_SARIF_SCHEMA")
    if path and Path(path).is_file():
        return json.loads(Path(path).read_text(encoding="utf-8"))
    folder = tmp_path_factory.mktemp("sarif")
    if shutil.which("npm"):
        packed = subprocess.run(["npm", "pack", "--silent", "@microsoft/jest-sarif@1.0.0-beta.0"], cwd=folder, capture_output=True, text=True, timeout=300)
        tarballs = list(folder.glob("*.tgz"))
        if packed.returncode == 0 and tarballs:
            subprocess.run(["tar", "xzf", tarballs[0].name], cwd=folder, check=True)
            return json.loads((folder / "package/lib/schemas/sarif-2.1.0-rtm.5.json").read_text(encoding="utf-8"))
    if os.environ.get("CI"):
        pytest.fail("the SARIF schema could not be fetched; CI must validate SARIF")
    pytest.skip("SARIF schema unavailable (no npm)")


def test_sarif_validates_against_the_official_schema(sarif_schema):
    import jsonschema

    result = run("check", "-o", "sarif", EXAMPLES)
    assert result.returncode == 1
    document = json.loads(result.out)
    jsonschema.validators.validator_for(sarif_schema)(sarif_schema).validate(document)
    run_ = document["runs"][0]
    assert {r["ruleId"] for r in run_["results"]} >= {"KF101", "KF102", "KF104"}
    first = run_["results"][0]
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    assert run_["properties"]["tokenizer"] == Linter().tokenizer_name  # the fastest installed backend


def test_json_github_junit_concise():
    as_json = json.loads(run("check", "-o", "json", EXAMPLES).out)
    finding = next(f for f in as_json["findings"] if f["code"] == "KF104")
    assert finding["text"] == "13812345678" and finding["fix"] == "138****5678" and finding["fixable"]
    assert as_json["tool"]["tokenizer"] == Linter().tokenizer_name and as_json["grade"] == "red"

    github = run("check", "-o", "github", EXAMPLES / "scripts" / "bad.yaml").out.splitlines()
    assert github[0].startswith("::error file=examples/scripts/bad.yaml,line=4,col=9,")
    assert any(line.startswith("::warning ") for line in github)

    junit = ElementTree.fromstring(run("check", "-o", "junit", EXAMPLES).out)
    assert int(junit.get("failures")) > 0

    concise = run("check", "-o", "concise", EXAMPLES / "scripts" / "bad.yaml").out
    assert "^^^" not in concise and "KF101 [red]" in concise


def test_statistics_show_the_counts_instead_of_every_finding():
    result = run("check", "--statistics", EXAMPLES / "scripts" / "bad.yaml")
    assert "按规则统计：" in result.out and "negative-opener" in result.out
    assert "bad.yaml:4:9:" not in result.out and "^^^" not in result.out
    counts = [int(line.split()[0]) for line in result.out.splitlines() if line.strip().startswith(tuple("0123456789")) and "KF" in line]
    assert sum(counts) == 14  # the table accounts for every finding
    assert "共发现 14 个问题" in result.out


def test_fail_on_levels(tmp_path):
    yellow_only = tmp_path / "y.txt"
    yellow_only.write_text("您的快递已经发出了!!!\n", encoding="utf-8")
    assert run("check", yellow_only).returncode == 0
    assert run("check", "--fail-on", "yellow", yellow_only).returncode == 1
    assert run("check", "--fail-on", "never", EXAMPLES / "scripts" / "bad.yaml").returncode == 0
    assert run("check", "--exit-zero", EXAMPLES / "scripts" / "bad.yaml").returncode == 0


def test_usage_and_input_errors_exit_2_without_traceback(tmp_path):
    assert run("check", "--output-format", "xml", EXAMPLES).returncode == 2
    missing = run("check", tmp_path / "nope.txt")
    assert missing.returncode == 2 and "no such file" in missing.err and "Traceback" not in missing.err
    assert run("explain", "KF999").returncode == 2


def test_unreadable_file_is_named_and_the_others_are_still_checked(tmp_path):
    (tmp_path / "broken.yaml").write_text("- text: [unclosed\n- text: ok\n", encoding="utf-8")
    (tmp_path / "fine.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    result = run("check", tmp_path)
    assert result.returncode == 2
    assert "broken.yaml:2: invalid YAML" in result.out
    assert "binary.txt: looks like a binary file" in result.out
    assert "fine.txt:1:1: KF101" in result.out
    assert "Traceback" not in result.err


def test_a_yaml_syntax_error_is_reported_on_its_line_in_every_format(tmp_path):
    """A wrongly indented key breaks the whole file: the finding that says so sits on the
    line the parser stopped at (a code-scanning annotation lands there), not on line 1, and
    the summary does not read like a pass."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("- text: 您好\n- text: 好的\n   scene: greeting\n- text: 不行\n", encoding="utf-8")
    text = run("check", broken)
    assert text.returncode == 2 and "broken.yaml:3:1: KF000" in text.out and "没有读到任何回复" in text.out
    findings = json.loads(run("check", "-o", "json", broken).out)["findings"]
    assert [(f["line"], f["code"]) for f in findings] == [(3, "KF000")]
    sarif = json.loads(run("check", "-o", "sarif", broken).out)
    [result] = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_config_discovery_select_ignore_scenes(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.kefu-lint]
        ignore = ["KF202"]
        fail-on = "yellow"
        scenes = { "closing/*" = "closing" }
        per-file-ignores = { "legacy/*" = ["KF101"] }
    """), encoding="utf-8")
    for folder in ("closing", "legacy", "sub/deeper"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "closing" / "bye.txt").write_text("好的,已经处理好了\n", encoding="utf-8")
    (tmp_path / "legacy" / "old.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "a.txt").write_text("你好\n", encoding="utf-8")
    result = run("check", "-o", "json", ".", cwd=tmp_path)
    codes = {(f["path"], f["code"]) for f in json.loads(result.out)["findings"]}
    assert codes == {("closing/bye.txt", "KF301")}
    assert result.returncode == 0  # fail-on yellow from the config; a green-zone finding is below it
    assert run("check", "--fail-on", "green", ".", cwd=tmp_path).returncode == 1
    # discovered upward from a subdirectory, and the command line overrides
    result = run("check", "-o", "json", "--select", "KF2", "deeper", cwd=tmp_path / "sub")
    assert json.loads(result.out)["findings"] == []  # KF202 still ignored by the config


def test_unknown_config_key_is_an_error(tmp_path):
    (tmp_path / "kefu-lint.toml").write_text('colour = "blue"\n', encoding="utf-8")
    (tmp_path / "a.txt").write_text("您好\n", encoding="utf-8")
    result = run("check", tmp_path / "a.txt")
    assert result.returncode == 2 and "unknown key(s) colour" in result.err


def test_gitignored_files_are_skipped(tmp_path):
    (tmp_path / ".gitignore").write_text("generated/\n", encoding="utf-8")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "x.txt").write_text("不行\n", encoding="utf-8")
    (tmp_path / "kept.txt").write_text("不行\n", encoding="utf-8")
    paths = {f["path"] for f in json.loads(run("check", "-o", "json", ".", cwd=tmp_path).out)["findings"]}
    assert paths == {"kept.txt"}
    paths = {f["path"] for f in json.loads(run("check", "-o", "json", "--no-respect-gitignore", ".", cwd=tmp_path).out)["findings"]}
    assert paths == {"kept.txt", "generated/x.txt"}


def test_suppressions_and_unused_ones(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("# kefu-lint: disable-next-line KF202\n你好\n# kefu-lint: disable-next-line KF104\n您好\n", encoding="utf-8")
    findings = json.loads(run("check", "-o", "json", script).out)["findings"]
    assert [(f["code"], f["line"]) for f in findings] == [("KF001", 3)]
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text("- text: 你好\n  ignore: [KF202]\n- text: 您好\n  ignore: [KF101]\n", encoding="utf-8")
    findings = json.loads(run("check", "-o", "json", yaml_file).out)["findings"]
    assert [(f["code"], f["line"]) for f in findings] == [("KF001", 4)]
    assert json.loads(run("check", "-o", "json", "--ignore", "KF001", yaml_file).out)["findings"] == []


def test_baseline_fails_only_on_new_findings(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("不行\n你好\n", encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    first = run("check", "--baseline", baseline, script)
    assert first.returncode == 0 and baseline.exists() and "已记录" in first.out
    assert run("check", "--baseline", baseline, script).returncode == 0
    script.write_text("# moved down a line\n不行\n你好\n这个不算售后\n", encoding="utf-8")
    result = run("check", "-o", "json", "--baseline", baseline, script)
    assert result.returncode == 1
    assert [f["code"] for f in json.loads(result.out)["findings"]] == ["KF102"]


YAML_SCRIPT = """\
# 话术库 — comments, quoting and order must survive --fix
- id: a
  text: "你好,你的电话是13812345678!!!"   # trailing comment
- id: b
  text: |
    第一行没问题
    你的包裹已经发出
- id: c
  text: '单引号里的 ''引号'' 你'
"""


def test_fix_rewrites_only_the_fixed_bytes_and_is_idempotent(tmp_path):
    path = tmp_path / "lib.yaml"
    path.write_text(YAML_SCRIPT, encoding="utf-8")
    result = run("check", "--fix", path)
    fixed = path.read_text(encoding="utf-8")
    expected = (
        YAML_SCRIPT.replace('"你好,你的电话是13812345678!!!"', '"您好，您的电话是138****5678！"')
        .replace("    你的包裹已经发出", "    您的包裹已经发出")
        .replace("''引号'' 你'", "''引号'' 您'")
    )
    assert fixed == expected
    assert "已修复" in result.out
    again = run("check", "--fix", path)
    assert path.read_text(encoding="utf-8") == expected
    assert "已修复" not in again.out


def test_diff_shows_without_writing(tmp_path):
    path = tmp_path / "lib.yaml"
    path.write_text(YAML_SCRIPT, encoding="utf-8")
    result = run("check", "--diff", path)
    assert result.returncode == 1
    assert '-  text: "你好,你的电话是13812345678!!!"' in result.out
    assert '+  text: "您好，您的电话是138****5678！"' in result.out
    assert path.read_text(encoding="utf-8") == YAML_SCRIPT


def test_unsafe_fixes_apply_suggestions(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("不买别问\n", encoding="utf-8")
    run("check", "--fix", path)
    assert path.read_text(encoding="utf-8") == "不买别问\n"  # no safe fix
    run("check", "--fix", "--unsafe-fixes", "--select", "KF103", path)
    assert path.read_text(encoding="utf-8") == "您可以慢慢考虑，有任何问题随时问我\n"


def test_gbk_csv_positions_and_fix_keep_the_encoding(tmp_path):
    path = tmp_path / "qianniu.csv"
    content = '分组,快捷编码,内容\r\n售前,q1,"你好,有什么\r\n可以帮你"\r\n售后,q2,不行\r\n'
    path.write_bytes(content.encode("gbk"))
    findings = json.loads(run("check", "-o", "json", path).out)["findings"]
    located = [(f["code"], f["line"], f["column"]) for f in findings]
    assert located == [("KF202", 2, 8), ("KF202", 3, 4), ("KF101", 4, 7)]
    run("check", "--fix", path)
    assert path.read_bytes() == content.replace("你好,", "您好，").replace("帮你", "帮您").encode("gbk")


def test_bom_and_utf16_files(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeff不行\n".encode("utf-8"))
    (tmp_path / "u16.txt").write_bytes("不行\n".encode("utf-16"))
    findings = json.loads(run("check", "-o", "json", tmp_path).out)["findings"]
    assert [(f["path"].split("/")[-1], f["line"], f["column"]) for f in findings] == [("bom.txt", 1, 1), ("u16.txt", 1, 1)]


def test_encoding_override_and_undecodable_bytes(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("不行".encode("utf-8") + b"\xff\xfe\xfd\n")
    result = run("check", "--encoding", "utf-8", bad)
    assert result.returncode == 2 and "bad.txt: byte 6: cannot decode as utf-8" in result.out


def test_csv_unclosed_quote_is_reported(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('内容\n不行\n"您好,这一格没有闭合\n', encoding="utf-8")
    result = run("check", path)
    assert "q.csv:3:1: KF000 [red]" in result.out and "unclosed quote" in result.out
    assert "q.csv:2:1: KF101" in result.out
    assert result.returncode == 2


def test_stdin():
    result = run("check", "-", stdin="这个不算售后\n".encode("utf-8"))
    assert result.returncode == 1 and "-:1:1: KF102" in result.out


def test_rules_explain_and_test_commands(tmp_path):
    table = run("rules").out
    assert "KF101" in table and "negative-opener" in table and "red" in table
    rules = json.loads(run("rules", "-o", "json").out)
    assert next(r for r in rules if r["code"] == "KF202")["fixable"] is True
    explained = run("explain", "KF101").out
    for heading in ("## 检查什么", "## 为什么", "## 示例", "## 建议写法", "## 修复", "## 规则集中的例子"):
        assert heading in explained
    assert explained.startswith("# KF101 negative-opener（红色警示区，扣 50 分，场景：全部）")
    assert "✗ 不行，这个不能退" in explained
    english = run("explain", "KF101", "--lang", "en").out
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert heading in english
    assert run("test", "default").returncode == 0
    broken = tmp_path / "r.yaml"
    broken.write_text(textwrap.dedent("""
        extends: default
        rules:
          KF901:
            name: x
            check: phrases
            zone: yellow
            message: m
            phrases: [包邮]
            examples:
              bad: [{text: 不包邮, mark: 包邮}]
              good: [这款包邮]
    """), encoding="utf-8")
    result = run("test", broken)
    assert result.returncode == 1 and "FAIL KF901" in result.out and "1 failed" in result.out


def test_platform_ruleset_flags_compliance_examples_with_sources():
    result = run("check", "--ruleset", "platform", "-o", "json", EXAMPLES / "platform")
    assert result.returncode == 1
    codes = {f["code"] for f in json.loads(result.out)["findings"]}
    assert codes == {"KF501", "KF502", "KF503", "KF504", "KF505"}
    assert any("《广告法》第九条" in f["message"] for f in json.loads(result.out)["findings"])
    # The default flags what every platform penalises (KF501, KF504); the advertising-law
    # and promise checks stay in `platform`.
    default_codes = {f["code"] for f in json.loads(run("check", "-o", "json", EXAMPLES / "platform").out)["findings"]}
    assert default_codes == {"KF501", "KF504"}
    explained = run("explain", "KF504", "--ruleset", "platform").out
    assert "## 依据" in explained and "《中华人民共和国电子商务法》第十七条" in explained
    sarif_rules = json.loads(run("check", "--ruleset", "platform", "-o", "sarif", EXAMPLES / "platform").out)["runs"][0]["tool"]["driver"]["rules"]
    assert any(rule["id"] == "KF502" for rule in sarif_rules)


def test_dot_kefu_lint_yaml_config_and_ruleset_path(tmp_path):
    (tmp_path / "shop.yaml").write_text(
        "extends: default\nrules:\n  KF103:\n    extend-phrases: [亲你懂吗]\n", encoding="utf-8")
    (tmp_path / ".kefu-lint.yaml").write_text("ruleset: shop.yaml\nselect: [KF103]\n", encoding="utf-8")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "a.txt").write_text("亲你懂吗\n你好\n", encoding="utf-8")
    findings = json.loads(run("check", "-o", "json", "scripts", cwd=tmp_path).out)["findings"]
    assert [(f["code"], f["text"]) for f in findings] == [("KF103", "亲你懂吗")]
