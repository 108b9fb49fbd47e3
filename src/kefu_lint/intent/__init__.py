"""Intents: what a message *does* (refuses, blames, apologises …), as ruleset data.

An intent is declared in a ruleset under ``intents:`` with a description, a zone (or none:
an act rules require rather than ban), the role whose messages it describes, optional exact
anchors, and many labelled examples, positive and hard negative (look-alikes that share the
words but not the act). ``kefu-lint train`` fits a model on the examples
(``intent/train.py``); rules read its judgements (``intent/classifier.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..model import ZONES

ROLES = ("agent", "customer")
INTENT_KEYS = {"label", "description", "zone", "role", "examples", "excused_by", "threshold", "anchors", "negatives_from", "pools", "auxiliary", "enabled"}
EXAMPLE_KEYS = {"positive", "negative"}
#: Keys an example file holds besides the examples.
EXAMPLE_FILE_KEYS = {"intent", "weight"}


@dataclass(frozen=True, slots=True)
class IntentExamples:
    """Labelled messages for one intent: ones that perform it and look-alikes that do not."""

    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    #: (text, weight) for the examples that count other than once in training: a file of
    #: paraphrased real traffic says ``weight: 4`` so a few hundred lines of it are not
    #: drowned by thousands of written ones (importance weighting towards real logs).
    weights: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Intent:
    """One act a message can perform, as a ruleset declares it."""

    name: str
    description: str
    role: str
    #: A short Chinese name for reports and timelines (问候, 道歉 …); the name when absent.
    label: str = ""
    zone: str | None = None
    #: Example files (YAML with ``positive:``/``negative:`` lists), in extends order.
    example_files: tuple[str, ...] = ()
    #: Examples written inline in a ruleset (``examples:``/``extend-examples:`` as a mapping).
    inline: IntentExamples = field(default_factory=IntentExamples)
    #: Intents whose presence elsewhere in the same reply excuses this one (a refusal that
    #: offers a remedy is a decline, not a refusal without a way forward).
    excused_by: tuple[str, ...] = ()
    #: Also train against these intents' positives as negatives (a greeting is no refusal).
    negatives_from: tuple[str, ...] = ()
    #: A pooled intent: one judgement over several acts, trained on all their examples at
    #: once (a refusal's examples teach it about blame too). When it fires on a unit, the
    #: member that scores highest there is the act reported (rules/acts.py).
    pools: tuple[str, ...] = ()
    #: Overrides the threshold ``kefu-lint train`` chose on held-out data.
    threshold: float | None = None
    #: Phrases that always count as the act (confidence 1), whatever the model says.
    anchors: tuple[str, ...] = ()
    #: Trained for the others' sake only (``ordinary`` messages are every red intent's
    #: negatives) and never reported as an act of a message.
    auxiliary: bool = False

    @property
    def reported(self) -> bool:
        """An act ``intents()`` reports: not a pool (its members are) and not auxiliary."""
        return not self.pools and not self.auxiliary
    origin: str = "<ruleset>"

    def examples(self) -> IntentExamples:
        """Every example, files first, then inline ones (read now: training and tests only)."""
        positive: list[str] = []
        negative: list[str] = []
        weights: dict[str, float] = {}
        for path in self.example_files:
            loaded = read_example_file(path, self.name)
            positive += loaded.positive
            negative += loaded.negative
            for text, weight in loaded.weights:
                weights[text] = max(weight, weights.get(text, weight))
        positive += self.inline.positive
        negative += self.inline.negative
        return IntentExamples(tuple(dict.fromkeys(positive)), tuple(dict.fromkeys(negative)), tuple(sorted(weights.items())))


class IntentDataError(ValueError):
    """An example file that cannot be used; the ruleset loader adds where it was named."""


def read_example_file(path: str, intent: str) -> IntentExamples:
    import yaml

    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise IntentDataError(f"cannot read intent examples {path}: {error}") from None
    if not isinstance(data, Mapping):
        raise IntentDataError(f"{path}: an intent example file is a mapping with positive/negative lists")
    if data.get("intent") not in (None, intent):
        raise IntentDataError(f"{path}: holds examples for intent {data.get('intent')!r}, named for {intent!r}")
    weight = data.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 100:
        raise IntentDataError(f"{path}: weight is a number above 0 and at most 100, got {weight!r}")
    examples = parse_examples({k: v for k, v in data.items() if k not in EXAMPLE_FILE_KEYS}, path)
    if weight == 1:
        return examples
    weights = tuple((text, float(weight)) for text in dict.fromkeys(examples.positive + examples.negative))
    return IntentExamples(examples.positive, examples.negative, weights)


def parse_examples(raw: object, where: str) -> IntentExamples:
    if not isinstance(raw, Mapping) or set(raw) - EXAMPLE_KEYS:
        raise IntentDataError(f"{where}: examples are a mapping with 'positive' and 'negative' lists")
    lists = {}
    for kind in ("positive", "negative"):
        items = raw.get(kind) or []
        if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
            raise IntentDataError(f"{where}: {kind} must be a list of non-empty strings")
        lists[kind] = tuple(item.strip() for item in items)
    return IntentExamples(lists["positive"], lists["negative"])


def fingerprint(intents: Mapping[str, Intent]) -> str:
    """A digest of everything training reads: the model is out of date when it changes."""
    from .features import MAX_UNIT, MIN_GRAMS, ORDERS
    from .train import TRAINER_VERSION

    payload = {
        "trainer": TRAINER_VERSION,
        "orders": list(ORDERS),
        "max_unit": MAX_UNIT,
        "min_grams": MIN_GRAMS,
        "intents": {name: _training_inputs(intent) for name, intent in sorted(intents.items())},
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def _training_inputs(intent: Intent) -> dict:
    examples = intent.examples()
    inputs: dict[str, object] = {
        "role": intent.role,
        "negatives_from": list(intent.negatives_from),
        "pools": list(intent.pools),
        "anchors": list(intent.anchors),
        "examples": [list(examples.positive), list(examples.negative)],
    }
    if examples.weights:  # absent when every example counts once: older models stay current
        inputs["weights"] = [list(pair) for pair in examples.weights]
    return inputs


def check_zone(zone: object) -> str | None:
    if zone is None or zone in ZONES:
        return zone
    raise IntentDataError(f"zone must be one of {', '.join(ZONES)} or absent, got {zone!r}")
