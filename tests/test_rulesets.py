"""Ruleset loading: extends, overrides, and mistakes reported with file, line and key."""

from __future__ import annotations

import textwrap
import warnings

import pytest

from kefu_lint import Linter, RulesetError, load_ruleset
from kefu_lint.errors import PatternTimeoutWarning


def write(tmp_path, text, name="shop.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_extends_default_adds_phrases_and_a_new_rule(tmp_path):
    path = write(tmp_path, """
        name: shop
        extends: default
        rules:
          KF103:
            extend-phrases: [亲你懂吗]
          KF901:
            name: competitor-name
            check: phrases
            zone: yellow
            message: 不要提及竞品「{matched}」
            phrases: [某某旗舰店]
            examples:
              bad: [{text: 某某旗舰店更便宜, mark: 某某旗舰店}]
              good: [我们家价格很实惠]
    """)
    linter = Linter(path)
    assert {v.code for v in linter.lint("亲你懂吗")} >= {"KF103"}
    assert [v.code for v in linter.lint("某某旗舰店更便宜")] == ["KF901"]
    assert "KF103" in {v.code for v in linter.lint("不买别问")}  # the parent's phrases are kept


def test_override_zone_weight_and_disable(tmp_path):
    path = write(tmp_path, """
        extends: default
        rules:
          KF202: {zone: red, weight: 60}
          KF203: {enabled: false}
    """)
    ruleset = load_ruleset(path)
    assert ruleset.rule("KF202").zone == "red"
    assert ruleset.rule("KF203") is None
    assert Linter(ruleset).score("你好").grade == "red"


@pytest.mark.parametrize(
    "body, line, key, words",
    [
        ("extends: default\nrules:\n  KF101:\n    zone: red\n    colour: blue\n", 5, "KF101.colour", "unknown key"),
        ("extends: default\nrules:\n  KF103:\n    patterns: ['(unclosed']\n", 4, "KF103.patterns", "bad regular expression"),
        ("rules:\n  KF999:\n    zone: red\n    message: x\n", 2, "KF999", "needs a 'check'"),
        ("rules:\n  XX:\n    zone: red\n", 2, "XX", "must look like KF101"),
        ("extends: default\nrules:\n  KF101:\n    zone: purple\n", 4, "KF101.zone", "zone must be"),
        ("bogus: 1\n", 1, "bogus", "unknown key"),
        ("rules: [\n", 2, None, "invalid YAML"),
    ],
)
def test_mistakes_name_file_line_and_key(tmp_path, body, line, key, words):
    path = write(tmp_path, body)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    error = caught.value
    assert words in str(error)
    assert error.source == str(path)
    assert error.line == line
    if key:
        assert error.key == key
    assert str(path) in str(error)


def test_aliases_are_refused(tmp_path):
    lol = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b]\n'
    path = write(tmp_path, lol)
    with pytest.raises(RulesetError, match="aliases"):
        load_ruleset(path)


def test_circular_extends(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(RulesetError, match="circular"):
        load_ruleset(tmp_path / "a.yaml")


def test_unknown_ruleset_name():
    with pytest.raises(RulesetError, match="not found"):
        load_ruleset("no-such-ruleset")


def test_catastrophic_pattern_is_cut_off_and_the_run_goes_on(tmp_path):
    path = write(tmp_path, """
        extends: default
        rules:
          KF902:
            name: slow-pattern
            check: phrases
            zone: yellow
            message: slow
            boundaries: false
            patterns: ["(a|aa)+$"]
    """)
    linter = Linter(path)
    reply = "不行" + "a" * 60 + "!"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        codes = {v.code for v in linter.lint(reply)}
    assert "KF101" in codes  # the other rules still ran
    assert any(issubclass(w.category, PatternTimeoutWarning) for w in caught)


def test_a_warning_against_a_listed_act_is_not_the_act(tmp_path):
    """``warned_by``: a listed phrase that a warning word governs (请勿加微信) is the shop
    warning the customer, not luring them; the same phrase after the warning's clause, or
    past the agent's space, is still the act."""
    path = write(tmp_path, """
        name: shop
        rules:
          KF901:
            name: competitor-chat
            check: phrases
            zone: red
            message: 站外「{matched}」
            phrases: [加微信, 私下转账]
            warned_by: [请勿, 不要, 别]
        """)
    linter = Linter(str(path))
    flagged = lambda text: [text[v.start:v.end] for v in linter.lint(text)]  # noqa: E731
    assert flagged("请勿加微信，谨防诈骗") == []
    assert flagged("不要私下转账哦") == []
    assert flagged("差价我改好了您拍 别私下转账哈") == []  # 别 after the agent's space is a word
    assert flagged("不要着急，加微信我发您") == ["加微信"]  # the warning is another clause's
    assert flagged("别担心 加微信我发您") == ["加微信"]  # a space the agent typed ends its reach
    assert flagged("特别加微信的顾客送券") == ["加微信"]  # the 别 of 特别 is no warning
