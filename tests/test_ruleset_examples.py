"""Every example of every shipped ruleset, run as a test (like LanguageTool's <example> pairs)."""

from __future__ import annotations

import pytest

from kefu_lint import Linter
from kefu_lint.rulesets import load_ruleset, run_example, shipped_ruleset_names


def _examples():
    for ruleset_name in shipped_ruleset_names():
        ruleset = load_ruleset(ruleset_name)
        for rule in ruleset.rules:
            for index, example in enumerate(rule.config.examples):
                kind = "bad" if example.bad else "good"
                yield pytest.param(ruleset_name, rule.code, example, id=f"{ruleset_name}-{rule.code}-{kind}{index}")


_linters: dict[str, Linter] = {}


def _linter(name: str) -> Linter:
    if name not in _linters:
        _linters[name] = Linter(name)
    return _linters[name]


@pytest.mark.parametrize("ruleset_name, code, example", list(_examples()))
def test_example(ruleset_name, code, example):
    linter = _linter(ruleset_name)
    rule = linter.ruleset.rule(code)
    flagged = run_example(linter, rule, example)
    if not example.bad:
        assert not flagged, f"{code} flagged a good example {example.text!r}: {flagged}"
        return
    assert sorted(flagged) == sorted(example.marks), (
        f"{code} on {example.text!r} marked {flagged}, the example says {list(example.marks)}"
    )
    if example.conversation is None:
        for violation in linter.lint(example.text, scene=example.scene):
            assert violation.message and "{" not in violation.message
    if example.fixed is not None:
        fixed, _ = Linter(ruleset_name, select=[code]).fix(example.text, scene=example.scene)
        assert fixed == example.fixed


@pytest.mark.parametrize("ruleset_name", shipped_ruleset_names())
def test_every_rule_has_bad_and_good_examples(ruleset_name):
    for rule in load_ruleset(ruleset_name).rules:
        kinds = {example.bad for example in rule.config.examples}
        assert kinds == {True, False}, f"{rule.code} needs at least one bad and one good example"
