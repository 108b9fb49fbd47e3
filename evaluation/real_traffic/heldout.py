"""Judgement on real lines an auditor labelled and no model was trained on: the held-out third
of the second round (``*_labels2.yaml``, rows marked ``held_out``; their text is read from
``../shared/corpora/`` by conversation id and message index).

    python evaluation/real_traffic/heldout.py            # held-out rows only
    python evaluation/real_traffic/heldout.py --all      # every row (honest only before training on round 2)

Each line is judged the way an audit judges it, in its place: the customer's line followed
by a neutral agent reply (does it set off the empathy requirement, KF302?), the agent's line
after the real previous message (red findings, curt KF204/KF405, its acts)."""
import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import conversations_jddc as cj  # noqa: E402
from kefu_lint import Linter  # noqa: E402
from kefu_lint.model import ChatMessage  # noqa: E402

RED_ACTS = {"refusal", "blame-shifting", "rude", "threat", "contradiction-opener", "off-platform"}
RED_CODES = {"KF101", "KF102", "KF103", "KF104", "KF501", "KF502"}
NEUTRAL_REPLY = "请提供一下订单号"


def tally(counter: Counter, labelled: bool, judged: bool) -> None:
    counter["tp" if labelled and judged else "fn" if labelled else "fp" if judged else "tn"] += 1


def row_of(name: str, c: Counter) -> str:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    p = f"{tp / (tp + fp):.0%} ({tp}/{tp + fp})" if tp + fp else "n/a"
    r = f"{tp / (tp + fn):.0%} ({tp}/{tp + fn})" if tp + fn else "n/a"
    return f"| {name} | {tp + fn} | {tp + fp} | {p} | {r} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every row, not only the held-out third")
    parser.add_argument("--errors", action="store_true")
    args = parser.parse_args()
    linter = Linter()
    corpus = cj.load_conversations()
    counts: dict[str, Counter] = {}
    errors = []
    for role in ("customer", "agent"):
        rows = yaml.safe_load((HERE / f"{role}_labels2.yaml").read_text(encoding="utf-8"))
        for row in rows:
            if not args.all and not row.get("held_out"):
                continue
            lines = corpus[row["conversation"]]
            text = lines[row["message"]][1]
            labels = set(row["acts"])
            if role == "customer":
                result = linter.lint_conversation([ChatMessage("c", "customer", text, seq=0), ChatMessage("c", "agent", NEUTRAL_REPLY, seq=1)])
                upset = any(f.violation.code == "KF302" for f in result.findings)
                tally(counts.setdefault("customer upset (sets off KF302)", Counter()), "complaint" in labels, upset)
                acts = result.messages[0].acts
                for act in ("delay-complaint", "question", "change-request", "sign-off"):
                    tally(counts.setdefault(f"customer act {act}", Counter()), act in labels, act in acts)
                if args.errors and ("complaint" in labels) != upset:
                    errors.append(f"customer upset: labelled {'complaint' in labels}, judged {upset}: {text[:60]}")
            else:
                index = row["message"]
                previous = lines[index - 1] if index else None
                messages = ([ChatMessage("c", previous[0], previous[1], seq=0)] if previous else []) + [ChatMessage("c", "agent", text, seq=1)]
                result = linter.lint_conversation(messages)
                mine = [f.violation.code for f in result.findings if f.message_index == len(messages) - 1]
                red = bool(set(mine) & RED_CODES)
                tally(counts.setdefault("agent red (any red act)", Counter()), bool(labels & RED_ACTS), red)
                curt = bool({"KF204", "KF405"} & set(mine))
                tally(counts.setdefault("agent curt (KF204, KF405)", Counter()), "curt" in labels, curt)
                acts = result.messages[-1].acts
                for act in ("empathy", "apology"):
                    tally(counts.setdefault(f"agent act {act}", Counter()), act in labels, act in acts)
                if args.errors and (bool(labels & RED_ACTS) != red or ("curt" in labels) != curt):
                    errors.append(f"agent: labelled {sorted(labels)}, found {sorted(mine)}: {text[:60]}")
    print("| judged | labelled | judged so | precision | recall |\n|---|---|---|---|---|")
    for name, counter in counts.items():
        print(row_of(name, counter))
    print("\n".join(errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
