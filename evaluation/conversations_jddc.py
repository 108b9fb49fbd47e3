"""Conversation judgement against auditors' labels on real JDDC chats.

``jddc_conversations/labels-*.yaml``: 150 conversations of the JDDC sample
(``../shared/corpora/``, referenced by id, never copied), each labelled by the standard
(``jddc_conversations/BRIEF.md``) before any conversation rule was tuned. A third of them,
chosen by a hash of the id, is the frozen test part: never tuned on.

    python evaluation/conversations_jddc.py            # the frozen test part (every round)
    python evaluation/conversations_jddc.py --round 2  # the second round (100, all frozen)
    python evaluation/conversations_jddc.py --round 3  # the third round's frozen part (54)
    python evaluation/conversations_jddc.py --dev      # the part tuning may read
    python evaluation/conversations_jddc.py --all --errors
    python evaluation/conversations_jddc.py --agreement  # two auditors on round 2, and kefu-lint against each

Also runs against an older checkout (``PYTHONPATH=old/src``) whose engine had no
``lint_conversation``, for before/after figures.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
JDDC = HERE.parent.parent / "shared" / "corpora" / "jddc_sample.tsv"

#: Label field -> the rule that reports the requirement missing.
REQUIREMENTS = {"greeting": "KF303", "close": "KF301", "empathy": "KF302", "apology_triad": "KF403"}
#: Labelled message acts -> the codes that count as finding them.
ACT_CODES = {
    "contradiction": {"KF101"}, "refusal": {"KF101", "KF102"}, "blame": {"KF102"}, "rude": {"KF103"},
    "privacy": {"KF104"}, "off_platform": {"KF501"}, "curt": {"KF204", "KF405"}, "informal_you": {"KF202"},
    "emotional_punct": {"KF201"}, "jargon": {"KF203"},
}
RED_ACTS = {"contradiction", "refusal", "blame", "rude", "privacy", "off_platform"}
#: What the labels judge: the grade is also compared on these codes alone (the labels say
#: nothing of confirming a change, KF404, nor of unanswered questions and timing, KF401/KF402).
LABELLED_CODES = set(REQUIREMENTS.values()) | {code for codes in ACT_CODES.values() for code in codes}


def frozen(item: dict) -> bool:
    """The first round's third whose id hashes to 0 mod 3, every conversation of the second
    round (``frozen-*.yaml``: labelled as a test set only), and the third round's
    ``round3-frozen-*.yaml`` (its ``round3-dev-*.yaml`` are for tuning)."""
    if item["round"] == 1:
        return int(hashlib.sha1(item["id"].encode()).hexdigest(), 16) % 3 == 0
    return item["frozen_file"]


#: Each labelling round and the files that hold it (``round3-draw.json`` says how round 3 was drawn).
ROUNDS = ((1, "labels-*.yaml"), (2, "frozen-*.yaml"), (3, "round3-*.yaml"))


def load_labels() -> list[dict]:
    """Every labelled conversation, each with its ``round``: 1 (``labels-*.yaml``, a third
    frozen by hash), 2 (``frozen-*.yaml``, all frozen) or 3 (``round3-dev-*.yaml`` for
    tuning, ``round3-frozen-*.yaml`` frozen)."""
    items = []
    for round_, pattern in ROUNDS:
        for path in sorted((HERE / "jddc_conversations").glob(pattern)):
            is_frozen = round_ == 2 or path.name.startswith("round3-frozen")
            items.extend({**item, "round": round_, "frozen_file": is_frozen}
                         for item in yaml.safe_load(path.read_text(encoding="utf-8")))
    return items


def second_opinions() -> dict[str, dict]:
    """A second auditor's labels of round 2 (``second-*.yaml``), by conversation id: written
    blind to the first, so their agreement is how far the standard decides a conversation."""
    opinions = {}
    for path in sorted((HERE / "jddc_conversations").glob("second-*.yaml")):
        opinions.update((item["id"], item) for item in yaml.safe_load(path.read_text(encoding="utf-8")))
    return opinions


def agreement(linter, items: list[dict], corpus) -> str:
    """Per field, how often the two auditors agree, and how often kefu-lint agrees with each;
    then kefu-lint's grade on the conversations whose grade both auditors gave alike."""
    second = second_opinions()
    items = [item for item in items if item["id"] in second]
    judged = {}
    for item in items:
        codes, grade, _ = judge(linter, item["id"], corpus[item["id"]])
        found = set().union(*codes.values()) if codes else set()
        judged[item["id"]] = {"grade": grade, **{f: "missing" if code in found else "met/n.a." for f, code in REQUIREMENTS.items()}}

    def same(field, a, b):
        if field == "grade":
            return a["grade"] == b["grade"]
        return (a[field] == "missing") == (b[field] == "missing")

    lines = [f"{len(items)} conversations labelled by two auditors, each blind to the other.", "",
             "| field | auditor 1 = auditor 2 | kefu-lint = auditor 1 | kefu-lint = auditor 2 |", "|---|---|---|---|"]
    for field in ("grade", *REQUIREMENTS):
        cells = [sum(same(field, x, y) for x, y in pairs) for pairs in (
            [(i, second[i["id"]]) for i in items], [(judged[i["id"]], i) for i in items], [(judged[i["id"]], second[i["id"]]) for i in items])]
        lines.append(f"| {field}{' (missing or not)' if field != 'grade' else ''} | " + " | ".join(ratio(c, len(items)) for c in cells) + " |")
    consensus = [i for i in items if i["grade"] == second[i["id"]]["grade"]]
    right = sum(judged[i["id"]]["grade"] == i["grade"] for i in consensus)
    lines += ["", f"- kefu-lint's grade on the {len(consensus)} conversations both auditors graded alike: **{ratio(right, len(consensus))}**"]
    return "\n".join(lines) + "\n"


def load_conversations() -> dict[str, list[tuple[str, str]]]:
    conversations: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with JDDC.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 7:
                conversations[parts[0]].append(("agent" if parts[2] == "1" else "customer", parts[6]))
    return conversations


def judge(linter, conversation_id: str, lines: list[tuple[str, str]]):
    """(codes per message index, conversation grade, grade from the labelled codes only) by
    whichever engine is installed."""
    from kefu_lint.model import ChatMessage

    messages = [ChatMessage(conversation_id, role, text, seq=i) for i, (role, text) in enumerate(lines)]
    if hasattr(linter, "lint_conversation"):
        result = linter.lint_conversation(messages)
    else:  # an engine from before the conversation was an engine input
        from kefu_lint.audit.scoring import ConversationScorer

        result = ConversationScorer(linter).score(messages)
    codes: dict[int, set[str]] = defaultdict(set)
    for finding in result.findings:
        codes[finding.message_index].add(finding.violation.code)
    from kefu_lint.engine import grade_of

    labelled = grade_of([f.violation for f in result.findings if f.violation.code in LABELLED_CODES])
    return codes, result.score.grade, labelled


def ratio(a: int, b: int) -> str:
    return f"{a / b:.0%} ({a}/{b})" if b else "n/a (0/0)"


def evaluate(linter, items: list[dict], corpus, errors: bool = False) -> dict:
    requirement = {field: Counter() for field in REQUIREMENTS}
    acts = {act: Counter() for act in ACT_CODES}
    red_messages = Counter()
    confusion = Counter()
    labelled_confusion = Counter()
    red_conversations = Counter()
    mistakes = []
    for item in items:
        codes, grade, labelled_grade = judge(linter, item["id"], corpus[item["id"]])
        found = set().union(*codes.values()) if codes else set()
        confusion[(item["grade"], grade)] += 1
        labelled_confusion[(item["grade"], labelled_grade)] += 1
        if item["grade"] == "red":
            red_conversations["tp" if grade == "red" else "fn"] += 1
        elif grade == "red":
            red_conversations["fp"] += 1
        for field, code in REQUIREMENTS.items():
            labelled = item.get(field) == "missing"
            flagged = code in found
            requirement[field]["tp" if labelled and flagged else "fn" if labelled else "fp" if flagged else "tn"] += 1
            if errors and labelled != flagged:
                mistakes.append(f"{item['id']} {field}: labelled {item.get(field)}, {'flagged' if flagged else 'not flagged'}")
        labelled_acts = defaultdict(set)
        for finding in item.get("findings") or []:
            labelled_acts[finding["index"]].add(finding["act"])
        red_codes = {c for a in RED_ACTS for c in ACT_CODES[a]}
        for index in set(labelled_acts) | set(codes):
            got = codes.get(index, set())
            want = labelled_acts.get(index, set())
            for act, act_codes in ACT_CODES.items():
                if act in want:
                    acts[act]["tp" if got & act_codes else "fn"] += 1
            is_red, said_red = bool(want & RED_ACTS), bool(got & red_codes)
            if is_red or said_red:
                red_messages["tp" if is_red and said_red else "fn" if is_red else "fp"] += 1
                if errors and is_red != said_red:
                    mistakes.append(f"{item['id']} message {index}: labelled {sorted(want) or 'clean'}, found {sorted(got) or 'nothing'}")
    correct = sum(n for (want, got), n in confusion.items() if want == got)
    return {
        "labelled_correct": sum(n for (want, got), n in labelled_confusion.items() if want == got),
        "labelled_confusion": labelled_confusion,
        "items": len(items), "requirement": requirement, "acts": acts, "red_messages": red_messages,
        "confusion": confusion, "accuracy": correct / len(items) if items else 0.0, "correct": correct,
        "red_conversations": red_conversations, "mistakes": mistakes,
    }


def report(result: dict, title: str) -> str:
    lines = [f"### {title}", "", f"{result['items']} conversations.", ""]
    lines.append(f"- conversation grade accuracy: **{ratio(result['correct'], result['items'])}** (every rule);"
                 f" {ratio(result['labelled_correct'], result['items'])} on the rules the labels judge (not KF401, KF402, KF404)")
    rc = result["red_conversations"]
    lines.append(f"- red conversations: recall {ratio(rc['tp'], rc['tp'] + rc['fn'])}, precision {ratio(rc['tp'], rc['tp'] + rc['fp'])}")
    rm = result["red_messages"]
    lines.append(f"- red messages: recall {ratio(rm['tp'], rm['tp'] + rm['fn'])}, precision {ratio(rm['tp'], rm['tp'] + rm['fp'])}")
    lines += ["", "| requirement (finding: missing) | labelled missing | flagged | precision | recall |", "|---|---|---|---|---|"]
    for field, c in result["requirement"].items():
        lines.append(f"| {field} ({REQUIREMENTS[field]}) | {c['tp'] + c['fn']} | {c['tp'] + c['fp']} | {ratio(c['tp'], c['tp'] + c['fp'])} | {ratio(c['tp'], c['tp'] + c['fn'])} |")
    lines += ["", "| labelled act | messages | found (recall) |", "|---|---|---|"]
    for act, c in result["acts"].items():
        if c["tp"] + c["fn"]:
            lines.append(f"| {act} | {c['tp'] + c['fn']} | {ratio(c['tp'], c['tp'] + c['fn'])} |")
    grades = ("green", "yellow", "red")
    lines += ["", "| labelled \\ judged | " + " | ".join(grades) + " |", "|---|---|---|---|"]
    for want in grades:
        lines.append(f"| {want} | " + " | ".join(str(result["confusion"][(want, got)]) for got in grades) + " |")
    return "\n".join(lines) + "\n"


def shares(linter, corpus) -> dict:
    """Over every conversation of the sample: the share per grade and per requirement finding."""
    grades, codes = Counter(), Counter()
    for conversation_id, lines in corpus.items():
        found, grade, _ = judge(linter, conversation_id, lines)
        grades[grade] += 1
        for code in set().union(*found.values()) if found else set():
            codes[code] += 1
    return {"conversations": len(corpus), "grades": dict(grades), "codes": dict(codes)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--dev", action="store_true", help="the two thirds tuning may read")
    part.add_argument("--all", action="store_true", help="every labelled conversation")
    parser.add_argument("--errors", action="store_true", help="list the disagreements (not with the frozen part)")
    parser.add_argument("--round", type=int, choices=(1, 2, 3), help="one labelling round only (its frozen part, or with --dev its development part)")
    parser.add_argument("--agreement", action="store_true", help="two auditors on round 2 against each other and against kefu-lint")
    parser.add_argument("--shares", action="store_true", help="shares per grade and per rule over the whole sample, as YAML")
    parser.add_argument("--ruleset", default="default")
    parser.add_argument("--tokenizer", default="jieba")
    args = parser.parse_args(argv)
    if not JDDC.is_file():
        print(f"the JDDC sample is not at {JDDC}", file=sys.stderr)
        return 2
    from kefu_lint import Linter

    if args.shares:
        print(yaml.safe_dump(shares(Linter(args.ruleset, tokenizer=args.tokenizer), load_conversations()), sort_keys=True))
        return 0
    items = load_labels()
    if args.agreement:
        print(agreement(Linter(args.ruleset, tokenizer=args.tokenizer), items, load_conversations()))
        return 0
    if args.dev:
        items = [i for i in items if not frozen(i) and (args.round is None or i["round"] == args.round)]
        title = "Development part (tuned on)" + (f", round {args.round}" if args.round else "")
    elif args.all:
        title = "All labelled conversations"
    else:
        items = [i for i in items if frozen(i) and (args.round is None or i["round"] == args.round)]
        title = "Frozen test part (never tuned on)" + (f", round {args.round}" if args.round else "")
        if args.errors:
            parser.error("--errors lists mistakes: not on the frozen part")
    result = evaluate(Linter(args.ruleset, tokenizer=args.tokenizer), items, load_conversations(), errors=args.errors)
    print(report(result, title))
    for mistake in result["mistakes"]:
        print(mistake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
