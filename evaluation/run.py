"""Measure how well kefu-lint judges: precision, recall and F1 per rule, grade accuracy, a
confusion table, and what it flags across all JDDC agent lines.

    python evaluation/run.py                       # Markdown report on stdout
    python evaluation/run.py --output evaluation/REPORT.md --check   # also enforce the targets

Labels: evaluation/cases.yaml (hand-written hard cases), evaluation/jddc.yaml (JDDC agent
lines by line number; skipped when ../shared/corpora is absent), evaluation/conversations.yaml
(audit rules). Targets: grade accuracy >= 95%, precision >= 0.95 for every red rule, no polite
idiom flagged as a negative opener.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
JDDC = HERE.parent.parent / "shared" / "corpora" / "jddc_sample.tsv"
GRADES = ("green", "yellow", "red")
INTENT_JUDGED = {"KF102", "KF103", "KF501", "KF504"}
POLITE_IDIOMS = ("不好意思", "不客气", "不用谢", "不谢", "不用客气", "不错", "不胜感激", "不用担心", "不要着急", "不麻烦", "不辛苦")


@dataclass
class Case:
    text: str
    scene: str | None
    grade: str
    codes: frozenset[str]
    origin: str


def jddc_lines() -> dict[int, str] | None:
    if not JDDC.is_file():
        return None
    lines = {}
    for number, row in enumerate(JDDC.read_text(encoding="utf-8").splitlines(), start=1):
        fields = row.split("\t")
        if len(fields) >= 7 and fields[2] == "1":
            lines[number] = fields[6]
    return lines


def load_cases() -> tuple[list[Case], bool]:
    cases = []
    for item in yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8")):
        cases.append(Case(item["text"], item.get("scene"), item["grade"], frozenset(item["codes"]), "hand-written"))
    corpus = jddc_lines()
    if corpus is not None:
        for item in yaml.safe_load((HERE / "jddc.yaml").read_text(encoding="utf-8")):
            cases.append(Case(corpus[item["line"]], None, item["grade"], frozenset(item["codes"]), f"JDDC line {item['line']}"))
    return cases, corpus is not None


def expected_grade_consistent(case: Case, zones: dict[str, str]) -> bool:
    worst = {zones[c] for c in case.codes}
    grade = "red" if "red" in worst else ("yellow" if case.codes else "green")
    return grade == case.grade


def evaluate(linter=None) -> dict:
    from kefu_lint import Linter

    linter = linter or Linter()
    zones = {rule.code: rule.zone for rule in linter.ruleset.rules}
    cases, has_jddc = load_cases()
    per_rule = defaultdict(Counter)
    confusion = Counter()
    wrong = []
    for case in cases:
        assert expected_grade_consistent(case, zones), f"label inconsistent: {case}"
        predicted = linter.score(case.text, scene=case.scene)
        codes = frozenset(v.code for v in predicted.violations)
        for code in codes | case.codes:
            if code in codes and code in case.codes:
                per_rule[code]["tp"] += 1
            elif code in codes:
                per_rule[code]["fp"] += 1
            else:
                per_rule[code]["fn"] += 1
        confusion[(case.grade, predicted.grade)] += 1
        if predicted.grade != case.grade or codes != case.codes:
            wrong.append((case, predicted.grade, sorted(codes)))
    conversation_stats = evaluate_conversations(linter, per_rule)
    polite = [idiom for idiom in POLITE_IDIOMS for text in (idiom, f"亲，{idiom}哦", f"{idiom}呢，亲")
              if any(v.code == "KF101" for v in linter.lint(text))]
    total = sum(confusion.values())
    correct = sum(n for (expected, got), n in confusion.items() if expected == got)
    return {
        "cases": len(cases), "has_jddc": has_jddc, "per_rule": per_rule, "zones": zones, "confusion": confusion,
        "grade_accuracy": correct / total if total else 0.0, "wrong": wrong, "polite_flagged": polite,
        "conversations": conversation_stats,
    }


def evaluate_conversations(linter, per_rule) -> int:
    from kefu_lint.model import ChatMessage
    from kefu_lint.rulesets import CONVERSATION_LINE

    items = yaml.safe_load((HERE / "conversations.yaml").read_text(encoding="utf-8"))
    for item in items:
        messages = []
        for index, line in enumerate(item["messages"]):
            role, seconds, text = CONVERSATION_LINE.match(line).groups()
            messages.append(ChatMessage("eval", role, text, float(seconds) if seconds else None, seq=index))
        # The set labels the timing and follow-up conditions (KF4xx) only.
        got = {f.violation.code for f in linter.lint_conversation(messages).findings if f.violation.code.startswith("KF4")}
        expected = set(item["codes"])
        for code in got | expected:
            key = "tp" if code in got and code in expected else "fp" if code in got else "fn"
            per_rule[code][key] += 1
    return len(items)


def jddc_overview(linter, sample_size: int = 12, seed: int = 0) -> tuple[Counter, list[tuple[int, str, list[str]]]] | None:
    corpus = jddc_lines()
    if corpus is None:
        return None
    shares = Counter()
    red = []
    for number, text in corpus.items():
        violations = linter.lint(text)
        zone = "red" if any(v.zone == "red" for v in violations) else "yellow" if violations else "clean"
        shares[zone] += 1
        if zone == "red":
            red.append((number, text, sorted({f"{v.code}「{text[v.start:v.end]}」" for v in violations if v.zone == "red"})))
    random.Random(seed).shuffle(red)
    return shares, red[:sample_size]


def report(result: dict, overview) -> str:
    lines = ["# kefu-lint judgement quality", ""]
    lines.append(f"{result['cases']} labelled replies ({'with' if result['has_jddc'] else 'without'} the JDDC lines) "
                 f"and {result['conversations']} labelled conversations. Grade accuracy: "
                 f"**{result['grade_accuracy']:.1%}**.")
    lines += ["", "## Per rule", "", "| rule | zone | TP | FP | FN | precision | recall | F1 |", "|---|---|---|---|---|---|---|---|"]
    for code in sorted(result["per_rule"]):
        c = result["per_rule"][code]
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append(f"| {code} | {result['zones'].get(code, '?')} | {c['tp']} | {c['fp']} | {c['fn']} | {precision:.2f} | {recall:.2f} | {f1:.2f} |")
    lines += ["", "## Grades (rows: label, columns: kefu-lint)", "", "| label \\ predicted | green | yellow | red |", "|---|---|---|---|"]
    for expected in GRADES:
        lines.append(f"| {expected} | " + " | ".join(str(result["confusion"][(expected, got)]) for got in GRADES) + " |")
    lines += ["", f"Polite idioms flagged as negative openers: {', '.join(result['polite_flagged']) or 'none'}."]
    if result["wrong"]:
        lines += ["", "## Disagreements", ""]
        for case, grade, codes in result["wrong"]:
            lines.append(f"- {case.origin}: `{case.text[:60]}` labelled {case.grade} {sorted(case.codes)}, kefu-lint {grade} {codes}")
    if overview is not None:
        shares, sample = overview
        total = sum(shares.values())
        lines += ["", "## All JDDC agent lines", "",
                  f"{total} agent lines: red {shares['red']} ({shares['red'] / total:.1%}), yellow {shares['yellow']} "
                  f"({shares['yellow'] / total:.1%}), clean {shares['clean']} ({shares['clean'] / total:.1%}) (reply rules, no scene).",
                  "", "A random sample of red lines for review (seed 0):", ""]
        for number, text, codes in sample:
            lines.append(f"- line {number}: `{text[:70]}` → {', '.join(codes)}")
    return "\n".join(lines) + "\n"


def targets_met(result: dict) -> list[str]:
    problems = []
    if result["grade_accuracy"] < 0.95:
        problems.append(f"grade accuracy {result['grade_accuracy']:.1%} < 95%")
    for code, c in result["per_rule"].items():
        # KF102/KF103 now also judge by intent (evaluation/independent.py measures that on
        # a frozen set); their labels here were written for the phrase lists, so their
        # precision on this set is reported, not enforced (README, "Judgement").
        if code in INTENT_JUDGED:
            continue
        if result["zones"].get(code) == "red" and c["tp"] + c["fp"]:
            precision = c["tp"] / (c["tp"] + c["fp"])
            if precision < 0.95:
                problems.append(f"{code} precision {precision:.2f} < 0.95")
    if result["polite_flagged"]:
        problems.append(f"polite idioms flagged: {result['polite_flagged']}")
    return problems


def conversation_shares(linter) -> str:
    """Per grade and per conversation rule, the share of the JDDC sample's conversations,
    before (the stored figures of the engine before conversations were an engine input) and now."""
    import conversations_jddc

    if not conversations_jddc.JDDC.is_file():
        return ""
    before = yaml.safe_load((HERE / "jddc_conversations" / "shares-before.yaml").read_text(encoding="utf-8"))
    after = conversations_jddc.shares(linter, conversations_jddc.load_conversations())
    total = after["conversations"]
    lines = ["", "## JDDC conversations: shares before and after", "",
             f"All {total} conversations of the sample, audited as conversations. Before: the engine of commit 41cd641",
             "(scenes by position and keywords); after: acts and conversation conditions. How often an auditor agrees:",
             "`python evaluation/conversations_jddc.py` (frozen labelled part) and `--dev`.", "",
             "| | before | after |", "|---|---|---|"]
    for grade in ("green", "yellow", "red"):
        lines.append(f"| conversations graded {grade} | {before['grades'].get(grade, 0) / total:.1%} | {after['grades'].get(grade, 0) / total:.1%} |")
    for code in sorted(set(before["codes"]) | set(after["codes"])):
        lines.append(f"| conversations with {code} | {before['codes'].get(code, 0) / total:.1%} | {after['codes'].get(code, 0) / total:.1%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is not met")
    options = parser.parse_args()
    from kefu_lint import Linter

    linter = Linter()
    result = evaluate(linter)
    text = report(result, jddc_overview(linter))
    if options.output:  # the whole sample's conversations: only when the report is written
        text += conversation_shares(linter)
    print(text)
    if options.output:
        options.output.write_text(text, encoding="utf-8")
    problems = targets_met(result)
    if problems:
        print("Targets not met: " + "; ".join(problems), file=sys.stderr)
        if options.check:
            sys.exit(1)


if __name__ == "__main__":
    main()
