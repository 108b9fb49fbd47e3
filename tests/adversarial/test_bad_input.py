"""Hostile and messy input: every reader keeps working, says what is wrong, and loses nothing."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kefu_lint import InputError, Linter
from kefu_lint.errors import ConfigError
from kefu_lint.formats.chatlog import ColumnMapping, Rejected, read_chat_log
from kefu_lint.formats.scripts import read_script_file

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
# At least 150 examples in the normal suite; the `long` profile's count when it is loaded.
FUZZ = settings(max_examples=max(150, settings.default.max_examples))


# ----------------------------------------------------------------------------- encodings

@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_every_encoding_a_shop_tool_writes(codec):
    text = "分组,内容\n售前,你好，不行哦\n"
    script = read_script_file("q.csv", data=text.encode(codec))
    assert [m.text for m in script.messages] == ["你好，不行哦"]
    assert script.messages[0].line == 2


def test_encoding_override_and_byte_offset_of_undecodable_bytes():
    data = "不行\n".encode("utf-8") + b"\xff\xfe oops"
    with pytest.raises(InputError, match=r"bad\.txt: byte 7: cannot decode as utf-8"):
        read_script_file("bad.txt", data=data, encoding="utf-8")
    assert read_script_file("gbk.txt", data="你好\n".encode("gbk"), encoding="gbk").messages[0].text == "你好"
    with pytest.raises(InputError, match="unknown encoding"):
        read_script_file("x.txt", data=b"a", encoding="klingon")


def test_chat_log_with_undecodable_bytes_rejects_only_that_line(tmp_path):
    path = tmp_path / "log.jsonl"
    good = json.dumps({"conversation_id": "c", "role": "agent", "text": "您好"}, ensure_ascii=False).encode()
    path.write_bytes(good + b"\n" + b'{"conversation_id": "c", "role": "agent", "text": "\xff\xfe"}\n' + good + b"\n")
    records = list(read_chat_log(str(path)))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(records) == 3 and len(rejected) == 1 and rejected[0].line == 2 and "UTF-8" in rejected[0].reason


# ----------------------------------------------------------------------------- broken files

def test_empty_and_whitespace_files():
    for kind in ("txt", "yaml", "csv", "tsv"):
        script = read_script_file(f"empty.{kind}", data=b"", kind=kind)
        assert script.messages == () and script.records == 0
    assert read_script_file("blank.txt", data=b"\n\n   \n").messages == ()


def test_binary_file_is_a_clear_error():
    with pytest.raises(InputError, match="binary"):
        read_script_file("photo.txt", data=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_ragged_csv_rows_are_read_or_reported():
    data = "分组,快捷编码,内容\n售前,a,你好\n售前,b\n售后,c,不行,多余\n".encode()
    script = read_script_file("r.csv", data=data)
    assert [m.text for m in script.messages] == ["你好", "不行"]
    reasons = [(p.line, p.reason) for p in script.problems]
    assert reasons[0][0] == 3 and "回复在第 3 列" in reasons[0][1] and "未检查" in reasons[0][1]
    assert reasons[1][0] == 4 and "已照常检查" in reasons[1][1]
    assert [p.skipped for p in script.problems] == [True, False]
    assert script.records == 3  # nothing lost: 2 replies + 1 rejected row


def test_jsonl_truncated_last_line(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text('{"conversation_id": "a", "role": "customer", "text": "在吗"}\n{"conversation_id": "a", "role": "ag', encoding="utf-8")
    records = list(read_chat_log(str(path)))
    assert isinstance(records[0], Rejected) is False
    assert isinstance(records[1], Rejected) and records[1].line == 2 and "截断" in records[1].reason


def test_jsonl_wrong_shapes_are_rejected_with_reasons(tmp_path):
    lines = ['[1, 2]', '{"role": "agent", "text": "x"}', '{"conversation_id": "a", "role": "agent", "text": 5}',
             '{"conversation_id": "a", "role": "agent", "text": "x", "time": "yesterday"}', '"just a string"']
    path = tmp_path / "shapes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = list(read_chat_log(str(path)))
    assert all(isinstance(r, Rejected) for r in records) and len(records) == len(lines)
    assert [r.line for r in records] == [1, 2, 3, 4, 5]


def test_ten_megabyte_single_line(tmp_path):
    line = "您好，很高兴为您服务。" * 900_000 + "你的快递"
    assert len(line.encode("utf-8")) > 10_000_000
    # the API lints it in linear time; `check` reports a reply this long instead (test_linear_time.py)
    violations = Linter(select=["KF202"]).lint(line)
    assert [(v.start, line[v.start:v.end]) for v in violations] == [(len(line) - 4, "你的")]
    # the audit reader refuses a line past its limit, with a reason, and goes on
    log = tmp_path / "huge.jsonl"
    log.write_text(json.dumps({"conversation_id": "a", "role": "agent", "text": line}, ensure_ascii=False) + "\n"
                   + json.dumps({"conversation_id": "a", "role": "agent", "text": "您好"}, ensure_ascii=False) + "\n", encoding="utf-8")
    records = list(read_chat_log(str(log)))
    assert isinstance(records[0], Rejected) and "超过" in records[0].reason and records[1].text == "您好"


def test_emoji_combining_and_zero_width_dodges():
    linter = Linter()
    for text in ("不\u200b买\u200c别\u2060问", "不买别问😀", "😀不买别问", "不买\ufe0f别问", "不 买 别 问"):
        assert "KF103" in {v.code for v in linter.lint(text)}, text
    text = "亲👍🏻，不行哦"
    found = [v for v in linter.lint(text) if v.code == "KF101"]
    assert [text[v.start:v.end] for v in found] == ["不行"]


# ----------------------------------------------------------------------------- hostile YAML

BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f'{chr(98 + i)}: &{chr(98 + i)} [' + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


def test_billion_laughs_script_file_is_refused():
    with pytest.raises(InputError, match="aliases"):
        read_script_file("lol.yaml", data=BILLION_LAUGHS.encode())


def test_python_tags_never_execute(tmp_path):
    marker = tmp_path / "pwned"
    payload = f'- !!python/object/apply:os.system ["touch {marker}"]\n- text: 您好\n'
    script = read_script_file("evil.yaml", data=payload.encode())
    assert not marker.exists()
    assert [m.text for m in script.messages] == ["您好"]
    ruleset = tmp_path / "evil-ruleset.yaml"
    ruleset.write_text(f'rules: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    from kefu_lint import RulesetError, load_ruleset

    with pytest.raises(RulesetError):
        load_ruleset(ruleset)
    assert not marker.exists()


# ----------------------------------------------------------------------------- the CLI keeps going

def test_check_reports_each_broken_file_and_checks_the_rest(tmp_path):
    (tmp_path / "lol.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01")
    (tmp_path / "latin.txt").write_bytes("café ".encode("utf-8") + b"\xe9\xff\xfe\n")
    (tmp_path / "ok.txt").write_text("不行\n", encoding="utf-8")
    result = subprocess.run([KEFU_LINT, "check", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "lol.yaml: invalid YAML" in result.stdout and "aliases" in result.stdout
    assert "bin.txt: looks like a binary file" in result.stdout
    assert "ok.txt:1:1: KF101" in result.stdout
    assert "Traceback" not in result.stderr


# ----------------------------------------------------------------------------- fuzzing

@FUZZ
@given(st.binary(max_size=400), st.sampled_from(["yaml", "txt", "csv", "tsv"]))
def test_script_readers_on_arbitrary_bytes(data, kind):
    try:
        script = read_script_file(f"fuzz.{kind}", data=data, kind=kind)
    except InputError as error:
        assert str(error).startswith("fuzz.")
        return
    for message in script.messages:
        assert message.offsets is None or len(message.offsets) == len(message.text)
        assert all(0 <= o < len(script.text) for o in message.offsets or ())


YAMLISH = st.lists(st.sampled_from(["- ", "text: ", "id: ", "  ", "\n", "|", ">", '"', "'", ":", "&a ", "*a", "[", "]", "{", "}",
                                    "#", "不行", "你好", "ignore: [KF202]", "scene: closing", "\\u4e0d", "\t"]), max_size=30).map("".join)


@FUZZ
@given(YAMLISH)
def test_yaml_reader_on_yaml_shaped_text(text):
    try:
        script = read_script_file("fuzz.yaml", data=text.encode("utf-8"))
    except InputError:
        return
    for message in script.messages:
        assert len(message.offsets) == len(message.text)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(["jsonl", "csv", "tsv"]))
@example(b"\xef", "jsonl")  # found by the long profile: an incomplete BOM was dropped uncounted
@example(b"\xef\xbb", "csv")
def test_chat_log_readers_on_arbitrary_bytes(tmp_path_factory, data, kind):
    path = tmp_path_factory.mktemp("fuzz") / f"log.{kind}"
    path.write_bytes(data)
    mapping = ColumnMapping.parse("conversation_id=1,role=2,text=3", agent_roles="1") if kind != "jsonl" else None
    try:
        records = list(read_chat_log(str(path), mapping=mapping, input_format=kind))
    except (InputError, ConfigError) as error:
        assert str(error)
        return
    # nothing lost: every non-blank line is a message or a rejection (CSV rows may span lines)
    if kind == "jsonl" and not data.startswith(b"\x1f\x8b"):
        text = data.decode("utf-8", "surrogateescape")
        text = text[1:] if text.startswith("\ufeff") else text
        lines = [raw for raw in io.StringIO(text, newline="") if raw.rstrip("\r\n").strip()]
        assert len(records) == len(lines)
    for record in records:
        assert isinstance(record, Rejected) and record.reason or isinstance(record.text, str)


@FUZZ
@given(st.text(max_size=200))
def test_lint_any_text_with_the_platform_ruleset(text):
    linter = _platform()
    for violation in linter.lint(text):
        assert 0 <= violation.start <= violation.end <= len(text)


_PLATFORM = []


def _platform():
    if not _PLATFORM:
        _PLATFORM.append(Linter("platform"))
    return _PLATFORM[0]


# ----------------------------------------------------------------------------- nothing lost

def test_nothing_lost_in_every_reader(tmp_path):
    # TXT: every non-blank, non-comment line is a reply
    txt = "你好\n\n# comment\n不行\n   \n  爱买不买  \n"
    assert len(read_script_file("a.txt", data=txt.encode()).messages) == 3
    # YAML: entries in = replies + entries skipped with a problem (an unknown scene is a problem
    # about an entry that is still checked, without a scene)
    yaml_text = "- text: 你好\n- {text: 不行, scene: nowhere}\n- {id: x}\n- 直接文本\n- [a, b]\n"
    script = read_script_file("a.yaml", data=yaml_text.encode())
    assert script.records == 5 and len(script.messages) + sum(p.skipped for p in script.problems) == 5
    assert [(p.line, p.skipped) for p in script.problems] == [(2, False), (3, True), (5, True)]
    # chat log: lines in = messages + rejected
    log = tmp_path / "a.jsonl.gz"
    lines = [json.dumps({"conversation_id": str(i % 3), "role": "agent", "text": "您好"}) for i in range(50)] + ["{bad", "", "[]"]
    log.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    records = list(read_chat_log(str(log)))
    assert len(records) == 52 and sum(isinstance(r, Rejected) for r in records) == 2


def test_utf16_chat_log_with_encoding_override(tmp_path):
    path = tmp_path / "u16.jsonl"
    path.write_bytes(codecs.BOM_UTF16_LE + json.dumps({"conversation_id": "c", "role": "agent", "text": "您好"}, ensure_ascii=False).encode("utf-16-le"))
    records = list(read_chat_log(str(path), encoding="utf-16"))
    assert len(records) == 1 and records[0].text == "您好"


@pytest.mark.parametrize("data", [b"\xef", b"\xef\xbb", b"\xef\xbb\n"])
def test_a_log_that_is_an_incomplete_bom_is_rejected_not_lost(tmp_path, data):
    (tmp_path / "log.jsonl").write_bytes(data)
    result = subprocess.run([KEFU_LINT, "audit", "--out", str(tmp_path / "out"), str(tmp_path / "log.jsonl")],
                            capture_output=True, text=True, timeout=120)
    assert "lines read 1 = 0 scored + 1 rejected (totals reconcile)" in result.stdout, result.stdout + result.stderr
    assert "log.jsonl:1: 拒收：" in result.stderr and "Traceback" not in result.stderr
