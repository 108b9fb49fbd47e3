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


# ----------------------------------------------------------------------------- batches

# A linter of its own for the batches: its cache fills from lint_many alone, so a result
# lint_many returns cannot have come from a lint() call of the other tests.
_batch_linter = Linter()
_generated_replies = st.lists(st.one_of(replies, st.sampled_from(FRAGMENTS)), max_size=12)


@given(_generated_replies, scenes)
def test_lint_many_returns_exactly_what_a_loop_of_lint_returns(batch, scene):
    batch = batch + batch[:3]  # repeats within a batch, as a log's templates repeat
    assert _batch_linter.lint_many(batch, scene=scene) == [_linter.lint(text, scene=scene) for text in batch]
    assert _batch_linter.score_many(batch, scene=scene) == [_linter.score(text, scene=scene) for text in batch]


@given(st.lists(st.tuples(replies, scenes), max_size=10))
def test_lint_many_with_a_scene_per_reply_is_the_loop_too(pairs):
    texts = [text for text, _ in pairs]
    each = [scene for _, scene in pairs]
    assert _batch_linter.lint_many(texts, scenes=each) == [_linter.lint(text, scene=scene) for text, scene in pairs]


@given(st.lists(st.lists(st.tuples(st.sampled_from(("customer", "agent")), replies), min_size=1, max_size=6), min_size=1, max_size=4))
def test_lint_conversations_is_a_loop_of_lint_conversation(chats):
    from kefu_lint.model import ChatMessage

    conversations = [[ChatMessage(f"c{number}", role, text, time=1_762_000_000 + 30 * index, agent="小美" if role == "agent" else None,
                                  seq=index) for index, (role, text) in enumerate(chat)] for number, chat in enumerate(chats)]
    assert _batch_linter.lint_conversations(conversations) == [_linter.lint_conversation(c) for c in conversations]


def test_lint_many_refuses_what_lint_refuses():
    import pytest

    with pytest.raises(TypeError, match="as str, not int"):
        _batch_linter.lint_many(["您好", 3])
    with pytest.raises(ValueError, match="2 replies but 1 scenes"):
        _batch_linter.lint_many(["您好", "在的"], scenes=["greeting"])
    from kefu_lint.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown scene"):
        _batch_linter.lint_many(["您好"], scene="nowhere")


@given(st.lists(replies, max_size=12))
def test_normalize_many_and_fired_many_are_loops_of_their_single_forms(batch):
    from kefu_lint.text.normalize import normalize, normalize_many

    assert normalize_many(batch) == [normalize(text) for text in batch]
    triggers = _batch_linter._triggers
    texts = [normalize(text).text for text in batch]
    assert triggers.fired_many(texts) == [triggers.fired(text) for text in texts]


def test_lint_many_judges_each_reply_of_a_batch_larger_than_the_cache_once(monkeypatch):
    """A batch bigger than the result cache: its first replies must not be evicted by its last
    before their suggestions are tried (then each was linted twice, and a 100,000-reply
    library took 15.7× the time of 10,000)."""
    from kefu_lint import engine

    monkeypatch.setattr(engine, "CACHE_SIZE", 40)
    monkeypatch.setattr(engine, "BATCH_PART", 10)
    linter = Linter()
    judged: list[str] = []
    compute = linter._cached_lint._compute_many

    def counting(keys):
        judged.extend(text for text, _, _ in keys)
        return compute(keys)

    linter._cached_lint._compute_many = counting
    batch = [f"不行，这个第{n}号不退" for n in range(120)] + [f"您好，订单{n}已经发货了" for n in range(80)]
    assert linter.lint_many(batch) == [_linter.lint(text) for text in batch]
    assert all(judged.count(text) == 1 for text in batch), [t for t in batch if judged.count(t) != 1][:3]
