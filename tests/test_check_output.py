"""`check`'s report formats, end to end: a CJK-aligned summary in Chinese (English with
--lang en), JUnit totals that add up, SARIF documentation links per rule."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from wcwidth import wcswidth

from test_cli import run

FILES = {
    "售前话术.txt": "你好\n不行\n",
    "b.txt": "您好，很高兴为您服务\n",
    "售后/退换货快捷短语.txt": "亲，已经给你发货了!!!\n",
}


def _folder(tmp_path):
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_file_table_lines_up_for_chinese_names_and_counts_read_well(tmp_path):
    folder = _folder(tmp_path)
    out = run("check", ".", cwd=folder).out
    rows = [line for line in out.splitlines() if "条回复" in line and "得分" in line]
    assert len(rows) == 3
    # the score column starts at the same terminal column on every row
    columns = {wcswidth(row[:row.index("得分")]) for row in rows}
    assert len(columns) == 1, rows
    assert any("1 条回复" in row for row in rows)
    english = run("check", "--lang", "en", ".", cwd=folder).out
    rows = [line for line in english.splitlines() if "score" in line and "repl" in line]
    assert any(" 1 reply " in row for row in rows) and any(" 2 replies " in row for row in rows)
    assert "1 replies" not in english
    assert len({wcswidth(row[:row.index("score")]) for row in rows}) == 1, rows


def test_junit_totals_are_the_sums_of_its_suites(tmp_path):
    folder = _folder(tmp_path)
    (folder / "broken.yaml").write_text("- text: [unclosed\n", encoding="utf-8")
    result = run("check", "-o", "junit", ".", cwd=folder)
    root = ElementTree.fromstring(result.stdout)
    suites = root.findall("testsuite")
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests")) == len(cases) == sum(int(s.get("tests")) for s in suites)
    assert int(root.get("failures")) == len(root.findall(".//failure")) == sum(int(s.get("failures")) for s in suites)
    assert int(root.get("errors")) == len(root.findall(".//error")) == 1
    assert int(root.get("failures")) <= int(root.get("tests"))
    findings = json.loads(run("check", "-o", "json", ".", cwd=folder).out)["findings"]
    # every finding is a failing case, except an unreadable file's KF000: that file is the error
    assert int(root.get("failures")) + int(root.get("errors")) == len(findings)


def test_sarif_links_every_shipped_rule_to_its_documentation(tmp_path):
    folder = _folder(tmp_path)
    sarif = json.loads(run("check", "-o", "sarif", ".", cwd=folder).out)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rules and all(rule["helpUri"].endswith("#" + rule["id"].lower()) for rule in rules)
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in rules:  # the anchor the link points at exists
        assert f'<a id="{rule["id"].lower()}"></a>' in readme, rule["id"]


def test_snippet_labels_and_suggestions_have_full_width_colons_in_chinese(tmp_path):
    """`= 建议: …` had a half-width colon inside Chinese text; English labels with --lang en."""
    (tmp_path / "a.txt").write_text("不行，这个不算售后\n亲，您的电话是13812345678\n", encoding="utf-8")
    out = run("check", "a.txt", cwd=tmp_path).out
    assert "= 建议：很抱歉" in out and "= 修复：13812345678 → 138****5678" in out
    assert not any(label in out for label in ("建议:", "修复:", "依据:"))
    github = run("check", "-o", "github", "a.txt", cwd=tmp_path).out
    assert "建议：" in github and "建议:" not in github
    sarif = json.loads(run("check", "-o", "sarif", "a.txt", cwd=tmp_path).out)
    texts = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any("建议：" in text for text in texts) and not any("建议:" in text for text in texts)
    english = run("check", "--lang", "en", "a.txt", cwd=tmp_path).out
    assert "= suggestion: 很抱歉" in english and "= fix: 13812345678 → 138****5678" in english
