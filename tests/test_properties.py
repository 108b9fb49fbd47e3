"""Hypothesis properties of the engine's invariants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kefu_lint import Linter, SCENES
from kefu_lint.engine import GRADE_CEILING, grade_of_score
from kefu_lint.text.normalize import _t2s

FRAGMENTS = [
    "不行", "这个不算售后", "您好", "你好", "亲", "不好意思", "不买别问", "13812345678", "!!!", "？？",
    "感谢您的信任", "祝您购物愉快", "我理解", "SKU", "揽收", "不归我们管", "“", "”", "。", ",", " ",
    "嗯", "有", "迷你", "我已经说过了", "抱歉", "由于", "补偿", "爱买不买", "\u200b", "😀", "ｅ\u0301",
]

replies = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
)
scenes = st.sampled_from((None,) + SCENES)

_linter = Linter()


@given(replies, scenes)
def test_any_string_lints_without_error_and_spans_are_sound(text, scene):
    violations = _linter.lint(text, scene=scene)
    for violation in violations:
        assert 0 <= violation.start <= violation.end <= len(text)
        if violation.code not in ("KF204", "KF301", "KF302", "KF303", "KF304"):
            assert violation.start < violation.end, violation
            # the span starts and ends on characters that survive normalisation
            assert text[violation.start:violation.end].strip() != ""


@given(replies, scenes)
def test_grade_agrees_with_violations_and_score_stays_in_range(text, scene):
    result = _linter.score(text, scene=scene)
    assert 0 <= result.value <= 100
    assert result.grade == grade_of_score(result.value)
    assert result.value <= GRADE_CEILING[result.grade]
    if result.grade == "green":
        assert result.value == 100 and not result.violations
    if any(v.zone == "red" for v in result.violations):
        assert result.grade == "red" and result.value < 60


@given(st.lists(st.sampled_from(FRAGMENTS[:30]), min_size=1, max_size=6).map("".join), scenes)
def test_traditional_and_simplified_get_the_same_codes(text, scene):
    import opencc

    traditional = opencc.OpenCC("s2t").convert(text)
    codes = sorted(v.code for v in _linter.lint(text, scene=scene))
    assert sorted(v.code for v in _linter.lint(traditional, scene=scene)) == codes


@given(replies, scenes)
def test_fix_is_idempotent(text, scene):
    fixed, _ = _linter.fix(text, scene=scene)
    assert _linter.fix(fixed, scene=scene) == (fixed, [])
