"""What the intent model reads: the units of a reply it judges, and the n-grams of a unit.

Training (``intent/train.py``) and inference (``intent/classifier.py``) both call
:func:`unit_grams`, so a model scores at run time exactly the features it was trained on.

A *unit* is one sentence, also cut where the agent separated clauses with spaces (JD and
Taobao agents type 「不可以的 A面灯光是无法设置的」, and normalisation removes spaces between
Han characters, so the cut is read off the offset map). For a message's dialogue acts a
unit is also read in its clauses cut before a contrastive conjunction after a comma
(「这个无法处理，但我们可以为您申请补偿」: the clause after 但 offers the remedy that excuses the
decline); the banned acts are judged on whole units, where the contrast softens the first part. Quoted words are the customer's: a
unit's quotation is replaced by one placeholder, so 「您说的“不归我们管”是哪位客服说的」 is judged
by what the agent does with the quote, not by the quote.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence

from ..text.analysis import Analysis, find_quotes
from ..text.normalize import normalize

#: Character n-gram orders (``grams`` is written for exactly these). Most Chinese words are one to three characters, so 1–3 grams
#: see words and their neighbours without a tokenizer (the model must not pay for jieba).
#: Measured on the training data's held-out folds: 1–4 and 1–5 grams and jieba word
#: uni/bigrams on top gave no better recall at 97% precision, with up to twice the features.
ORDERS = (1, 2, 3)

#: Unit boundaries inside the n-grams: 「^不是」 (a sentence that opens with 不是) is a
#: different feature from 「不是」 anywhere.
START, END = "\x02", "\x03"
QUOTED = "\x04"

#: Units longer than this are judged in overlapping windows, so a 10,000-character reply
#: costs linear time and one long unit does not dilute the act it holds.
MAX_UNIT = 120
#: A clause cut off by a contrastive conjunction or a comma is at least this long.
MIN_CLAUSE = 3
#: A space-separated piece with fewer characters than this is not a clause of its own: it
#: stays with its neighbour. As long as the shortest unit the red acts are judged on at their
#: own thresholds (``rules.acts.MIN_ACT_CHARACTERS``): 「定做的 退不了」 cut into two three-character pieces
#: left neither long enough to judge, and the refusal passed unread.
MIN_SPACED_PIECE = 4
WINDOW_STEP = 60

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
#: Masked personal data in logs (JDDC's [订单x], [数字x] …) reads as one token.
_MASKED = re.compile(r"\[[^\[\]]{1,8}x\]")


def model_text(text: str) -> str:
    """The form the model reads: numbers as one digit, masks as one symbol, quotes as one placeholder."""
    if "[" in text:
        text = _MASKED.sub("#", text)
    text = _DIGITS.sub("0", text)
    quotes = find_quotes(text)
    if quotes:
        pieces, position = [], 0
        for start, end in quotes:
            pieces.append(text[position:start])
            pieces.append(QUOTED)
            position = end
        pieces.append(text[position:])
        text = "".join(pieces)
    if "  " in text or "\t" in text or "\n" in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


def padded(text: str) -> str:
    """A unit as the model reads it, with its boundary marks."""
    return START + model_text(text) + END


def grams(text: str) -> list[str]:
    """Every character n-gram occurrence of ``START + text + END`` (features are counts).
    Training builds these; inference finds the same occurrences with one Aho-Corasick pass."""
    marked = START + text + END
    last = len(marked) + 1
    return [marked[i:i + order] for order in ORDERS for i in range(last - order)]


def positions(length: int) -> int:
    """How many n-gram occurrences a marked unit of ``length`` characters has."""
    return sum(max(0, length - order + 1) for order in ORDERS)


#: Each n-gram occurrence weighs 1/sqrt(max(occurrences, MIN_GRAMS)): longer units do not score
#: higher for being long, and a short one (你好, [订单x]) carries less evidence instead of
#: the same amount spread over fewer n-grams.
MIN_GRAMS = 24


def gram_weight(count: int) -> float:
    return 1.0 / math.sqrt(max(count, MIN_GRAMS))


def unit_grams(text: str) -> list[str]:
    """The n-grams of one unit of normalised text, as the model sees them."""
    return grams(model_text(text))


#: A clause that opens with one of these after a comma is a unit of its own.
CONTRASTS = ("但是", "但", "不过", "可是", "然而")
_CONTRAST = re.compile(r"(?<=,)\s*(?:" + "|".join(CONTRASTS) + ")")


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut before each contrastive conjunction that follows a comma, when
    both sides keep at least ``MIN_CLAUSE`` characters; then windowed."""
    spans: list[tuple[int, int]] = []
    cut = start
    for match in _CONTRAST.finditer(text, start, end):
        position = match.start()
        if position - cut >= MIN_CLAUSE and end - position >= MIN_CLAUSE:
            spans.extend(_windows(text, cut, position))
            cut = position
    spans.extend(_windows(text, cut, end))
    return spans


def units(analysis: Analysis) -> list[tuple[int, int]]:
    """The spans (normalised offsets) of the units the model judges in a reply, in order
    (starts and ends both ascending). Worked out once per reply: rules ask for them per
    finding, and recomputing them made a reply with many findings quadratic."""
    memo = analysis.memo
    if "units" not in memo:
        spans = memo["units"] = _units(analysis)
        memo["unit-ends"] = [end for _, end in spans]
    return memo["units"]


def unit_containing(analysis: Analysis, position: int) -> tuple[int, int] | None:
    """The first unit holding ``position``, by bisection (units overlap where a long
    sentence is windowed; ends ascend, so the first unit ending after it is the one)."""
    spans = units(analysis)
    index = bisect_right(analysis.memo["unit-ends"], position)
    if index < len(spans) and spans[index][0] <= position:
        return spans[index]
    return None


def _units(analysis: Analysis) -> list[tuple[int, int]]:
    text = analysis.text
    spans: list[tuple[int, int]] = []
    origin = None
    original = analysis.original
    for start, end in analysis.sentences:
        cut = start
        if " " in original or "\t" in original or "\u3000" in original:
            origin = origin or analysis.normalized.origin
            gaps = [
                position
                for position in range(start + 1, end)
                if origin[position] - origin[position - 1] > 1 and original[origin[position - 1] + 1:origin[position]].isspace()
            ]
            # A space between clauses separates them; spaces between single characters
            # (这个 不 归 我 们 管) are a dodge, and the words stay one unit.
            bounds = [start, *gaps, end]
            for index, position in enumerate(gaps, start=1):
                if position - bounds[index - 1] >= MIN_SPACED_PIECE and bounds[index + 1] - position >= MIN_SPACED_PIECE and position - cut >= MIN_SPACED_PIECE:
                    spans.extend(_windows(text, cut, position))
                    cut = position
        spans.extend(_windows(text, cut, end))
    return [span for span in spans if text[span[0]:span[1]].strip()]


def act_units(analysis: Analysis) -> list[tuple[int, int]]:
    """The units a message's dialogue acts are read from: every unit, and the clauses of a
    unit that a contrastive conjunction divides."""
    text = analysis.text
    spans = []
    for start, end in units(analysis):
        spans.append((start, end))
        clauses = _clauses(text, start, end)
        if len(clauses) > 1:
            spans.extend(clause for clause in clauses if text[clause[0]:clause[1]].strip())
    return spans


#: Where a customer's run-on message divides: 「我要退款，因为下单一周了都还没发货」 complains
#: in its second clause, and read whole the question around it dilutes the complaint.
_CLAUSE_BREAK = re.compile(r"[,;:]")


def customer_act_units(analysis: Analysis) -> list[tuple[int, int]]:
    """The units a customer message's acts are read from: every unit, and each of its
    comma-separated clauses of at least ``MIN_CLAUSE`` characters."""
    text = analysis.text
    spans = []
    for start, end in units(analysis):
        spans.append((start, end))
        pieces, cut = [], start
        for match in _CLAUSE_BREAK.finditer(text, start, end):
            pieces.append((cut, match.start()))
            cut = match.end()
        pieces.append((cut, end))
        if len(pieces) > 1:
            spans.extend((s, e) for s, e in pieces if e - s >= MIN_CLAUSE)
    return spans


def example_units(original: str) -> list[str]:
    """The units of a training example exactly as the linter cuts a reply of that text
    (sentences, and clauses its writer separated with spaces), as normalised strings:
    a model judged on 「您等我们的电话」 must also have been shown such pieces."""
    analysis = Analysis(normalize(original), _NO_TOKENIZER)
    return [analysis.text[start:end] for start, end in _units(analysis)]


class _Untokenized:
    """Cutting units reads sentences and spaces, never tokens: training needs no jieba."""

    name = "none"

    def token_spans(self, text: str) -> list[tuple[int, int]]:  # pragma: no cover - a bug if ever reached
        raise AssertionError("example_units must not segment")

    def warm_up(self) -> None:
        pass


_NO_TOKENIZER = _Untokenized()


def _windows(text: str, start: int, end: int) -> Sequence[tuple[int, int]]:
    if end - start <= MAX_UNIT:
        return ((start, end),)
    spans = []
    position = start
    while position < end:
        spans.append((position, min(position + MAX_UNIT, end)))
        if position + MAX_UNIT >= end:
            break
        position += WINDOW_STEP
    return spans
