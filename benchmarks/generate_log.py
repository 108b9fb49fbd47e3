"""Generate a realistic chat log (JSONL) of N messages for benchmarks and scale tests.

Replies are drawn from good and bad templates in the proportions real logs show (most
replies fine, a few red), conversations are interleaved by time as exports are, and
template replies repeat heavily, as they do in real logs.

    python benchmarks/generate_log.py 1000000 > big.jsonl
"""

from __future__ import annotations

import json
import random
import sys

CUSTOMER = ["在吗?", "这款有货吗?", "什么时候发货?", "我的快递怎么还没到，都一周了", "地址改成北京市朝阳区建国路{n}号",
            "能便宜点吗", "商品坏了怎么退货?", "你们这服务太差了，我要投诉", "好的谢谢", "尺码怎么选?", "发票怎么开?"]
AGENT_GOOD = ["您好，欢迎光临，很高兴为您服务", "有的亲，今天下单今天发出", "亲，这款48小时内发货哦", "好的，已为您修改，请您核对一下",
              "非常理解您的心情，我马上为您核实处理", "非常抱歉让您久等了，由于近期快递爆仓，包裹有所延误，我们为您申请了5元无门槛优惠券作为补偿",
              "感谢您的信任，祝您购物愉快!", "麻烦您提供一下订单号，我帮您查询", "尺码表在详情页第三张图，我也可以帮您推荐尺码", "好的亲，马上为您处理"]
AGENT_BAD = ["不行，这个不算售后", "你自己看详情页", "嗯", "已经发货了!!!", "您的电话{phone}已登记", "不知道呢，您问问快递吧", "你的快递明天到"]


def generate(total: int, seed: int = 7):
    rng = random.Random(seed)
    agents = [f"客服{i:03d}" for i in range(50)]
    active: list[dict] = []
    produced = 0
    conversation = 0
    clock = 1_762_000_000.0
    while produced < total:
        if len(active) < 40 or rng.random() < 0.1:
            conversation += 1
            active.append({"id": f"c{conversation:08d}", "agent": rng.choice(agents), "left": rng.randint(4, 16), "turn": "customer"})
        state = rng.choice(active)
        clock += rng.uniform(0.5, 6)
        if state["turn"] == "customer":
            text = rng.choice(CUSTOMER).format(n=rng.randint(1, 200))
            record = {"conversation_id": state["id"], "role": "customer", "text": text, "time": round(clock, 1)}
            state["turn"] = "agent"
        else:
            pool = AGENT_BAD if rng.random() < 0.08 else AGENT_GOOD
            text = rng.choice(pool).format(phone=f"13{rng.randint(100000000, 999999999)}")
            record = {"conversation_id": state["id"], "role": "agent", "text": text, "time": round(clock, 1), "agent": state["agent"]}
            state["turn"] = "customer"
        produced += 1
        state["left"] -= 1
        if state["left"] <= 0:
            active.remove(state)
        yield record


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    out = sys.stdout
    for record in generate(total):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
