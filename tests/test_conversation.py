"""The conversation as an engine input: turns, timing, states, conditions and who is responsible."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu_lint import Linter, load_ruleset
from kefu_lint.errors import RulesetError
from kefu_lint.model import ChatMessage


@pytest.fixture(scope="module")
def linter():
    return Linter()


def chat(*lines, cid="c", **common):
    """``("customer 0", "在吗")`` or ``("agent", "您好", "小美")`` -> ChatMessages in order."""
    messages = []
    for seq, line in enumerate(lines):
        head, text, *agent = line
        role, *seconds = head.split()
        messages.append(ChatMessage(cid, role, text, float(seconds[0]) if seconds else None,
                                    agent=agent[0] if agent else None, seq=seq, **common))
    return messages


def codes(result):
    return sorted((f.message_index, f.violation.code) for f in result.findings)


def test_turns_and_order(linter):
    conversation = linter.conversation(reversed(chat(
        ("customer 0", "在吗"), ("customer 2", "有货吗"), ("system 3", "客服小美为您服务"), ("agent 5", "您好"), ("agent 6", "有的亲"),
    )))
    assert [m.text for m in conversation.messages][:2] == ["在吗", "有货吗"]  # by time, not by input order
    assert [(t.role, t.start, t.end) for t in conversation.turns] == [("customer", 0, 2), ("agent", 3, 5)]


def test_first_response_has_one_definition(linter):
    # customer at 0 s, an agent message without a time, an agent reply at 100 s: the first
    # response is the untimed message, so its delay is unknown, and KF401 agrees.
    messages = chat(("customer 0", "在吗"), ("agent", "您好"), ("agent 100", "请问有什么可以帮您"))
    result = linter.lint_conversation(messages)
    assert result.first_response_seconds is None
    assert "KF401" not in {f.violation.code for f in result.findings}
    late = linter.lint_conversation(chat(("customer 0", "在吗"), ("agent 100", "您好，请问有什么可以帮您")))
    assert late.first_response_seconds == 100 and (1, "KF401") in codes(late)


@pytest.mark.parametrize("lines, ended", [
    ([("customer", "这个什么时候发货"), ("agent", "亲，今天下单明天发"), ("customer", "好的谢谢")], True),
    ([("customer", "这个什么时候发货"), ("agent", "亲，今天下单明天发")], True),  # answered, the customer went quiet
    ([("customer", "这个什么时候发货"), ("agent", "亲，今天下单明天发"), ("customer", "那能改地址吗")], False),  # cut off
    ([("customer", "我要退货"), ("agent", "好的，这边为您转接售后专员")], False),  # handed over
])
def test_when_a_conversation_ended(linter, lines, ended):
    assert linter.conversation(chat(*lines)).ended is ended


def test_the_close_is_judged_on_the_final_turn_only_when_the_chat_ended(linter):
    split_close = chat(("customer", "好的知道了"), ("agent", "感谢您的耐心"), ("agent", "祝您生活愉快"))
    assert "KF301" not in {c for _, c in codes(linter.lint_conversation(split_close))}
    further_help = chat(("customer", "发票开好了吗"), ("agent", "已经开好了"), ("agent", "请问还有其他还可以帮到您的吗?"), ("customer", "没有了"))
    assert "KF301" not in {c for _, c in codes(linter.lint_conversation(further_help))}
    bare = chat(("customer", "好的知道了"), ("agent", "嗯"))
    assert (1, "KF301") in codes(linter.lint_conversation(bare))
    cut_off = chat(("customer", "这个什么时候发货"), ("agent", "明天发"), ("customer", "那能改地址吗"))
    assert "KF301" not in {c for _, c in codes(linter.lint_conversation(cut_off))}


def test_the_greeting_is_the_first_turn_and_not_judged_on_a_partial_log(linter):
    opener = chat(("customer", "在吗"), ("agent", "有什么问题我可以帮您处理或解决呢?"))
    assert "KF303" not in {c for _, c in codes(linter.lint_conversation(opener))}
    cold = chat(("customer", "在吗"), ("agent", "什么事"))
    assert (1, "KF303") in codes(linter.lint_conversation(cold))
    assert "KF303" not in {c for _, c in codes(linter.lint_conversation(cold, partial=True))}
    flagged_in_input = chat(("customer", "在吗"), ("agent", "什么事"), partial=True)
    assert linter.lint_conversation(flagged_in_input).partial is True
    assert "KF303" not in {c for _, c in codes(linter.lint_conversation(flagged_in_input))}


def test_a_log_that_opens_mid_conversation_is_partial(linter):
    """The ruleset's ``mid_conversation_openers``: a first customer message that goes on from
    something said before makes the log partial, so the greeting is not judged."""
    cut = linter.conversation(chat(("customer", "那我这批海苔还能退货吗"), ("agent", "您已经签收了哦")))
    assert cut.partial
    assert "KF303" not in {c for _, c in codes(linter.lint_conversation(cut))}
    for opening in ("那个，我想问一下发票", "还有多久能到啊", "对不起打扰一下，发票能开吗"):
        whole = linter.conversation(chat(("customer", opening), ("agent", "请提供订单号")))
        assert not whole.partial, opening
        assert "KF303" in {c for _, c in codes(linter.lint_conversation(whole))}
    # the agent spoke first: the log is whole whatever the customer says next
    assert not linter.conversation(chat(("agent", "您好"), ("customer", "那我这批海苔还能退吗"))).partial


def test_mid_conversation_openers_are_ruleset_data(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text("extends: default\nmid_conversation_openers: ['^接上']\n", encoding="utf-8")
    shop = Linter(str(path))
    assert shop.conversation(chat(("customer", "接上 我的快递"), ("agent", "请提供订单号"))).partial
    assert not shop.conversation(chat(("customer", "那我这批海苔还能退货吗"), ("agent", "请提供订单号"))).partial
    path.write_text("extends: default\nmid_conversation_openers: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(RulesetError, match="bad regular expression"):
        Linter(str(path))


def test_empathy_follows_an_upset_customer_in_any_wording(linter):
    cold = chat(("customer", "等了一个礼拜一点动静都没有，你们这效率也太低了吧"), ("agent", "订单号发一下"))
    assert (1, "KF302") in codes(linter.lint_conversation(cold))
    kind = chat(("customer", "等了一个礼拜一点动静都没有，你们这效率也太低了吧"), ("agent", "非常理解您的心情，我马上为您查询"))
    assert "KF302" not in {c for _, c in codes(linter.lint_conversation(kind))}
    calm = chat(("customer", "你好，我想开一张发票"), ("agent", "好的，请提供抬头和税号"))
    assert "KF302" not in {c for _, c in codes(linter.lint_conversation(calm))}


def test_delay_triad_across_the_agents_following_turns(linter):
    triad = chat(("customer", "怎么还没到"), ("agent", "非常抱歉让您久等了"), ("customer", "到底怎么回事"),
                 ("agent", "由于近期快递爆仓，包裹有所延误，我们为您申请了5元无门槛优惠券作为补偿"))
    assert "KF403" not in {c for _, c in codes(linter.lint_conversation(triad))}
    status_only = chat(("customer", "我的快递怎么还没到，都一周了"), ("agent", "亲，物流显示还在路上哦"))
    assert (1, "KF403") in codes(linter.lint_conversation(status_only))


def test_findings_belong_to_the_agent_who_wrote_them(linter):
    transfer = chat(
        ("customer 0", "在吗"), ("agent 5", "您好，很高兴为您服务", "小美"), ("customer 10", "我要退货"),
        ("agent 15", "好的，这边为您转接售后同事", "小美"), ("agent 60", "你自己看说明书，不归我们管", "阿强"), ("customer 70", "好吧"),
    )
    result = linter.lint_conversation(transfer)
    by_agent = {}
    for finding in result.findings:
        by_agent.setdefault(finding.agent, set()).add(finding.violation.code)
    assert "小美" not in by_agent  # her messages were fine
    assert {"KF102"} <= by_agent["阿强"]
    parts = {part.agent: part for part in result.agents}
    assert set(parts) == {"小美", "阿强"}
    assert parts["小美"].score.grade == "green" and parts["阿强"].score.grade == "red"
    assert sum(len(p.score.violations) for p in parts.values()) == len(result.findings)
    # the slow reply after the customer's question is charged to the agent who had to answer it
    slow = linter.lint_conversation(chat(("customer 0", "在吗"), ("agent 100", "您好，请问有什么可以帮您", "阿强")))
    assert [(f.violation.code, f.agent) for f in slow.findings if f.violation.code == "KF401"] == [("KF401", "阿强")]


SHOP_CONDITION = """\
extends: default
rules:
  KF901:
    name: refund-order-not-confirmed
    check: condition
    zone: yellow
    message: 顾客申请退款后，客服没有在两轮内{missing}。
    anchor: {role: customer, any: [退款]}
    range: {role: agent, turns: 2}
    require:
      - {name: 核对订单号, any: [订单号]}
    examples:
      bad:
        - {conversation: ["customer: 我要退款", "agent: 好的"], mark: 好的}
      good:
        - {conversation: ["customer: 我要退款", "agent: 好的，请提供一下订单号"]}
"""


def test_a_shop_writes_its_own_condition_without_code(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(SHOP_CONDITION, encoding="utf-8")
    shop = Linter(str(path))
    missed = shop.lint_conversation(chat(("customer", "我要退款"), ("agent", "好的"), ("customer", "快点"), ("agent", "在处理了")))
    assert (1, "KF901") in codes(missed)
    kept = shop.lint_conversation(chat(("customer", "我要退款"), ("agent", "好的"), ("customer", "快点"), ("agent", "订单号发我一下")))
    assert "KF901" not in {c for _, c in codes(kept)}
    late = shop.lint_conversation(chat(("customer", "我要退款"), ("agent", "好的"), ("customer", "快点"), ("agent", "在处理了"),
                                       ("customer", "？"), ("agent", "订单号发我一下")))
    assert (1, "KF901") in codes(late)  # the third agent turn is too late


COMBINED_CUES = """\
extends: default
rules:
  KF903:
    name: parcel-refund-needs-the-order
    check: condition
    zone: yellow
    message: 顾客为包裹申请退款后，客服没有{missing}。
    # and / not: a refund request about a parcel, unless the customer already gave the order number
    anchor: {role: customer, any: [退款], also: {any: [快递, 包裹]}, but_not: {patterns: ["订单号\\\\s*\\\\d+"]}}
    range: {role: agent, turns: 1}
    require:
      - {name: 核对订单号, any: [订单号], also: {any: [请, 麻烦]}}
"""


def test_cues_combine_with_also_and_but_not(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(COMBINED_CUES, encoding="utf-8")
    shop = Linter(str(path))

    def flagged(*lines):
        return "KF903" in {c for _, c in codes(shop.lint_conversation(chat(*lines)))}

    assert flagged(("customer", "快递丢了，我要退款"), ("agent", "好的"))
    assert not flagged(("customer", "我要退款"), ("agent", "好的"))  # no parcel: the anchor's also fails
    assert not flagged(("customer", "快递丢了，我要退款，订单号 123456"), ("agent", "好的"))  # but_not
    assert flagged(("customer", "快递丢了，我要退款"), ("agent", "订单号是多少"))  # the requirement's also: 请/麻烦
    assert not flagged(("customer", "快递丢了，我要退款"), ("agent", "麻烦您发一下订单号"))
    described = "".join(next(r for r in shop.conversation_rules if r.code == "KF903").describe({}))
    assert "并且" in described and "但没有" in described  # kefu-lint explain says the combination


ECHO_CONDITION = """\
extends: default
rules:
  KF904:
    name: details-read-back
    check: condition
    zone: yellow
    message: 顾客给出新地址后，客服没有{missing}。
    anchor: {role: customer, any: [地址]}
    range: {role: agent, turns: 2}
    require:
      - {name: 复述地址, echo: 4}
"""


def test_reading_the_customers_details_back_is_an_echo(tmp_path):
    """``echo: N``: an agent message that repeats N characters in a row of the anchor message
    meets the requirement, whatever else it says; a shorter overlap or a later, unanchored
    repetition does not."""
    path = tmp_path / "shop.yaml"
    path.write_text(ECHO_CONDITION, encoding="utf-8")
    shop = Linter(str(path))

    def flagged(*lines):
        return "KF904" in {c for _, c in codes(shop.lint_conversation(chat(*lines)))}

    assert not flagged(("customer", "新地址是北京市朝阳区建国路88号"), ("agent", "好的，朝阳区建国路88号，马上为您修改"))
    assert not flagged(("customer", "地址改成[地址x]"), ("agent", "收货地址是[地址x]对吗"))  # a masked detail is a detail
    assert flagged(("customer", "新地址是北京市朝阳区建国路88号"), ("agent", "好的，马上为您修改"))
    assert flagged(("customer", "新地址是北京市朝阳区建国路88号"), ("agent", "北京的话明天到"))  # two characters are no read-back
    described = "".join(next(r for r in shop.conversation_rules if r.code == "KF904").describe({}))
    assert "复述锚点消息中连续 4 个字" in described


@pytest.mark.parametrize("body, message", [
    ("    require: [{name: x, any: [y]}]\n    max_seconds: 30\n    anchor: {role: customer}\n    range: {messages: 1}\n", "one of require, max_seconds or only"),
    ("    require: [{name: x, any: [y]}]\n    only: {any: [好的]}\n    range: {turn: last}\n", "got require and only"),
    ("    only: {any: [好的]}\n    scenes: [closing]\n", "judges a range of a conversation"),
    ("    range: {turn: last}\n", "needs 'require'"),
    ("    only: {acts: [no-such-act]}\n    range: {turn: last}\n", "unknown act"),
    ("    require: [{name: x, acts: [no-such-act]}]\n    range: {turn: last}\n", "unknown act"),
    ("    require: [{name: x, any: [y], also: {acts: [no-such-act]}}]\n    range: {turn: last}\n", "unknown act"),
    ("    require: [{name: x, any: [y], also: {name: z}}]\n    range: {turn: last}\n", "at least one of"),
    ("    require: [{name: x, any: [y]}]\n", "needs a 'range'"),
    ("    require: [{name: x, any: [y]}]\n    range: {turn: middle}\n", "first, last"),
    ("    require: [{any: [y]}]\n    range: {turn: last}\n", "needs a 'name'"),
    ("    require: [{name: x, echo: 1}]\n    range: {turn: last}\n", "at least 2"),
])
def test_bad_conditions_are_reported_with_file_and_line(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text("extends: default\nrules:\n  KF902:\n    check: condition\n    name: shop-two\n    zone: green\n    message: 缺少{missing}\n" + body,
                    encoding="utf-8")
    with pytest.raises(RulesetError) as error:
        Linter(str(path))
    assert message in str(error.value) and "bad.yaml:" in str(error.value)


@pytest.mark.parametrize("lines, flagged", [
    ((("customer", "这个能开发票吗"), ("agent", "可以的")), True),
    ((("customer", "帮我把颜色改成黑色"), ("agent", "好的")), True),  # a request
    ((("customer", "明天能到吗"), ("agent", "？")), True),
    ((("customer", "这个能开发票吗"), ("agent", "可以的"), ("agent", "下单时勾选开具发票就行")), False),  # the turn answers
    ((("customer", "这个能开发票吗"), ("agent", "可以的哦")), False),  # a softening particle
    ((("customer", "这个能开发票吗"), ("agent", "可以的亲")), False),
    ((("customer", "我已经付过款了"), ("agent", "好的")), False),  # a statement, not a question
    ((("customer", "好的谢谢"), ("agent", "好的")), False),
    ((("customer", "那我还需要做什么吗"), ("agent", "等待回复")), True),  # a bare answer of a few characters
    ((("customer", "那我还需要做什么吗"), ("agent", "等待回复就可以啦")), False),
    ((("customer", "我想取消订单 要怎么弄?"), ("agent", "需要退掉吗")), False),  # a question back
    ((("customer", "有没有可以加的 推荐一下?"), ("agent", "我看下")), False),  # a hold
])
def test_a_bare_answer_to_a_question_is_curt(linter, lines, flagged):
    """KF405 is an `only` condition: the agent's next turn consists of nothing but a bare word."""
    found = [(i, c) for i, c in codes(linter.lint_conversation(chat(*lines))) if c == "KF405"]
    assert found == ([(1, "KF405")] if flagged else [])


def test_a_bare_acknowledgement_is_curt_only_as_an_answer(linter):
    """KF204 judges a lone reply by itself, and in a conversation by what it answers
    (``stands_in``): 「嗯嗯」 acknowledges a statement; to a question it is curt. A draft is
    judged the same way."""
    assert [v.code for v in linter.lint("嗯嗯")] == ["KF204"]
    after_statement = chat(("customer", "我们是线下银行汇款的"), ("agent", "嗯嗯"))
    assert "KF204" not in {c for _, c in codes(linter.lint_conversation(after_statement))}
    assert linter.lint_conversation(after_statement).messages[1].score.grade == "green"
    after_question = chat(("customer", "这款有货吗"), ("agent", "嗯嗯"))
    assert (1, "KF204") in codes(linter.lint_conversation(after_question))
    # the customer turn it answers is the last one before it, not the agent's own message
    asked_then_answered = chat(("customer", "这款有货吗"), ("agent", "有的亲，今天下单今天发"), ("agent", "嗯"))
    assert (2, "KF204") in codes(linter.lint_conversation(asked_then_answered))
    assert "KF204" not in {f.violation.code for f in linter.lint_draft(chat(("customer", "我已经付款了")), "嗯嗯")}
    assert "KF204" in {f.violation.code for f in linter.lint_draft(chat(("customer", "什么时候发货？")), "嗯")}


def test_a_change_handed_to_a_specialist_is_not_asked_to_be_confirmed(linter):
    """KF404's `unless`: a transfer or an escalation excuses the range."""
    ask = ("customer", "这个订单帮我换开增值税专用发票")
    assert (1, "KF404") in codes(linter.lint_conversation(chat(ask, ("agent", "好的"))))
    handed = chat(ask, ("agent", "我这边立刻把您的情况反馈给专员处理，24小时内给您回电"))
    assert "KF404" not in {c for _, c in codes(linter.lint_conversation(handed))}


def test_a_draft_reply_in_the_context_of_the_conversation(linter):
    """Agent-assist: judge a draft as the next message of the conversation so far."""
    so_far = chat(("customer", "在吗"), ("agent", "您好，在的"), ("customer", "等了一个礼拜一点动静都没有，你们这效率也太低了吧"))
    findings = linter.lint_draft(so_far, "订单号发一下", agent="小美")
    assert [f.violation.code for f in findings] == ["KF302"]  # no close is asked of a draft
    assert findings[0].agent == "小美"
    assert linter.lint_draft(so_far, "非常理解您的心情，我马上为您查询") == []
    assert {"KF102", "KF302"} <= {f.violation.code for f in linter.lint_draft(so_far, "不归我们管，你去找快递")}


def test_acts_of_every_message(linter):
    result = linter.lint_conversation(chat(("customer", "好的谢谢"), ("agent", "感谢您的信任，祝您购物愉快!")))
    assert "sign-off" in result.messages[0].acts
    assert {"thanks", "wish"} <= set(result.messages[1].acts)


ROLES = st.sampled_from(["customer", "agent", "system"])
TEXTS = st.sampled_from(["在吗", "您好", "不行", "好的谢谢", "怎么还没到??", "非常抱歉让您久等了", "你自己看", "", "请问还有其他可以帮您的吗"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(ROLES, TEXTS, st.one_of(st.none(), st.integers(0, 1000)), st.sampled_from([None, "A", "B"])), min_size=1, max_size=12))
def test_conversation_invariants(linter, rows):
    messages = [ChatMessage("c", role, text, time, agent=agent if role == "agent" else None, seq=i)
                for i, (role, text, time, agent) in enumerate(rows)]
    result = linter.lint_conversation(messages)
    assert len(result.messages) == len(messages)
    assert all(0 <= f.message_index < len(messages) for f in result.findings)
    for finding in result.findings:
        text = result.messages[finding.message_index].message.text
        assert 0 <= finding.violation.start <= finding.violation.end <= len(text)
    # every finding is charged to exactly one agent part (or to nobody when no agent spoke)
    charged = sum(len(part.score.violations) for part in result.agents)
    assert charged == len(result.findings)
    assert result.score.grade in ("green", "yellow", "red")


def test_conversation_rules_are_conditions_with_their_docs_in_the_ruleset():
    from kefu_lint.rules import ConditionRule

    conditions = [rule for rule in load_ruleset("default").rules if isinstance(rule, ConditionRule)]
    assert {rule.code for rule in conditions} == {"KF301", "KF302", "KF303", "KF304", "KF401", "KF402", "KF403", "KF404", "KF405"}
    assert all("## 检查什么" in rule.doc("zh") and "## What it does" in rule.doc("en") for rule in conditions)


def test_explain_shows_a_condition_in_words_and_conversation_examples():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "kefu_lint.cli", "explain", "KF301"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "范围：客服的最后一轮消息" in result.stdout and "适用：对话已结束" in result.stdout
    assert "行为「致谢」" in result.stdout  # acts by their Chinese labels
    assert "顾客：好的知道了\n    客服：嗯" in result.stdout  # a conversation example, one message per line
