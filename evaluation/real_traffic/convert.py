"""Turn the labelled paraphrases into intent example files (rulesets/intents/*-jddc-paraphrase.yaml).

    python evaluation/real_traffic/convert.py 4      # then: kefu-lint train default

Both rounds (``*_labels.yaml``, ``*_labels2.yaml``); rows marked ``dropped`` (too close to a
JDDC line) or ``held_out`` (the held-out third of round 2, measured by ``heldout.py``) are
never written.
"""
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE.parent.parent / "src" / "kefu_lint" / "rulesets" / "intents"
WEIGHT = int(sys.argv[1]) if len(sys.argv) > 1 else 4
RED = {"refusal", "blame-shifting", "rude", "threat", "contradiction-opener", "off-platform"}


def rows(role: str) -> list[dict]:
    found = []
    for name in (f"{role}_labels.yaml", f"{role}_labels2.yaml"):
        found += [r for r in yaml.safe_load((HERE / name).read_text(encoding="utf-8")) if not r.get("dropped") and not r.get("held_out")]
    return found


def dump(intent: str, positive: list[str], negative: list[str], header: list[str]) -> None:
    path = OUT / f"{intent}-jddc-paraphrase.yaml"
    lines = [f"# {line}" for line in header] + [f"intent: {intent}", f"weight: {WEIGHT}", "positive:"]
    quoted = lambda s: "  - " + yaml.safe_dump(s, allow_unicode=True, width=10**6, default_style='"').strip().removesuffix("...").strip()
    lines += [quoted(s) for s in dict.fromkeys(positive)] or ["  []"]
    lines.append("negative:")
    lines += [quoted(s) for s in dict.fromkeys(negative) if s not in positive]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["intent"] == intent
    print(path.name, len(positive), len(negative))


def header(what: str, role: str, selected: str) -> list[str]:
    return [f"{what}: paraphrases (not copies) written by helper sessions of real {role} lines of the",
            "JDDC sample (../shared/corpora/), drawn from conversations outside the 150 labelled for evaluation,",
            "each labelled by evaluation/POLICY.md (evaluation/real_traffic/, two rounds). Source lines were",
            selected,
            "The weight makes these few hundred real-traffic lines count against thousands of written ones."]


customer = rows("customer")
customer_header = header("Customer messages for the customer intents", "customer",
                         "ones the model judged complaints, ones with marks of mild upset, and random others.")
for intent in ["complaint", "delay-complaint", "question", "change-request", "sign-off"]:
    dump(intent, [r["paraphrase"] for r in customer if intent in r["acts"]],
         [r["paraphrase"] for r in customer if intent not in r["acts"]], customer_header)

# Round 2's few red rows are left out of the red intents (its look-alikes stay ordinary): its
# labeller called bare hedges refusals (「具体时间我们也无法估计」), where the conversation
# auditors' written decision is that a hedge is not red (evaluation/README.md, open cases).
agent = [r for r in rows("agent") if "context" not in r or not set(r["acts"]) & RED]
second_lookalikes = [r["lookalike"] for r in rows("agent") if "context" in r and set(r["acts"]) & RED and r.get("lookalike")]
agent_header = header("Agent replies", "agent",
                      "ones the model judged red, bare answers, negated openers, soothing words, random others; a red or curt one has a look-alike.")
clean = [r["paraphrase"] for r in agent if not set(r["acts"]) & RED]
lookalikes = [r["lookalike"] for r in agent if set(r["acts"]) & (RED | {"curt"}) and r.get("lookalike")]
dump("ordinary", clean + lookalikes + second_lookalikes, [], agent_header)
opens_negated = lambda s: re.match(r"^(?:亲爱的|亲亲|亲|您好|你好)?[\s，,~]*[不没]", s) is not None
dump("contradiction-opener", [r["paraphrase"] for r in agent if "contradiction-opener" in r["acts"]],
     [s for s in clean if opens_negated(s)] + lookalikes, agent_header)
dump("refusal", [r["paraphrase"] for r in agent if "refusal" in r["acts"]],
     lookalikes + [r["paraphrase"] for r in agent if set(r["acts"]) & RED and "refusal" not in r["acts"]], agent_header)
# the green acts: round 2 labelled them (round 1 judged red acts only, so its rows are left out)
second = [r for r in agent if "context" in r]
for intent in ["empathy", "apology"]:
    dump(intent, [r["paraphrase"] for r in second if intent in r["acts"]],
         [r["paraphrase"] for r in second if intent not in r["acts"]], agent_header)
