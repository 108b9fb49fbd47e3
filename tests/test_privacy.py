"""KF104 on customers' accounts: a name after an account label or any mailbox is a leak, the
safe fix stars its middle, masked names and the shop's own accounts pass. Properties over
generated names, through the public API."""

from __future__ import annotations

import re
import textwrap

import pytest
from hypothesis import given, strategies as st

from kefu_lint import Linter

LINTER = Linter(select=["KF104"])

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Account names as customers make them: letters, then digits or an underscore somewhere.
_NAMES = st.builds(lambda head, tail: head + tail,
                   st.text(_LETTERS, min_size=2, max_size=10),
                   st.text("0123456789_", min_size=3, max_size=12)).filter(lambda n: not n.isdigit())
_LABELS = st.sampled_from(["账号", "京东账号是", "用户名：", "登录名 ", "支付宝", "会员名为"])
_AROUND = st.sampled_from([("您的", "已解冻"), ("亲，您的", " 对吧"), ("", "，请核对"), ("核实到", "")])


@given(_NAMES, _LABELS, _AROUND)
def test_an_account_name_after_its_label_is_a_leak_and_the_fix_hides_it(name, label, around):
    before, after = around
    text = f"{before}{label}{name}{after}"
    findings = [v for v in LINTER.lint(text) if v.code == "KF104"]
    assert [text[v.start:v.end] for v in findings] == [name]
    assert "账号" in findings[0].message
    fixed, _ = LINTER.fix(text)
    [masked] = re.findall(r"[A-Za-z0-9_]*\*+[A-Za-z0-9_]*", fixed)
    assert name not in fixed and len(masked) == len(name) and masked[0] == name[0] and masked[-1] == name[-1]
    assert not LINTER.lint(fixed), "the masked form must pass"


@given(st.text(_LETTERS + "0123456789._", min_size=2, max_size=16).filter(lambda s: s[0] not in "._" and s[-1] not in "._"),
       st.sampled_from(["qq.com", "163.com", "gmail.com", "shop.example.cn"]),
       st.sampled_from(["发票已发到", "您的邮箱是 ", "确认一下：", "已为您绑定"]))
def test_a_mailbox_anywhere_is_a_leak(local, domain, before):
    text = f"{before}{local}@{domain}，请查收"
    assert [text[v.start:v.end] for v in LINTER.lint(text)] == [f"{local}@{domain}"]


def test_words_after_the_label_masked_names_and_tokens_pass():
    for text in ("请登录您的账号后查看订单", "请登录账号 login 一下", "您的账号jd_1******33已解冻",
                 "京东账号[数字x]已核实", "发票已发送到您预留的邮箱，请查收", "您的账号 已经解冻"):
        assert not LINTER.lint(text), text


def test_an_account_that_is_a_mobile_number_is_masked_as_a_phone():
    [finding] = LINTER.lint("您的账号13812345678")
    assert finding.suggestion == "138****5678" and "手机号" in finding.message


def test_the_shops_own_mailbox_declared_once_is_never_flagged(tmp_path):
    shop = tmp_path / "shop.yaml"
    shop.write_text(textwrap.dedent("""\
        extends: default
        rules:
          KF104:
            extend-allowed_accounts: [Service@Shop.example.cn]
        """), encoding="utf-8")
    linter = Linter(str(shop), select=["KF104"])
    assert not linter.lint("有问题请发邮件到 service@shop.example.cn")
    assert [v.code for v in linter.lint("已发到您的邮箱 lily.wang@qq.com")] == ["KF104"]


@pytest.mark.parametrize("reply, masked", [
    ("您的收货电话是13812345678", "138****5678"),
    ("您的邮箱是 lixiaoming@qq.com 对吗", "li********@qq.com"),
])
def test_the_message_shows_the_masked_form_of_what_leaked(reply, masked):
    """The finding's message tells the agent how this very value should read, not a phone
    number's mask for every kind of leak."""
    (violation,) = LINTER.lint(reply)
    assert violation.message.endswith(f"请改用掩码形式「{masked}」。") and violation.fix == masked
