"""Draw the real lines the helper sessions labelled and paraphrased (see evaluation/README.md,
"Real traffic in the training data"): from the JDDC conversations outside the 150 labelled for
evaluation, the customer lines the model of commit 9078725 judged complaints and the agent lines
it judged red, each mixed with random others, shuffled so the labeller cannot tell which.

    PYTHONPATH=old/src python evaluation/real_traffic/mine.py OUT_DIR   # needs ../shared/corpora/

Writes OUT_DIR/customer_lines.tsv and agent_lines.tsv (JDDC text: keep them out of the repo) and
lines.json (conversation id and message index of each row: what this folder keeps)."""
import csv
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
OUT = Path(sys.argv[1])
import conversations_jddc as cj
from kefu_lint import Linter
lin = Linter()
labelled = {i["id"] for i in cj.load_labels()}
corpus = cj.load_conversations()
RED = {"KF101", "KF102", "KF103", "KF104", "KF501", "KF502"}
cust_hit, cust_other, agent_hit, agent_other = [], [], [], []
for cid, lines in corpus.items():
    if cid in labelled:
        continue
    for i, (role, text) in enumerate(lines):
        prev = lines[i - 1][1] if i else ""
        if role == "customer":
            acts = {h.intent for h in lin.intents(text, role="customer")}
            (cust_hit if acts & {"complaint", "delay-complaint"} else cust_other).append((cid, i, prev, text, ",".join(sorted(acts))))
        else:
            codes = {v.code for v in lin.lint(text)}
            (agent_hit if codes & RED else agent_other).append((cid, i, prev, text, ",".join(sorted(codes & RED))))
rng = random.Random(20261202)
print(len(cust_hit), len(cust_other), len(agent_hit), len(agent_other))
rng.shuffle(cust_hit); rng.shuffle(cust_other); rng.shuffle(agent_hit); rng.shuffle(agent_other)
def write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["n", "previous_message", "text"])
        for n, (cid, i, prev, text, _) in enumerate(rows):
            w.writerow([n, prev.replace("\t", " ")[:120], text.replace("\t", " ")])
# the helper must not learn which the model flagged: mix and shuffle
cust = cust_hit[:260] + cust_other[:160]
agent = agent_hit[:220] + agent_other[:160]
rng.shuffle(cust); rng.shuffle(agent)
write(OUT / "customer_lines.tsv", cust)
write(OUT / "agent_lines.tsv", agent)
json.dump({"customer": [(c, i) for c, i, *_ in cust], "agent": [(c, i) for c, i, *_ in agent]}, open(OUT / "lines.json", "w"))
