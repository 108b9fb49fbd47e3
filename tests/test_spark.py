"""The Spark engine gives the local audit's results, row for row, in a real local SparkSession."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import os  # noqa: E402

try:
    import pyspark  # noqa: F401; import pandas  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs kefu-lint[spark]: a missing extra must fail, not skip
    pytest.skip("needs kefu-lint[spark]", allow_module_level=True)

from conftest import EXAMPLES


from kefu_lint.formats.chatlog import ColumnMapping  # noqa: E402

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
JDDC_MAPPING = ["--columns", "conversation_id=1,role=3,text=7", "--agent-role", "1"]


@pytest.fixture(scope="module")
def spark():
    from kefu_lint.spark import session

    spark = session("local[2]")
    yield spark
    spark.stop()


def local_audit(tmp_path: Path, path: Path, *extra: str) -> Path:
    subprocess.run([KEFU_LINT, "audit", str(path), "--max-rejected", "100%", "--out", str(tmp_path / "local"), *extra], check=True, capture_output=True, timeout=600)
    return tmp_path / "local" / "audit.db"


def local_rows(database: Path):
    with sqlite3.connect(database) as db:
        return {
            "findings": sorted(db.execute('SELECT conversation_id, message_index, code, start, "end", flagged, level FROM findings').fetchall()),
            "finding_columns": sorted(db.execute("SELECT conversation_id, message_index, code, agent, time, time_local, points FROM findings").fetchall()),
            "rules": sorted(db.execute("SELECT code, name, zone, weight, level, scenes, title, title_en FROM rules").fetchall()),
            "conversations": sorted(db.execute("SELECT conversation_id, agent, score, grade, findings, red_findings, first_response_seconds, messages FROM conversations").fetchall()),
            "agents": sorted((a, c, round(m, 6), round(r, 6), f, json.loads(t)) for a, c, m, r, f, t in db.execute("SELECT agent, conversations, mean_score, red_rate, findings, top_rules FROM agents")),
            "rejected": sorted(db.execute("SELECT line, reason FROM rejected").fetchall()),
            "scores": sorted(db.execute("SELECT conversation_id, message_index, score, grade, scenes, time_local FROM messages").fetchall()),
        }


def spark_rows(out: Path, spark):
    from kefu_lint.spark import top_rules

    def read(name):
        return spark.read.parquet(str(out / f"{name}.parquet")).collect()

    return {
        "findings": sorted((r.conversation_id, r.message_index, r.code, r.start, r.end, r.flagged, r.level) for r in read("findings")),
        "finding_columns": sorted((r.conversation_id, r.message_index, r.code, r.agent, r.time, r.time_local, r.points) for r in read("findings")),
        "rules": sorted(tuple(r) for r in read("rules")),
        "conversations": sorted((r.conversation_id, r.agent, r.score, r.grade, r.findings, r.red_findings, r.first_response_seconds, r.messages) for r in read("conversations")),
        "agents": sorted((r.agent, r.conversations, round(r.mean_score, 6), round(r.red_rate, 6), r.findings, top_rules(r.ranked)) for r in read("agents")),
        "rejected": sorted((r.line, r.reason) for r in read("rejected")),
        "scores": sorted((r.conversation_id, r.message_index, r.score, r.grade, r.scenes, r.time_local) for r in read("messages")),
    }


def test_example_log_matches_the_local_audit_row_for_row(tmp_path, spark):
    from kefu_lint.spark import run_files

    summary = run_files(spark, [str(EXAMPLES / "chat_log.jsonl")], tmp_path / "spark")
    assert (summary["lines_read"], summary["scored"], summary["rejected"]) == (27, 25, 2)
    expected = local_rows(local_audit(tmp_path, EXAMPLES / "chat_log.jsonl"))
    assert spark_rows(tmp_path / "spark", spark) == expected


def test_jddc_sample_matches_the_local_audit_row_for_row(tmp_path, spark, jddc_path):
    from kefu_lint.spark import run_files

    mapping = ColumnMapping.parse("conversation_id=1,role=3,text=7", agent_roles="1")
    summary = run_files(spark, [str(jddc_path)], tmp_path / "spark", mapping=mapping)
    assert (summary["scored"], summary["rejected"], summary["conversations"]) == (12136, 0, 994)
    expected = local_rows(local_audit(tmp_path, jddc_path, *JDDC_MAPPING))
    assert spark_rows(tmp_path / "spark", spark) == expected


def test_audit_dataframe_with_renamed_columns(spark):
    from kefu_lint.spark import audit_dataframe

    frame = spark.createDataFrame(
        [("s1", "customer", "在吗", 0.0), ("s1", "agent", "不行", 50.0)], "session string, who string, body string, ts double")
    result = audit_dataframe(frame, columns={"conversation_id": "session", "role": "who", "text": "body", "time": "ts"})
    codes = sorted(r.code for r in result.findings.collect())
    # the agent spoke last: the chat ended, unclosed; and 「不行」 is all it answered to 「在吗」 (KF405)
    assert codes == ["KF101", "KF301", "KF303", "KF401", "KF405"]


def test_cli_engine_spark_writes_parquet(tmp_path):
    result = subprocess.run([KEFU_LINT, "audit", "--engine", "spark", "--master", "local[2]", str(EXAMPLES / "chat_log.jsonl"),
                             "--out", str(tmp_path), "--max-rejected", "2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "lines read 27 = 25 scored + 2 rejected (totals reconcile)" in result.stdout
    for name in ("messages", "conversations", "findings", "agents", "rejected", "rules"):
        assert (tmp_path / f"{name}.parquet").is_dir()


def test_conversations_cut_by_arrow_batches_are_carried_over(tmp_path, spark):
    """Tiny Arrow batches cut conversations in two: the result must not change."""
    from kefu_lint.spark import run_files

    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "3")
    try:
        run_files(spark, [str(EXAMPLES / "chat_log.jsonl")], tmp_path / "spark")
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    assert spark_rows(tmp_path / "spark", spark) == local_rows(local_audit(tmp_path, EXAMPLES / "chat_log.jsonl"))


def test_undecodable_lines_and_a_gbk_export_read_as_the_local_audit_reads_them(tmp_path, spark):
    """D15: Spark decoded every line as UTF-8 with U+FFFD for bad bytes and scored it; the local
    audit rejects such a line with its reason. Now both read the same bytes the same way."""
    from kefu_lint.spark import run_files

    log = tmp_path / "bytes.jsonl"
    good = [json.dumps({"conversation_id": "c1", "role": role, "text": text, "time": 1762000000 + i * 10}, ensure_ascii=False)
            for i, (role, text) in enumerate([("customer", "在吗"), ("agent", "不行"), ("customer", "好的谢谢")])]
    log.write_bytes("\n".join(good).encode() + b'\n{"conversation_id":"c2","role":"agent","text":"\xff\xfe\xe4\xb8"}\n'
                    + b'{"conversation_id":"c2","role":"agent","text":"x","agent":"\xb2\xbb"}\n')
    summary = run_files(spark, [str(log)], tmp_path / "spark")
    assert (summary["scored"], summary["rejected"]) == (3, 2)
    assert spark_rows(tmp_path / "spark", spark) == local_rows(local_audit(tmp_path, log))
    reasons = [r.reason for r in spark.read.parquet(str(tmp_path / "spark" / "rejected.parquet")).orderBy("line").collect()]
    assert reasons == ["text 含有不是 UTF-8 的字节（请用 --encoding 指明编码）", "agent 含有不是 UTF-8 的字节（请用 --encoding 指明编码）"]
    # a shop's GBK export: Chinese header names and text, as the local audit reads them
    export = tmp_path / "gbk.csv"
    export.write_bytes("会话,角色,内容,时间\nk1,买家,在吗?,2026/11/01 10:00:00\nk1,客服,不行，你问问快递吧,2026年11月1日 10:01\n".encode("gbk"))
    columns = "conversation_id=会话,role=角色,text=内容,time=时间"
    mapping = ColumnMapping.parse(columns, agent_roles="客服", customer_roles="买家")
    summary = run_files(spark, [str(export)], tmp_path / "spark-gbk", mapping=mapping)
    assert (summary["scored"], summary["rejected"]) == (2, 0)
    local = tmp_path / "gbk-local"
    subprocess.run([KEFU_LINT, "audit", str(export), "--out", str(local), "--columns", columns, "--agent-role", "客服",
                    "--customer-role", "买家"], check=True, capture_output=True, timeout=600)
    rows = spark_rows(tmp_path / "spark-gbk", spark)
    assert rows == local_rows(local / "audit.db")
    assert ("k1", 1, "KF101", 0, 2, "不行", "reply") in rows["findings"]


def test_records_lost_between_the_reader_and_the_tables_show_as_a_mismatch(tmp_path, spark):
    """``lines_read`` was scored + rejected, so it could never disagree; now the readers count
    the records they read (on the executors, as the local audit's readers do)."""
    from kefu_lint.spark import SparkInput, audit_and_write, read_messages

    read = read_messages(spark, [str(EXAMPLES / "chat_log.jsonl")])
    assert read.records_read == 27
    # Fault injection: one message is lost on the way to the tables.
    lossy = SparkInput(read.messages.where("line != 3"), read.rejected, read.records_read)
    summary = audit_and_write(spark, lossy, tmp_path / "spark")
    assert (summary["lines_read"], summary["scored"], summary["rejected"]) == (27, 24, 2)


def test_a_repeated_message_id_is_rejected_as_the_local_audit_rejects_it(tmp_path, spark):
    from kefu_lint.spark import run_files

    lines = [{"conversation_id": "c1", "role": "customer", "text": "在吗", "message_id": "m1"},
             {"conversation_id": "c1", "role": "agent", "text": "不行", "message_id": "m'2"}]
    lines = lines + lines + [{"conversation_id": "c2", "role": "customer", "text": "在吗", "message_id": "m1"},
                             {"conversation_id": "c2", "role": "agent", "text": "您好"}, {"conversation_id": "c2", "role": "agent", "text": "您好"}]
    log = tmp_path / "twice.jsonl"
    log.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    summary = run_files(spark, [str(log)], tmp_path / "spark")
    assert (summary["lines_read"], summary["scored"], summary["rejected"]) == (7, 5, 2)
    rows = spark_rows(tmp_path / "spark", spark)
    assert rows == local_rows(local_audit(tmp_path, log))
    assert rows["rejected"] == [(3, f"message_id 'm1' 重复：已在 {log}:1 读过"), (4, f"message_id 'm''2' 重复：已在 {log}:2 读过")]
    run_files(spark, [str(log)], tmp_path / "spark-en", language="en")
    english = sorted(r.reason for r in spark.read.parquet(str(tmp_path / "spark-en" / "rejected.parquet")).collect())
    assert english == [f"duplicate message_id 'm''2': already read at {log}:2", f"duplicate message_id 'm1': already read at {log}:1"]
