"""The audit database: one SQLite file auditors can query with SQL.

SQLite because it ships with Python (no extra dependency on the auditor's machine), its
transactions make a run crash-safe (each batch commits whole, so ``kill -9`` loses nothing
and ``--resume`` continues), and every BI tool reads it; DuckDB users ``ATTACH`` it for
heavy analytics. Rows are keyed by run, so re-running the same input writes nothing twice.

Each message is written to the database once, with its results. Until its conversation is
scored it waits in the run's ingest file beside the database (``audit.db.<run>.ingest``,
attached as ``ingest``): read in input order, grouped there by an index built once the whole
input is in, and deleted with the file when the run completes. The database's own indexes
are built after scoring, not kept up row by row.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError
from ..model import ChatMessage
from ..formats.chatlog import DUPLICATE_ID_REASON, Rejected, local_iso, utc_offset
from ..formats.decode import printable_name
from ..conversation import ConversationResult

#: Bumped when a table changes shape; a database of another version is refused, not mixed.
#: 4: messages are written once, with their results (an unfinished run's messages wait in
#: its ingest file), stored by conversation (no rowid, no index beside them); the findings'
#: indexes are built after scoring. 5: ``time_local`` is computed from ``time`` and the new
#: ``utc_offset`` (a virtual column) instead of stored: 29 bytes less a message and a finding.
SCHEMA_VERSION = 5

_MILLISECONDS = "CAST(round(time * 1000) AS INTEGER)"
_FRACTION = f"(({_MILLISECONDS} % 1000 + 1000) % 1000)"
#: ``formats.chatlog.local_iso`` in SQL, from ``time`` and ``utc_offset``: the moment rounded
#: to the millisecond, whole seconds formatted by ``strftime`` (exact on integers), the
#: fraction only when it is not zero, then the offset (with seconds for the old local mean
#: times of named zones). Integer arithmetic throughout, so it agrees with Python to the
#: character (a property test holds them equal).
LOCAL_TIME_SQL = (
    f"CASE WHEN time IS NULL OR utc_offset IS NULL THEN NULL ELSE"
    f" strftime('%Y-%m-%dT%H:%M:%S', ({_MILLISECONDS} - {_FRACTION}) / 1000 + utc_offset, 'unixepoch')"
    f" || CASE WHEN {_FRACTION} THEN printf('.%03d', {_FRACTION}) ELSE '' END"
    f" || CASE WHEN utc_offset < 0 THEN '-' ELSE '+' END"
    f" || printf('%02d:%02d', abs(utc_offset) / 3600, abs(utc_offset) % 3600 / 60)"
    f" || CASE WHEN abs(utc_offset) % 60 THEN printf(':%02d', abs(utc_offset) % 60) ELSE '' END END"
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
-- One row per audit run; run_id hashes the inputs' contents, the ruleset and the options.
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,        -- ISO-8601 local time with its offset (runs.timezone)
    finished_at TEXT,
    status TEXT NOT NULL,            -- ingesting | scoring | complete
    timezone TEXT NOT NULL,          -- the zone of every *_local column, and of naive input times
    inputs TEXT NOT NULL,            -- JSON list of input paths
    ruleset TEXT NOT NULL,
    options TEXT NOT NULL,           -- JSON
    tool_version TEXT NOT NULL,
    lines_read INTEGER,              -- records read, as the readers counted them (= messages + rejected when nothing is lost)
    messages INTEGER,
    rejected INTEGER,
    conversations INTEGER,
    mean_score REAL
);
-- Every input message, in input order (seq), with its score once scored.
CREATE TABLE IF NOT EXISTS messages (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL,              -- customer | agent | system
    text TEXT NOT NULL,
    time REAL,                       -- epoch seconds
    utc_offset INTEGER,              -- seconds east of UTC at that moment in runs.timezone
    time_local TEXT GENERATED ALWAYS AS ({local_time}) VIRTUAL,  -- ISO-8601 local time with its offset
    agent TEXT,
    shop TEXT,
    message_id TEXT,
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    partial INTEGER NOT NULL DEFAULT 0,  -- 1: the log starts mid-conversation
    message_index INTEGER,           -- position in the ordered conversation
    scenes TEXT,                     -- inferred scenes, comma-separated
    acts TEXT,                       -- dialogue acts (intents of its role), comma-separated
    score INTEGER,                   -- agent messages: 0..100
    grade TEXT,                      -- agent messages: green | yellow | red
    -- Stored by conversation (the way it is read), with no index beside it: seq is unique
    -- in a run, and a finding names its message's conversation and seq.
    PRIMARY KEY (run_id, conversation_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (
    run_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    agent TEXT,
    shop TEXT,
    messages INTEGER NOT NULL,
    agent_messages INTEGER NOT NULL,
    score INTEGER NOT NULL,
    grade TEXT NOT NULL,
    findings INTEGER NOT NULL,
    red_findings INTEGER NOT NULL,
    first_response_seconds REAL,
    ended INTEGER NOT NULL,          -- 1 when the conversation ended (see README: conversations)
    PRIMARY KEY (run_id, conversation_id)
) WITHOUT ROWID;
-- Each agent's part in each conversation they took part in: the findings charged to them
-- (their own messages, the moments they were responsible for) and the score of those.
CREATE TABLE IF NOT EXISTS conversation_agents (
    run_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    agent TEXT NOT NULL,             -- '(unknown)' when the log names no agent
    messages INTEGER NOT NULL,
    score INTEGER NOT NULL,
    grade TEXT NOT NULL,
    findings INTEGER NOT NULL,
    PRIMARY KEY (run_id, conversation_id, agent)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS findings (
    run_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_index INTEGER NOT NULL,
    seq INTEGER NOT NULL,            -- the message (messages.seq)
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    zone TEXT NOT NULL,
    level TEXT NOT NULL,             -- reply | conversation
    agent TEXT,                      -- the agent responsible for it
    time REAL,                       -- epoch seconds of the message it marks
    utc_offset INTEGER,              -- seconds east of UTC at that moment in runs.timezone
    time_local TEXT GENERATED ALWAYS AS ({local_time}) VIRTUAL,  -- ISO-8601 local time with its offset
    points INTEGER NOT NULL,         -- what it deducts from 100: its rule's weight (rules.weight)
    message TEXT NOT NULL,
    start INTEGER NOT NULL,          -- character offsets into messages.text
    "end" INTEGER NOT NULL,
    flagged TEXT NOT NULL,
    suggestion TEXT
);
CREATE TABLE IF NOT EXISTS agents (
    run_id TEXT NOT NULL,
    agent TEXT NOT NULL,             -- '(unknown)' when the log names no agent
    conversations INTEGER NOT NULL,
    mean_score REAL NOT NULL,        -- of the agent's own part in each conversation
    red_rate REAL NOT NULL,          -- share of their conversations with a red finding of theirs
    findings INTEGER NOT NULL,
    top_rules TEXT NOT NULL,         -- JSON [[code, count], ...], most frequent first
    PRIMARY KEY (run_id, agent)
);
CREATE TABLE IF NOT EXISTS rejected (
    run_id TEXT NOT NULL,
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT,
    PRIMARY KEY (run_id, source, line)
);
-- The rules the run judged by, from its ruleset: what a finding's code means and weighs.
CREATE TABLE IF NOT EXISTS rules (
    run_id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    zone TEXT NOT NULL,              -- red | yellow | green
    weight INTEGER NOT NULL,         -- points a finding deducts
    level TEXT NOT NULL,             -- reply | conversation
    scenes TEXT NOT NULL,            -- comma-separated; '' for all
    title TEXT NOT NULL,             -- what it checks, in Chinese (the first sentence of `kefu-lint explain`)
    title_en TEXT NOT NULL,
    PRIMARY KEY (run_id, code)
);
""".replace("{local_time}", LOCAL_TIME_SQL)
#: Built once a run's results are in (one sort each, not an index kept up row by row);
#: ``IF NOT EXISTS``: a database that keeps history has them already and keeps them up.
INDEXES = """
CREATE INDEX IF NOT EXISTS findings_by_conversation ON findings (run_id, conversation_id);
CREATE INDEX IF NOT EXISTS findings_by_code ON findings (run_id, code);
"""
#: A run's messages from ingest until their conversation is scored, in its ingest file: in
#: input order (seq is the rowid: appended, never re-sorted), as the readers parsed them.
INGEST_SCHEMA = """
CREATE TABLE IF NOT EXISTS ingest.pending (
    seq INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, time REAL,
    agent TEXT, shop TEXT, message_id TEXT, source TEXT NOT NULL, line INTEGER NOT NULL, partial INTEGER NOT NULL
);
-- Repeats of a message id found when the input is in, until the database records them.
CREATE TABLE IF NOT EXISTS ingest.repeats (seq INTEGER PRIMARY KEY, source TEXT, line INTEGER, reason TEXT, raw TEXT);
"""
#: Built when the whole input is in: conversations are read out through it.
INGEST_INDEX = "CREATE INDEX IF NOT EXISTS ingest.pending_by_conversation ON pending (conversation_id, seq)"

#: The tables keyed by run. Each has a ``latest_<table>`` view holding only the rows of the run
#: the last audit reported (``meta.latest_run``): queries on the views never count a run twice.
RUN_TABLES = ("runs", "messages", "conversations", "conversation_agents", "findings", "agents", "rejected", "rules")
VIEWS = "".join(
    f"CREATE VIEW IF NOT EXISTS latest_{table} AS SELECT * FROM {table}"
    " WHERE run_id = (SELECT value FROM meta WHERE key = 'latest_run');\n" for table in RUN_TABLES)


class StoreVersionError(ConfigError):
    """The database was written with another schema (exit 2, with what to do)."""


class StoreError(ConfigError):
    """The database or an output file cannot be used (a full disk, a read-only folder, a file
    that is not a database or is corrupt): exit 2, with the file and what is wrong."""


@contextmanager
def output_errors(path: Path) -> Iterator[None]:
    """Turn database and OS errors while writing ``path`` (or anything an audit writes, for
    the database) into a :class:`StoreError` naming the file: one line, never a traceback."""
    try:
        yield
    except sqlite3.Error as error:
        hint = _DATABASE_HINTS.get(str(error), "")
        raise StoreError(f"{path}: cannot use the audit database: {error}{hint}") from None
    except BrokenPipeError:
        raise  # stdout closed by its reader: not this file's fault (the CLI reports it)
    except OSError as error:
        where = f"{error.filename}: " if error.filename and str(error.filename) != str(path) else ""
        raise StoreError(f"{path}: cannot write: {where}{error.strerror or error}") from None


_DATABASE_HINTS = {
    "file is not a database": " (pass --db a kefu-lint audit database, or a new file)",
    "database disk image is malformed": " (the file is corrupt: audit into a new --out folder or --db file)",
    "database or disk is full": " (free some space, then rerun with --resume)",
    "attempt to write a readonly database": " (the file or its folder is read-only)",
}


IngestRows = tuple[list[tuple], list[tuple]]
ResultRows = tuple[list[tuple], list[tuple], list[tuple], list[tuple]]


def ingest_rows(run_id: str, records: Iterable[ChatMessage | Rejected]) -> IngestRows:
    """The ``ingest.pending`` and ``rejected`` rows of parsed input records (built where they
    are parsed)."""
    messages, rejected = [], []
    names: dict[str, str] = {}  # one source for thousands of records: its printable name once
    for record in records:
        source = names.get(record.source)
        if source is None:
            source = names[record.source] = printable_name(record.source)
        if isinstance(record, Rejected):
            rejected.append((run_id, source, record.line, record.reason, record.raw))
        else:
            messages.append((record.seq, record.conversation_id, record.role, record.text, record.time, record.agent,
                             record.shop, record.message_id, source, record.line, int(record.partial)))
    return messages, rejected


def result_rows(run_id: str, results: Iterable[ConversationResult], weights: Mapping[str, int],
                timezone: datetime.tzinfo) -> ResultRows:
    """The rows a batch of results writes (built where the results are, not in the writer);
    ``weights`` are the points each rule's finding deducts (``Linter.weights``).

    A conversation's messages and findings commit together with its row, and a batch needs
    one statement per table. Each message row is the message as read and its results.
    """
    message_rows, finding_rows, conversation_rows, agent_rows = [], [], [], []
    for result in results:
        cid = result.conversation_id
        # each message's offset once: its findings' rows carry it too
        offsets = [utc_offset(m.message.time, timezone) for m in result.messages]
        for m, offset in zip(result.messages, offsets):
            message = m.message
            message_rows.append((
                run_id, message.seq, cid, message.role, message.text, message.time, offset,
                message.agent, message.shop, message.message_id, message.source, message.line, int(message.partial),
                m.index, ",".join(m.scenes), ",".join(m.acts), m.score.value if m.score else None,
                m.score.grade if m.score else None,
            ))
        for finding in result.findings:
            message = result.messages[finding.message_index].message
            v = finding.violation
            finding_rows.append((run_id, cid, finding.message_index, message.seq, v.code, v.name, v.zone, finding.level,
                                 finding.agent, message.time, offsets[finding.message_index], weights.get(v.code, 0),
                                 v.message, v.start, v.end, message.text[v.start:v.end], v.suggestion))
        conversation_rows.append(
            (run_id, cid, result.agent, result.shop, len(result.messages), result.agent_messages, result.score.value,
             result.score.grade, len(result.findings), sum(1 for f in result.findings if f.violation.zone == "red"),
             result.first_response_seconds, int(result.ended))
        )
        for part in result.agents:
            agent_rows.append((run_id, cid, part.agent or UNKNOWN_AGENT, part.messages, part.score.value, part.score.grade,
                               len(part.score.violations)))
    return message_rows, finding_rows, conversation_rows, agent_rows


def rule_rows(rules: Iterable) -> list[tuple]:
    """The ``rules`` rows of a ruleset's rules (without the run id): code, name, zone,
    weight, level, scenes and what the rule checks, in Chinese and in English."""
    from ..formats.rule_docs import title

    return [(rule.code, rule.name, rule.zone, rule.weight, rule.level, ",".join(rule.config.scenes), title(rule, "zh"),
             title(rule, "en")) for rule in rules]


#: How the agents table names findings and conversations of a log that names no agent.
UNKNOWN_AGENT = "(unknown)"


def ingest_file(database: Path, run_id: str) -> Path:
    """Where the messages of run ``run_id`` wait to be scored (beside the database)."""
    return database.with_name(f"{database.name}.{run_id}.ingest")


def remove_ingest_file(database: Path, run_id: str) -> None:
    path = ingest_file(database, run_id)
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        companion.unlink(missing_ok=True)


class IngestGone(ConfigError):
    """A run being scored whose ingest file was deleted: it cannot be resumed."""


class AuditStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._check_version()
        self.db.executescript(SCHEMA + VIEWS)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self.db.commit()
        self.ingesting: str | None = None

    def attach_ingest(self, run_id: str, *, create: bool = True) -> None:
        """Attach the ingest file of ``run_id`` as ``ingest`` (created when ``create``)."""
        if self.ingesting == run_id:
            return
        path = ingest_file(self.path, run_id)
        if not create and not path.exists():
            raise IngestGone(
                f"{path}: the messages of the interrupted run {run_id} waiting to be scored are gone"
                " (the file was deleted): pass --restart to audit the input again")
        self.db.execute("ATTACH DATABASE ? AS ingest", (str(path),))
        self.db.execute("PRAGMA ingest.journal_mode=WAL")
        self.db.execute("PRAGMA ingest.synchronous=NORMAL")
        self.db.executescript(INGEST_SCHEMA)
        self.ingesting = run_id

    def drop_ingest(self, run_id: str) -> None:
        """The run is complete: its messages are in the database, the ingest file goes."""
        if self.ingesting is not None:
            self.db.execute("DETACH DATABASE ingest")
            self.ingesting = None
        remove_ingest_file(self.path, run_id)

    def _check_version(self) -> None:
        has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if not has_meta:
            return
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] != str(SCHEMA_VERSION):
            self.db.close()
            raise StoreVersionError(
                f"{self.path} was written by another version of kefu-lint (schema {row[0]}, this one writes"
                f" {SCHEMA_VERSION}): audit into a new --out folder, or delete the old database"
            )

    def close(self) -> None:
        self.db.close()

    # -- runs --

    def run_status(self, run_id: str) -> str | None:
        row = self.db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def start_run(self, run_id: str, inputs: Sequence[str], ruleset: str, options: dict, version: str,
                  timezone: datetime.tzinfo, rules: Iterable[tuple]) -> None:
        """A new run, with the rules it judges by (``rule_rows``), in one transaction."""
        self.delete_run(run_id)
        self.attach_ingest(run_id)
        with self.db:
            self.db.execute(
                "INSERT INTO runs (run_id, created_at, status, timezone, inputs, ruleset, options, tool_version)"
                " VALUES (?, ?, 'ingesting', ?, ?, ?, ?, ?)",
                (run_id, local_iso(round(time.time()), timezone), str(timezone),
                 json.dumps([printable_name(str(name)) for name in inputs], ensure_ascii=False), ruleset,
                 json.dumps(options, ensure_ascii=False), version),
            )
            self.db.executemany("INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ((run_id, *rule) for rule in rules))

    def delete_run(self, run_id: str) -> None:
        with self.db:
            for table in RUN_TABLES:
                self.db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))  # noqa: S608 - fixed table names
        self.drop_ingest(run_id)

    def report(self, run_id: str, *, keep_history: bool) -> None:
        """Make ``run_id`` the run the ``latest_*`` views show: the one this audit reports.
        Without ``keep_history`` the other runs are deleted, so that the database holds one
        run and a query on the tables themselves cannot count a run twice either."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('latest_run', ?)", (run_id,))
            if not keep_history:
                for table in RUN_TABLES:
                    self.db.execute(f"DELETE FROM {table} WHERE run_id != ?", (run_id,))  # noqa: S608 - fixed table names
        if not keep_history:  # the deleted runs' unfinished ingest files too
            for stale in self.path.parent.glob(f"{self.path.name}.*.ingest*"):
                if not stale.name.startswith(f"{self.path.name}.{run_id}."):
                    stale.unlink(missing_ok=True)

    def finish_ingest(self, run_id: str, records_read: int, language: str = "zh") -> Iterator[Rejected]:
        """Every input read: group the messages by conversation (the index, built now, once),
        reject the repeats of a message id within a conversation (a log exported twice over
        would be scored twice), record how many records the readers read, and go on to
        scoring; returns the repeats rejected (their reason in ``language``, as the Spark
        engine writes it: ``DUPLICATE_ID_REASON``).

        Two transactions, one per file, each safe to redo: the ingest file's (the index, and
        the repeats moved out of the messages waiting), then the database's (the repeats
        recorded as rejected, the status). Killed between them, the run is still ingesting:
        ``--resume`` reads the input again and the repeats are found again."""
        repeats = (
            "SELECT * FROM (SELECT seq, source, line, message_id, text, FIRST_VALUE(source) OVER first AS first_source,"
            " FIRST_VALUE(line) OVER first AS first_line, ROW_NUMBER() OVER first AS copy FROM ingest.pending"
            " WHERE message_id IS NOT NULL"
            " WINDOW first AS (PARTITION BY conversation_id, message_id ORDER BY seq)) WHERE copy > 1"
        )
        before, middle, after = DUPLICATE_ID_REASON[language]
        words = {"run": run_id, "before": before, "middle": middle, "after": after}
        self.attach_ingest(run_id)
        with self.db:
            self.db.execute(INGEST_INDEX)
            self.db.execute(
                "INSERT OR IGNORE INTO ingest.repeats SELECT seq, source, line, :before || quote(message_id)"
                f" || :middle || first_source || ':' || first_line || :after, text FROM ({repeats})", words)
            self.db.execute("DELETE FROM ingest.pending WHERE seq IN (SELECT seq FROM ingest.repeats)")
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO rejected SELECT ?, source, line, reason, raw FROM ingest.repeats", (run_id,))
            self.db.execute("UPDATE runs SET status = 'scoring', lines_read = ? WHERE run_id = ?", (records_read, run_id))
        repeated = self.db.execute("SELECT source, line, reason, raw FROM rejected WHERE run_id = ?"
                                   " AND reason LIKE ? ORDER BY source, line", (run_id, f"{before}'%'{middle}%{after}"))
        return (Rejected(*row) for row in repeated)

    # -- ingest --

    def add_rows(self, rows: IngestRows) -> None:
        """One batch of the input: its messages wait in the ingest file, its rejected records
        go to the database. Not one transaction over both files, and it need not be: a run
        interrupted while ingesting reads its input again, and both inserts ignore what is in."""
        messages, rejected = rows
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO ingest.pending VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", messages)
            self.db.executemany("INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?)", rejected)

    # -- scoring --

    def count_unscored(self, run_id: str) -> tuple[int, int]:
        self.attach_ingest(run_id, create=False)
        total = self.db.execute("SELECT COUNT(DISTINCT conversation_id) FROM ingest.pending").fetchone()[0]
        done = self.db.execute("SELECT COUNT(*) FROM conversations WHERE run_id = ?", (run_id,)).fetchone()[0]
        return total, done

    def unscored_id_batches(self, run_id: str, batch_size: int) -> Iterator[list[str]]:
        """Ids of conversations not yet scored, a batch at a time, in id order."""
        self.attach_ingest(run_id, create=False)
        last = ""
        while True:
            ids = [row[0] for row in self.db.execute(
                "SELECT DISTINCT conversation_id FROM ingest.pending p WHERE conversation_id > ?"
                " AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.run_id = ? AND c.conversation_id = p.conversation_id)"
                " ORDER BY conversation_id LIMIT ?", (last, run_id, batch_size))]
            if not ids:
                return
            last = ids[-1]
            yield ids

    def load_conversations(self, run_id: str, ids: Sequence[str]) -> list[list[ChatMessage]]:
        self.attach_ingest(run_id, create=False)
        marks = ",".join("?" * len(ids))
        grouped: dict[str, list[ChatMessage]] = {cid: [] for cid in ids}
        for row in self.db.execute(
            "SELECT conversation_id, role, text, time, agent, shop, message_id, source, line, seq, partial = 1"
            f" FROM ingest.pending WHERE conversation_id IN ({marks})", ids):  # noqa: S608 - placeholders only
            grouped[row[0]].append(ChatMessage(*row))
        return list(grouped.values())

    def save_rows(self, rows: ResultRows) -> None:
        """One transaction per batch: a batch is stored whole or not at all."""
        message_rows, finding_rows, conversation_rows, agent_rows = rows
        if not conversation_rows:
            return
        run_id = conversation_rows[0][0]
        with self.db:
            # A batch saved twice (a worker orphaned by a killed run finishing its batch while
            # the resumed run scores it again) is stored once: a conversation in the database
            # is there whole, with its messages and findings, so the second copy is left out.
            ids = [row[1] for row in conversation_rows]
            saved = {row[0] for row in self.db.execute(
                f"SELECT conversation_id FROM conversations WHERE run_id = ? AND conversation_id IN ({','.join('?' * len(ids))})",
                (run_id, *ids))}  # noqa: S608 - placeholders only
            if saved:
                message_rows = [row for row in message_rows if row[2] not in saved]
                finding_rows = [row for row in finding_rows if row[1] not in saved]
                conversation_rows = [row for row in conversation_rows if row[1] not in saved]
                agent_rows = [row for row in agent_rows if row[1] not in saved]
            # In key order (conversation, seq: the log's order, not the conversation's): each
            # row goes after the last, and the pages fill up.
            message_rows.sort(key=lambda row: (row[2], row[1]))
            self.db.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", message_rows)
            self.db.executemany(
                "INSERT INTO findings (run_id, conversation_id, message_index, seq, code, name, zone, level, agent, time, utc_offset,"
                ' points, message, start, "end", flagged, suggestion) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                finding_rows)
            self.db.executemany("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", conversation_rows)
            self.db.executemany("INSERT INTO conversation_agents VALUES (?, ?, ?, ?, ?, ?, ?)", agent_rows)

    def build_indexes(self) -> None:
        """Every conversation scored: the indexes, each built in one pass."""
        self.db.executescript(INDEXES)

    def finish(self, run_id: str, timezone: datetime.tzinfo) -> None:
        self.attach_ingest(run_id, create=False)
        with self.db:
            self.db.execute("DELETE FROM agents WHERE run_id = ?", (run_id,))
            # Each agent by their own part of the conversations they took part in.
            self.db.execute(
                "INSERT INTO agents SELECT run_id, agent, COUNT(*), AVG(score),"
                " AVG(grade = 'red'), SUM(findings), '[]' FROM conversation_agents WHERE run_id = ? GROUP BY 1, 2", (run_id,),
            )
            top: dict[str, list] = {}
            for agent, code, count in self.db.execute(
                "SELECT COALESCE(agent, ?), code, COUNT(*) AS n FROM findings WHERE run_id = ?"
                " GROUP BY 1, 2 ORDER BY 1, n DESC, 2", (UNKNOWN_AGENT, run_id)):
                top.setdefault(agent, [])
                if len(top[agent]) < 5:
                    top[agent].append([code, count])
            self.db.executemany("UPDATE agents SET top_rules = ? WHERE run_id = ? AND agent = ?",
                                [(json.dumps(rules), run_id, agent) for agent, rules in top.items()])
            # The messages read (the readers' records less the rejected), as stored for scoring.
            messages = self.db.execute("SELECT COUNT(*) FROM ingest.pending").fetchone()[0]
            rejected = self.db.execute("SELECT COUNT(*) FROM rejected WHERE run_id = ?", (run_id,)).fetchone()[0]
            conversations, mean = self.db.execute(
                "SELECT COUNT(*), AVG(score) FROM conversations WHERE run_id = ?", (run_id,)).fetchone()
            self.db.execute(
                "UPDATE runs SET status = 'complete', finished_at = ?, messages = ?,"
                " rejected = ?, conversations = ?, mean_score = ? WHERE run_id = ?",
                (local_iso(round(time.time()), timezone), messages, rejected, conversations, mean, run_id),
            )

    # -- reading results --

    def summary(self, run_id: str) -> dict:
        row = self.db.execute(
            "SELECT lines_read, messages, rejected, conversations, mean_score FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        grades = dict(self.db.execute("SELECT grade, COUNT(*) FROM conversations WHERE run_id = ? GROUP BY grade", (run_id,)).fetchall())
        # The messages in the database: each is written there once, with its results.
        scored = self.db.execute("SELECT COUNT(*) FROM messages WHERE run_id = ?", (run_id,)).fetchone()[0]
        zones = dict(self.db.execute("SELECT zone, COUNT(*) FROM findings WHERE run_id = ? GROUP BY zone", (run_id,)).fetchall())
        return {
            "lines_read": row[0], "messages": row[1], "scored": scored, "rejected": row[2], "conversations": row[3],
            "mean_score": row[4], "grades": grades, "zones": zones,
        }
