"""Fit the intent model on a ruleset's examples (``kefu-lint train``; needs ``kefu-lint[train]``).

Per intent, an L2-regularised logistic regression (scikit-learn's liblinear, deterministic
for a fixed seed) over the n-gram counts of ``features.unit_grams``. Chosen by measurement
over a nearest-example matcher and over word n-grams (README, "How the intent model was
chosen"): character n-grams need no tokenizer, so inference stays within the linter's
budget, and with hard negatives in the data they generalise to wordings no list holds.

The threshold of each intent is chosen on held-out predictions (stratified k-fold): the
lowest probability at which precision on the held-out folds reaches the intent's target
(``RED_PRECISION`` for red intents, ``OTHER_PRECISION`` otherwise). A held-out example is
judged the way the linter judges a reply: the highest score over its units.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ..text.normalize import normalize
from . import Intent
from .classifier import IntentModel, logit
from .features import example_units, gram_weight, unit_grams

#: Bump when training changes what it produces from the same data (the fingerprint reads it).
TRAINER_VERSION = 8

RED_PRECISION = 0.97
OTHER_PRECISION = 0.92
#: No intent fires below an even chance, however easy its held-out folds were: the folds
#: hold only the intent's own look-alikes, and real traffic holds every other kind of text.
MIN_THRESHOLD = 0.5
#: The share of borrowed negatives (ordinary messages, other intents' positives) an intent
#: may fire on in the held-out folds.
MAX_BORROWED_FPR = 0.005
#: Regularisation strength (inverse): held-out recall at 97% precision rose from C=1 to
#: C=16 on the training folds; on the development set C=12 judged the fewest look-alikes
#: red at the same recall as C=32 (C=4 lost recall).
C = 12.0
FOLDS = 5
#: An n-gram must occur in this many training texts to become a feature.
MIN_DOCUMENTS = 2
#: Weights smaller than this are dropped from the shipped model: a third of the n-grams,
#: a faster automaton, and on the development set the same judgements as no pruning.
PRUNE = 0.3


@dataclass(frozen=True, slots=True)
class IntentReport:
    """Held-out figures for one intent at the threshold training chose."""

    intent: str
    positives: int
    negatives: int
    threshold: float
    precision: float
    recall: float
    target_precision: float


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """One intent's training rows, column by column: normalised texts, 0/1 labels, for each
    negative the intent whose file it came from ("" for a positive), each row's weight (its
    file's ``weight``, 1 by default), and each row's units as the linter cuts a reply."""

    texts: list[str]
    labels: list[int]
    origins: list[str]
    weights: list[float]
    units: list[list[str]]

    @classmethod
    def of_rows(cls, rows) -> TrainingSet:
        columns = [list(column) for column in zip(*rows)] or [[], [], [], [], []]
        return cls(*columns)

    def rows(self):
        return zip(self.texts, self.labels, self.origins, self.weights, self.units)


def training_sets(intents: Mapping[str, Intent]) -> dict[str, TrainingSet]:
    """Per intent, its :class:`TrainingSet`. An auxiliary intent's examples (ordinary
    messages) are also negatives unit by unit: a message that does none of the acts has no
    part that does one, and the linter judges replies by their units."""
    examples = {name: intent.examples() for name, intent in intents.items()}
    originals: dict[str, str] = {}  # normalised text -> a text as written (units need its spaces)
    normalised_of: dict[str, str] = {}  # every intent borrows the same examples: normalise each once

    def normalised(text: str) -> str:
        if text not in normalised_of:
            normalised_of[text] = normalize(text).text
        return normalised_of[text]

    def key(text: str) -> str:
        normalised_text = normalised(text)
        originals.setdefault(normalised_text, text)
        originals.setdefault(_swap_address(normalised_text), _swap_address(text))
        return normalised_text

    weight_of: dict[str, float] = {}
    for loaded in examples.values():
        for text, weight in loaded.weights:
            normalised_text = key(text)
            for form in (normalised_text, _swap_address(normalised_text)):  # the register variant weighs the same
                weight_of[form] = max(weight, weight_of.get(form, weight))
    units_of: dict[str, list[str]] = {}

    def units(text: str) -> list[str]:
        if text not in units_of:
            units_of[text] = example_units(originals.get(text, text)) or [text]
        return units_of[text]

    auxiliary = {name for name, intent in intents.items() if intent.auxiliary}
    sets = {}
    for name, intent in intents.items():
        sources = [name, *intent.pools]
        positives = list(dict.fromkeys(key(text) for source in sources for text in examples[source].positive))
        seen = set(positives)
        negatives, origins = [], []
        candidates = [(text, source) for source in sources for text in examples[source].negative]
        # Another act's examples are this one's negatives, except those that contain one of
        # this act's anchors: a refusal that says 抱歉 still apologises.
        anchors = [normalize(anchor).text for anchor in intent.anchors]
        candidates += [
            (text, other)
            for other in intent.negatives_from if other in examples
            for text in examples[other].positive
            if not any(anchor in normalised(text) for anchor in anchors)
        ]
        for text, origin in candidates:
            normalised_text = key(text)
            if normalised_text not in seen:
                seen.add(normalised_text)
                negatives.append(normalised_text)
                origins.append(origin)
        positives, negatives, origins = _with_register_variants(positives, negatives, origins)
        rows = [(text, 1, "", weight_of.get(text, 1.0), units(text)) for text in positives]
        rows += [(text, 0, origin, weight_of.get(text, 1.0), units(text)) for text, origin in zip(negatives, origins)]
        for text, origin in zip(negatives, origins):
            pieces = units(text)
            if origin in auxiliary and len(pieces) > 1:
                for piece in pieces:
                    if piece not in seen:
                        seen.add(piece)
                        rows.append((piece, 0, origin, weight_of.get(text, 1.0), [piece]))
        sets[name] = TrainingSet.of_rows(rows)
    return sets


def _with_register_variants(positives: list[str], negatives: list[str], origins: list[str]):
    """Each example also in the other form of address (您 ⇄ 你): whether an agent says 你 or
    您 is KF202's business, not a sign of any act, and the writers of the examples used 你
    more often in rude replies than in polite ones, which a model would otherwise learn."""
    seen = set(positives) | set(negatives)
    extra_positives = []
    for text in positives:
        variant = _swap_address(text)
        if variant not in seen:
            seen.add(variant)
            extra_positives.append(variant)
    extra_negatives, extra_origins = [], []
    for text, origin in zip(negatives, origins):
        variant = _swap_address(text)
        if variant not in seen:
            seen.add(variant)
            extra_negatives.append(variant)
            extra_origins.append(origin)
    return positives + extra_positives, negatives + extra_negatives, origins + extra_origins


def _swap_address(text: str) -> str:
    return text.replace("您", "\x00").replace("你", "您").replace("\x00", "你")


def train(
    intents: Mapping[str, Intent], *, seed: int = 0, fingerprint: str = "", jobs: int | None = None
) -> tuple[IntentModel, list[IntentReport]]:
    """The model and its held-out report. ``jobs`` intents are fitted at once (default: one
    per CPU); every fit is deterministic on its own, so the model does not depend on it."""
    try:
        import numpy as np
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
    except ImportError as error:  # pragma: no cover - exercised without the extra
        raise RuntimeError(f"training needs scikit-learn: pip install 'kefu-lint[train]' ({error})") from None

    names = sorted(intents, key=lambda n: (_lane_group(intents, n), n))  # see IntentModel
    sets = training_sets({name: intents[name] for name in names})
    vocabulary = _vocabulary(text for training in sets.values() for text in training.texts)
    columns_to_grams = sorted(vocabulary, key=vocabulary.__getitem__)

    def matrix(texts: Sequence[str]):
        rows, columns, values = [], [], []
        for row, text in enumerate(texts):
            grams = unit_grams(text)
            if not grams:
                continue
            weight = gram_weight(len(grams))
            for gram in grams:  # repeats add up in the sparse matrix: features are counts
                column = vocabulary.get(gram)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
                    values.append(weight)
        return csr_matrix((values, (rows, columns)), shape=(len(texts), len(vocabulary)))

    def fit(x, y, w):
        model = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", random_state=seed, max_iter=1000)
        model.fit(x, y, sample_weight=w)
        return model

    def fit_intent(name: str, training: TrainingSet):
        texts, labels, origins = training.texts, training.labels, training.origins
        y = np.array(labels)
        w = np.array(training.weights)
        target = RED_PRECISION if intents[name].zone == "red" else OTHER_PRECISION
        precision = recall = float("nan")
        threshold = logit(MIN_THRESHOLD)
        if y.sum() >= FOLDS and (len(y) - y.sum()) >= FOLDS:
            held_out = _held_out_scores(texts, y, w, training.units)
            # The threshold is set against the intent's own look-alikes: borrowed negatives
            # (other acts, ordinary messages) are easy, and counting them would let the
            # threshold sink until the hard cases it exists for slip through.
            own = {name, *intents[name].pools}
            hard = np.array([bool(label) or origin in own for label, origin in zip(labels, origins)])
            if not (~y.astype(bool) & hard).any():
                # No look-alikes of its own (an auxiliary act such as customer-ordinary is
                # trained against other acts' examples alone): those are its hard cases.
                hard = np.ones(len(y), dtype=bool)
            threshold, precision, recall = _choose_threshold(held_out[hard], y[hard], target)
            # …and high enough that ordinary traffic stays quiet: on the borrowed negatives
            # (ordinary messages and other acts, most of what a real log holds) at most
            # MAX_BORROWED_FPR may fire.
            borrowed = held_out[~hard]
            if len(borrowed):
                quiet = float(np.quantile(borrowed, 1 - MAX_BORROWED_FPR))
                if quiet > threshold:
                    threshold = quiet
                    precision, recall = _precision_recall(held_out[hard], y[hard], threshold)
            if threshold < logit(MIN_THRESHOLD):
                threshold = logit(MIN_THRESHOLD)
                precision, recall = _precision_recall(held_out[hard], y[hard], threshold)
        model = fit(matrix(texts), y, w)
        coefficients = {columns_to_grams[c]: float(w) for c, w in enumerate(model.coef_[0]) if abs(w) >= PRUNE}
        report = IntentReport(name, int(y.sum()), int(len(y) - y.sum()), 1.0 / (1.0 + math.exp(-threshold)), precision, recall, target)
        return float(model.intercept_[0]), report, coefficients

    def _held_out_scores(texts, y, w, units):
        """Each example's score from a model that never saw it: its best unit, as the linter judges."""
        held_out = np.zeros(len(texts))
        unit_texts, owners = _units_of(units)
        x_units, x = matrix(unit_texts), matrix(texts)
        for train_rows, test_rows in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(texts, y):
            model = fit(x[train_rows], y[train_rows], w[train_rows])
            wanted = set(test_rows.tolist())
            unit_rows = [i for i, owner in enumerate(owners) if owner in wanted]
            best: dict[int, float] = {}
            for row, score in zip(unit_rows, model.decision_function(x_units[unit_rows])):
                best[owners[row]] = max(best.get(owners[row], -math.inf), float(score))
            for owner, score in best.items():
                held_out[owner] = score
        return held_out

    # plain intents first: a pool's clean-up reads its members' models
    plain = [name for name in names if not intents[name].pools]
    fitted = dict(zip(plain, _fit_all(fit_intent, [(name, sets[name]) for name in plain], jobs)))
    for name in names:
        if intents[name].pools:
            fitted[name] = fit_intent(name, _without_covered(sets[name], intents[name].pools, fitted))

    bias: list[float] = []
    thresholds: list[float] = []
    weights: dict[str, dict[int, float]] = {}
    reports: list[IntentReport] = []
    for lane, name in enumerate(names):
        intercept, report, coefficients = fitted[name]
        bias.append(intercept)
        thresholds.append(report.threshold)
        reports.append(report)
        for gram, weight in coefficients.items():
            weights.setdefault(gram, {})[lane] = weight
    metrics = {
        r.intent: {"positives": r.positives, "negatives": r.negatives, "precision": _round(r.precision), "recall": _round(r.recall)}
        for r in reports
    }
    groups = [_lane_group(intents, name) for name in names]
    bounds = [groups.index(g + 1) if g + 1 in groups else len(names) for g in sorted(set(groups))]
    return IntentModel(names, bias, thresholds, weights, bounds=bounds, fingerprint=fingerprint, metrics=metrics), reports


#: What the forked workers of ``_fit_all`` call: set just before the fork, so the closure (its
#: vocabulary and matrices) is inherited rather than pickled.
_FORKED_FIT: Callable | None = None


def _fit_in_child(task):
    assert _FORKED_FIT is not None
    return _FORKED_FIT(*task)


def _fit_all(fit_intent: Callable, tasks: list, jobs: int | None) -> list:
    """``fit_intent(*task)`` for every task, in order; in ``jobs`` forked processes when the
    platform forks (fitting is CPU-bound and single-threaded in liblinear)."""
    global _FORKED_FIT
    jobs = min(len(tasks), jobs or os.cpu_count() or 1)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [fit_intent(*task) for task in tasks]
    _FORKED_FIT = fit_intent
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_fit_in_child, tasks))
    finally:
        _FORKED_FIT = None


def _lane_group(intents: Mapping[str, Intent], name: str) -> int:
    """0: read for every reply (pools, red intents outside pools); 1: red pool members (read
    when their pool fires); 2: everything else."""
    pooled = {member for intent in intents.values() for member in intent.pools}
    if intents[name].zone == "red":
        return 1 if name in pooled else 0
    return 2


def _without_covered(training: TrainingSet, members, fitted) -> TrainingSet:
    """A pool's negatives without the look-alikes another member performs: the refusal file's
    "not a refusal" list holds blame and rudeness, which are red all the same."""
    names = list(members)
    interim = IntentModel(
        names,
        [fitted[n][0] for n in names],
        [fitted[n][1].threshold for n in names],
        _merged([fitted[n][2] for n in names]),
    )
    kept = []
    for row in training.rows():
        text, label, origin = row[:3]
        if not label and origin in names:
            probabilities = interim.probabilities(text)
            if any(probabilities[m] >= MIN_THRESHOLD for m in names if m != origin):
                continue
        kept.append(row)
    return TrainingSet.of_rows(kept)


def _merged(per_lane: list[dict[str, float]]) -> dict[str, dict[int, float]]:
    merged: dict[str, dict[int, float]] = {}
    for lane, coefficients in enumerate(per_lane):
        for gram, weight in coefficients.items():
            merged.setdefault(gram, {})[lane] = weight
    return merged


def _round(value: float) -> float | None:
    return None if value != value else round(value, 4)


def _vocabulary(texts) -> dict[str, int]:
    documents: dict[str, int] = {}
    for text in texts:
        for gram in set(unit_grams(text)):
            documents[gram] = documents.get(gram, 0) + 1
    kept = sorted(gram for gram, count in documents.items() if count >= MIN_DOCUMENTS)
    return {gram: index for index, gram in enumerate(kept)}


def _units_of(units: Sequence[Sequence[str]]) -> tuple[list[str], list[int]]:
    """Every row's units, flattened, with the row each came from."""
    unit_texts: list[str] = []
    owners: list[int] = []
    for owner, pieces in enumerate(units):
        unit_texts.extend(pieces)
        owners.extend([owner] * len(pieces))
    return unit_texts, owners


def _choose_threshold(scores, labels, target: float) -> tuple[float, float, float]:
    """The lowest logit at which held-out precision reaches ``target``.

    Precision is taken at an even prior, TPR / (TPR + FPR): as if acts and look-alikes were
    equally common, which is how the standard's target is stated (and how the independent
    test set is built). The raw ratio would depend on how many negatives a file happens to
    hold: the red intents borrow the positives of eleven other intents as negatives.
    """
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    positives = int(sum(labels))
    negatives = len(labels) - positives
    true_positives = false_positives = 0
    best = None
    for rank, index in enumerate(order, start=1):
        if labels[index]:
            true_positives += 1
        else:
            false_positives += 1
        tpr, fpr = true_positives / positives, false_positives / negatives
        precision = tpr / (tpr + fpr) if tpr + fpr else 0.0
        last_of_tie = rank == len(order) or scores[order[rank]] < scores[index]
        if last_of_tie and precision >= target:
            best = (float(scores[index]), precision, tpr)
    if best is None:  # the target is out of reach: take the single most confident score
        top = float(scores[order[0]]) + 1e-6
        return top, float("nan"), 0.0
    return best


def _precision_recall(scores, labels, threshold: float) -> tuple[float, float]:
    """Precision at an even prior (see ``_choose_threshold``) and recall at ``threshold``."""
    positives = int(sum(labels))
    negatives = len(labels) - positives
    tpr = sum(1 for score, label in zip(scores, labels) if label and score >= threshold) / positives
    fpr = sum(1 for score, label in zip(scores, labels) if not label and score >= threshold) / negatives
    return (tpr / (tpr + fpr) if tpr + fpr else float("nan"), tpr)


def format_reports(reports: Sequence[IntentReport]) -> str:
    lines = ["| intent | positives | negatives | threshold | held-out precision | held-out recall | target |", "|---|---|---|---|---|---|---|"]
    for r in reports:
        lines.append(
            f"| {r.intent} | {r.positives} | {r.negatives} | {r.threshold:.3f} | {_pct(r.precision)} | {_pct(r.recall)} | {r.target_precision:.0%} |"
        )
    return "\n".join(lines)


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"


__all__ = ["train", "training_sets", "TrainingSet", "format_reports", "IntentReport", "TRAINER_VERSION", "logit"]
