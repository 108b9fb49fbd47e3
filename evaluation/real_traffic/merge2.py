"""Bring the second round's labels into the repository (see evaluation/README.md, "Real traffic
in the training data"), without JDDC text:

    python evaluation/real_traffic/merge2.py /tmp/rt2     # after mine2.py and the two labellers

Reads OUT_DIR/{customer,agent}_labels2.yaml (the labellers' files) and the drawn lines (to test
each paraphrase against the corpus), and writes customer_labels2.yaml and agent_labels2.yaml
here. A row is

- ``dropped`` when a paraphrase, look-alike or context equals a JDDC line of six characters or
  more or is more than 85% alike to its source: the repository holds no JDDC text;
- ``held_out`` when its conversation id hashes to 0 mod 3: never trained on, the held-out
  figures of ``heldout.py`` are measured on these rows (a conversation's lines stay together,
  so no held-out line shares a conversation with a trained one).
"""
import csv
import difflib
import hashlib
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import conversations_jddc as cj  # noqa: E402

SOURCE = Path(sys.argv[1])
LONG_LINES = {text.strip() for lines in cj.load_conversations().values() for _, text in lines if len(text.strip()) >= 6}


def held_out(conversation_id: str) -> bool:
    return int(hashlib.sha1(conversation_id.encode()).hexdigest(), 16) % 3 == 0


def too_close(written: str, source: str) -> bool:
    written = written.strip()
    return written in LONG_LINES or difflib.SequenceMatcher(None, written, source.strip()).ratio() > 0.85


def merge(role: str) -> None:
    refs = json.loads((HERE / "lines2.json").read_text(encoding="utf-8"))[role]
    with open(SOURCE / f"{role}_lines2.tsv", encoding="utf-8", newline="") as drawn:
        sources = [row["text"] for row in csv.DictReader(drawn, delimiter="\t")]
    rows = yaml.safe_load((SOURCE / f"{role}_labels2.yaml").read_text(encoding="utf-8"))
    assert [r["n"] for r in rows] == list(range(len(sources))), f"{role}: rows out of order"
    out, dropped = [], 0
    for row, source, (conversation_id, index) in zip(rows, sources, refs):
        item = {"n": row["n"], "conversation": conversation_id, "message": index, "acts": sorted(row.get("acts") or [])}
        for field in ("context", "paraphrase", "lookalike"):
            if row.get(field):
                item[field] = str(row[field]).strip()
        if held_out(conversation_id):
            item["held_out"] = True
        if any(too_close(item[f], source) for f in ("paraphrase", "lookalike") if f in item) or (
            "context" in item and item["context"] in LONG_LINES
        ):
            item["dropped"] = "too close to a JDDC line: the repo holds no JDDC text"
            for field in ("context", "paraphrase", "lookalike"):
                item.pop(field, None)  # the text itself is not kept
            dropped += 1
        out.append(item)
    (HERE / f"{role}_labels2.yaml").write_text(yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    print(role, len(out), "rows,", dropped, "dropped,", sum(1 for r in out if r.get("held_out")), "held out")


merge("customer")
merge("agent")
