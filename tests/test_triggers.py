"""Triggers may skip a rule only when the rule would have found nothing (rules/triggers.py).

The engine calls a rule only when its trigger fires. Here every rule of every shipped
ruleset is also called directly on every reply, and both must give the same findings: on
the ruleset examples, the JDDC sample and generated text.
"""

from __future__ import annotations

import warnings

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st
from test_properties import FRAGMENTS

from kefu_lint import SCENES, Linter
from kefu_lint.engine import scene_set
from kefu_lint.rules.matching import (
    GuardedPattern,
    backtracks_boundedly,
    literal_prefix,
    normalized_pattern,
)
from kefu_lint.rules.openers import NegativeOpener
from kefu_lint.rules.triggers import Trigger, TriggerIndex
from kefu_lint.rulesets import load_ruleset, shipped_ruleset_names

LINTERS = {name: Linter(name) for name in shipped_ruleset_names()}


def every_rule(linter: Linter, text: str, scene=None) -> list:
    """What the engine would report if it called every applicable rule."""
    scenes = scene_set(scene)
    analysis = linter.analyze(text)
    found = [v for rule in linter.rules if rule.applies_to(scenes) for v in rule.check(analysis)]
    return sorted(found, key=lambda v: (v.start, v.end, v.code))


def assert_same(text: str, scene=None) -> None:
    for name, linter in LINTERS.items():
        # the rules' own findings (lint() then tries their suggestions: engine.Linter._offered)
        assert linter._found(text, scene) == every_rule(linter, text, scene), (name, text, scene)


def _example_texts():
    for name in shipped_ruleset_names():
        for rule in load_ruleset(name).rules:
            for example in rule.config.examples:
                if example.conversation is None:
                    yield example.text, example.scene


@pytest.mark.parametrize("text, scene", list(_example_texts()))
def test_triggers_lose_nothing_on_the_ruleset_examples(text, scene):
    assert_same(text, scene)


def test_triggers_lose_nothing_on_the_jddc_sample(jddc_path):
    for line in jddc_path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 7:
            assert_same(fields[6])


@given(
    st.one_of(st.text(max_size=60), st.lists(st.sampled_from(FRAGMENTS + ["不买就别问", "爱 买 不 买", "加我vx", "１３８１２３４５６７８"]), max_size=8).map("".join)),
    st.sampled_from((None,) + SCENES),
)
def test_triggers_lose_nothing_on_generated_text(text, scene):
    assert_same(text, scene)


def test_the_index_reports_each_kind_of_trigger():
    index = TriggerIndex([
        Trigger(phrases=("不买",)),
        Trigger(patterns=(GuardedPattern("[0-9]{3}"),)),
        Trigger(max_length=3),
        None,
    ])
    assert index.fired("您好,在的") == 0b1000
    assert index.fired("不买") == 0b1101
    assert index.fired("电话123呢") == 0b1010
    assert index.fired("您好,请问有什么可以帮您") == 0b1000


def test_a_pattern_with_a_literal_start_is_looked_for_by_the_automaton():
    index = TriggerIndex([Trigger(patterns=(GuardedPattern("不买.{0,4}别问"),))])
    assert index.fired("不买的话就别问了") == 1
    assert index.fired("别问") == 0


# -- the guarded patterns the triggers rely on --


@pytest.mark.parametrize(
    "pattern, bounded",
    [
        ("不买.{0,4}别问", True),
        ("(保证|肯定|一定)[^,。!?]{0,3}(到|送达)", True),
        ("[0-9]{11}", True),
        ("(a+)+b", False),
        (".*x", False),
        ("(a|b){0,3}", False),  # a repeated group: not one character
        (r"(a)\1", False),
        ("a{0,100}b{0,100}", False),  # 10,201 ways at one position
        (r"\p{Han}{2}", False),  # regex-module syntax: keep the limit
    ],
)
def test_which_patterns_run_without_a_time_limit(pattern, bounded):
    assert backtracks_boundedly(normalized_pattern(pattern)) is bounded


@pytest.mark.parametrize(
    "pattern, prefix",
    [
        ("不买.{0,4}别问", "不买"),
        ("SKU[0-9]+", "sku"),  # replies are lower-cased
        ("abc|abd", "ab"),
        ("(ab)c", ""),
        ("abc{e<=1}", ""),  # fuzzy matching: the stdlib would read {e<=1} as text
        ("[[a]--[b]]x", ""),
    ],
)
def test_literal_prefixes(pattern, prefix):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert literal_prefix(GuardedPattern(pattern).compiled) == prefix


def test_patterns_keep_their_syntax_and_fold_only_literals():
    assert normalized_pattern(r"\D+") == r"\D+"  # not lower-cased into \d
    assert normalized_pattern("退款（已到账）") == r"退款\(已到账\)"  # full-width brackets are literals
    assert normalized_pattern("這個") == "这个"
    assert GuardedPattern("SKU").search("这个sku没货") is not None
    assert GuardedPattern("退款（已到账）").search(Linter().analyze("退款（已到账）").text) is not None
    assert GuardedPattern("退款（已到账）").search("退款已到账") is None


def test_a_pathological_pattern_still_times_out_instead_of_hanging():
    pattern = GuardedPattern("(a+)+b")
    assert not pattern.bounded
    with pytest.raises(TimeoutError):
        pattern.search("a" * 5000 + "c")
    assert regex.compile("x")  # the module is still usable afterwards


# -- the negative-opener rule's own pre-test (before it segments a reply) --


class _WithoutPretest(NegativeOpener):
    def _could_open_a_sentence(self, text, sentences, phrase_candidates) -> bool:
        return True


_OPENER_LINTER = Linter()
_OPENER = _OPENER_LINTER.ruleset.rule("KF101")
_OPENER_WITHOUT_PRETEST = _WithoutPretest(_OPENER.config)


def assert_opener_same(text: str) -> None:
    expected = list(_OPENER_WITHOUT_PRETEST.check(_OPENER_LINTER.analyze(text)))
    assert list(_OPENER.check(_OPENER_LINTER.analyze(text))) == expected, text


def test_the_opener_pretest_loses_nothing_on_examples_and_jddc(jddc_path):
    for text, _ in _example_texts():
        assert_opener_same(text)
    for line in jddc_path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 7:
            assert_opener_same(fields[6])


@given(st.lists(st.sampled_from(FRAGMENTS + ["亲亲", "您好,", "宝宝~", "不", "不行吗", "是不是", "。", " "]), max_size=8).map("".join))
def test_the_opener_pretest_loses_nothing_on_generated_text(text):
    assert_opener_same(text)
