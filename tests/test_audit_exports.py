"""`kefu-lint audit` on what shops really export (issue #16, item 8): GBK CSV, Chinese
timestamps, rejected lines that fail the run, usage errors that leave nothing behind, and a
database whose README queries count one run. Through the installed console script, with real
files and real SQLite databases."""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from hypothesis import given, strategies as st

from conftest import EXAMPLES, ROOT
from kefu_lint.engine import GRADE_CEILING
from kefu_lint.formats.chatlog import parse_time, parse_timezone
from kefu_lint.rulesets import load_ruleset

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
CHAT_LOG = EXAMPLES / "chat_log.jsonl"


def audit(*args, cwd: Path | None = None):
    result = subprocess.run([KEFU_LINT, "audit", "--no-progress", *map(str, args)], capture_output=True, timeout=600, cwd=cwd)
    result.out = result.stdout.decode("utf-8", "replace")
    result.err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in result.err, result.err
    return result


def rows(database: Path, query: str, *params):
    with sqlite3.connect(database) as db:
        return db.execute(query, params).fetchall()


EXPORT_HEADER = "会话编号,角色,客服昵称,消息内容,发送时间"
#: One conversation with the time in each form a Chinese CS tool writes.
EXPORT_ROWS = [
    "s1,买家,,在吗？,2026/11/01 10:00:00",
    "s1,客服,小美,您好，在的，请问有什么可以帮您？,2026-11-01 10:00:20",
    "s1,买家,,快递怎么还没到，都一周了,2026年11月1日 10:01",
    "s1,客服,小美,不知道，你问问快递吧,2026年11月1日 10时05分30秒",
    "s1,买家,,好的谢谢,1793499000",
    "s1,客服,小美,不客气，祝您生活愉快,1793499010000",
]
EXPORT_COLUMNS = ("--columns", "conversation_id=会话编号,role=角色,agent=客服昵称,text=消息内容,time=发送时间",
                  "--agent-role", "客服", "--customer-role", "买家")


def write_export(path: Path, encoding: str, extra: list[str] = ()) -> Path:
    path.write_bytes(("\r\n".join([EXPORT_HEADER, *EXPORT_ROWS, *extra]) + "\r\n").encode(encoding))
    return path


def test_a_gbk_export_reads_like_its_utf8_copy_with_every_chinese_time_form(tmp_path):
    results = {}
    for encoding in ("gbk", "utf-8", "utf-8-sig"):
        out = tmp_path / encoding
        result = audit(write_export(tmp_path / f"{encoding}.csv", encoding), "--out", out, *EXPORT_COLUMNS)
        assert result.returncode == 0, result.out + result.err
        assert "lines read 6 = 6 scored + 0 rejected (totals reconcile)" in result.out
        results[encoding] = (rows(out / "audit.db", "SELECT role, agent, text, time, time_local FROM messages ORDER BY seq"),
                             rows(out / "audit.db", "SELECT code, message_index, flagged FROM findings ORDER BY 1, 2"))
    assert results["gbk"] == results["utf-8"] == results["utf-8-sig"]
    messages, findings = results["gbk"]
    assert [m[2] for m in messages][3] == "不知道，你问问快递吧"
    assert [m[4] for m in messages] == ["2026-11-01T10:00:00+08:00", "2026-11-01T10:00:20+08:00", "2026-11-01T10:01:00+08:00",
                                        "2026-11-01T10:05:30+08:00", "2026-11-01T10:10:00+08:00", "2026-11-01T10:10:10+08:00"]
    assert ("KF101", 3, "不知道") in findings  # read as Chinese, not mojibake
    codes = {code for code, _, _ in findings}
    assert "KF401" not in codes and "KF402" in codes  # 20 s first response; the delay complaint waited 4.5 min


def test_an_unreadable_time_is_quoted_as_written_and_fails_the_run_with_the_count(tmp_path):
    export = write_export(tmp_path / "bad.csv", "gbk", ["s2,买家,,在吗,2026/13/01 10:00", "s2,买家,,还在吗,昨天下午"])
    out = tmp_path / "out"
    result = audit(export, "--out", out, *EXPORT_COLUMNS)
    assert result.returncode == 2
    assert "lines read 8 = 6 scored + 2 rejected (totals reconcile)" in result.out
    assert "bad.csv:8: 拒收：time 「2026/13/01 10:00」不是存在的日期或时刻" in result.err
    assert "bad.csv:9: 拒收：time 「昨天下午」无法识别：请用 2026-11-01 10:00:00" in result.err
    assert "读入的 8 条记录中有 2 条被拒收（超过 --max-rejected 0）" in result.err
    assert rows(out / "audit.db", "SELECT line FROM rejected ORDER BY line") == [(8,), (9,)]
    # everything else was scored, and the limit decides the exit code, not what is stored
    assert rows(out / "audit.db", "SELECT COUNT(*) FROM messages WHERE score IS NOT NULL OR role != 'agent'") == [(6,)]
    assert audit(export, "--out", out, *EXPORT_COLUMNS, "--max-rejected", "25%").returncode == 0
    assert audit(export, "--out", out, *EXPORT_COLUMNS, "--max-rejected", "24%").returncode == 2
    assert audit(export, "--out", out, *EXPORT_COLUMNS, "--max-rejected", "100%").returncode == 0


def test_the_timezone_option_reads_naive_times_and_writes_local_columns(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"conversation_id": "c", "role": "customer", "text": "在吗", "time": "2026-11-01 10:00"},
                              ensure_ascii=False) + "\n" +
                   json.dumps({"conversation_id": "c", "role": "agent", "text": "您好，在的", "time": "2026-11-01T02:00:20Z"},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    utc = tmp_path / "utc"
    assert audit(log, "--out", utc, "--timezone", "UTC").returncode == 0
    assert rows(utc / "audit.db", "SELECT time_local FROM messages ORDER BY seq") == [("2026-11-01T10:00:00+00:00",),
                                                                                     ("2026-11-01T02:00:20+00:00",)]
    assert rows(utc / "audit.db", "SELECT timezone FROM runs") == [("UTC",)]
    china = tmp_path / "china"
    assert audit(log, "--out", china).returncode == 0  # China Standard Time by default: a 20 s reply
    assert rows(china / "audit.db", "SELECT first_response_seconds FROM conversations") == [(20.0,)]
    assert rows(china / "audit.db", "SELECT time_local FROM messages ORDER BY seq")[1] == ("2026-11-01T10:00:20+08:00",)
    bad = audit(log, "--out", tmp_path / "bad", "--timezone", "Mars/Base")
    assert bad.returncode == 2 and "--timezone: 不认识时区「Mars/Base」" in bad.err
    assert not (tmp_path / "bad" / "audit.db").exists()


_ZONES = ("Asia/Shanghai", "America/New_York", "Asia/Kathmandu", "Europe/London", "UTC", "-03:30", "+05:45")


@given(st.lists(st.tuples(st.one_of(st.none(),
                                    st.floats(min_value=-62_000_000_000, max_value=99_999_999_999, allow_nan=False),
                                    st.integers(1_500_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)),
                          st.sampled_from(_ZONES)), min_size=1, max_size=50))
def test_the_databases_computed_local_time_is_the_python_one_to_the_character(moments):
    """``time_local`` is not stored: the database computes it from ``time`` and ``utc_offset``
    (schema 5). It must read exactly as ``local_iso`` writes it (Spark's output and the
    workbench use the Python one), fractions, half milliseconds, zones with DST, old local
    mean times and years before 1000 included."""
    from kefu_lint.audit.store import LOCAL_TIME_SQL
    from kefu_lint.formats.chatlog import local_iso, utc_offset

    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE t (k INTEGER PRIMARY KEY, time REAL, utc_offset INTEGER,"
               f" time_local TEXT GENERATED ALWAYS AS ({LOCAL_TIME_SQL}) VIRTUAL)")
    expected = []
    for k, (seconds, zone) in enumerate(moments):
        timezone = parse_timezone(zone)
        db.execute("INSERT INTO t VALUES (?, ?, ?)", (k, seconds, utc_offset(seconds, timezone)))
        expected.append(local_iso(seconds, timezone))
    assert [row[0] for row in db.execute("SELECT time_local FROM t ORDER BY k")] == expected


def test_a_usage_error_leaves_no_run_behind(tmp_path):
    export = write_export(tmp_path / "export.csv", "gbk")
    out = tmp_path / "out"
    for attempt in range(2):  # the same mistake twice: the same error, never "interrupted, pass --resume"
        forgot = audit(export, "--out", out)
        assert forgot.returncode == 2 and "need --columns" in forgot.err and "--resume" not in forgot.err, forgot.err
    typo = audit(export, "--out", out, "--columns", "conversation_id=会话,role=角色,text=消息内容")
    assert typo.returncode == 2 and "no column named '会话' in the header (会话编号, 角色, 客服昵称, 消息内容, 发送时间)" in typo.err
    # a second input with the mistake: refused before the first is read
    both = audit(CHAT_LOG, export, "--out", out)
    assert both.returncode == 2 and "need --columns" in both.err
    database = out / "audit.db"
    assert not database.exists() or rows(database, "SELECT COUNT(*) FROM runs") == [(0,)]
    assert audit(export, "--out", out, *EXPORT_COLUMNS).returncode == 0
    assert rows(database, "SELECT status FROM runs") == [("complete",)]


def test_rules_table_and_findings_with_agent_time_and_points(tmp_path):
    out = tmp_path / "out"
    assert audit(CHAT_LOG, "--out", out, "--max-rejected", "100%").returncode == 0
    database = out / "audit.db"
    ruleset = load_ruleset("default")
    stored = {code: (zone, weight, level, title) for code, zone, weight, level, title in
              rows(database, "SELECT code, zone, weight, level, title FROM rules")}
    assert set(stored) == {rule.code for rule in ruleset.rules}
    for rule in ruleset.rules:
        zone, weight, level, title = stored[rule.code]
        assert (zone, weight, level) == (rule.zone, rule.weight, rule.level)
        assert re.search(r"[\u4e00-\u9fff]", title) and title.endswith(("。", "……", "…")), title
    # every finding deducts its rule's weight, and the conversation's score is the score model over them
    assert rows(database, "SELECT COUNT(*) FROM findings f JOIN rules r USING (run_id, code) WHERE f.points != r.weight") == [(0,)]
    for score, grade, deducted in rows(database, "SELECT c.score, c.grade, COALESCE(SUM(f.points), 0) FROM conversations c"
                                                 " LEFT JOIN findings f USING (run_id, conversation_id) GROUP BY c.conversation_id"):
        assert score == min(max(100 - deducted, 0), GRADE_CEILING[grade])
    # the agent responsible and the time of the message each finding marks
    replies = rows(database, "SELECT f.agent, m.agent, f.time, f.time_local, m.time FROM findings f JOIN messages m"
                             " USING (run_id, seq) WHERE f.level = 'reply'")
    assert replies and all(agent is not None and agent == sender and time == sent for agent, sender, time, _, sent in replies)
    for _, _, time, local, _ in replies:
        assert datetime.datetime.fromisoformat(local).timestamp() == time and local.endswith("+08:00")


def readme_queries() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Database** (`sqlite3 OUT/audit.db`"):]
    block = section[section.index("```sql") + len("```sql"):]
    block = block[: block.index("```")]
    statements = [" ".join(line for line in part.splitlines() if line.strip() and not line.strip().startswith("--"))
                  for part in block.split(";")]
    return [statement for statement in statements if statement.strip()]


def test_readme_queries_count_one_run_on_a_database_with_two(tmp_path):
    queries = readme_queries()
    assert len(queries) >= 4
    lines = CHAT_LOG.read_text(encoding="utf-8").splitlines()
    other = tmp_path / "other.jsonl"  # a second day: another log, other counts
    other.write_text("\n".join(line for line in lines if '"c1001"' not in line) + "\n", encoding="utf-8")
    alone, history, default = tmp_path / "alone", tmp_path / "history", tmp_path / "default"
    for out, logs, extra in ((alone, [other], ()), (history, [CHAT_LOG, other], ("--keep-history",)), (default, [CHAT_LOG, other], ())):
        for log in logs:
            assert audit(log, "--out", out, "--max-rejected", "100%", *extra).returncode == 0
    assert rows(history / "audit.db", "SELECT COUNT(*) FROM runs") == [(2,)]
    assert rows(default / "audit.db", "SELECT COUNT(*) FROM runs") == [(1,)]
    for query in queries:
        expected = rows(alone / "audit.db", query)
        assert expected, f"the README query returns nothing, so it proves nothing: {query}"
        assert rows(history / "audit.db", query) == expected, query
        assert rows(default / "audit.db", query) == expected, query
    # the counts are the latest run's: the first query's findings add up to that run's findings
    first = rows(history / "audit.db", queries[0].replace("LIMIT 20", ""))
    latest = rows(history / "audit.db", "SELECT COUNT(*) FROM findings WHERE run_id = (SELECT value FROM meta WHERE key = 'latest_run')")
    assert sum(row[3] for row in first) == latest[0][0] < rows(history / "audit.db", "SELECT COUNT(*) FROM findings")[0][0]
    # reusing the first run makes it the latest again
    again = audit(CHAT_LOG, "--out", history, "--max-rejected", "100%", "--keep-history")
    assert "already audited" in again.out
    assert rows(history / "audit.db", "SELECT COUNT(*) FROM latest_conversations") == [(5,)]
    assert rows(history / "audit.db", "SELECT COUNT(*) FROM runs") == [(2,)]


FORMS = (
    "{y}/{m:02d}/{d:02d} {H:02d}:{M:02d}:{S:02d}",
    "{y}-{m:02d}-{d:02d} {H:02d}:{M:02d}:{S:02d}",
    "{y}-{m}-{d} {H}:{M:02d}:{S:02d}",
    "{y}年{m}月{d}日 {H:02d}:{M:02d}:{S:02d}",
    "{y}年{m}月{d}日{H}时{M}分{S}秒",
    "{y}.{m}.{d} {H}:{M:02d}:{S:02d}",
    "{y}-{m:02d}-{d:02d}T{H:02d}:{M:02d}:{S:02d}",
)


# Epoch milliseconds are told from seconds from 1e11 on (1973-03-03): the moments start after it.
@given(moment=st.datetimes(min_value=datetime.datetime(1974, 1, 1), max_value=datetime.datetime(2999, 12, 31)),
       zone=st.sampled_from(["Asia/Shanghai", "UTC", "+05:30", "America/New_York"]))
def test_every_time_form_names_the_same_moment(moment, zone):
    moment = moment.replace(microsecond=0)
    timezone = parse_timezone(zone)
    fields = {"y": moment.year, "m": moment.month, "d": moment.day, "H": moment.hour, "M": moment.minute, "S": moment.second}
    expected = moment.replace(tzinfo=timezone).timestamp()
    for form in FORMS:
        assert parse_time(form.format(**fields), timezone) == expected, form
    assert parse_time(int(expected)) == parse_time(int(expected) * 1000) == parse_time(str(int(expected))) == expected


AUDIT_CONFIG = """\
[project]
name = "shop"

[tool.kefu-lint]
ruleset = "platform"
ignore = ["KF303"]

[tool.kefu-lint.audit]
columns = {conversation_id = "会话编号", role = "角色", agent = "客服昵称", text = "消息内容", time = "发送时间"}
agent-role = ["客服"]
customer-role = "买家"
timezone = "UTC"
jobs = 2
max-rejected = "20%"
out = "audits/today"
"""


def test_the_audits_options_live_in_the_config(tmp_path):
    shop = tmp_path / "shop"
    (shop / "logs").mkdir(parents=True)
    (shop / "pyproject.toml").write_text(AUDIT_CONFIG, encoding="utf-8")
    export = write_export(shop / "logs" / "export.csv", "gbk", ["s2,买家,,在吗,昨天下午"])
    result = audit("logs/export.csv", cwd=shop)  # no options at all: the config holds them
    assert result.returncode == 0, result.out + result.err  # 1 of 7 rejected is within 20%
    database = shop / "audits" / "today" / "audit.db"
    assert rows(database, "SELECT ruleset, timezone FROM runs") == [("platform", "UTC")]
    assert ("KF502",) in rows(database, "SELECT code FROM rules")  # the platform ruleset, not default
    assert rows(database, "SELECT COUNT(*) FROM findings WHERE code = 'KF303'") == [(0,)]  # the top-level ignore
    assert rows(database, "SELECT time_local FROM messages ORDER BY seq LIMIT 1") == [("2026-11-01T10:00:00+00:00",)]
    # the command line wins over the config
    stricter = audit(export, "--max-rejected", "0", "--timezone", "+08:00", "--out", tmp_path / "cli", cwd=shop)
    assert stricter.returncode == 2 and "读入的 7 条记录中有 1 条被拒收（超过 --max-rejected 0）" in stricter.err
    assert rows(tmp_path / "cli" / "audit.db", "SELECT timezone FROM runs") == [("UTC+08:00",)]
    # a mistake in the config is named with its file and key, before anything runs
    for broken, expected in (("jobs = 2", 'jobs = "two"'), ("timezone = \"UTC\"", 'timzone = "UTC"'),
                             ('max-rejected = "20%"', 'max-rejected = "lots"')):
        (shop / "pyproject.toml").write_text(AUDIT_CONFIG.replace(broken, expected), encoding="utf-8")
        failed = audit("logs/export.csv", cwd=shop)
        assert failed.returncode == 2 and str(shop / "pyproject.toml") in failed.err, failed.err
        assert ("audit.jobs" if "two" in expected else "audit.timzone" if "timzone" in expected else "audit.max-rejected") in failed.err


def test_the_audit_reads_the_top_level_encoding_and_its_own_overrides_it(tmp_path):
    # The top-level `encoding` applies to every command (audit included); `audit.encoding`
    # is the chat logs' own and wins over it; the command line wins over both.
    write_export(tmp_path / "export.csv", "gbk")
    top_level = '[tool.kefu-lint]\nencoding = "utf-8"\n'
    (tmp_path / "pyproject.toml").write_text(top_level, encoding="utf-8")
    as_utf8 = audit("export.csv", *EXPORT_COLUMNS, "--out", "top", cwd=tmp_path)
    # read as UTF-8, the GBK header names no column it has
    assert as_utf8.returncode == 2 and "no column named '会话编号'" in as_utf8.err, as_utf8.err
    assert audit("export.csv", *EXPORT_COLUMNS, "--encoding", "gbk", "--out", "cli", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text(top_level + '\n[tool.kefu-lint.audit]\nencoding = "gbk"\n', encoding="utf-8")
    as_gbk = audit("export.csv", *EXPORT_COLUMNS, "--out", "own", cwd=tmp_path)
    assert as_gbk.returncode == 0, as_gbk.err
    assert rows(tmp_path / "own" / "audit.db", "SELECT COUNT(*) FROM messages") == [(len(EXPORT_ROWS),)]


def test_the_shops_own_numbers_are_not_flagged_in_an_audit_either(tmp_path):
    # `shop-numbers` is one of the project's settings, and the audit judges by them as check does
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps({"conversation_id": "c", "role": "agent", "text": text}, ensure_ascii=False) for text in (
        "您好，退货请寄到杭州市西湖区文三路1号，电话13812345678",
        "您的收货电话是13900001111，地址没问题",
    )) + "\n", encoding="utf-8")
    flagged = lambda out: rows(tmp_path / out / "audit.db", "SELECT substr(m.text, f.start + 1, f.end - f.start) FROM findings f"
                                                   " JOIN messages m USING (run_id, seq) WHERE f.code = 'KF104'")  # noqa: E731
    assert audit(log, "--out", "without", cwd=tmp_path).returncode == 0
    assert sorted(flagged("without")) == [("13812345678",), ("13900001111",)]
    (tmp_path / "kefu-lint.toml").write_text('shop-numbers = ["138-1234-5678"]\n', encoding="utf-8")
    assert audit(log, "--out", "with", cwd=tmp_path).returncode == 0
    assert flagged("with") == [("13900001111",)]
