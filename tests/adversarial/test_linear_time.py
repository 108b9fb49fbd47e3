"""Linear time, bounded work per reply (issue #19, D24).

Work is compared at n and 4n inside one process: linear work grows about 4×, quadratic
work 16×. The bound is a generous 10× on the process's CPU time (the best of three runs),
so a busy machine does not fail it and a quadratic step still does.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu_lint import Linter
from kefu_lint.formats.scripts import MAX_REPLY_CHARS, read_script_file
from kefu_lint.text import tokenize
from kefu_lint.text.tokenize import make_tokenizer

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
GROWTH_BOUND = 10.0
BACKENDS = ["jieba", "jieba-rs"]


@pytest.fixture(scope="module", params=BACKENDS)
def backend_linter(request):
    linter = Linter(tokenizer=request.param)
    linter.lint("预热：不行")
    return linter


def _cpu_seconds(function, text: str) -> float:
    best = float("inf")
    # A different text each time: the Linter caches its results per text.
    for variant in ("", "。", "。。"):
        started = time.process_time()
        function(text + variant)
        best = min(best, time.process_time() - started)
    return max(best, 1e-4)


def _growth(function, make_text, n: int) -> float:
    function(make_text(n) + "好")  # warm the intent model and OpenCC outside the measurement
    return _cpu_seconds(function, make_text(4 * n)) / _cpu_seconds(function, make_text(n))


# The shapes of the issue's reproductions, each some 3,500 characters at n.
HOSTILE_REPLIES = {
    "many 不 in one sentence": lambda n: "这个不太清楚，" * n,
    "one sentence per 不": lambda n: "不行。" * (2 * n),
    "Traditional text": lambda n: "這個不歸我們管，" * n,
    "spaced text": lambda n: "这 个 不 太 清 楚 ， " * (n // 2),
    "quoted refusals": lambda n: "“不行”。不能。" * (n // 2),
    "a long run of vocatives": lambda n: "亲，" * (2 * n) + "不行",
    "a negation over a long Han run": lambda n: "不" + "要" * (7 * n) + "吗",
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_REPLIES))
def test_lint_time_grows_linearly_on_hostile_replies(backend_linter, shape):
    growth = _growth(backend_linter.lint, HOSTILE_REPLIES[shape], 500)
    assert growth < GROWTH_BOUND, f"{shape}: 4× the text took {growth:.1f}× the time"


HOSTILE_PIECES = ["不", "不行", "亲", "您好", "，", "。", " ", "“", "”", "這個", "歸", "我们", "吗", "不是", "*", "a", "1"]


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(HOSTILE_PIECES), min_size=2, max_size=8))
def test_lint_time_grows_linearly_on_generated_replies(pieces):
    linter = _default_linter()
    unit = "".join(pieces)
    growth = _growth(linter.lint, lambda n: unit * (3000 // len(unit)) * n, 1)
    assert growth < GROWTH_BOUND, f"{unit!r} repeated: 4× the text took {growth:.1f}× the time"


_LINTER: list[Linter] = []


def _default_linter() -> Linter:
    if not _LINTER:
        _LINTER.append(Linter())
    return _LINTER[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_long_han_run_is_segmented_in_bounded_windows(backend):
    tokenizer = make_tokenizer(backend)
    tokenizer.token_spans("预热")
    backend_object = tokenizer._tokenizer if backend == "jieba" else tokenizer._instance
    calls: list[int] = []

    class Recording:
        """The backend, recording the length of every text it is asked to cut."""

        def __getattr__(self, name):
            return getattr(backend_object, name)

        def cut(self, text, *args, **kwargs):
            calls.append(len(text))
            return backend_object.cut(text, *args, **kwargs)

    if backend == "jieba":
        tokenizer._tokenizer = Recording()
    else:
        tokenizer._instance = Recording()
    # Characters outside the dictionary go to jieba's HMM, whose path copying is quadratic per run.
    rare = "".join(chr(0x4E00 + (index * 7919) % 20000) for index in range(80_000))
    spans = tokenizer.token_spans(rare)
    assert spans[-1][1] == len(rare)
    assert max(calls) <= tokenize.SEGMENT_WINDOW
    assert sum(calls) < 1.2 * len(rare)  # the windows' overlaps add little


@pytest.mark.parametrize("backend", BACKENDS)
def test_windowed_segmentation_covers_the_text_and_keeps_words(backend, monkeypatch):
    tokenizer = make_tokenizer(backend)
    text = "您好，很高兴为您服务，请问有什么可以帮您？我们这边帮您查询一下物流信息。" * 200
    assert len(text) > 4 * tokenize.SEGMENT_WINDOW
    spans = tokenizer.token_spans(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(left[1] == right[0] for left, right in zip(spans, spans[1:]))
    # the same words as one call on the whole text
    monkeypatch.setattr(tokenize, "SEGMENT_WINDOW", len(text) + 1)
    assert spans == tokenizer.token_spans(text)


def test_check_of_the_issue_reproduction_finishes_in_linear_time(tmp_path):
    # `python -c "print('这个不太清楚，'*8572)" > slow.txt; check slow.txt` took 23 s.
    slow = tmp_path / "slow.txt"
    slow.write_text("这个不太清楚，" * 8572 + "\n", encoding="utf-8")
    result = subprocess.run([KEFU_LINT, "check", str(slow)], capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr


def test_a_reply_over_the_maximum_length_is_reported_not_checked(tmp_path):
    huge = "您好。" * (MAX_REPLY_CHARS // 3 + 1)
    path = tmp_path / "huge.txt"
    path.write_text("不行\n" + huge + "\n", encoding="utf-8")
    script = read_script_file(path)
    assert [m.text for m in script.messages] == ["不行"]
    assert script.records == 2
    assert [(p.line, "超过上限" in p.reason) for p in script.problems] == [(2, True)]
    result = subprocess.run([KEFU_LINT, "check", str(path)], capture_output=True, text=True, timeout=120)
    assert f"{path}:2:1: KF000 [red]" in result.stdout and f"回复有 {len(huge):,} 个字符" in result.stdout
    assert result.returncode == 2  # a reply not checked fails the run
    assert "huge.txt:1:1: KF101" in result.stdout and "Traceback" not in result.stderr
