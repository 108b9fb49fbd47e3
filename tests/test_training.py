"""What training reads: example weights, units cut as the linter cuts them, ordinary messages
split into units. The shipped model's own checks are in test_intents.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, strategies as st

from kefu_lint import Linter
from kefu_lint.intent import IntentDataError, fingerprint
from kefu_lint.intent.features import example_units, units
from kefu_lint.intent.train import training_sets
from kefu_lint.rulesets import load_ruleset
from kefu_lint.text.analysis import analyze

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None

LINTER = Linter()

#: Pieces of log-style replies: Han words, the punctuation and the spaces agents type.
_PIECES = st.sampled_from(["不可以的", "亲", "您好", "这边帮您查询", "请稍等", "不好意思", "没办法", "的哦", "A面", "[订单x]", "123", "，", "。", "？", " ", "  ", "~"])


@given(st.lists(_PIECES, min_size=1, max_size=12).map("".join))
def test_training_cuts_an_example_into_the_units_the_linter_judges(text):
    """A model scored on 「您等我们的电话」 cut out of 「您等我们的电话 别着急」 must have been
    trained and thresholded on such pieces: the cut is one function for both."""
    analysis = analyze(text, LINTER.tokenizer)
    assert example_units(text) == [analysis.text[s:e] for s, e in units(analysis)]


def _write_shop(tmp_path, intents_yaml: str) -> str:
    """A ruleset named shop beside its example files, with these intents (YAML indented as under
    ``intents:``) and no rules of its own."""
    shop = tmp_path / "shop.yaml"
    intents = textwrap.indent(textwrap.dedent(intents_yaml), "  ")
    shop.write_text(f"name: shop\nintents:\n{intents}rules: {{}}\n", encoding="utf-8")
    return str(shop)


def _shop(tmp_path, weight_line: str = "weight: 3", ordinary: str = "您好 这边帮您查询一下 请您稍等一下") -> str:
    (tmp_path / "real.yaml").write_text(
        f"intent: rude\n{weight_line}\npositive: [你烦不烦啊 说了多少遍了]\nnegative: [您稍等 我马上帮您看]\n", encoding="utf-8"
    )
    (tmp_path / "plain.yaml").write_text(f"intent: ordinary\npositive: [{ordinary}]\nnegative: [你烦不烦啊]\n", encoding="utf-8")
    return _write_shop(tmp_path, """\
        rude:
          description: 粗鲁
          role: agent
          zone: red
          negatives_from: [ordinary]
          examples: [real.yaml]
        ordinary:
          description: 普通消息
          role: agent
          auxiliary: true
          examples: [plain.yaml]
        """)


def test_an_example_files_weight_reaches_every_form_of_its_examples(tmp_path):
    definitions = load_ruleset(_shop(tmp_path)).intents.definitions
    rude = training_sets(definitions)["rude"]
    weight = dict(zip(rude.texts, rude.weights))
    assert weight["你烦不烦啊说了多少遍了"] == 3.0
    assert weight["您烦不烦啊说了多少遍了"] == 3.0  # the 您 ⇄ 你 variant training adds
    assert weight["您稍等我马上帮您看"] == 3.0
    assert weight["您好这边帮您查询一下请您稍等一下"] == 1.0  # another file: counts once


def test_ordinary_messages_are_also_negatives_unit_by_unit(tmp_path):
    definitions = load_ruleset(_shop(tmp_path)).intents.definitions
    rude = training_sets(definitions)["rude"]
    rows = {text: (label, origin, pieces) for text, label, origin, _, pieces in rude.rows()}
    # 您好 is too short to be a clause of its own (features.MIN_SPACED_PIECE)
    assert rows["您好这边帮您查询一下请您稍等一下"] == (0, "ordinary", ["您好这边帮您查询一下", "请您稍等一下"])
    for piece in ("您好这边帮您查询一下", "请您稍等一下"):
        assert rows[piece][:2] == (0, "ordinary")
    # an act's own look-alikes are not split: 「很抱歉 这个退不了 我帮您换货」 holds a clause that alone would be the act
    assert "您稍等" not in rows


def test_changing_a_weight_makes_the_model_out_of_date(tmp_path):
    once = fingerprint(load_ruleset(_shop(tmp_path, "weight: 1")).intents.definitions)
    thrice = fingerprint(load_ruleset(_shop(tmp_path, "weight: 3")).intents.definitions)
    assert once != thrice


@pytest.mark.parametrize("weight", ["weight: 0", "weight: -2", "weight: many", "weight: true", "weight: 1000"])
def test_a_bad_weight_is_an_error_naming_the_file(tmp_path, weight):
    shop = _shop(tmp_path, weight)
    with pytest.raises(IntentDataError, match=r"real\.yaml: weight"):
        load_ruleset(shop).intents.definitions["rude"].examples()
    result = subprocess.run([sys.executable, "-m", "kefu_lint.cli", "train", shop, "--check"], capture_output=True, text=True)
    assert result.returncode == 2 and "real.yaml: weight" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not HAS_SKLEARN, reason="kefu-lint[train] not installed")
def test_weighted_real_traffic_outweighs_written_examples(tmp_path):
    """The same look-alike, once and weighted: the weight moves the model."""
    from kefu_lint.intent.train import train

    def probability(weight_line: str) -> float:
        definitions = load_ruleset(_shop(tmp_path, weight_line)).intents.definitions
        model, _ = train(definitions)
        return model.score("您稍等我马上帮您看", "rude").probability

    assert probability("weight: 20") < probability("weight: 1")


@pytest.mark.skipif(not HAS_SKLEARN, reason="kefu-lint[train] not installed")
def test_fitting_intents_in_parallel_gives_the_same_model(tmp_path):
    """`kefu-lint train --jobs N` forks N fitters; each fit is deterministic, so the model
    file is byte for byte the one a single process writes."""
    from kefu_lint.intent.train import train

    definitions = load_ruleset(_shop(tmp_path)).intents.definitions
    serial, _ = train(definitions, jobs=1)
    parallel, _ = train(definitions, jobs=2)
    assert parallel.to_json() == serial.to_json()


@pytest.mark.skipif(not HAS_SKLEARN, reason="kefu-lint[train] not installed")
def test_an_act_with_no_look_alikes_of_its_own_trains(tmp_path):
    """An auxiliary act of calm messages is trained against other acts' examples alone: its
    threshold is chosen on those (it once divided by its zero look-alikes)."""
    (tmp_path / "upset.yaml").write_text(
        "intent: upset\npositive: [太慢了吧, 怎么还没到, 你们什么服务啊, 等了一个礼拜了, 气死我了, 到底还发不发]\n"
        "negative: [不急慢慢来, 到了告诉我, 服务挺好, 等你消息, 没事不生气, 发了就好]\n", encoding="utf-8")
    (tmp_path / "calm.yaml").write_text(
        "intent: calm\npositive: [是的, 好的谢谢, 订单号发你了, 就这一个, 嗯嗯知道了, 那我等等]\n", encoding="utf-8")
    shop = _write_shop(tmp_path, """\
        upset:
          description: 不满
          role: customer
          negatives_from: [calm]
          examples: [upset.yaml]
        calm:
          description: 普通顾客消息
          role: customer
          auxiliary: true
          negatives_from: [upset]
          examples: [calm.yaml]
        """)
    result = subprocess.run([sys.executable, "-m", "kefu_lint.cli", "train", str(shop), "--jobs", "1"], capture_output=True, text=True)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "| calm |" in result.stdout
