"""The one score model (README, "Score model"): the grade is always the README's thresholds
applied to the score, for a reply, a file and a run, with and without a baseline."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from kefu_lint.engine import combine_scores, grade_of_score, score_violations
from kefu_lint.model import GRADE_FLOORS, Score, Violation
from test_cli import run


def readme_thresholds() -> dict[str, int]:
    """The lowest score of each grade as the README states it: 「red < 60 ≤ yellow < 100 = green」."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Score model", 1)[1].split("\n### ", 1)[0]
    match = re.search(r"red < (\d+) ≤ yellow < (\d+) = green", section)
    assert match, "the README's score model states its thresholds"
    return {"red": 0, "yellow": int(match.group(1)), "green": int(match.group(2))}


def readme_grade(value: int) -> str:
    floors = readme_thresholds()
    return "green" if value >= floors["green"] else "yellow" if value >= floors["yellow"] else "red"


def test_the_code_uses_the_readme_thresholds():
    assert dict(GRADE_FLOORS) == readme_thresholds()


zones = st.sampled_from(["red", "yellow", "green"])
findings = st.lists(st.tuples(zones, st.integers(0, 100)), max_size=12)


def _violations(found):
    return [Violation(f"KF9{i:02d}", f"rule-{i}", zone, "问题。", 0, 1) for i, (zone, _) in enumerate(found)]


@given(findings)
def test_a_reply_grade_is_the_readme_grade_of_its_score(found):
    violations = _violations(found)
    weights = {v.code: weight for v, (_, weight) in zip(violations, found)}
    score = score_violations(violations, weights)
    assert score.grade == readme_grade(score.value)
    assert 0 <= score.value <= 100
    if any(zone == "red" for zone, _ in found):
        assert score.grade == "red"  # 一票否决
    assert (score.grade == "green") == (not found)  # a reply with any finding is never green
    raw = 100 - sum(weight for _, weight in found)
    if any(zone == "red" for zone, _ in found):
        assert score.value == min(max(raw, 0), 59)
    elif found:
        assert score.value == min(max(raw, 60), 99)  # small findings never add up to a fail
    else:
        assert score.value == 100


@given(st.lists(findings, min_size=1, max_size=8))
def test_a_file_grade_is_its_worst_reply_and_the_readme_grade_of_its_score(replies):
    scores = []
    for found in replies:
        violations = _violations(found)
        scores.append(score_violations(violations, {v.code: w for v, (_, w) in zip(violations, found)}))
    total = combine_scores(scores)
    assert total.grade == readme_grade(total.value)
    severity = {"green": 0, "yellow": 1, "red": 2}
    assert total.grade == max((s.grade for s in scores), key=severity.get)
    assert min(s.value for s in scores) <= total.value <= max(s.value for s in scores)


def test_a_score_that_disagrees_with_its_grade_cannot_be_built():
    import pytest

    with pytest.raises(ValueError, match="disagrees"):
        Score(value=84, grade="green")
    assert grade_of_score(100) == "green" and grade_of_score(99) == "yellow" and grade_of_score(59) == "red"


def test_one_green_zone_finding_is_100_minus_its_weight(tmp_path):
    """The issue's case: one green-zone finding scored 84 although its weight is 15."""
    path = tmp_path / "closing.txt"
    path.write_text("好的,已经给您处理好了\n", encoding="utf-8")
    document = json.loads(run("check", "-o", "json", "--scene", "closing", path).out)
    assert [f["code"] for f in document["findings"]] == ["KF301"]
    assert (document["files"][0]["score"], document["files"][0]["grade"]) == (85, "yellow")
    assert document["findings"][0]["points"] == 15


replies_pool = ["不行,这个不算售后", "你好", "您好,很高兴为您服务", "已经给你发货了!!!", "这个SKU暂时缺货", "好的亲,马上为您处理"]


@given(st.lists(st.sampled_from(replies_pool), min_size=1, max_size=6), st.data())
def test_hidden_baseline_findings_affect_neither_score_nor_grade(tmp_path_factory, lines, data):
    """Checking with a baseline gives the score and grade of the same file whose hidden
    findings never existed: the baseline hides a random subset, and the replies that had
    only hidden findings must score as clean ones do."""
    from kefu_lint.check import CheckReport, Checker, apply_baseline, baseline_entry
    from kefu_lint.config import Settings

    folder = tmp_path_factory.mktemp("baseline")
    path = folder / "s.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    checker = _checker(Checker, Settings)
    report = CheckReport((checker.check_file(path),), "default", "jieba")
    hidden = data.draw(st.lists(st.sampled_from(report.findings), unique_by=id)) if report.findings else []
    after = apply_baseline(report, [baseline_entry(f) for f in hidden])
    assert after.baselined == len(hidden)
    # the baseline may hide an identical finding of an identical reply instead: compare as multisets
    assert sorted((f.code, f.reply.text) for f in after.findings) == sorted(
        (f.code, f.reply.text) for f in report.findings if all(f is not h for h in hidden))
    # each reply scored by the engine from its own findings less the ones the baseline hid there
    shown = {id(f) for f in after.findings}
    hid_here = [f for f in report.findings if id(f) not in shown]
    assert len(hid_here) == len(hidden)
    expected = []
    for index, message in enumerate(checker.read(path).messages):
        kept = [v for v in checker.linter.lint(message.text)
                if not any(h.reply_index == index and h.violation == v for h in hid_here)]
        expected.append(checker.linter.score_violations(kept))
    assert [s.value for s in after.files[0].scores] == [s.value for s in expected]
    total = combine_scores(expected)
    assert (after.score, after.grade) == (total.value, total.grade)
    assert after.grade == readme_grade(after.score)


_CHECKERS: dict = {}


def _checker(Checker, Settings):
    if "checker" not in _CHECKERS:
        _CHECKERS["checker"] = Checker(Settings())
    return _CHECKERS["checker"]
