"""Generate a chat log (JSONL) that looks like real customer-service traffic, for benchmarks
and scale tests.

What real logs show, and this one does:

- **Agent texts mostly distinct.** Replies are composed from an opener, a scene's body with
  its slots filled (products, sizes, order numbers, dates, amounts, couriers) and a closer;
  agents then make typos (a homophone for a character), vary punctuation (full- or
  half-width, "~", emoji) and address forms (亲 / 亲亲 / 您). Quick replies are reused
  verbatim (``--canned``, a share of agent messages): the part a result cache can answer.
- **A realistic share of findings**: about one agent reply in twelve is a bad one
  (a refusal, a blunt order, a bare "嗯", shouting, a phone number left in a reply), most
  of them composed with slots too, so that they are new to a cache as well.
- Conversations of 4 to 20 messages, interleaved about in the order things happened (not
  strictly sorted, as logs merged from several desks are not); epoch timestamps with
  delays of seconds to a minute and a half; several shops, each with its own agents; a share of
  conversations transferred to a second agent part-way (``正在为您转接…``); every message
  with a message id.

The same seed and size always give the same bytes (``random.Random(seed)``, no other
source of randomness), so benchmark runs compare like with like.

    python benchmarks/generate_log.py 1000000 > big.jsonl
    python benchmarks/generate_log.py 300000 --seed 7 --canned 0.2 -o audit.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

DEFAULT_SEED = 7
#: Share of agent messages that are quick replies sent verbatim (the rest are composed).
DEFAULT_CANNED = 0.2
#: Share of agent messages that break the etiquette (what a linter should flag).
DEFAULT_BAD = 0.08
#: Share of conversations handed over to a second agent part-way.
DEFAULT_TRANSFERS = 0.06

SHOPS = ["旗舰店", "官方直营店", "母婴专营店", "数码专卖店", "家居生活馆", "运动户外店"]
PRODUCTS = ["羽绒服", "连衣裙", "运动鞋", "蓝牙耳机", "保温杯", "婴儿推车", "扫地机器人", "电饭煲", "双肩包", "护肤套装",
            "牛仔裤", "卫衣", "充电宝", "台灯", "床上四件套", "奶粉", "跑步机", "机械键盘", "防晒霜", "行李箱"]
COLOURS = ["黑色", "白色", "藏青", "米色", "灰色", "粉色", "卡其", "酒红"]
SIZES = ["S码", "M码", "L码", "XL码", "XXL码", "36码", "38码", "40码", "42码", "均码"]
COURIERS = ["顺丰", "中通", "圆通", "韵达", "京东物流", "邮政", "申通"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆"]

CUSTOMER = [
    "在吗?", "在吗", "你好", "这款{product}有货吗?", "{product}什么时候发货?", "我的快递怎么还没到，都{days}天了",
    "地址改成{city}市{district}区建国路{number}号", "能便宜点吗", "{product}坏了怎么退货?", "你们这服务太差了，我要投诉",
    "好的谢谢", "谢谢", "尺码怎么选?我身高{height}体重{weight}斤", "发票怎么开?", "订单号{order}，帮我查一下",
    "{colour}的还有吗", "可以用优惠券吗", "我要退款", "收到的{product}颜色不对", "多久能到{city}?", "嗯嗯", "好吧",
    "为什么还没发货", "能换成{size}吗", "质量怎么样", "有赠品吗", "拍错了，能改吗", "快递显示签收了但我没收到",
]

OPENERS = ["", "", "", "亲，", "亲亲，", "您好，", "您好亲，", "在的亲，", "好的，", "嗯嗯亲，", "稍等哦，", "久等了，"]
CLOSERS = ["", "", "", "哦", "呢", "~", "，请您放心", "，有问题随时联系我们", "，祝您购物愉快", "，感谢您的耐心等待", "，还有什么可以帮您的吗?"]
#: The bodies of composed agent replies, by scene; slots are filled per message.
BODIES = [
    "这款{product}目前{colour}{size}有现货，今天{hour}点前下单当天发出",
    "您的订单{order}已经在打包了，预计{days}天内送到{city}",
    "帮您查到了，包裹由{courier}配送，单号{tracking}，目前在{city}中转",
    "{product}的尺码建议您选{size}，身高{height}的亲一般都穿这个",
    "已经为您修改地址为{city}市{district}区建国路{number}号，请您核对一下",
    "非常抱歉给您带来不便，{product}的问题我们马上为您处理，您可以申请退货，运费由我们承担",
    "非常理解您的心情，我这边马上联系{courier}核实，{hours}小时内给您回复",
    "麻烦您提供一下订单号，我帮您查询{product}的物流",
    "现在下单{product}可以享受满{amount}减{discount}的优惠",
    "已为您申请{discount}元无门槛优惠券作为补偿，{days}天内有效",
    "{product}支持七天无理由退换，您在订单页点申请售后就可以了",
    "发票可以开的，确认收货后在订单详情里申请电子发票，{days}个工作日内开好",
    "由于近期{city}仓库爆仓，{product}会延迟{days}天左右发货，给您添麻烦了",
    "{colour}的暂时缺货，预计{days}天后补货，可以先帮您登记到货提醒",
    "这款{product}是{amount}元包邮的，今天还送{gift}",
    "您的退款{amount}元已经原路退回，{days}个工作日内到账",
    "收到的{product}颜色不对的话，麻烦拍张照片给我，我们给您补发{colour}的",
]
GIFTS = ["运费险", "收纳袋", "试用装", "清洁布", "贴纸", "小样一份"]
#: Quick replies agents paste verbatim (a result cache answers these after the first time).
CANNED = [
    "您好，欢迎光临，很高兴为您服务", "有的亲，今天下单今天发出", "亲，这款48小时内发货哦", "好的，已为您修改，请您核对一下",
    "感谢您的信任，祝您购物愉快!", "麻烦您提供一下订单号，我帮您查询", "好的亲，马上为您处理", "亲，还有什么可以帮您的吗?",
    "您好，在的，请问有什么可以帮您?", "感谢您的耐心等待", "亲，稍等，我帮您查一下",
]
#: Bad replies (refusals, blunt orders, shouting, a bare acknowledgement, personal data),
#: mostly with slots, so that they are as new to a cache as the good ones.
BAD = [
    "不行，这个不算售后", "你自己看详情页", "嗯", "已经发货了!!!", "您的电话{phone}已登记", "不知道呢，您问问{courier}吧",
    "你的快递明天到", "不行，{product}拆封了不能退", "你自己去{courier}官网查单号{tracking}", "这个不归我们管，你找{courier}",
    "不知道，{product}没货了", "已经说过了，{days}天内发货!!!", "你自己选{size}吧", "没办法，系统就是这样",
    "您的手机号{phone}已经帮您改好了", "不行，优惠券不能叠加",
]
TRANSFER = ["正在为您转接售后专员，请稍等", "这个问题我帮您转接到售后同事处理哦", "亲，为您转接专属客服，请稍候"]
GREETING = ["您好，欢迎光临{shop}，很高兴为您服务", "您好，我是客服{name}，请问有什么可以帮您?", "亲，在的，{shop}客服{name}为您服务",
            "您好，我是{name}，{product}今天满{amount}减{discount}，请问有什么可以帮您?", "您好，{shop}{name}在线，您想了解哪款{product}呢?"]
FAREWELL = ["感谢您的耐心等待，祝您生活愉快!", "不客气，有问题随时联系我们哦", "好的，祝您购物愉快，再见~"]
CUSTOMER_GOODBYE = ["好的谢谢", "谢谢，没有了", "好的，再见", "行，谢谢你"]

#: Typos agents make: a character swapped for a homophone or a neighbour on the keyboard.
TYPOS = {"您": "你", "的": "地", "在": "再", "已": "以", "哦": "噢", "帮": "邦", "查": "差", "货": "或", "马": "吗",
         "上": "尚", "候": "后", "款": "宽", "退": "腿", "号": "好", "天": "填"}
#: Punctuation variants: full-width to half-width, and trailing ornaments.
PUNCTUATION = [("，", ","), ("!", "！"), ("?", "？"), ("。", ".")]
ORNAMENTS = ["", "", "", "", "~", "~~", "哈", "😊", "[微笑]", "！", "。"]


def _fill(template: str, rng: random.Random, shop: str, agent: str) -> str:
    slots = {
        "product": rng.choice(PRODUCTS), "colour": rng.choice(COLOURS), "size": rng.choice(SIZES),
        "courier": rng.choice(COURIERS), "city": rng.choice(CITIES), "district": rng.choice("东西南北中") + "城",
        "number": rng.randint(1, 300), "days": rng.randint(1, 15), "hours": rng.choice([2, 4, 12, 24, 48]),
        "hour": rng.choice([15, 16, 17, 18]), "height": rng.randint(150, 190), "weight": rng.randint(80, 200),
        "order": str(rng.randint(10**17, 10**18 - 1)), "tracking": f"SF{rng.randint(10**11, 10**12 - 1)}",
        "amount": rng.choice([49, 59, 99, 128, 199, 299, 399]), "discount": rng.choice([5, 10, 20, 30, 50]),
        "gift": rng.choice(GIFTS), "phone": f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}",
        "shop": shop, "name": agent.split("客服")[-1],
    }
    return template.format(**slots)


def _vary(text: str, rng: random.Random) -> str:
    """What agents do to a reply as they type it: a typo, punctuation, an ornament."""
    if rng.random() < 0.12:
        positions = [i for i, ch in enumerate(text) if ch in TYPOS]
        if positions:
            i = rng.choice(positions)
            text = text[:i] + TYPOS[text[i]] + text[i + 1:]
    if rng.random() < 0.25:
        before, after = rng.choice(PUNCTUATION)
        text = text.replace(before, after)
    return text + rng.choice(ORNAMENTS)


def agent_text(rng: random.Random, shop: str, agent: str, *, canned: float, bad: float) -> str:
    draw = rng.random()
    if draw < bad:
        return _fill(rng.choice(BAD), rng, shop, agent)
    if draw < bad + canned:
        return rng.choice(CANNED)
    text = rng.choice(OPENERS) + _fill(rng.choice(BODIES), rng, shop, agent) + rng.choice(CLOSERS)
    return _vary(text, rng)


def generate(total: int, seed: int = DEFAULT_SEED, *, canned: float = DEFAULT_CANNED, bad: float = DEFAULT_BAD,
             transfers: float = DEFAULT_TRANSFERS, active_conversations: int = 60) -> Iterator[dict]:
    """``total`` message records, conversations interleaved by time."""
    rng = random.Random(seed)
    staff = {shop: [f"{shop}-客服{name}" for name in rng.sample("小美 小雪 阿杰 小林 阿花 小王 小李 小张 小赵 小陈 阿明 小周".split(), 6)]
             for shop in SHOPS}
    active: list[dict] = []
    produced = conversation = 0
    clock = 1_762_000_000.0
    while produced < total:
        if len(active) < active_conversations or rng.random() < 0.05:
            conversation += 1
            shop = rng.choice(SHOPS)
            active.append({"id": f"c{conversation:08d}", "shop": shop, "agent": rng.choice(staff[shop]), "sent": 0,
                           "left": rng.randint(4, 20), "turn": "customer", "transfer": rng.random() < transfers,
                           "clock": clock})
        state = rng.choice(active)
        clock += rng.uniform(0.05, 0.6)
        # Each conversation keeps its own pace (answers in seconds to a minute and a half); the
        # log is written about in the order things happened across the shops.
        state["clock"] = max(state["clock"] + rng.uniform(3, 90), clock)
        record = {"conversation_id": state["id"], "message_id": f"{state['id']}-{state['sent']}", "shop": state["shop"]}
        last = state["left"] <= 1
        if state["turn"] == "customer":
            text = rng.choice(CUSTOMER_GOODBYE) if last else _fill(rng.choice(CUSTOMER), rng, state["shop"], state["agent"])
            record.update(role="customer", text=text)
            state["turn"] = "agent"
        else:
            agent = state["agent"]
            if state["sent"] <= 1:
                text = _vary(_fill(rng.choice(GREETING), rng, state["shop"], agent), rng)
            elif last:
                text = _vary(rng.choice(FAREWELL), rng)
            elif state["transfer"] and state["sent"] >= 5:
                text = rng.choice(TRANSFER)
                state["transfer"] = False
                state["agent"] = rng.choice([other for other in staff[state["shop"]] if other != agent])
            else:
                text = agent_text(rng, state["shop"], agent, canned=canned, bad=bad)
            record.update(role="agent", text=text, agent=agent)
            state["turn"] = "customer" if rng.random() < 0.8 else "agent"  # now and then two agent messages in a row
        record["time"] = round(state["clock"], 1)
        produced += 1
        state["sent"] += 1
        state["left"] -= 1
        if state["left"] <= 0:
            active.remove(state)
        yield record


def write(path_or_stream, total: int, **options) -> None:
    out = path_or_stream
    for record in generate(total, **options):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("messages", nargs="?", type=int, default=100_000, help="how many messages (default 100,000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED}): the same seed, the same log")
    parser.add_argument("--canned", type=float, default=DEFAULT_CANNED,
                        help=f"share of agent messages that are quick replies sent verbatim (default {DEFAULT_CANNED})")
    parser.add_argument("--bad", type=float, default=DEFAULT_BAD, help=f"share of bad agent replies (default {DEFAULT_BAD})")
    parser.add_argument("--transfers", type=float, default=DEFAULT_TRANSFERS,
                        help=f"share of conversations handed over to another agent (default {DEFAULT_TRANSFERS})")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of to stdout")
    options = parser.parse_args(argv)
    if options.messages < 0:
        parser.error("messages must be 0 or more")
    for name in ("canned", "bad", "transfers"):
        if not 0 <= getattr(options, name) <= 1:
            parser.error(f"--{name} must be between 0 and 1")
    if options.canned + options.bad > 1:
        parser.error("--canned and --bad together must be at most 1")
    settings = {"seed": options.seed, "canned": options.canned, "bad": options.bad, "transfers": options.transfers}
    if options.output is None:
        write(sys.stdout, options.messages, **settings)
    else:
        with options.output.open("w", encoding="utf-8") as out:
            write(out, options.messages, **settings)


if __name__ == "__main__":
    main()
