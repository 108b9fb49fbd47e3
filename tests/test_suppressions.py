"""Suppressions as ruff has them, end to end through the installed console script: codes or
rule names; unknown codes (KF002) apart from unused suppressions (KF001); directives kefu-lint
does not know reported (KF003); ``--add-noqa`` writes a suppression for every finding,
preserving the file, and a second run changes nothing."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from test_cli import run


def findings_of(path, *args):
    result = run("check", "-o", "json", *args, path)
    assert "Traceback" not in result.err, result.err
    return [(f["code"], f["line"]) for f in json.loads(result.out)["findings"]]


def checked(path, text: str) -> list[dict]:
    """The JSON findings of ``path`` written with ``text``."""
    path.write_text(text, encoding="utf-8")
    return json.loads(run("check", "-o", "json", path).out)["findings"]


def test_rule_names_work_like_codes_in_every_format(tmp_path):
    txt = tmp_path / "s.txt"
    txt.write_text("# kefu-lint: disable-next-line informal-you\n你好\n# kefu-lint: disable-next-line kf202\n你的快递\n", encoding="utf-8")
    assert findings_of(txt) == []
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text("- text: 你好\n  ignore: [informal-you]\n- text: 不行\n  ignore: negative-opener, KF202\n", encoding="utf-8")
    assert findings_of(yaml_file) == [("KF001", 4)]  # KF202 suppressed nothing on 不行
    csv_file = tmp_path / "q.csv"
    csv_file.write_text("编号,内容\n# kefu-lint: disable-next-line informal-you\nq1,你好\n", encoding="utf-8")
    assert findings_of(csv_file) == []


def test_unknown_codes_are_their_own_finding_not_unused_ones(tmp_path):
    txt = tmp_path / "s.txt"
    txt.write_text("# kefu-lint: disable-next-line KF2O4 KF999 informal-yuo\n你好\n", encoding="utf-8")
    result = json.loads(run("check", "-o", "json", txt).out)
    found = [(f["code"], f["line"], f["message"]) for f in result["findings"]]
    assert [(code, line) for code, line, _ in found] == [("KF002", 1), ("KF002", 1), ("KF002", 1), ("KF202", 2)]
    messages = [message for code, _, message in found if code == "KF002"]
    assert "「KF2O4」" in messages[0] and "是不是「KF204」？" in messages[0]
    assert "「KF999」" in messages[1] and "kefu-lint rules" in messages[1]
    assert "是不是「informal-you」？" in messages[2]
    assert findings_of(txt, "--ignore", "unknown-code") == [("KF202", 2)]
    assert findings_of(txt, "--ignore", "KF002") == [("KF202", 2)]
    github = run("check", "-o", "github", txt).out
    assert "::warning file=s.txt" not in github and "KF002 unknown-code" in github


def test_directives_kefu_lint_does_not_know_are_reported(tmp_path):
    txt = tmp_path / "s.txt"
    found = checked(txt, "# kefu-lint: disable-line KF202\n您好\n# kefu-lint: disable-next-line\n您好\n"
                    "# kefu-lint disable-next-line KF202 -- 老话术，下季度改\n你好\n# 普通注释里提到 kefu-lint 不是指令\n您好\n")
    assert [(f["code"], f["line"]) for f in found] == [("KF003", 1), ("KF003", 3)]
    assert "「disable-line」" in found[0]["message"] and "缺少规则代码" in found[1]["message"]
    sarif = json.loads(run("check", "-o", "sarif", txt).out)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["KF003", "KF003"]


def test_yaml_comments_take_disable_file_and_point_next_line_to_ignore(tmp_path):
    found = checked(tmp_path / "s.yaml", "# kefu-lint: disable-file informal-you\n- text: |\n    你好\n"
                    "    # kefu-lint: disable-file KF101 (this line is text, not a comment)\n    不行\n"
                    "# kefu-lint: disable-next-line KF101\n- 不行\n")
    assert [(f["code"], f["line"]) for f in found] == [("KF101", 5), ("KF003", 6), ("KF101", 7)]
    assert "ignore: [KF202]" in found[1]["message"]


def test_stacked_directives_all_apply_to_the_reply_below(tmp_path):
    txt = tmp_path / "s.txt"
    txt.write_text("# kefu-lint: disable-next-line KF101\n# kefu-lint: disable-next-line KF202\n不行你好\n", encoding="utf-8")
    assert findings_of(txt) == []


YAML_LIBRARY = """\
# 话术库：注释和顺序必须保留
- id: a
  text: "你好,你的电话是13812345678!!!"   # trailing comment
- id: b
  ignore: [KF201]
  text: |
    第一行没问题
    你的包裹已经发出

# 售后
- 不行,这个不算售后
- id: c
  ignore:
    - KF201
  text: 你好
- {id: e, text: 你好}
- 您好，很高兴为您服务
"""

YAML_SUPPRESSED = """\
# 话术库：注释和顺序必须保留
- id: a
  text: "你好,你的电话是13812345678!!!"   # trailing comment
  ignore: [KF104, KF201, KF202]
- id: b
  ignore: [KF201, KF202]
  text: |
    第一行没问题
    你的包裹已经发出

# 售后
- text: 不行,这个不算售后
  ignore: [KF101, KF102]
- id: c
  ignore:
    - KF201
    - KF202
  text: 你好
- {id: e, text: 你好, ignore: [KF202]}
- 您好，很高兴为您服务
"""


def test_add_noqa_on_yaml_suppresses_per_entry_keeps_the_file_and_is_idempotent(tmp_path):
    library = tmp_path / "lib.yaml"
    library.write_text(YAML_LIBRARY, encoding="utf-8")
    before = findings_of(library)
    assert len(before) == 11 and before.count(("KF001", 5)) == 1  # b's own KF201 suppresses nothing (c's neither)
    first = run("check", "--add-noqa", library)
    assert first.returncode == 0 and "已为 5 条回复添加抑制，共 9 个问题。" in first.out, first.out + first.err
    assert library.read_text(encoding="utf-8") == YAML_SUPPRESSED
    second = run("check", "--add-noqa", library)
    assert second.returncode == 0 and "已为 0 条回复添加抑制" in second.out
    assert library.read_bytes() == YAML_SUPPRESSED.encode("utf-8")
    # what is left is the team's own unused suppressions, not the findings
    assert [code for code, _ in findings_of(library)] == ["KF001", "KF001"]


def test_add_noqa_on_id_text_mappings_and_block_texts(tmp_path):
    """Block texts (`- |`, `- >`, `id: |`) were refused; now they become `text:` values, their
    lines two columns right (the same text to YAML), with the entry's ignore beside them."""
    import yaml

    library = tmp_path / "map.yaml"
    source = 'greet: 你好呀\nclose: "好的"   # 结束语\nmulti: |\n  你好\n  多行\n'
    library.write_text(source, encoding="utf-8")
    result = run("check", "--add-noqa", library)
    assert result.returncode == 0, result.out + result.err
    assert library.read_text(encoding="utf-8").startswith('greet:\n  text: 你好呀\n  ignore: [KF202]\nclose: "好的"   # 结束语\n')
    assert findings_of(library) == []
    loaded = yaml.safe_load(library.read_text(encoding="utf-8"))
    assert {key: value["text"] if isinstance(value, dict) else value for key, value in loaded.items()} == yaml.safe_load(source)
    listed = tmp_path / "list.yaml"
    source = "- |\n  不行，这个不算售后\n- >-\n  你好，\n\n    请问\n- text: |\n    不行哦\n"
    listed.write_text(source, encoding="utf-8")
    assert run("check", "--add-noqa", listed).returncode == 0
    assert findings_of(listed) == []
    after = yaml.safe_load(listed.read_text(encoding="utf-8"))
    assert [entry["text"] for entry in after] == [e if isinstance(e, str) else e["text"] for e in yaml.safe_load(source)]
    assert run("check", "--add-noqa", listed).returncode == 0 and yaml.safe_load(listed.read_text(encoding="utf-8")) == after


def test_add_noqa_on_a_gbk_csv_keeps_encoding_line_endings_and_rows(tmp_path):
    path = tmp_path / "qianniu.csv"
    content = '分组,快捷编码,内容\r\n售前,q1,"你好,有什么\r\n可以帮你"\r\n售后,q2,不行\r\n售后,q3,您好\r\n'
    path.write_bytes(content.encode("gbk"))
    assert run("check", "--add-noqa", path).returncode == 0
    expected = content.replace("售前,q1", "# kefu-lint: disable-next-line KF202\r\n售前,q1").replace(
        "售后,q2", "# kefu-lint: disable-next-line KF101\r\n售后,q2")
    assert path.read_bytes() == expected.encode("gbk")
    assert findings_of(path) == []
    run("check", "--add-noqa", path)
    assert path.read_bytes() == expected.encode("gbk")


def test_add_noqa_refuses_stdin(tmp_path):
    result = run("check", "--add-noqa", "-", stdin="你好\n".encode())
    assert result.returncode == 2 and "标准输入" in result.err and "Traceback" not in result.err


LINES = ["你好", "您好，很高兴为您服务", "不行,这个不算售后", "已经给你发货了!!!", "# 普通注释", "",
         "  你的快递到了", "# kefu-lint: disable-next-line KF201", "这个SKU暂时缺货", "亲，不支持货到付款的"]


@settings(max_examples=25)
@given(st.lists(st.sampled_from(LINES), min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_add_noqa_only_inserts_lines_and_leaves_nothing_to_suppress(tmp_path_factory, lines, newline, final_newline):
    """For any TXT file: the result is the original with directive lines inserted (delete the
    inserted lines and the original comes back byte for byte), no rule finding is left, and a
    second run is byte-identical."""
    folder = tmp_path_factory.mktemp("noqa")
    path = folder / "s.txt"
    original = newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(original.encode("utf-8"))
    run("check", "--add-noqa", path)
    once = path.read_bytes()
    remaining = [code for code, _ in findings_of(path)]
    assert all(code in ("KF001",) for code in remaining), remaining  # only the file's own unused KF201 lines
    run("check", "--add-noqa", path)
    assert path.read_bytes() == once
    added = once.decode("utf-8").splitlines(keepends=True)
    original_lines = original.splitlines(keepends=True)
    inserted = [line for line in added if line.strip().startswith("# kefu-lint: disable-next-line KF") and line not in original_lines]
    assert "".join(line for line in added if line not in inserted) == original
