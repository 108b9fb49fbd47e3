"""The trained intent model at run time: pure Python, no numpy, no scikit-learn.

Each intent is a logistic regression over the character n-gram counts of a unit
(``features.unit_grams``), each occurrence weighing 1/sqrt(occurrences), so a score does
not grow with length. ``kefu-lint train`` fits the
weights (``intent/train.py``) and writes them to a JSON file next to the ruleset.

Speed: a reply is checked in a few microseconds, so looking weights up one intent at a
time would cost more than the rest of the linter. Every n-gram's weights for a group of
intents are packed into one Python integer, 32 bits a lane (weights as fixed-point
integers), and stored in an Aho-Corasick automaton: one C pass over the unit finds every
n-gram occurrence with its packed weights (cutting the n-grams out and looking each up in
a dict cost three times as much), the total is one ``sum``, and the lanes are read back
off it, each a signed sum that cannot spill into its neighbour (a lane holds ±2^31 and a
unit's total stays far below: MAX_UNIT characters, weights under ±16).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

from operator import itemgetter

from .features import gram_weight, padded, positions, unit_grams

_value = itemgetter(1)

FORMAT = 3
#: Distinct (unit, lanes) logits kept per model.
LOGIT_CACHE_SIZE = 65536
#: Fixed-point scale of the packed weights: 1/4096 is far finer than any weight matters.
SCALE = 4096
LANE_BITS = 32
_LANE_MASK = (1 << LANE_BITS) - 1
_LANE_SIGN = 1 << (LANE_BITS - 1)
_LANE_SPAN = 1 << LANE_BITS
#: 2^31 in every lane up to and including lane i: the offset that makes lanes 0..i non-negative.
_LANE_OFFSETS = [sum(_LANE_SIGN << (LANE_BITS * k) for k in range(i + 1)) for i in range(64)]


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

    Lanes come in groups (``bounds``, the end of each group), each packed into its own
    table, so a caller pays only for the lanes it reads. Training orders them by how often
    they are needed: first the lanes the linter reads for every reply (pools and red
    intents outside a pool), then the red intents a pool names (read when it fires), then
    the rest (the acts conversations and ``intents()`` read).
    """

    def __init__(
        self,
        intents: Sequence[str],
        bias: Sequence[float],
        thresholds: Sequence[float],
        weights: dict[str, dict[int, float]] | None,
        *,
        bounds: Sequence[int] | None = None,
        fingerprint: str = "",
        source: str = "<model>",
        metrics: dict | None = None,
        tables: tuple[dict[str, int], ...] | None = None,
        cache_name: str | None = None,
    ) -> None:
        self.intents = tuple(intents)
        self.index = {name: position for position, name in enumerate(self.intents)}
        self.bias = tuple(float(b) for b in bias)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.bounds = tuple(bounds) if bounds else (len(self.intents),)
        if list(self.bounds) != sorted(self.bounds) or self.bounds[-1] != len(self.intents):
            raise ModelError(f"lane groups {self.bounds} do not cover {len(self.intents)} intents")
        self._weights = weights
        self.fingerprint = fingerprint
        self.source = source
        self.metrics = metrics or {}
        self._tables = tables
        self._automata: list = [None] * len(self.bounds)
        self._cache_name = cache_name
        # Re-entrant: building an automaton builds the packed tables under the same lock.
        self._lock = threading.RLock()
        # Sentences repeat across replies (templates, quick phrases): a unit's logits are
        # worked out once. lru_cache is thread-safe; the key is the unit and the lanes.
        self._cached_logits = lru_cache(maxsize=LOGIT_CACHE_SIZE)(self._group_logits)

    @property
    def head(self) -> int:
        """The lanes the linter reads for every reply."""
        return self.bounds[0]

    # -- loading and saving --

    @classmethod
    def load(cls, path: str | Path) -> IntentModel:
        """Read a model file. What is built from it (the automata) is cached per file
        content and Python version in ``~/.cache/kefu-lint``, so only the first run on a
        machine parses the JSON; later runs load one automaton per lane group they use."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read intent model {path}: {error}") from None
        import hashlib
        import marshal
        import sys

        from ..text.cache import read_cached_bytes, write_cached_bytes

        cache_name = f"intents-{hashlib.sha256(raw).hexdigest()[:20]}-py{sys.version_info[0]}{sys.version_info[1]}"
        cached = read_cached_bytes(cache_name + ".meta")
        if cached is not None:
            try:
                return cls(**marshal.loads(cached), weights=None, source=str(path), cache_name=cache_name)
            except (ValueError, EOFError, TypeError):
                pass  # a damaged cache is rebuilt below
        data = _parse(raw, path)
        weights = {gram: {int(k): v / SCALE for k, v in entries.items()} for gram, entries in data["weights"].items()}
        meta = {
            "intents": data["intents"], "bias": data["bias"], "thresholds": data["thresholds"], "bounds": data.get("bounds"),
            "fingerprint": data.get("fingerprint", ""), "metrics": data.get("metrics"),
        }
        model = cls(**meta, weights=weights, source=str(path), cache_name=cache_name)
        for group in range(len(model.bounds)):
            model._automaton(group)  # built and cached now, while the JSON is in memory
        write_cached_bytes(cache_name + ".meta", marshal.dumps(meta))
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
            "bounds": list(self.bounds),
            "bias": [round(b, 6) for b in self.bias],
            "thresholds": [round(t, 4) for t in self.thresholds],
            "metrics": self.metrics,
            "weights": weights,
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=False, separators=(",", ":")) + "\n"

    # -- scoring --

    def group_of(self, lane: int) -> tuple[int, int]:
        """(group number, first lane of that group)."""
        start = 0
        for group, end in enumerate(self.bounds):
            if lane < end:
                return group, start
            start = end
        raise IndexError(lane)

    def _packed_tables(self) -> tuple[dict[str, int], ...]:
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    tables: list[dict[str, int]] = [{} for _ in self.bounds]
                    groups = [self.group_of(lane) for lane in range(len(self.intents))]
                    for gram, entries in self.weights.items():
                        values = [0] * len(self.bounds)
                        for lane, weight in entries.items():
                            group, first = groups[lane]
                            values[group] += round(weight * SCALE) << (LANE_BITS * (lane - first))
                        for group, value in enumerate(values):
                            if value:
                                tables[group][gram] = value
                    self._tables = tuple(tables)
        return self._tables

    def _automaton(self, group: int):
        """The Aho-Corasick automaton of one lane group: n-gram → packed weights."""
        automaton = self._automata[group]
        if automaton is None:
            with self._lock:
                automaton = self._automata[group]
                if automaton is None:
                    automaton = self._load_automaton(group)
                    self._automata[group] = automaton
        return automaton

    def _load_automaton(self, group: int):
        import pickle

        import ahocorasick

        from ..text.cache import read_cached_bytes, write_cached_bytes

        name = f"{self._cache_name}.g{group}.pickle" if self._cache_name else None
        if name and self._weights is None:
            cached = read_cached_bytes(name)
            if cached is not None:
                try:
                    return pickle.loads(cached)  # our own cache file, written below
                except Exception:  # noqa: BLE001 - a damaged cache is rebuilt
                    pass
        automaton = ahocorasick.Automaton()
        for gram, value in self._packed_tables()[group].items():
            automaton.add_word(gram, value)
        if len(automaton):
            automaton.make_automaton()
        if name:
            write_cached_bytes(name, pickle.dumps(automaton))
        return automaton

    def warm_up(self) -> None:
        self._automaton(0)

    def logits(self, text: str, lanes: int | None = None) -> list[float]:
        """The logits of the first ``lanes`` intents (all by default) for one unit of
        normalised text; only the lane groups that hold them are read."""
        lanes = len(self.intents) if lanes is None else min(lanes, len(self.intents))
        out: list[float] = []
        start = 0
        for group, end in enumerate(self.bounds):
            if start >= lanes:
                break
            out += self._cached_logits(text, group)[:lanes - start]
            start = end
        return out

    def group_logits(self, text: str, group: int) -> tuple[float, ...]:
        """The logits of one lane group's intents for one unit (lanes ``bounds[group - 1]``
        up to ``bounds[group]``): a message's dialogue acts read the last group alone."""
        return self._cached_logits(text, group)

    def _group_logits(self, text: str, group: int) -> tuple[float, ...]:
        marked = padded(text)
        norm = gram_weight(positions(len(marked))) / SCALE
        start = self.bounds[group - 1] if group else 0
        automaton = self._automaton(group)
        total = sum(map(_value, automaton.iter(marked))) if len(automaton) else 0
        return tuple(_lanes(total, self.bias[start:self.bounds[group]], norm))

    def weight(self, gram: str, lane: int) -> float:
        """One n-gram's weight for one intent, read off the packed tables: adding 2^31 to
        every lane makes each one non-negative, so a lane is a plain shift and mask."""
        group, first = self.group_of(lane)
        automaton = self._automaton(group)
        packed = automaton.get(gram, None) if len(automaton) else None
        if packed is None:
            return 0.0
        position = lane - first
        return ((((packed + _LANE_OFFSETS[position]) >> (LANE_BITS * position)) & _LANE_MASK) - _LANE_SIGN) / SCALE

    def probabilities(self, text: str) -> dict[str, float]:
        return {name: sigmoid(logit) for name, logit in zip(self.intents, self.logits(text))}

    def score(self, text: str, intent: str) -> IntentScore:
        position = self.index[intent]
        return IntentScore(intent, sigmoid(self.logits(text)[position]), self.thresholds[position])

    def evidence(self, text: str, intent: str, top: int = 3) -> tuple[str, ...]:
        """The n-grams that pushed ``intent`` up most in ``text`` (for the finding's evidence)."""
        from .features import END, QUOTED, START

        position = self.index[intent]
        contributions: dict[str, float] = {}
        for gram in unit_grams(text):
            contributions[gram] = contributions.get(gram, 0.0) + self.weight(gram, position)
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

