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
    assert Linter().tokenizer_name == "jieba-rs"  # the default is the fastest installed backend


def test_default_linter_finds_what_the_reference_finds_on_the_examples(linters):
    reference, _ = linters
    default = Linter()
    texts = [m.text for path in sorted(EXAMPLES.rglob("*")) if path.suffix in (".yaml", ".txt", ".csv")
             for m in read_script_file(path).messages]
    assert [default.lint(t) for t in texts] == [reference.lint(t) for t in texts]


def _run(code: str) -> str:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_fast_backend_skips_rjiebas_default_tokenizer_and_a_host_import_still_works():
    # import rjieba builds a module-level tokenizer kefu-lint never uses (the largest part of
    # a cold start); kefu-lint loads only the extension, and the host's import gets the same one.
    out = _run(
        "import sys\n"
        "from kefu_lint import Linter\n"
        "linter = Linter(tokenizer='jieba-rs')\n"
        "codes = [v.code for v in linter.lint('不行，这个不算售后')]\n"
        "print('rjieba' in sys.modules, codes)\n"
        "import rjieba\n"
        "print(rjieba.Jieba is type(linter.tokenizer._instance), rjieba.cut('我来到北京清华大学'))\n"
    )
    assert out.splitlines() == ["False ['KF101', 'KF102']", "True ['我', '来到', '北京', '清华大学']"]


def test_the_fast_backend_uses_rjieba_as_the_host_already_imported_it():
    out = _run(
        "import rjieba\n"
        "from kefu_lint import Linter\n"
        "linter = Linter(tokenizer='jieba-rs')\n"
        "print([v.code for v in linter.lint('不行，这个不算售后')], rjieba.Jieba is type(linter.tokenizer._instance))\n"
    )
    assert out == "['KF101', 'KF102'] True"
