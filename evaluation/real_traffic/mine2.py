"""Second draw of real lines for labelling (see evaluation/README.md, "Real traffic in the
training data"): from the JDDC conversations outside the 150 labelled for evaluation, lines not
drawn the first time (lines.json), chosen where the model was weakest on the development
conversations: customers who are mildly upset without 投诉/差评 (a marker list below, biased on
purpose, mixed with the lines the model calls complaints and with random ones), and agent replies
that answer a question with a bare word, send the customer elsewhere, open with a negation or
soothe, mixed with random ones. Shuffled so the labeller cannot tell which was which.

    python evaluation/real_traffic/mine2.py OUT_DIR

Writes OUT_DIR/customer_lines2.tsv, agent_lines2.tsv (JDDC text: keep them out of the repo) and
lines2.json (conversation id and message index of each row: what this folder keeps)."""
import csv
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import conversations_jddc as cj  # noqa: E402
from kefu_lint import Linter  # noqa: E402

OUT = Path(sys.argv[1])
UPSET = re.compile(r"一直|这么久|怎么还|还没|急|人呢|经常|白买|到底|好几|天天|什么情况|怎么回事|搞|烦|太慢|太差|无语|服了|晕|[?？]{2,}|[!！]{2,}|算了|呵呵|又|居然|竟然|凭什么|坑|骗|垃圾|失望|郁闷|麻烦死")
ELSEWHERE = re.compile(r"联系商家|问问|联系配送|联系快递|自己|您去|找商家|联系卖家|打电话给|拨打")
SOOTHE = re.compile(r"理解|抱歉|不好意思|对不起|辛苦|久等|着急|心情|放心")
BARE = re.compile(r"^[\s亲哦呢的啊呀哈~。.！!]*(好的|好|对的|对|是的|是|可以的?|有的?|没有的?|行的?|嗯+|恩+|哦+|在的?|发了|不行|不可以|不能)[\s亲哦呢的啊呀哈~。.！!]*$")
linter = Linter()
labelled = {item["id"] for item in cj.load_labels()}
drawn = json.loads((HERE / "lines.json").read_text(encoding="utf-8"))
taken = {(c, i) for role in drawn.values() for c, i in role}
corpus = cj.load_conversations()
pools: dict[str, list] = {name: [] for name in ("upset", "complaint", "customer", "bare", "elsewhere", "negated", "soothe", "agent")}
for cid, lines in corpus.items():
    if cid in labelled:
        continue
    for i, (role, text) in enumerate(lines):
        if (cid, i) in taken or len(text.strip()) < 1:
            continue
        prev = lines[i - 1][1] if i else ""
        row = (cid, i, prev, text)
        if role == "customer":
            acts = linter.acts(text, role="customer")
            if acts & {"complaint", "delay-complaint"}:
                pools["complaint"].append(row)
            elif UPSET.search(text):
                pools["upset"].append(row)
            else:
                pools["customer"].append(row)
        else:
            previous_role = lines[i - 1][0] if i else ""
            if BARE.match(text) and previous_role == "customer":
                pools["bare"].append(row)
            elif ELSEWHERE.search(text):
                pools["elsewhere"].append(row)
            elif re.match(r"^(亲爱的|亲亲|亲|您好)?[\s，,~]*[不没]", text):
                pools["negated"].append(row)
            elif SOOTHE.search(text):
                pools["soothe"].append(row)
            else:
                pools["agent"].append(row)
rng = random.Random(20261203)
for rows in pools.values():
    rng.shuffle(rows)
print({name: len(rows) for name, rows in pools.items()})
customer = pools["upset"][:180] + pools["complaint"][:80] + pools["customer"][:140]
agent = pools["bare"][:70] + pools["elsewhere"][:80] + pools["negated"][:70] + pools["soothe"][:60] + pools["agent"][:120]
rng.shuffle(customer)
rng.shuffle(agent)


def write(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t")
        writer.writerow(["n", "previous_message", "text"])
        for n, (_cid, _i, prev, text) in enumerate(rows):
            writer.writerow([n, prev.replace("\t", " ")[:160], text.replace("\t", " ")])


write(OUT / "customer_lines2.tsv", customer)
write(OUT / "agent_lines2.tsv", agent)
(HERE / "lines2.json").write_text(json.dumps({"customer": [(c, i) for c, i, *_ in customer], "agent": [(c, i) for c, i, *_ in agent]}), encoding="utf-8")
