"""Judgement on the frozen independent test set (evaluation/intent_test/): never tuned on.

    python evaluation/independent.py                 # Markdown report on stdout
    python evaluation/independent.py --json          # the figures as JSON

The set was written by a separate session that saw neither the training examples nor the
rulesets (see evaluation/README.md): ``replies.yaml`` pairs red agent replies with polite
look-alikes from the same situation; ``acts.yaml`` is 45 conversations with every message
labelled with the acts it performs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TEST_SET = HERE / "intent_test"

#: The reply sets, each with its flag (None: the default), its folder, the name the report
#: gives it, the source line and whether it is tuned on (only then may ``--errors`` list its
#: misjudged replies). The first frozen one; the development set; a second frozen one
#: (``fresh_test/``, written 2026-12-03 in the soft register of real chat logs, before that
#: session's training data was added) and a second development set in that register (``dev2/``,
#: written 2026-12-04) to tune on instead of it; a third frozen one (``third_test/``, written
#: later on 2026-12-04 in a mixed register, before that session's changes) and a third
#: development set of negation openers and short replies (``dev3/``).
@dataclass(frozen=True)
class ReplySet:
    flag: str | None
    folder: Path
    title: str
    source: str
    tuned: bool
    help: str = ""


SETS = {
    "frozen": ReplySet(None, TEST_SET, "", "evaluation/intent_test/replies.yaml, frozen, never tuned on", False),
    "dev": ReplySet("--dev", HERE / "dev", "development set", "evaluation/dev/replies.yaml, the development set: tuned on", True,
                    "Use the development set (evaluation/dev/), the one to tune on."),
    "dev2": ReplySet("--dev2", HERE / "dev2", "second development set",
                     "evaluation/dev2/replies.yaml, the second development set (real-chat register): tuned on", True,
                     "Use the second development set (evaluation/dev2/, real-chat register): tune on it."),
    "dev3": ReplySet("--dev3", HERE / "dev3", "third development set",
                     "evaluation/dev3/replies.yaml, the third development set (不/没 openers, curt and hedging replies): tuned on", True,
                     "Use the third development set (evaluation/dev3/: 不/没 openers, curt and hedging replies): tune on it."),
    "fresh": ReplySet("--fresh", HERE / "fresh_test", "second frozen set",
                      "evaluation/fresh_test/replies.yaml, the second frozen set (real-chat register), never tuned on", False,
                      "Use the second frozen set (evaluation/fresh_test/): never tune on it."),
    "third": ReplySet("--third", HERE / "third_test", "third frozen set",
                      "evaluation/third_test/replies.yaml, the third frozen set (mixed register), never tuned on", False,
                      "Use the third frozen set (evaluation/third_test/, mixed register): never tune on it."),
}

#: Red acts and the rule codes that stand for them.
ACT_CODES = {
    "refusal": {"KF101", "KF102"},
    "blame-shifting": {"KF102"},
    "rude": {"KF103"},
    "threat": {"KF103"},
    "contradiction-opener": {"KF101"},
    "privacy": {"KF104"},
    "off-platform": {"KF501"},
    "review-manipulation": {"KF504"},
}


def load_replies(folder: Path = TEST_SET) -> list[dict]:
    return yaml.safe_load((folder / "replies.yaml").read_text(encoding="utf-8"))


def load_conversations() -> list[dict]:
    return yaml.safe_load((TEST_SET / "acts.yaml").read_text(encoding="utf-8"))


def evaluate_replies(linter, folder: Path = TEST_SET) -> dict:
    by_act = defaultdict(Counter)
    wrong = []
    totals = Counter()
    for item in load_replies(folder):
        result = linter.score(item["text"])
        predicted_red = result.grade == "red"
        act = item.get("act") if item["red"] else item.get("resembles")
        if item["red"]:
            totals["red"] += 1
            by_act[act]["red"] += 1
            if predicted_red:
                totals["tp"] += 1
                by_act[act]["caught"] += 1
                if {v.code for v in result.violations} & ACT_CODES.get(act, set()):
                    by_act[act]["right_code"] += 1
            else:
                totals["fn"] += 1
                wrong.append(("missed", item, result))
        else:
            totals["not_red"] += 1
            by_act[act]["look_alikes"] += 1
            if predicted_red:
                totals["fp"] += 1
                by_act[act]["look_alikes_red"] += 1
                wrong.append(("false red", item, result))
    precision = totals["tp"] / (totals["tp"] + totals["fp"]) if totals["tp"] + totals["fp"] else 0.0
    recall = totals["tp"] / totals["red"] if totals["red"] else 0.0
    return {"totals": totals, "by_act": by_act, "precision": precision, "recall": recall, "wrong": wrong}


def evaluate_acts(linter) -> dict:
    """Per act the labels use: an act added to the ruleset after the set was labelled
    (``alternative``) has no labels, and its hits would count as false."""
    per_intent = defaultdict(Counter)
    conversations = load_conversations()
    labelled = {act for c in conversations for m in c["messages"] for act in m.get("acts") or []}
    for conversation in conversations:
        for message in conversation["messages"]:
            role = message["role"]
            if role not in ("agent", "customer"):
                continue
            found = {hit.intent for hit in linter.intents(message["text"], role=role)} & labelled
            expected = set(message.get("acts") or [])
            for intent in found | expected:
                key = "tp" if intent in found and intent in expected else "fp" if intent in found else "fn"
                per_intent[intent][key] += 1
    return {"per_intent": per_intent}


def report(replies: dict, acts: dict | None, label: str, source: str) -> str:
    t = replies["totals"]
    lines = [
        f"## Independent test set ({label})",
        "",
        f"{t['red']} red replies and {t['not_red']} polite look-alikes ({source}).",
        "",
        f"- red recall: **{replies['recall']:.1%}** ({t['tp']}/{t['red']})",
        f"- red precision: **{replies['precision']:.1%}** ({t['tp']}/{t['tp'] + t['fp']})",
        f"- look-alikes judged red: **{t['fp']}** of {t['not_red']}",
        "",
        "| act | red replies | caught | with the act's code | look-alikes | look-alikes judged red |",
        "|---|---|---|---|---|---|",
    ]
    for act, c in sorted(replies["by_act"].items()):
        lines.append(f"| {act} | {c['red']} | {c['caught']} | {c['right_code']} | {c['look_alikes']} | {c['look_alikes_red']} |")
    if acts is not None:
        lines += ["", "### Dialogue acts (evaluation/intent_test/acts.yaml)", "",
                  "| intent | TP | FP | FN | precision | recall |", "|---|---|---|---|---|---|"]
        for intent, c in sorted(acts["per_intent"].items()):
            precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
            recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
            lines.append(f"| {intent} | {c['tp']} | {c['fp']} | {c['fn']} | {precision:.2f} | {recall:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ruleset", default="default")
    parser.add_argument("--json", action="store_true")
    tuned_flags = ", ".join(s.flag for s in SETS.values() if s.tuned)
    parser.add_argument("--errors", action="store_true", help=f"List the misjudged replies of a development set ({tuned_flags}).")
    parser.add_argument("--no-acts", action="store_true", help="Skip the dialogue-act part (for versions without intents).")
    for name, reply_set in SETS.items():
        if reply_set.flag:
            parser.add_argument(reply_set.flag, dest=name, action="store_true", help=reply_set.help)
    args = parser.parse_args(argv)
    from kefu_lint import Linter

    linter = Linter(args.ruleset)
    chosen = next((name for name, reply_set in SETS.items() if reply_set.flag and getattr(args, name)), "frozen")
    reply_set = SETS[chosen]
    if args.errors and not reply_set.tuned:
        parser.error(f"--errors lists the misjudged replies: only of a development set ({tuned_flags}), never of a frozen one")
    replies = evaluate_replies(linter, reply_set.folder)
    acts = None if args.no_acts or chosen != "frozen" else evaluate_acts(linter)
    if args.json:
        print(json.dumps({
            "recall": replies["recall"], "precision": replies["precision"], "totals": replies["totals"],
            "by_act": replies["by_act"], "acts": acts and acts["per_intent"],
        }, ensure_ascii=False, indent=2))
    else:
        suffix = f", {reply_set.title}" if reply_set.title else ""
        print(report(replies, acts, f"ruleset {args.ruleset}{suffix}", reply_set.source), end="")
    if args.errors:
        for kind, item, result in replies["wrong"]:
            print(f"- {kind}: {item['text']} → {result.grade} {[v.code for v in result.violations]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
