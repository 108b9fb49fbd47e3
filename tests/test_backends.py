"""jieba (reference) and jieba-rs (kefu-lint[fast]) must give identical findings."""

from __future__ import annotations

import pytest

import os  # noqa: E402

try:
    import rjieba  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs kefu-lint[fast]: a missing extra must fail, not skip
    pytest.skip("needs kefu-lint[fast]", allow_module_level=True)

from conftest import EXAMPLES
from kefu_lint import Linter
from kefu_lint.formats.scripts import read_script_file



@pytest.fixture(scope="module")
def linters():
    return Linter(tokenizer="jieba"), Linter(tokenizer="jieba-rs")


def _same(linters, texts):
    reference, fast = linters
    differing = [t for t in texts if reference.lint(t) != fast.lint(t)]
    assert not differing, f"{len(differing)} replies differ, e.g. {differing[:3]}"


def test_identical_on_the_examples(linters):
    texts = [m.text for path in sorted(EXAMPLES.rglob("*")) if path.suffix in (".yaml", ".txt", ".csv")
             for m in read_script_file(path).messages]
    assert texts
    _same(linters, texts)


def test_identical_on_the_jddc_sample(linters, jddc_path):
    texts = [line.split("\t")[6] for line in jddc_path.read_text(encoding="utf-8").splitlines() if line.count("\t") >= 6]
    _same(linters, texts)


def test_auto_prefers_the_fast_backend():
    assert Linter(tokenizer="auto").tokenizer_name == "jieba-rs"
