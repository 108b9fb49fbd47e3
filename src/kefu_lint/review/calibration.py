"""Agreement between reviewers, and between each reviewer and the system, per rule.

The units are the findings of the calibration sample: every finding the system reported
(the system says "present"; a reviewer's 确认 says present, 误报 absent) and every finding a
reviewer added as missed, identified by conversation, message and rule (the system says
absent; each reviewer says present when they added it too, absent when they reviewed that
conversation without adding it). A reviewer who has not judged a unit leaves it out of
their pairs.

Figures (documented in the README): plain agreement, the share of common units both label
the same; and Cohen's kappa, (p_o − p_e) / (1 − p_e), where p_e is the agreement two raters
with the same label shares would reach by chance. Kappa is undefined (shown as –) when p_e
is 1: both raters gave one label to every unit, so chance explains all of it. Against the
system, which says "present" for all its own findings, kappa is defined only once misses
were added; the agreement is then the share of its findings a reviewer confirms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

ALL_RULES = "全部"


@dataclass(frozen=True)
class Agreement:
    units: int
    agreement: float | None
    kappa: float | None


def cohen_kappa(pairs: Sequence[tuple[bool, bool]]) -> Agreement:
    """Agreement and Cohen's kappa of two raters' binary labels over the same units."""
    n = len(pairs)
    if not n:
        return Agreement(0, None, None)
    observed = sum(a == b for a, b in pairs) / n
    first = sum(a for a, _ in pairs) / n
    second = sum(b for _, b in pairs) / n
    expected = first * second + (1 - first) * (1 - second)
    kappa = None if expected >= 1 else (observed - expected) / (1 - expected)
    return Agreement(n, observed, kappa)


def agreement_table(reviewers: Sequence[str], findings: Iterable[dict], verdicts: Iterable[dict],
                    missed: Iterable[dict]) -> list[dict]:
    """One row per rule (and one for all rules): each pair of reviewers, and each reviewer
    against the system. ``findings``: finding_key, code; ``verdicts``: finding_key,
    reviewer, verdict, conversation_id; ``missed``: conversation_id, message_key, code, reviewer."""
    labels: dict[tuple[str, str], dict[str, bool]] = {}   # (code, unit) -> reviewer -> present
    system: dict[tuple[str, str], bool] = {}
    seen: dict[str, set[str]] = {reviewer: set() for reviewer in reviewers}
    for finding in findings:
        system[(finding["code"], "f:" + finding["finding_key"])] = True
    for verdict in verdicts:
        unit = (verdict["code"], "f:" + verdict["finding_key"])
        labels.setdefault(unit, {})[verdict["reviewer"]] = verdict["verdict"] == "confirmed"
        seen.setdefault(verdict["reviewer"], set()).add(verdict["conversation_id"])
    missed = list(missed)
    for miss in missed:
        seen.setdefault(miss["reviewer"], set()).add(miss["conversation_id"])
    for miss in missed:
        unit = (miss["code"], f"m:{miss['conversation_id']}\x1f{miss['message_key']}")
        system.setdefault(unit, False)
        votes = labels.setdefault(unit, {})
        votes[miss["reviewer"]] = True
        for reviewer in reviewers:
            if reviewer not in votes and miss["conversation_id"] in seen.get(reviewer, ()):
                votes[reviewer] = False
    codes = sorted({code for code, _ in system})
    rows = []
    for code in [*codes, ALL_RULES]:
        units = [unit for unit in system if code in (ALL_RULES, unit[0])]
        pairs = []
        for first, second in combinations(reviewers, 2):
            judged = [(labels[u][first], labels[u][second]) for u in units if first in labels.get(u, {}) and second in labels.get(u, {})]
            pairs.append({"first": first, "second": second, "figures": cohen_kappa(judged)})
        against = []
        for reviewer in reviewers:
            judged = [(system[u], labels[u][reviewer]) for u in units if reviewer in labels.get(u, {})]
            against.append({"reviewer": reviewer, "figures": cohen_kappa(judged)})
        rows.append({"code": code, "units": len(units), "pairs": pairs, "system": against})
    return rows
