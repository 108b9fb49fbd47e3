"""The labelled evaluation set: the targets of the judgement-quality work, enforced."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "evaluation"))

import run as evaluation  # noqa: E402


def test_targets_are_met():
    result = evaluation.evaluate()
    assert result["cases"] >= 111
    assert not evaluation.targets_met(result), evaluation.report(result, None)


def test_every_phrase_red_in_the_jddc_review_sample_is_a_labelled_violation(jddc_path):
    """Reds found by phrase and opener rules agree with the labels. Reds judged by intent
    are reviewed in evaluation/jddc_red_review.yaml instead: these labels predate them."""
    from kefu_lint import Linter
    import yaml

    linter = Linter()
    labels = {item["line"]: set(item["codes"]) for item in yaml.safe_load((ROOT / "evaluation" / "jddc.yaml").read_text(encoding="utf-8"))}
    _, sample = evaluation.jddc_overview(linter, sample_size=40)
    reviewed = [number for number, _, findings in sample if number in labels and not any(f.startswith(("KF102", "KF103", "KF501", "KF504")) for f in findings)]
    assert reviewed, "the review sample should overlap the labelled lines"
    for number in reviewed:
        assert any(code.startswith("KF1") for code in labels[number]), f"line {number} is red but labelled clean"
