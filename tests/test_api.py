"""The public API that CS tools import: behaviour, isolation and thread safety."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import kefu_lint
from kefu_lint import ConfigError, Linter, Score, Violation


def test_done_when_example_is_red_with_spans():
    text = "不行,这个不算售后"
    result = kefu_lint.score(text)
    assert result.grade == "red"
    assert result.value < 60
    by_code = {v.code: text[v.start:v.end] for v in result.violations}
    assert by_code == {"KF101": "不行", "KF102": "这个不算售后"}


def test_clean_reply_is_green_100():
    result = kefu_lint.score("您好,很高兴为您服务,请问有什么可以帮您?")
    assert (result.value, result.grade, result.violations) == (100, "green", ())


def test_yellow_only_scores_in_the_yellow_band():
    result = kefu_lint.score("您的订单已经发货了!!!")
    assert result.grade == "yellow"
    assert result.value == 90  # 100 minus the rule's weight, 10: the README's yellow band is 60..99


def test_violation_fields_are_typed_and_frozen():
    violation = kefu_lint.lint("你的快递明天到")[0]
    assert isinstance(violation, Violation)
    assert (violation.code, violation.name, violation.zone) == ("KF202", "informal-you", "yellow")
    assert violation.fix == "您的"
    with pytest.raises(AttributeError):
        violation.code = "X"  # type: ignore[misc]


def test_scene_only_rules_fire_only_in_their_scene():
    reply = "好的,已经给您处理好了"
    assert not kefu_lint.lint(reply)
    assert [v.code for v in kefu_lint.lint(reply, scene="closing")] == ["KF301"]
    suggestion = kefu_lint.lint(reply, scene="closing")[0].suggestion
    assert suggestion == "好的，已经给您处理好了。感谢您的信任，祝您购物愉快！"  # its own sentence, full-width marks


def test_unknown_scene_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown scene"):
        kefu_lint.lint("您好", scene="party")


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError):
        kefu_lint.lint(b"bytes")  # type: ignore[arg-type]


def test_select_and_ignore_by_code_prefix_name_and_zone():
    text = "不行!!!你看着办"
    assert {v.code for v in Linter(select=["KF2"]).lint(text)} == {"KF201", "KF202"}
    assert {v.code for v in Linter(ignore=["red"]).lint(text)} == {"KF201", "KF202"}
    assert {v.code for v in Linter(select=["negative-opener"]).lint(text)} == {"KF101"}
    with pytest.raises(ConfigError, match="matches no rule"):
        Linter(select=["KF999"])


def test_traditional_and_width_variants_are_caught():
    for text in ("這個不歸我們管", "这个不归我们管", "这个 不 归 我 们 管", "这个不\u200b归我们管"):
        codes = {v.code for v in kefu_lint.lint(text)}
        assert "KF102" in codes, text


def test_fix_is_idempotent():
    linter = Linter()
    fixed, applied = linter.fix("你好,你的电话13812345678已登记!!!")
    assert fixed == "您好，您的电话138****5678已登记！"  # the marks around the fixed words full-width
    assert {v.code for v in applied} == {"KF202", "KF104", "KF201"}
    assert linter.fix(fixed) == (fixed, [])


def test_unsafe_fix_applies_suggestions():
    fixed, _ = Linter(select=["KF103"]).fix("不买别问", unsafe=True)
    assert fixed == "您可以慢慢考虑，有任何问题随时问我"


def test_import_is_silent_and_light():
    code = (
        "import sys, kefu_lint; "
        "assert 'jieba' not in sys.modules, 'jieba imported at import time'; "
        "kefu_lint.lint('不行'); "
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == "", (result.stdout, result.stderr)


def test_jieba_global_tokenizer_is_untouched():
    code = (
        "import jieba, kefu_lint; kefu_lint.lint('不买别问'); "
        "assert not jieba.dt.initialized, 'global tokenizer was initialised'; "
        "assert '不买别问' not in jieba.dt.FREQ"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_host_jieba_logging_is_left_alone():
    """Only our own initialisation is silenced: the host's jieba still logs as it always did."""
    code = (
        "import jieba, kefu_lint; kefu_lint.lint('不行'); "
        "jieba.Tokenizer().initialize()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Prefix dict has been built" in result.stderr


def test_same_results_from_many_threads():
    replies = [
        "不行,这个不算售后", "你好", "您的电话13812345678", "已经发货了!!!", "有", "不好意思呢亲",
        "不买别问", "亲,不行哦", "SKU缺货", "這個不歸我們管",
    ] * 20
    linter = Linter()
    expected = [linter.lint(r) for r in replies]
    fresh = Linter()  # a cold Linter: threads race to initialise its tokenizer
    barrier = threading.Barrier(8)

    def run(index):
        barrier.wait()
        return [fresh.lint(r) for r in replies[index::8]]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    for index, chunk in enumerate(results):
        assert chunk == expected[index::8]


def test_score_type():
    assert isinstance(kefu_lint.score("您好"), Score)
