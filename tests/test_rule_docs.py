"""Each rule has one home: its text in the ruleset entry, its options on its check class,
and every page built from them (README tables, `kefu-lint explain`)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kefu_lint import RulesetError, load_ruleset
from kefu_lint.formats.rule_docs import generated_blocks, render_readme
from kefu_lint.rules import CHECKS, Option

README = Path(__file__).resolve().parents[1] / "README.md"
SHIPPED = [rule for name in ("default", "platform") for rule in load_ruleset(name).rules]
HEADINGS = {
    "zh": ("## 检查什么", "## 为什么", "## 修复"),
    "en": ("## What it does", "## Why is this bad?", "## Fix safety"),
}


def test_readme_generated_sections_are_current():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- generated: ([\w-]+) -->", text)
    assert sorted(blocks) == sorted(generated_blocks()), "every generated block appears once in the README"
    assert render_readme(text) == text, "README is stale: run `python -m kefu_lint.formats.rule_docs README.md`"


def test_the_readme_lists_every_check_and_every_declared_option():
    text = README.read_text(encoding="utf-8")
    for name, check in CHECKS.items():
        assert f"#### `check: {name}`" in text
        for key in check.options:
            assert f"| `{key}` |" in text, f"{name}.{key} is declared but not documented"


@pytest.mark.parametrize("check", CHECKS.values(), ids=list(CHECKS))
def test_every_check_documents_itself_and_its_options(check):
    assert (check.__doc__ or "").strip(), f"{check.__name__} needs a docstring saying what the check does"
    for key, option in check.options.items():
        assert isinstance(option, Option) and option.doc.strip(), f"{check.__name__}.{key} needs a one-line doc"


def test_a_rule_gets_the_declared_default_of_every_option_it_leaves_out():
    rule = next(r for r in load_ruleset("default").rules if r.code == "KF201")
    declared = type(rule).options
    assert set(rule.config.options) == set(declared)
    assert rule.config.options["min_length"] == declared["min_length"].default == 2


@pytest.mark.parametrize("rule", SHIPPED, ids=[r.code for r in SHIPPED])
def test_every_shipped_rule_is_documented_in_chinese_and_english(rule):
    for language, headings in HEADINGS.items():
        doc = rule.doc(language)
        for heading in headings:
            assert heading in doc, f"{rule.code} ({language}) lacks {heading}"
    # Chinese prose uses full-width punctuation: no half-width comma, colon, semicolon or
    # question mark right after a Han character (code blocks and ``literals`` aside).
    prose = re.sub(r"```.*?```|``.*?``|`[^`]*`", "", rule.doc("zh"), flags=re.S)
    assert not re.findall(r"[\u4e00-\u9fff][,:;?!]", prose), f"{rule.code}: half-width punctuation in Chinese text"


def test_explain_is_chinese_by_default_and_english_on_request():
    run = lambda *args: subprocess.run([sys.executable, "-m", "kefu_lint.cli", "explain", *args], capture_output=True, text=True)
    chinese = run("KF202")
    assert chinese.returncode == 0, chinese.stderr
    assert chinese.stdout.startswith("# KF202 informal-you（黄色观察区，扣 10 分，场景：全部）")
    assert "## 检查什么" in chinese.stdout and "## 规则集中的例子" in chinese.stdout
    english = run("KF202", "--lang", "en")
    assert english.stdout.startswith("# KF202 informal-you (yellow zone, weight 10, scenes: all)")
    assert "## What it does" in english.stdout and "## Examples from the ruleset" in english.stdout
    intent = run("intent:refusal")
    assert intent.stdout.startswith("# 意图 refusal（拒绝；客服消息；红色警示区）"), intent.stdout[:200]
    assert "## 难反例" in intent.stdout


def _shop(tmp_path, body: str) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_shops_rule_is_made_like_a_builtin_one_and_may_document_itself_in_one_language(tmp_path):
    path = _shop(tmp_path, """
        extends: default
        rules:
          KF901:
            name: competitor-name
            check: phrases
            zone: yellow
            message: 不要提及竞品「{matched}」
            doc: 本店规定：不在回复中提及竞品店铺。
            phrases: [某某旗舰店]
    """)
    rule = load_ruleset(str(path)).rule("KF901")
    assert rule.doc("zh") == rule.doc("en") == "本店规定：不在回复中提及竞品店铺。"
    assert rule.config.options["boundaries"] is True  # the declared default


def test_a_rule_without_a_check_or_with_a_doc_in_an_unknown_language_is_an_error(tmp_path):
    path = _shop(tmp_path, """
        rules:
          KF901: {name: x, zone: yellow, message: m, phrases: [包邮]}
    """)
    with pytest.raises(RulesetError, match=r"KF901 needs a 'check'"):
        load_ruleset(str(path))
    path = _shop(tmp_path, """
        extends: default
        rules:
          KF202: {doc: {fr: "Tutoiement"}}
    """)
    with pytest.raises(RulesetError, match=r"doc must be a text, or a mapping of zh and en") as error:
        load_ruleset(str(path))
    assert "shop.yaml" in str(error.value)


def test_rules_markdown_is_the_readme_table():
    result = subprocess.run([sys.executable, "-m", "kefu_lint.cli", "rules", "-o", "markdown", "--lang", "en"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == generated_blocks()["default-rules"]
    chinese = subprocess.run([sys.executable, "-m", "kefu_lint.cli", "rules", "-o", "markdown"], capture_output=True, text=True).stdout
    assert '| <a id="kf202"></a>KF202 | `informal-you` |' in chinese and "您" in chinese


def test_conversation_rules_say_they_judge_conversations_not_every_reply():
    """KF401–KF404 judge no lone reply: `rules` must not list them as applying to all scenes."""
    import json
    import subprocess
    import sys

    listed = json.loads(subprocess.run([sys.executable, "-m", "kefu_lint.cli", "rules", "-o", "json"], capture_output=True, text=True, check=True).stdout)
    where = {row["code"]: row["applies_in"] for row in listed}
    assert {where[code] for code in ("KF401", "KF402", "KF403", "KF404")} == {"conversations (audit)"}
    assert where["KF101"] == "all" and where["KF301"] == "closing"
    text = subprocess.run([sys.executable, "-m", "kefu_lint.cli", "rules"], capture_output=True, text=True, check=True).stdout
    assert "conversations (audit)" in next(line for line in text.splitlines() if line.startswith("KF401"))
