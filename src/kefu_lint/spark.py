"""Audit at warehouse scale on Apache Spark, with the very same engine as the local audit.

``pip install 'kefu-lint[spark]'``. Messages are repartitioned by conversation and each
partition is scored with ``mapInPandas``; each executor process builds its Linter once and
reuses it for every conversation. Files are parsed line by line with the local reader's own functions, so
Spark accepts and rejects exactly the lines the local audit does.

    from kefu_lint.spark import audit_dataframe
    result = audit_dataframe(messages_df, ruleset="default")
    result.findings.show()

Input columns (rename with ``columns={"conversation_id": "session_id", …}``):
``conversation_id``, ``role``, ``text``, optional ``time`` (epoch seconds or ISO-8601),
``agent``, ``shop``, ``message_id``, ``seq`` (input order; generated when absent).
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, KefuLintError
from .formats.chatlog import (
    CHINA_STANDARD_TIME,
    DUPLICATE_ID_REASON,
    SEQ_PER_INPUT,
    ColumnMapping,
    RecordCount,
    Rejected,
    _message,
    local_iso,
    read_chat_log,
    reason_text,
)
from .audit.scoring import ScorerSpec
from .audit.store import rule_rows
from .formats.decode import printable_name
from .model import ChatMessage

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


MESSAGE_SCHEMA = (
    "conversation_id string, role string, text string, time double, agent string, shop string, "
    "message_id string, source string, line long, seq long, partial boolean"
)
REJECTED_SCHEMA = "source string, line long, reason string, raw string"
RULES_SCHEMA = "code string, name string, zone string, weight int, level string, scenes string, title string, title_en string"
RESULT_SCHEMA = (
    "kind string, conversation_id string, message_index int, seq long, agent string, shop string, role string, "
    "text string, code string, name string, zone string, level string, message string, start int, `end` int, "
    "flagged string, suggestion string, score int, grade string, scenes string, acts string, messages int, "
    "agent_messages int, findings int, red_findings int, first_response_seconds double, ended boolean, "
    "time double, time_local string, points int"
)
RESULT_FIELDS = [part.strip().split(" ")[0].strip("`") for part in RESULT_SCHEMA.split(",")]


_linters: dict[ScorerSpec, Any] = {}


def _linter(spec: ScorerSpec):
    """The executor process's Linter, built on first use and reused for every partition."""
    linter = _linters.get(spec)
    if linter is None:
        linter = _linters[spec] = spec.linter()
    return linter


def _none(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _result_rows(result, weights: dict[str, int], timezone: datetime.tzinfo) -> list[dict]:
    """The output rows of one scored conversation: its messages, findings and summary, with the
    local database's columns (``time_local`` in ``timezone``, a finding's ``points``)."""
    rows = []
    empty = dict.fromkeys(RESULT_FIELDS)
    cid = result.conversation_id
    for m in result.messages:
        rows.append({**empty, "kind": "message", "conversation_id": cid, "message_index": m.index, "seq": m.message.seq,
                     "agent": m.message.agent, "shop": m.message.shop, "role": m.message.role, "text": m.message.text,
                     "score": m.score.value if m.score else None, "grade": m.score.grade if m.score else None,
                     "scenes": ",".join(m.scenes), "acts": ",".join(m.acts), "time": m.message.time,
                     "time_local": local_iso(m.message.time, timezone)})
    for f in result.findings:
        message = result.messages[f.message_index].message
        v = f.violation
        rows.append({**empty, "kind": "finding", "conversation_id": cid, "message_index": f.message_index, "seq": message.seq,
                     "agent": f.agent, "code": v.code, "name": v.name, "zone": v.zone, "level": f.level, "message": v.message,
                     "start": v.start, "end": v.end, "flagged": message.text[v.start:v.end], "suggestion": v.suggestion,
                     "time": message.time, "time_local": local_iso(message.time, timezone), "points": weights.get(v.code, 0)})
    rows.append({**empty, "kind": "conversation", "conversation_id": cid, "agent": result.agent, "shop": result.shop,
                 "score": result.score.value, "grade": result.score.grade, "messages": len(result.messages),
                 "agent_messages": result.agent_messages, "findings": len(result.findings),
                 "red_findings": sum(1 for f in result.findings if f.violation.zone == "red"),
                 "first_response_seconds": result.first_response_seconds, "ended": result.ended})
    for part in result.agents:  # each agent's own part, as the local audit's conversation_agents
        rows.append({**empty, "kind": "agent", "conversation_id": cid, "agent": part.agent, "messages": part.messages,
                     "score": part.score.value, "grade": part.score.grade, "findings": len(part.score.violations)})
    return rows


def _frame(rows: list[dict]):
    import pandas as pd

    frame = pd.DataFrame(rows, columns=RESULT_FIELDS)
    for column in ("message_index", "start", "end", "score", "messages", "agent_messages", "findings", "red_findings", "points"):
        frame[column] = frame[column].astype("Int32")
    frame["seq"] = frame["seq"].astype("Int64")
    return frame


def _messages_of(frame) -> list[ChatMessage]:
    return [
        ChatMessage(
            conversation_id=row.conversation_id, role=row.role, text=row.text, time=_none(row.time),
            agent=_none(row.agent), shop=_none(row.shop), message_id=_none(row.message_id),
            source=row.source, line=int(row.line), seq=int(row.seq), partial=bool(row.partial),
        )
        for row in frame.itertuples(index=False)
    ]


def _score_partitions(spec: ScorerSpec, partial: bool = False, timezone: datetime.tzinfo = CHINA_STANDARD_TIME):
    """mapInPandas over partitions sorted by conversation: one pandas frame per Arrow batch
    rather than per conversation. A conversation cut by a batch boundary is carried over."""

    def score(batches):
        import pandas as pd

        linter = _linter(spec)
        carried = None
        for batch in batches:
            if carried is not None:
                batch = pd.concat([carried, batch], ignore_index=True)
            if batch.empty:
                continue
            last_id = batch["conversation_id"].iloc[-1]
            complete, carried = batch[batch["conversation_id"] != last_id], batch[batch["conversation_id"] == last_id]
            rows = []
            conversations = [_messages_of(group) for _, group in complete.groupby("conversation_id", sort=False)]
            for result in linter.lint_conversations(conversations, partial=partial):
                rows.extend(_result_rows(result, linter.weights, timezone))
            if rows:
                yield _frame(rows)
        if carried is not None and not carried.empty:
            yield _frame(_result_rows(linter.lint_conversation(_messages_of(carried), partial=partial), linter.weights, timezone))

    return score


@dataclass(frozen=True)
class SparkAudit:
    """The audit's results as DataFrames (the same columns as the local database's tables)."""

    messages: DataFrame
    conversations: DataFrame
    findings: DataFrame
    agents: DataFrame
    rejected: DataFrame | None = None
    rules: DataFrame | None = None


def audit_dataframe(
    messages: DataFrame,
    *,
    ruleset: str = "default",
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    tokenizer: str = "jieba",
    shop_numbers: Sequence[str] = (),
    columns: dict[str, str] | None = None,
    rejected: DataFrame | None = None,
    partial: bool = False,
    timezone: datetime.tzinfo = CHINA_STANDARD_TIME,
    language: str = "zh",
) -> SparkAudit:
    """Score a DataFrame of chat messages: findings, conversation results, agents and the
    rules judged by; local-time columns in ``timezone``. A message id repeated within a
    conversation is rejected as the local audit rejects it (the same reason, in ``language``)
    and added to ``rejected``."""
    from pyspark.sql import functions as F

    spec = ScorerSpec(ruleset, tuple(select) if select is not None else None, tuple(ignore), tokenizer, tuple(shop_numbers))
    linter = _linter(spec)  # fail on the driver, with a clear message, if the ruleset is wrong
    frame = messages
    for field, column in (columns or {}).items():
        frame = frame.withColumnRenamed(column, field)
    for optional, kind in (("time", "double"), ("agent", "string"), ("shop", "string"), ("message_id", "string"),
                           ("source", "string"), ("line", "long"), ("partial", "boolean")):
        if optional not in frame.columns:
            frame = frame.withColumn(optional, F.lit(None).cast(kind))
    if "seq" not in frame.columns:
        frame = frame.withColumn("seq", F.monotonically_increasing_id())
    frame = frame.select("conversation_id", "role", "text", F.col("time").cast("double").alias("time"), "agent", "shop",
                         "message_id", F.coalesce("source", F.lit("<dataframe>")).alias("source"),
                         F.coalesce("line", F.lit(0)).cast("long").alias("line"), F.col("seq").cast("long").alias("seq"),
                         F.coalesce(F.col("partial").cast("boolean"), F.lit(False)).alias("partial"))
    # Every conversation in one partition, its messages together: then whole partitions are
    # scored in one pass (cheaper than a pandas frame per conversation with applyInPandas).
    # The repeats of a message id are found in the same partitioning (no second shuffle).
    kept, repeats = _without_repeated_ids(frame.repartition("conversation_id"), language)
    rejected = repeats if rejected is None else rejected.unionByName(repeats)
    ordered = kept.sortWithinPartitions("conversation_id", "seq")
    results = ordered.mapInPandas(_score_partitions(spec, partial, timezone), schema=RESULT_SCHEMA).persist()
    conversations = results.where("kind = 'conversation'").select(
        "conversation_id", "agent", "shop", "messages", "agent_messages", "score", "grade", "findings", "red_findings",
        "first_response_seconds", "ended")
    findings = results.where("kind = 'finding'").select(
        "conversation_id", "message_index", "seq", "agent", "time", "time_local", "code", "name", "zone", "points", "level",
        "message", "start", "end", "flagged", "suggestion")
    scored = results.where("kind = 'message'").select(
        "conversation_id", "message_index", "seq", "role", "text", "time", "time_local", "agent", "score", "grade", "scenes", "acts")
    parts = results.where("kind = 'agent'").select("conversation_id", "agent", "messages", "score", "grade", "findings")
    agent = F.coalesce("agent", F.lit("(unknown)")).alias("agent")
    per_rule = findings.select(agent, "code").groupBy("agent", "code").count()
    top = (per_rule.withColumn("rank", F.row_number().over(
                __import__("pyspark.sql.window", fromlist=["Window"]).Window.partitionBy("agent").orderBy(F.desc("count"), "code")))
           .where("rank <= 5").groupBy("agent")
           .agg(F.to_json(F.sort_array(F.collect_list(F.struct("rank", "code", "count")))).alias("ranked")))
    agents = (parts.groupBy(agent)
              .agg(F.count("*").alias("conversations"), F.avg("score").alias("mean_score"),
                   F.avg((F.col("grade") == "red").cast("double")).alias("red_rate"), F.sum("findings").alias("findings"))
              .join(top, "agent", "left"))
    rules = messages.sparkSession.createDataFrame(rule_rows(linter.ruleset.rules), RULES_SCHEMA)
    return SparkAudit(scored, conversations, findings, agents, rejected, rules)


def _without_repeated_ids(frame: DataFrame, language: str) -> tuple[DataFrame, DataFrame]:
    """(the messages but the repeats of a message id within a conversation, those repeats as
    rejected rows): the local store's ``finish_ingest`` in DataFrame terms, reason for reason."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    first = Window.partitionBy("conversation_id", "message_id").orderBy("seq")
    marked = (frame.withColumn("_copy", F.when(F.col("message_id").isNotNull(), F.row_number().over(first)))
              .withColumn("_first_source", F.first("source").over(first))
              .withColumn("_first_line", F.first("line").over(first)))
    before, middle, after = DUPLICATE_ID_REASON[language]
    quoted = F.concat(F.lit("'"), F.regexp_replace("message_id", "'", "''"), F.lit("'"))  # SQLite's quote()
    reason = F.concat(F.lit(before), quoted, F.lit(middle), F.col("_first_source"), F.lit(":"),
                      F.col("_first_line").cast("string"), F.lit(after))
    repeats = marked.where("_copy > 1").select("source", "line", reason.alias("reason"), F.col("text").alias("raw"))
    kept = marked.where("_copy IS NULL OR _copy = 1").drop("_copy", "_first_source", "_first_line")
    return kept, repeats


def top_rules(ranked: str | None) -> list[list]:
    """``[[code, count], …]`` from the agents frame's ``ranked`` column (as the local ``top_rules``)."""
    return [[item["code"], item["count"]] for item in json.loads(ranked)] if ranked else []


# ----------------------------------------------------------------------------- reading files

@dataclass(frozen=True)
class SparkInput:
    """What :func:`read_messages` read: the messages, the rejected records, and how many
    records the readers read, counted as they read them (a JSONL line, a CSV row, a break
    in the file, a Parquet row), apart from what becomes of them: records lost between
    reading and the written tables show as a mismatch, as in the local audit."""

    messages: DataFrame
    rejected: DataFrame
    records_read: int


def read_messages(spark: SparkSession, inputs: Sequence[str], *, mapping: ColumnMapping | None = None,
                  input_format: str = "auto", encoding: str | None = None,
                  timezone: datetime.tzinfo = CHINA_STANDARD_TIME, language: str = "zh") -> SparkInput:
    """The messages and rejected records of JSONL, CSV/TSV (one record per line, .gz too) or
    Parquet files, and the count of records read.

    Text files are read by the local reader itself, from their bytes (see ``_text_records``):
    encodings, line numbers, acceptance, reasons (in ``language``) and counts match the local audit.
    """
    message_frames, rejected_frames = [], []
    records_read = 0
    for number, path in enumerate(inputs):
        seq_start = number * SEQ_PER_INPUT
        if path.endswith(".parquet") or input_format == "parquet" or Path(path).is_dir():
            records, read = _parquet_records(spark, path, mapping, seq_start, language)
        else:
            records = _text_records(spark, path, mapping, input_format, seq_start, encoding, timezone, language)
            read = records.filter(lambda r: r[0] == "count").map(lambda r: r[1][0]).sum()
        records_read += int(read)
        message_frames.append(spark.createDataFrame(records.filter(lambda r: r[0] == "ok").map(lambda r: r[1]), MESSAGE_SCHEMA))
        rejected_frames.append(spark.createDataFrame(records.filter(lambda r: r[0] == "rejected").map(lambda r: r[1]), REJECTED_SCHEMA))
    messages, rejected = message_frames[0], rejected_frames[0]
    for frame in message_frames[1:]:
        messages = messages.unionByName(frame)
    for frame in rejected_frames[1:]:
        rejected = rejected.unionByName(frame)
    return SparkInput(messages, rejected, records_read)


def _as_row(record: ChatMessage | Rejected):
    # File names as the local database stores them (printable_name): the tables compare row for row.
    if isinstance(record, Rejected):
        return "rejected", (printable_name(record.source), record.line, record.reason, record.raw)
    return "ok", (record.conversation_id, record.role, record.text, record.time, record.agent, record.shop,
                  record.message_id, printable_name(record.source), record.line, record.seq, record.partial)


def _text_records(spark, path: str, mapping: ColumnMapping | None, input_format: str, seq_start: int,
                  encoding: str | None, timezone: datetime.tzinfo, language: str):
    """The records of a text log, read by the local reader itself from the file's bytes.

    ``textFile`` would decode on the JVM, which turns undecodable bytes into U+FFFD (and a GBK
    export into garbage) before Python sees them; so each file's bytes are read whole by one
    task and handed to :func:`read_chat_log`, which detects the encoding, rejects a line with
    bytes it cannot decode, joins quoted CSV cells over lines and reports a truncated .gz, as
    in the local audit. Each task ends with the count of records the reader read. A usage
    error (no ``--columns``, a column the header lacks) comes back as a record and is raised
    on the driver."""

    def read(item):
        _, content = item
        count = RecordCount()
        try:
            for record in read_chat_log(path, mapping=mapping, input_format=input_format, encoding=encoding,
                                        seq_start=seq_start, timezone=timezone, raw=io.BytesIO(content),
                                        count=count, language=language):
                yield _as_row(record)
        except KefuLintError as error:
            yield "error", (str(error),)
        yield "count", (count.records,)

    records = spark.sparkContext.binaryFiles(path).flatMap(read).persist()
    errors = records.filter(lambda r: r[0] == "error").take(1)
    if errors:
        raise ConfigError(errors[0][1][0])
    return records


def _parquet_records(spark, path: str, mapping: ColumnMapping | None, seq_start: int, language: str):
    """The records of a Parquet input, and the number of rows its reader read."""
    frame = spark.read.parquet(path)
    renames = {column: field for field, column in (mapping.columns.items() if mapping else [])}
    names = frame.columns

    def parse(item):
        row, index = item
        record = {renames.get(name, name): value for name, value in zip(names, row)}
        result = _message_or_reject(record, path, index + 1, seq_start + index + 1, mapping, language=language)
        return [_as_row(result)]

    return frame.rdd.map(tuple).zipWithIndex().flatMap(parse).persist(), frame.count()


def _message_or_reject(record: dict, path: str, number: int, seq: int, mapping, timezone=CHINA_STANDARD_TIME,
                       language: str = "zh"):
    try:
        return _message(record, path, number, seq, mapping, timezone)
    except ValueError as error:
        return Rejected(path, number, reason_text(error, language), json.dumps(record, ensure_ascii=False, default=str)[:500])


# ----------------------------------------------------------------------------- sessions and files

def session(master: str = "local[2]", app_name: str = "kefu-lint") -> SparkSession:
    """A SparkSession for kefu-lint: executors run this interpreter; no UI; loopback only."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise ConfigError("the Spark engine needs the spark extra: pip install 'kefu-lint[spark]'") from error
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "8")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


#: The Parquet tables an audit on Spark writes, one folder each.
OUTPUT_TABLES = ("messages", "conversations", "findings", "agents", "rejected", "rules")


def run_files(spark: SparkSession, inputs: Sequence[str], out_dir: Path, *, ruleset: str = "default",
              select: Sequence[str] | None = None, ignore: Sequence[str] = (), tokenizer: str = "jieba",
              shop_numbers: Sequence[str] = (), mapping: ColumnMapping | None = None, input_format: str = "auto", partial: bool = False,
              encoding: str | None = None, timezone: datetime.tzinfo = CHINA_STANDARD_TIME, language: str = "zh") -> dict:
    """Read, audit and write Parquet (messages, conversations, findings, agents, rejected)."""
    read = read_messages(spark, inputs, mapping=mapping, input_format=input_format, encoding=encoding,
                         timezone=timezone, language=language)
    return audit_and_write(spark, read, out_dir, ruleset=ruleset, select=select, ignore=ignore, tokenizer=tokenizer,
                           shop_numbers=shop_numbers, partial=partial, timezone=timezone, language=language)


def audit_and_write(spark: SparkSession, read: SparkInput, out_dir: Path, *, ruleset: str = "default",
                    select: Sequence[str] | None = None, ignore: Sequence[str] = (), tokenizer: str = "jieba",
                    shop_numbers: Sequence[str] = (), partial: bool = False,
                    timezone: datetime.tzinfo = CHINA_STANDARD_TIME, language: str = "zh") -> dict:
    """Audit what :func:`read_messages` read and write its Parquet tables; the summary's
    ``lines_read`` is the readers' own count, and ``scored`` and ``rejected`` are counted in
    the tables written, so that the three can disagree (and the run then fails)."""
    result = audit_dataframe(read.messages, ruleset=ruleset, select=select, ignore=ignore, tokenizer=tokenizer,
                             shop_numbers=shop_numbers, rejected=read.rejected,
                             partial=partial, timezone=timezone, language=language)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_TABLES:
        getattr(result, name).write.mode("overwrite").parquet(str(out_dir / f"{name}.parquet"))
    conversations = spark.read.parquet(str(out_dir / "conversations.parquet"))
    grades = {row["grade"]: row["count"] for row in conversations.groupBy("grade").count().collect()}
    scored = spark.read.parquet(str(out_dir / "messages.parquet")).count()
    rejected_count = spark.read.parquet(str(out_dir / "rejected.parquet")).count()
    mean = conversations.agg({"score": "avg"}).collect()[0][0]
    return {"lines_read": read.records_read, "messages": scored, "scored": scored, "rejected": rejected_count,
            "conversations": sum(grades.values()), "grades": grades, "mean_score": mean}
