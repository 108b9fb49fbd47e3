"""Turn the labelled paraphrases into intent example files (rulesets/intents/*-jddc-paraphrase.yaml).

    python evaluation/real_traffic/convert.py customer 4
    python evaluation/real_traffic/convert.py agent 4      # then: kefu-lint train default
"""
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE.parent.parent / "src" / "kefu_lint" / "rulesets" / "intents"
def dump(intent, positive, negative, header):
    path = OUT / f"{intent}-jddc-paraphrase.yaml"
    lines = [f"# {l}" for l in header] + [f"intent: {intent}", f"weight: {WEIGHT}", "positive:"]
    q = lambda s: "  - " + yaml.safe_dump(s, allow_unicode=True, width=10**6, default_style='"').strip().removesuffix("...").strip()
    lines += [q(s) for s in dict.fromkeys(positive)] or ["  []"]
    lines.append("negative:")
    lines += [q(s) for s in dict.fromkeys(negative) if s not in positive]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert yaml.safe_load(path.read_text())["intent"] == intent
    print(path.name, len(positive), len(negative))
def _header(what: str, role: str, selected: str) -> list[str]:
    return [f"{what}: paraphrases (not copies) written by a helper session of real {role} lines of the",
            "JDDC sample (../shared/corpora/), drawn from conversations outside the 150 labelled for evaluation,",
            "each labelled by evaluation/POLICY.md (evaluation/real_traffic/). Most of the source lines were ones",
            selected,
            "The weight makes these few hundred real-traffic lines count against thousands of written ones."]


kind = sys.argv[1]
WEIGHT = int(sys.argv[2])
if kind == "customer":
    rows = yaml.safe_load((HERE / "customer_labels.yaml").read_text(encoding="utf-8"))
    header = _header("Customer messages for the customer intents", "customer",
                     "the model judged complaints: they are the hard negatives of real traffic (calm questions, fault reports).")
    for intent in ["complaint", "delay-complaint", "question", "change-request", "sign-off"]:
        dump(intent, [r["paraphrase"].strip() for r in rows if intent in r["acts"]],
             [r["paraphrase"].strip() for r in rows if intent not in r["acts"]], header)
if kind == "agent":
    import re
    rows = yaml.safe_load((HERE / "agent_labels.yaml").read_text(encoding="utf-8"))
    header = _header("Agent replies", "agent",
                     "the model judged red; for a red one there is also a polite look-alike from the same moment.")
    clean = [r["paraphrase"].strip() for r in rows if not r["acts"]]
    lookalikes = [r["lookalike"].strip() for r in rows if r["acts"] and r.get("lookalike")]
    dump("ordinary", clean + lookalikes, [], header)
    opens_negated = lambda s: re.match(r"^(?:亲爱的|亲亲|亲|您好|你好)?[\s，,~]*[不没]", s) is not None
    co = [r["paraphrase"].strip() for r in rows if "contradiction-opener" in r["acts"]]
    dump("contradiction-opener", co, [s for s in clean if opens_negated(s)] + lookalikes, header)
    ref = [r["paraphrase"].strip() for r in rows if "refusal" in r["acts"]]
    dump("refusal", ref, lookalikes + [r["paraphrase"].strip() for r in rows if r["acts"] and "refusal" not in r["acts"]], header)
