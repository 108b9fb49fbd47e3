"""The trained intent model at run time: pure Python, no numpy, no scikit-learn.

Each intent is a logistic regression over the character n-grams of a unit
(``features.unit_grams``): each distinct n-gram weighs 1/sqrt(number of distinct n-grams),
so a score does not grow with length. ``kefu-lint train`` fits the
weights (``intent/train.py``) and writes them to a JSON file next to the ruleset.

Speed: a reply is checked in a few microseconds, so looking weights up one intent at a
time would cost more than the rest of the linter. Every n-gram's weights for all intents
are packed into one Python integer, 32 bits a lane (weights as fixed-point integers); the
sum over a unit's n-grams is one C-level ``sum(map(dict.get, …))``, and the lanes are read
back off the total, each a signed sum that cannot spill into its neighbour (a lane holds
±2^31 and a unit's total stays far below: MAX_UNIT characters, weights under ±16).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

from .features import gram_weight, unit_grams

FORMAT = 2
#: Distinct (unit, lanes) logits kept per model.
LOGIT_CACHE_SIZE = 65536
#: Fixed-point scale of the packed weights: 1/4096 is far finer than any weight matters.
SCALE = 4096
LANE_BITS = 32
_LANE_MASK = (1 << LANE_BITS) - 1
_LANE_SIGN = 1 << (LANE_BITS - 1)
_LANE_SPAN = 1 << LANE_BITS


class ModelError(ValueError):
    """A model file that cannot be read; the loader adds the path."""


@dataclass(frozen=True, slots=True)
class IntentScore:
    """One intent's judgement of one unit: the probability and the n-grams that weighed most."""

    intent: str
    probability: float
    threshold: float

    @property
    def fired(self) -> bool:
        return self.probability >= self.threshold


class IntentModel:
    """Weights for a fixed list of intents, loaded from a model file. Immutable, thread-safe.

    The first ``head`` lanes are the red intents (training puts them first). The linter
    reads only those, so they are packed into their own table: a reply is scored with
    integers of ``head`` lanes, and the other intents are read only when something asks.
    """

    def __init__(
        self,
        intents: Sequence[str],
        bias: Sequence[float],
        thresholds: Sequence[float],
        weights: dict[str, dict[int, float]] | None,
        *,
        head: int | None = None,
        fingerprint: str = "",
        source: str = "<model>",
        metrics: dict | None = None,
        tables: tuple[dict[str, int], dict[str, int]] | None = None,
    ) -> None:
        self.intents = tuple(intents)
        self.index = {name: position for position, name in enumerate(self.intents)}
        self.bias = tuple(float(b) for b in bias)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.head = len(self.intents) if head is None else head
        self._weights = weights
        self.fingerprint = fingerprint
        self.source = source
        self.metrics = metrics or {}
        self._tables = tables
        self._lock = threading.Lock()
        # Sentences repeat across replies (templates, quick phrases): a unit's logits are
        # worked out once. lru_cache is thread-safe; the key is the unit and the lanes.
        self._cached_logits = lru_cache(maxsize=LOGIT_CACHE_SIZE)(self._logits)

    # -- loading and saving --

    @classmethod
    def load(cls, path: str | Path) -> IntentModel:
        """Read a model file. The packed tables are cached per file content and Python
        version (``~/.cache/kefu-lint``), so only the first run on a machine parses the JSON."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read intent model {path}: {error}") from None
        import hashlib
        import marshal
        import sys

        from ..text.cache import read_cached_bytes, write_cached_bytes

        cache_name = f"intents-{hashlib.sha256(raw).hexdigest()[:20]}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
        cached = read_cached_bytes(cache_name)
        if cached is not None:
            try:
                meta, head_table, tail_table = marshal.loads(cached)
                return cls(**meta, weights=None, source=str(path), tables=(head_table, tail_table))
            except (ValueError, EOFError, TypeError):
                pass  # a damaged cache is rebuilt below
        data = _parse(raw, path)
        weights = {gram: {int(k): v / SCALE for k, v in entries.items()} for gram, entries in data["weights"].items()}
        meta = {
            "intents": data["intents"], "bias": data["bias"], "thresholds": data["thresholds"], "head": data.get("head"),
            "fingerprint": data.get("fingerprint", ""), "metrics": data.get("metrics"),
        }
        model = cls(**meta, weights=weights, source=str(path))
        head_table, tail_table = model._packed_tables()
        write_cached_bytes(cache_name, marshal.dumps((meta, head_table, tail_table)))
        return model

    @property
    def weights(self) -> dict[str, dict[int, float]]:
        """Every n-gram's weights by lane (read from the file again when loaded from cache)."""
        if self._weights is None:
            data = _parse(Path(self.source).read_bytes(), self.source)
            self._weights = {gram: {int(k): v / SCALE for k, v in entries.items()} for gram, entries in data["weights"].items()}
        return self._weights

    def to_json(self) -> str:
        weights = {
            gram: {str(k): round(v * SCALE) for k, v in sorted(entries.items())}
            for gram, entries in sorted(self.weights.items())
        }
        data = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "intents": list(self.intents),
            "head": self.head,
            "bias": [round(b, 6) for b in self.bias],
            "thresholds": [round(t, 4) for t in self.thresholds],
            "metrics": self.metrics,
            "weights": weights,
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=False, separators=(",", ":")) + "\n"

    # -- scoring --

    def _packed_tables(self) -> tuple[dict[str, int], dict[str, int]]:
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    head: dict[str, int] = {}
                    tail: dict[str, int] = {}
                    for gram, entries in self.weights.items():
                        head_value = tail_value = 0
                        for lane, weight in entries.items():
                            quantised = round(weight * SCALE)
                            if lane < self.head:
                                head_value += quantised << (LANE_BITS * lane)
                            else:
                                tail_value += quantised << (LANE_BITS * (lane - self.head))
                        if head_value:
                            head[gram] = head_value
                        if tail_value:
                            tail[gram] = tail_value
                    self._tables = (head, tail)
        return self._tables

    def warm_up(self) -> None:
        self._packed_tables()

    def logits(self, text: str, lanes: int | None = None) -> list[float]:
        """The logits of the first ``lanes`` intents (all by default) for one unit of
        normalised text. Red intents come first, so the linter reads only those lanes."""
        lanes = len(self.intents) if lanes is None else min(lanes, len(self.intents))
        return list(self._cached_logits(text, lanes))

    def _logits(self, text: str, lanes: int) -> tuple[float, ...]:
        grams = unit_grams(text)
        if not grams:
            return tuple(self.bias[:lanes])
        head, tail = self._packed_tables()
        norm = gram_weight(len(grams)) / SCALE
        out = _lanes(sum(filter(None, map(head.get, grams))), self.bias[: min(lanes, self.head)], norm)
        if lanes > self.head:
            out += _lanes(sum(filter(None, map(tail.get, grams))), self.bias[self.head:lanes], norm)
        return tuple(out)

    def weight(self, gram: str, lane: int) -> float:
        """One n-gram's weight for one intent, read off the packed tables."""
        head, tail = self._packed_tables()
        table, position = (head, lane) if lane < self.head else (tail, lane - self.head)
        packed = table.get(gram, 0)
        value = 0
        for _ in range(position + 1):
            value = packed & _LANE_MASK
            if value >= _LANE_SIGN:
                value -= _LANE_SPAN
            packed = (packed - value) >> LANE_BITS
        return value / SCALE

    def probabilities(self, text: str) -> dict[str, float]:
        return {name: sigmoid(logit) for name, logit in zip(self.intents, self.logits(text))}

    def score(self, text: str, intent: str) -> IntentScore:
        position = self.index[intent]
        return IntentScore(intent, sigmoid(self.logits(text)[position]), self.thresholds[position])

    def evidence(self, text: str, intent: str, top: int = 3) -> tuple[str, ...]:
        """The n-grams that pushed ``intent`` up most in ``text`` (for the finding's evidence)."""
        from .features import END, QUOTED, START

        position = self.index[intent]
        contributions = {gram: self.weight(gram, position) for gram in unit_grams(text)}
        best = sorted(((g, w) for g, w in contributions.items() if w > 0), key=lambda item: (-item[1], item[0]))
        shown = []
        for gram, _ in best:
            readable = gram.replace(START, "^").replace(END, "$").replace(QUOTED, "“…”")
            if gram.strip(START + END) and readable not in shown:
                shown.append(readable)
            if len(shown) == top:
                break
        return tuple(shown)


def _parse(raw: bytes, path) -> dict:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ModelError(f"cannot read intent model {path}: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{path} is not a kefu-lint intent model (format {FORMAT})")
    return data


def _lanes(total: int, biases: Sequence[float], norm: float) -> list[float]:
    """Read signed 32-bit lanes off a packed sum, lowest first."""
    out = []
    for bias in biases:
        lane = total & _LANE_MASK
        if lane >= _LANE_SIGN:
            lane -= _LANE_SPAN
        total = (total - lane) >> LANE_BITS
        out.append(bias + lane * norm)
    return out


def sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def logit(probability: float) -> float:
    probability = min(max(probability, 1e-9), 1 - 1e-9)
    return math.log(probability / (1 - probability))

