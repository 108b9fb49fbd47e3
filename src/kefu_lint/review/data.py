"""Every read of the audit database and every write of the review tables, in one module.

The audit's own tables are read only through the documented ``latest_*`` views (README:
Database), because the audit's storage internals may change under us. The review tables
(``review_*``) live in the same SQLite file, are created here with ``CREATE TABLE IF NOT
EXISTS``, and are never touched by an audit: a re-run deletes rows of the audit's run tables
only, so reviews survive it.

Reviews are keyed by a finding's stable identity, never by a row id a re-run changes: the
conversation id, the message (its ``message_id`` when the log has one, else its position in
the conversation), the rule code and the flagged span. A re-audit that finds the same thing
finds the same key, so the verdict still applies; a finding that went away leaves its
verdict behind (kept for the export and the calibration figures, not shown on a page).

Two browsers may write at once: each request has its own connection and every write is one
``BEGIN IMMEDIATE`` transaction, and a state change (settling a dispute) only applies to the
state it was read in, so the second lead to settle a dispute is told it was settled already.

``review_cache_*`` tables are derived from the latest run (each conversation's day, week,
shop and sampling point; each finding's key), rebuilt when the latest run changes, and
indexed so that the list pages stay fast on a run of a million messages.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import grade_of_score, score_violations
from ..errors import ConfigError
from ..model import Violation

ROLES = ("auditor", "lead", "agent")
VERDICTS = ("confirmed", "false_positive")
DISPUTE_STATES = ("open", "accepted", "rejected", "withdrawn")
GRADES = ("red", "yellow", "green")
#: The default sampling plan (抽检): every red conversation, a fifth of the yellow ones, 5% of
#: the green ones, and every conversation with a privacy leak.
DEFAULT_PLAN = {"grades": {"red": 1.0, "yellow": 0.2, "green": 0.05}, "rules": {"KF104": 1.0}}
PAGE_SIZE = 50
#: Bumped when a review_cache_* table changes shape: the cache is derived, so it is rebuilt.
CACHE_VERSION = "3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS review_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS review_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('auditor', 'lead', 'agent')),
    created_at TEXT NOT NULL
);
-- One verdict per reviewer per finding (calibration compares them); the snapshot columns
-- keep what was judged, for the export, after a re-run has dropped the finding.
CREATE TABLE IF NOT EXISTS review_verdicts (
    finding_key TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    code TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'false_positive')),
    reason TEXT NOT NULL DEFAULT '',
    flagged TEXT NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (finding_key, reviewer)
);
CREATE INDEX IF NOT EXISTS review_verdicts_by_conversation ON review_verdicts (conversation_id);
-- A finding the system missed, added by a reviewer (a span of one message under a rule).
CREATE TABLE IF NOT EXISTS review_missed (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    message_key TEXT NOT NULL,
    message_index INTEGER NOT NULL,
    code TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    flagged TEXT NOT NULL,
    text TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_missed_by_conversation ON review_missed (conversation_id);
CREATE TABLE IF NOT EXISTS review_grades (
    conversation_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, reviewer)
);
-- The score a conversation has after review (re-graded, or re-scored without its false
-- positives and with its added misses), kept beside the system's: pages show which.
CREATE TABLE IF NOT EXISTS review_scores (
    conversation_id TEXT PRIMARY KEY,
    score INTEGER NOT NULL,
    grade TEXT NOT NULL,
    source TEXT NOT NULL,            -- reviewed | regraded
    reviewer TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_disputes (
    id INTEGER PRIMARY KEY,
    finding_key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    code TEXT NOT NULL,
    agent TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'accepted', 'rejected', 'withdrawn')),
    decided_by TEXT,
    decision TEXT,
    filed_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX IF NOT EXISTS review_disputes_by_state ON review_disputes (state, filed_at);
CREATE TABLE IF NOT EXISTS review_calibrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    reviewers TEXT NOT NULL,         -- JSON list of user names
    conversations TEXT NOT NULL      -- JSON list of conversation ids
);
-- Who did what when: every write, append-only.
CREATE TABLE IF NOT EXISTS review_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    conversation_id TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS review_cache_conversations (
    conversation_id TEXT PRIMARY KEY,
    started REAL,
    started_local TEXT,
    day TEXT,
    week TEXT,
    shop TEXT,
    agent TEXT,
    messages INTEGER NOT NULL,
    score INTEGER NOT NULL,
    grade TEXT NOT NULL,
    findings INTEGER NOT NULL,
    red_findings INTEGER NOT NULL,
    first_response_seconds REAL,
    sample REAL NOT NULL             -- this conversation's point in [0, 1) for the sampling plan
);
CREATE INDEX IF NOT EXISTS review_cache_conversations_by_score ON review_cache_conversations (score, conversation_id);
CREATE INDEX IF NOT EXISTS review_cache_conversations_by_day ON review_cache_conversations (day);
CREATE INDEX IF NOT EXISTS review_cache_conversations_by_agent ON review_cache_conversations (agent);
CREATE INDEX IF NOT EXISTS review_cache_conversations_by_shop ON review_cache_conversations (shop);
CREATE TABLE IF NOT EXISTS review_cache_findings (
    conversation_id TEXT NOT NULL,
    finding_key TEXT NOT NULL,
    code TEXT NOT NULL,
    zone TEXT NOT NULL,
    agent TEXT
);
CREATE INDEX IF NOT EXISTS review_cache_findings_by_conversation ON review_cache_findings (conversation_id);
CREATE INDEX IF NOT EXISTS review_cache_findings_by_code ON review_cache_findings (code, conversation_id);
CREATE INDEX IF NOT EXISTS review_cache_findings_by_key ON review_cache_findings (finding_key);
-- Each agent's part of each conversation, with the conversation's columns the filters read
-- (day, shop, grade), so that trends and agent tables need no join.
CREATE TABLE IF NOT EXISTS review_cache_parts (
    conversation_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    part_score INTEGER NOT NULL,
    part_grade TEXT NOT NULL,
    day TEXT,
    week TEXT,
    shop TEXT,
    grade TEXT NOT NULL
);
-- Findings counted per conversation, rule, zone and agent, with the conversation's filter
-- columns: the overview's rule and zone figures read this, not every finding.
CREATE TABLE IF NOT EXISTS review_cache_rule_counts (
    conversation_id TEXT NOT NULL,
    code TEXT NOT NULL,
    zone TEXT NOT NULL,
    agent TEXT,
    day TEXT,
    shop TEXT,
    grade TEXT NOT NULL,
    findings INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS review_cache_parts_by_agent ON review_cache_parts (agent, day);
"""

#: A message's stable reference inside its conversation: its id when the log gives one.
MESSAGE_KEY_SQL = "COALESCE('id:' || m.message_id, '#' || f.message_index)"
FINDING_KEY_SQL = f"f.conversation_id || char(31) || {MESSAGE_KEY_SQL} || char(31) || f.code || char(31) || f.start || '-' || f.\"end\""


CACHE_TABLES = ("review_cache_conversations", "review_cache_findings", "review_cache_parts", "review_cache_rule_counts")


class ReviewError(ConfigError):
    """A request the workbench refuses (an unknown finding, a dispute settled already, a
    role that may not do this): shown to the user as one sentence, never a traceback."""


def now_iso() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def sample_point(conversation_id: str) -> float:
    """Where a conversation falls in [0, 1) for sampling: a hash, so the sample is the same on
    every machine and every run, and a plan's 5% today is inside its 10% tomorrow."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Filters:
    """What the overview and the lists are narrowed to; empty means everything."""

    date_from: str = ""
    date_to: str = ""
    shop: str = ""
    agent: str = ""
    code: str = ""
    zone: str = ""
    grade: str = ""

    @classmethod
    def from_query(cls, query) -> Filters:
        values = {name: (query.get(name) or "").strip()[:80] for name in cls.__dataclass_fields__}
        for name in ("date_from", "date_to"):
            if values[name] and not _is_date(values[name]):
                raise ReviewError(f"日期「{values[name]}」不是 YYYY-MM-DD 格式。")
        if values["grade"] and values["grade"] not in GRADES:
            values["grade"] = ""
        if values["zone"] and values["zone"] not in GRADES:
            values["zone"] = ""
        return cls(**values)

    def query_string(self, **changes) -> str:
        from urllib.parse import urlencode

        values = {**{name: getattr(self, name) for name in self.__dataclass_fields__}, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def where(self, alias: str = "c") -> tuple[str, list]:
        """The SQL condition on a table with the conversation's filter columns
        (``review_cache_conversations``, ``_parts``, ``_rule_counts``) as ``alias``."""
        clauses, values = [], []
        if self.date_from:
            clauses.append(f"{alias}.day >= ?")
            values.append(self.date_from)
        if self.date_to:
            clauses.append(f"{alias}.day <= ?")
            values.append(self.date_to)
        if self.shop:
            clauses.append(f"{alias}.shop = ?")
            values.append(self.shop)
        if self.agent:
            clauses.append(f"{alias}.conversation_id IN (SELECT conversation_id FROM review_cache_parts WHERE agent = ?)")
            values.append(self.agent)
        if self.grade:
            clauses.append(f"COALESCE((SELECT grade FROM review_scores s WHERE s.conversation_id = {alias}.conversation_id), {alias}.grade) = ?")
            values.append(self.grade)
        if self.code or self.zone:
            inner, inner_values = ["hx.conversation_id = " + alias + ".conversation_id"], []
            if self.code:
                inner.append("hx.code = ?")
                inner_values.append(self.code)
            if self.zone:
                inner.append("hx.zone = ?")
                inner_values.append(self.zone)
            clauses.append(f"EXISTS (SELECT 1 FROM review_cache_findings hx WHERE {' AND '.join(inner)})")
            values.extend(inner_values)
        return (" AND ".join(clauses) or "1"), values

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


@dataclass(frozen=True)
class Finding:
    key: str
    conversation_id: str
    message_index: int
    code: str
    name: str
    zone: str
    level: str
    agent: str | None
    points: int
    message: str
    start: int
    end: int
    flagged: str
    suggestion: str | None
    verdicts: tuple[dict, ...] = ()
    disputes: tuple[dict, ...] = ()
    effective: str | None = None        # the verdict that counts (lead's, or a settled dispute's)


@dataclass(frozen=True)
class Message:
    index: int
    key: str
    role: str
    text: str
    time_local: str | None
    agent: str | None
    acts: str
    score: int | None
    grade: str | None
    spans: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True)
class ConversationView:
    conversation_id: str
    summary: dict
    messages: tuple[Message, ...]
    findings: tuple[Finding, ...]
    missed: tuple[dict, ...]
    grades: tuple[dict, ...]
    review: dict | None
    parts: tuple[dict, ...] = field(default_factory=tuple)


class ReviewStore:
    """One connection to the audit database, for one request (or one CLI command)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise ReviewError(f"{path}: no audit database here (run `kefu-lint audit LOG --out FOLDER` first)")
        self.path = path
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout = 30000")
            has_views = self.db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'view' AND name IN"
                                        " ('latest_runs', 'latest_conversations', 'latest_findings', 'latest_messages')").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise ReviewError(f"{path}: not an audit database ({error})") from None
        if has_views < 4:
            self.db.close()
            raise ReviewError(f"{path}: not a kefu-lint audit database (no latest_* views)")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before reading what it changes (BEGIN IMMEDIATE), so
        two browsers writing at once are serialised, never interleaved."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _log(self, who: str, action: str, conversation_id: str | None, detail: str = "") -> None:
        self.db.execute("INSERT INTO review_log (at, who, action, conversation_id, detail) VALUES (?, ?, ?, ?, ?)",
                        (now_iso(), who, action, conversation_id, detail))

    # -- set-up --

    def prepare(self) -> None:
        """Create the review tables and bring the derived cache up to the latest run."""
        with self.write() as db:
            exists = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'review_meta'").fetchone()
            version = exists and db.execute("SELECT value FROM review_meta WHERE key = 'cache_version'").fetchone()
            if exists and (version is None or version[0] != CACHE_VERSION):
                for table in CACHE_TABLES:
                    db.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - fixed names
                db.execute("DELETE FROM review_meta WHERE key = 'cache_run'")
            for statement in _statements(SCHEMA):
                db.execute(statement)
            db.execute("INSERT OR REPLACE INTO review_meta VALUES ('cache_version', ?)", (CACHE_VERSION,))
        self.refresh_cache()

    def latest_run(self) -> dict | None:
        row = self.db.execute("SELECT run_id, status, finished_at, ruleset, timezone, inputs, messages, conversations,"
                              " rejected, lines_read, mean_score FROM latest_runs").fetchone()
        return dict(row) if row else None

    def refresh_cache(self) -> bool:
        """Rebuild the derived tables when the latest run is not the one they were built from;
        True when rebuilt."""
        run = self.latest_run()
        stamp = f"{run['run_id']}@{run['finished_at']}" if run else ""
        cached = self.db.execute("SELECT value FROM review_meta WHERE key = 'cache_run'").fetchone()
        if cached and cached[0] == stamp:
            return False
        self.db.create_function("kefu_sample_point", 1, sample_point, deterministic=True)
        with self.write() as db:
            cached = db.execute("SELECT value FROM review_meta WHERE key = 'cache_run'").fetchone()
            if cached and cached[0] == stamp:
                return False  # another request rebuilt it while this one waited
            for table in CACHE_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            db.execute(
                "INSERT INTO review_cache_conversations"
                " SELECT c.conversation_id, s.started, s.started_local, substr(s.started_local, 1, 10),"
                " date(substr(s.started_local, 1, 10), 'weekday 0', '-6 days'), COALESCE(c.shop, s.shop), c.agent, c.messages,"
                " c.score, c.grade, c.findings, c.red_findings, c.first_response_seconds, kefu_sample_point(c.conversation_id)"
                " FROM latest_conversations c LEFT JOIN ("
                "   SELECT conversation_id, MIN(time) AS started, MIN(time_local) AS started_local, MAX(shop) AS shop"
                "   FROM latest_messages GROUP BY conversation_id) s USING (conversation_id)")
            db.execute(
                "INSERT INTO review_cache_findings"
                f" SELECT f.conversation_id, {FINDING_KEY_SQL}, f.code, f.zone, f.agent"
                " FROM latest_findings f JOIN latest_messages m ON m.seq = f.seq")
            db.execute(
                "INSERT INTO review_cache_parts SELECT p.conversation_id, p.agent, p.score, p.grade, c.day, c.week, c.shop, c.grade"
                " FROM latest_conversation_agents p JOIN review_cache_conversations c USING (conversation_id)")
            db.execute(
                "INSERT INTO review_cache_rule_counts SELECT h.conversation_id, h.code, h.zone, h.agent, c.day, c.shop, c.grade, COUNT(*)"
                " FROM review_cache_findings h JOIN review_cache_conversations c USING (conversation_id)"
                " GROUP BY h.conversation_id, h.code, h.zone, h.agent")
            db.execute("INSERT OR REPLACE INTO review_meta VALUES ('cache_run', ?)", (stamp,))
            # The findings may have changed: every reviewed score is worked out again.
            for (cid,) in db.execute("SELECT conversation_id FROM review_scores").fetchall():
                self._rescore(cid, "system")
        self.db.execute("ANALYZE review_cache_conversations")
        return True

    # -- users --

    def users(self) -> list[dict]:
        return [dict(row) for row in self.db.execute("SELECT name, role, created_at FROM review_users ORDER BY role, name")]

    def user(self, name: str) -> dict | None:
        row = self.db.execute("SELECT name, role FROM review_users WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def add_user(self, name: str, role: str, by: str) -> None:
        name = name.strip()
        if not name or len(name) > 40:
            raise ReviewError("用户名不能为空，最长 40 个字符。")
        if role not in ROLES:
            raise ReviewError(f"角色只能是 {'、'.join(ROLES)}。")
        with self.write() as db:
            db.execute("INSERT INTO review_users VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role",
                       (name, role, now_iso()))
            self._log(by, "user", None, f"{name}={role}")

    # -- reading the audit --

    def choices(self) -> dict:
        """The values the filters offer."""
        return {
            "shops": [r[0] for r in self.db.execute("SELECT DISTINCT shop FROM review_cache_conversations WHERE shop IS NOT NULL ORDER BY 1")],
            "agents": [r[0] for r in self.db.execute("SELECT DISTINCT agent FROM review_cache_parts ORDER BY 1")],
            "rules": [dict(r) for r in self.db.execute("SELECT code, name, zone, weight, level, title, title_en FROM latest_rules ORDER BY code")],
            "days": list(self.db.execute("SELECT MIN(day), MAX(day) FROM review_cache_conversations").fetchone()),
        }

    def overview(self, filters: Filters, period: str = "day") -> dict:
        where, values = filters.where()
        db = self.db
        totals = db.execute(
            "SELECT COUNT(*) AS conversations, COALESCE(SUM(c.messages), 0) AS messages, AVG(c.score) AS mean_score,"
            " COALESCE(SUM(c.findings), 0) AS findings, COUNT(s.conversation_id) AS reviewed,"
            " AVG(COALESCE(s.score, c.score)) AS mean_reviewed"
            f" FROM review_cache_conversations c LEFT JOIN review_scores s USING (conversation_id) WHERE {where}", values).fetchone()
        grades = dict(db.execute(f"SELECT c.grade, COUNT(*) FROM review_cache_conversations c WHERE {where} GROUP BY 1", values).fetchall())
        reviewed_grades = dict(db.execute(
            "SELECT COALESCE(s.grade, c.grade), COUNT(*) FROM review_cache_conversations c LEFT JOIN review_scores s"
            f" USING (conversation_id) WHERE {where} GROUP BY 1", values).fetchall())
        histogram = [0] * 11   # 0-9 … 90-99, and 100 alone: the bins follow the grade thresholds
        for score, count in db.execute(f"SELECT c.score, COUNT(*) FROM review_cache_conversations c WHERE {where} GROUP BY 1", values):
            histogram[10 if score >= 100 else score // 10] += count
        finding_where, finding_values = filters.where("h")
        extra = []
        if filters.code:
            extra.append("h.code = ?")
            finding_values.append(filters.code)
        if filters.zone:
            extra.append("h.zone = ?")
            finding_values.append(filters.zone)
        if filters.agent:
            extra.append("h.agent = ?")
            finding_values.append(filters.agent)
        extra_sql = "".join(f" AND {clause}" for clause in extra)
        # One pass over the counts for the rule and the zone figures (a full scan: there is no
        # index on them on purpose; walking one row by row is three times slower than a scan).
        by_rule: dict[str, dict] = {}
        zones: dict[str, int] = {}
        for code, zone, count in db.execute(
                f"SELECT h.code, h.zone, SUM(h.findings) FROM review_cache_rule_counts h WHERE {finding_where}{extra_sql}"
                " GROUP BY 1, 2", finding_values):
            zones[zone] = zones.get(zone, 0) + count
            entry = by_rule.setdefault(code, {"code": code, "zone": zone, "findings": 0})
            entry["findings"] += count
        names = {r["code"]: r for r in db.execute("SELECT code, name, title FROM latest_rules")}
        top_rules = sorted(by_rule.values(), key=lambda r: (-r["findings"], r["code"]))[:15]
        for rule in top_rules:
            rule.update(name=names[rule["code"]]["name"] if rule["code"] in names else "",
                        title=names[rule["code"]]["title"] if rule["code"] in names else "")
        shops = [dict(r) for r in db.execute(
            "SELECT COALESCE(c.shop, '') AS shop, COUNT(*) AS conversations, AVG(c.score) AS mean_score,"
            " AVG(c.grade = 'red') AS red_rate, SUM(c.findings) AS findings"
            f" FROM review_cache_conversations c WHERE {where} GROUP BY 1 ORDER BY 1", values)]
        return {"totals": dict(totals), "grades": grades, "reviewed_grades": reviewed_grades, "histogram": histogram,
                "top_rules": top_rules, "zones": zones, "shops": shops, "trend": self.trend(filters, period),
                "agents": self.agent_table(filters)}

    def trend(self, filters: Filters, period: str = "day") -> dict:
        """Each agent's mean score (of their own part) per day or week, the team's beside it;
        the agents shown: the one filtered on, else the five with the lowest mean."""
        column = "week" if period == "week" else "day"
        where, values = filters.where("p")
        base = f"SELECT p.{column} AS period, p.agent, p.part_score AS score FROM review_cache_parts p WHERE {where}"
        team = [dict(r) for r in self.db.execute(
            f"SELECT period, AVG(score) AS mean, COUNT(*) AS n FROM ({base}) WHERE period IS NOT NULL GROUP BY 1 ORDER BY 1", values)]
        if filters.agent:
            shown = [filters.agent]
        else:
            shown = [r[0] for r in self.db.execute(
                f"SELECT agent FROM ({base}) GROUP BY agent HAVING COUNT(*) >= 3 ORDER BY AVG(score), agent LIMIT 5", values)]
        lines: dict[str, Any] = {}
        if shown:
            marks = ",".join("?" * len(shown))
            for row in self.db.execute(
                    f"SELECT agent, period, AVG(score) AS mean, COUNT(*) AS n FROM ({base}) WHERE agent IN ({marks})"
                    " AND period IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2", [*values, *shown]):
                lines.setdefault(row["agent"], []).append({"period": row["period"], "mean": row["mean"], "n": row["n"]})
        return {"period": column, "periods": [t["period"] for t in team], "team": team,
                "agents": [{"agent": a, "points": lines.get(a, [])} for a in shown]}

    def agent_table(self, filters: Filters, limit: int = 100) -> list[dict]:
        where, values = filters.where("p")
        agent_clause, agent_values = ("AND p.agent = ?", [filters.agent]) if filters.agent else ("", [])
        return [dict(r) for r in self.db.execute(
            "SELECT p.agent, COUNT(*) AS conversations, AVG(p.part_score) AS mean_score, AVG(p.part_grade = 'red') AS red_rate"
            f" FROM review_cache_parts p WHERE {where} {agent_clause}"
            " GROUP BY p.agent ORDER BY mean_score, p.agent LIMIT ?", [*values, *agent_values, limit])]

    def conversations(self, filters: Filters, page: int = 1, order: str = "score", queue: bool = False,
                      plan: dict | None = None) -> dict:
        """A page of conversations (PAGE_SIZE), worst first; ``queue``: only those the
        sampling plan puts up for review that nobody has reviewed yet."""
        where, values = filters.where()
        if queue:
            sample_sql, sample_values = self._plan_condition(plan or self.plan())
            where += f" AND ({sample_sql}) AND NOT EXISTS (SELECT 1 FROM review_scores s WHERE s.conversation_id = c.conversation_id)"
            values = [*values, *sample_values]
        orders = {"score": "c.score, c.red_findings DESC, c.conversation_id", "time": "c.started DESC, c.conversation_id",
                  "findings": "c.findings DESC, c.score, c.conversation_id"}
        page = max(page, 1)
        total = self.db.execute(f"SELECT COUNT(*) FROM review_cache_conversations c WHERE {where}", values).fetchone()[0]
        rows = [dict(r) for r in self.db.execute(
            "SELECT c.*, s.score AS reviewed_score, s.grade AS reviewed_grade, s.source AS reviewed_source, s.reviewer"
            f" FROM review_cache_conversations c LEFT JOIN review_scores s USING (conversation_id) WHERE {where}"
            f" ORDER BY {orders.get(order, orders['score'])} LIMIT ? OFFSET ?", [*values, PAGE_SIZE, (page - 1) * PAGE_SIZE])]
        return {"rows": rows, "total": total, "page": page, "pages": max(1, math.ceil(total / PAGE_SIZE))}

    def conversation(self, conversation_id: str, viewer: str | None = None) -> ConversationView:
        summary = self.db.execute("SELECT * FROM review_cache_conversations WHERE conversation_id = ?", (conversation_id,)).fetchone()
        if summary is None:
            raise ReviewError(f"没有会话「{conversation_id}」。")
        messages_rows = self.db.execute(
            "SELECT message_index, COALESCE('id:' || message_id, '#' || message_index) AS key, role, text, time_local, agent,"
            " COALESCE(acts, '') AS acts, score, grade FROM latest_messages WHERE conversation_id = ? ORDER BY message_index",
            (conversation_id,)).fetchall()
        verdicts: dict[str, list[dict]] = {}
        for row in self.db.execute("SELECT * FROM review_verdicts WHERE conversation_id = ? ORDER BY created_at", (conversation_id,)):
            verdicts.setdefault(row["finding_key"], []).append(dict(row))
        disputes: dict[str, list[dict]] = {}
        for row in self.db.execute("SELECT * FROM review_disputes WHERE conversation_id = ? ORDER BY id", (conversation_id,)):
            disputes.setdefault(row["finding_key"], []).append(dict(row))
        roles = {u["name"]: u["role"] for u in self.users()}
        findings = []
        for row in self.db.execute(
                f"SELECT {FINDING_KEY_SQL} AS key, f.* FROM latest_findings f JOIN latest_messages m ON m.seq = f.seq"
                " WHERE f.conversation_id = ? ORDER BY f.message_index, f.start, f.code", (conversation_id,)):
            key = row["key"]
            findings.append(Finding(
                key, conversation_id, row["message_index"], row["code"], row["name"], row["zone"], row["level"], row["agent"],
                row["points"], row["message"], row["start"], row["end"], row["flagged"], row["suggestion"],
                tuple(verdicts.get(key, ())), tuple(disputes.get(key, ())),
                _effective_verdict(verdicts.get(key, ()), disputes.get(key, ()), roles)))
        missed = tuple(dict(r) for r in self.db.execute(
            "SELECT m.*, r.zone, r.name FROM review_missed m LEFT JOIN latest_rules r USING (code)"
            " WHERE conversation_id = ? ORDER BY message_index, start", (conversation_id,)))
        spans: dict[int, list] = {}
        for finding in findings:
            # A conversation finding marks a message for an absence (no thanks, a slow
            # answer): highlighting the whole text would hide a red phrase inside it.
            if finding.effective != "false_positive" and finding.level == "reply":
                spans.setdefault(finding.message_index, []).append((finding.start, finding.end, finding.zone))
        for miss in missed:
            spans.setdefault(miss["message_index"], []).append((miss["start"], miss["end"], (miss["zone"] or "yellow") + " missed"))
        messages = tuple(Message(r["message_index"], r["key"], r["role"], r["text"], r["time_local"], r["agent"], r["acts"],
                                 r["score"], r["grade"], tuple(sorted(spans.get(r["message_index"], ()))))
                         for r in messages_rows)
        grades = tuple(dict(r) for r in self.db.execute(
            "SELECT * FROM review_grades WHERE conversation_id = ? ORDER BY created_at", (conversation_id,)))
        review = self.db.execute("SELECT * FROM review_scores WHERE conversation_id = ?", (conversation_id,)).fetchone()
        parts = tuple(dict(r) for r in self.db.execute(
            "SELECT agent, part_score AS score, part_grade AS grade FROM review_cache_parts WHERE conversation_id = ? ORDER BY agent", (conversation_id,)))
        return ConversationView(conversation_id, dict(summary), messages, tuple(findings), missed, grades,
                                dict(review) if review else None, parts)

    # -- reviewing --

    def _finding(self, finding_key: str) -> sqlite3.Row:
        row = self.db.execute(
            f"SELECT {FINDING_KEY_SQL} AS key, f.conversation_id, f.code, f.flagged, f.agent, f.start, f.\"end\", m.text"
            " FROM review_cache_findings h JOIN latest_findings f ON f.conversation_id = h.conversation_id"
            " JOIN latest_messages m ON m.seq = f.seq WHERE h.finding_key = ? AND " + FINDING_KEY_SQL + " = ?",
            (finding_key, finding_key)).fetchone()
        if row is None:
            raise ReviewError("这条问题已不在最新一次质检结果中（可能已重新质检），请刷新页面。")
        return row

    def set_verdict(self, finding_key: str, reviewer: str, verdict: str, reason: str = "") -> None:
        if verdict not in VERDICTS:
            raise ReviewError("复核结论只能是「确认」或「误报」。")
        reason = reason.strip()[:500]
        if verdict == "false_positive" and not reason:
            raise ReviewError("标为误报时请填写原因。")
        self._require(reviewer, ("auditor", "lead"))
        with self.write() as db:
            finding = self._finding(finding_key)
            db.execute(
                "INSERT INTO review_verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (finding_key, reviewer) DO UPDATE"
                " SET verdict = excluded.verdict, reason = excluded.reason, created_at = excluded.created_at",
                (finding_key, reviewer, finding["conversation_id"], finding["code"], verdict, reason, finding["flagged"],
                 finding["text"], finding["start"], finding["end"], now_iso()))
            self._log(reviewer, verdict, finding["conversation_id"], f"{finding['code']} {finding['flagged']} {reason}".strip())
            self._rescore(finding["conversation_id"], reviewer)

    def add_missed(self, conversation_id: str, message_index: int, code: str, flagged: str, reviewer: str, note: str = "") -> None:
        self._require(reviewer, ("auditor", "lead"))
        flagged = flagged.strip()
        with self.write() as db:
            message = db.execute(
                "SELECT text, COALESCE('id:' || message_id, '#' || message_index) AS key FROM latest_messages"
                " WHERE conversation_id = ? AND message_index = ?", (conversation_id, message_index)).fetchone()
            if message is None:
                raise ReviewError(f"会话「{conversation_id}」中没有第 {message_index} 条消息。")
            if not db.execute("SELECT 1 FROM latest_rules WHERE code = ?", (code,)).fetchone():
                raise ReviewError(f"本次质检的规则中没有「{code}」。")
            text = message["text"]
            start = text.find(flagged) if flagged else 0
            if flagged and start < 0:
                raise ReviewError(f"消息中没有「{flagged}」：请从消息原文中复制要标出的词。")
            end = start + len(flagged) if flagged else len(text)
            db.execute("INSERT INTO review_missed (conversation_id, message_key, message_index, code, start, \"end\", flagged, text,"
                       " note, reviewer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (conversation_id, message["key"], message_index, code, start, end, text[start:end], text, note.strip()[:500],
                        reviewer, now_iso()))
            self._log(reviewer, "missed", conversation_id, f"{code} {text[start:end]}")
            self._rescore(conversation_id, reviewer)

    def remove_missed(self, missed_id: int, reviewer: str) -> None:
        with self.write() as db:
            row = db.execute("SELECT conversation_id, reviewer FROM review_missed WHERE id = ?", (missed_id,)).fetchone()
            if row is None:
                return
            if row["reviewer"] != reviewer and (self.user(reviewer) or {}).get("role") != "lead":
                raise ReviewError("只能撤销自己补录的问题（组长除外）。")
            db.execute("DELETE FROM review_missed WHERE id = ?", (missed_id,))
            self._log(reviewer, "missed-removed", row["conversation_id"], str(missed_id))
            self._rescore(row["conversation_id"], reviewer)

    def regrade(self, conversation_id: str, reviewer: str, score: int, reason: str) -> None:
        self._require(reviewer, ("auditor", "lead"))
        if not 0 <= score <= 100:
            raise ReviewError("分数应在 0 到 100 之间。")
        if not reason.strip():
            raise ReviewError("改判时请填写原因。")
        with self.write() as db:
            if not db.execute("SELECT 1 FROM review_cache_conversations WHERE conversation_id = ?", (conversation_id,)).fetchone():
                raise ReviewError(f"没有会话「{conversation_id}」。")
            db.execute("INSERT INTO review_grades VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, reviewer) DO UPDATE"
                       " SET score = excluded.score, reason = excluded.reason, created_at = excluded.created_at",
                       (conversation_id, reviewer, score, reason.strip()[:500], now_iso()))
            self._log(reviewer, "regrade", conversation_id, f"{score} {reason.strip()}")
            self._rescore(conversation_id, reviewer)

    def _rescore(self, conversation_id: str, reviewer: str) -> None:
        """Work out the reviewed score (inside the caller's transaction): a re-grade wins (the
        latest, a lead's before an auditor's); else the system's findings without the false
        positives, with the added misses, under the same score model."""
        roles = {u["name"]: u["role"] for u in self.users()}
        grades = self.db.execute("SELECT reviewer, score, created_at FROM review_grades WHERE conversation_id = ?",
                                 (conversation_id,)).fetchall()
        if grades:
            chosen = max(grades, key=lambda g: (roles.get(g["reviewer"]) == "lead", g["created_at"]))
            self.db.execute("INSERT OR REPLACE INTO review_scores VALUES (?, ?, ?, 'regraded', ?, ?)",
                            (conversation_id, chosen["score"], grade_of_score(chosen["score"]), chosen["reviewer"], now_iso()))
            return
        verdicts: dict[str, list] = {}
        for row in self.db.execute("SELECT * FROM review_verdicts WHERE conversation_id = ?", (conversation_id,)):
            verdicts.setdefault(row["finding_key"], []).append(dict(row))
        disputes: dict[str, list] = {}
        for row in self.db.execute("SELECT * FROM review_disputes WHERE conversation_id = ? AND state IN ('accepted', 'rejected')",
                                   (conversation_id,)):
            disputes.setdefault(row["finding_key"], []).append(dict(row))
        missed = self.db.execute("SELECT code, start, \"end\" FROM review_missed WHERE conversation_id = ?", (conversation_id,)).fetchall()
        if not verdicts and not disputes and not missed:
            self.db.execute("DELETE FROM review_scores WHERE conversation_id = ?", (conversation_id,))
            return
        rules = {r["code"]: (r["zone"], r["weight"], r["name"]) for r in self.db.execute("SELECT code, zone, weight, name FROM latest_rules")}
        kept = []
        for key, code in self.db.execute(
                "SELECT finding_key, code FROM review_cache_findings WHERE conversation_id = ?", (conversation_id,)):
            if _effective_verdict(verdicts.get(key, ()), disputes.get(key, ()), roles) != "false_positive":
                kept.append(code)
        kept.extend(row["code"] for row in missed)
        violations = [Violation(code, rules.get(code, ("yellow", 0, code))[2], rules.get(code, ("yellow", 0, code))[0], "", 0, 0)
                      for code in kept]
        score = score_violations(violations, {code: rule[1] for code, rule in rules.items()})
        self.db.execute("INSERT OR REPLACE INTO review_scores VALUES (?, ?, ?, 'reviewed', ?, ?)",
                        (conversation_id, score.value, score.grade, reviewer, now_iso()))

    def _require(self, name: str, roles: Sequence[str]) -> dict:
        user = self.user(name)
        if user is None or user["role"] not in roles:
            raise ReviewError(f"「{name}」没有这项权限（需要：{'、'.join(ROLE_NAMES[r] for r in roles)}）。")
        return user

    # -- sampling plan (抽检) --

    def plan(self) -> dict:
        row = self.db.execute("SELECT value FROM review_meta WHERE key = 'plan'").fetchone()
        return json.loads(row[0]) if row else json.loads(json.dumps(DEFAULT_PLAN))

    def set_plan(self, plan: dict, by: str) -> None:
        self._require(by, ("lead",))
        clean: dict[str, dict[str, float]] = {"grades": {}, "rules": {}}
        for section in ("grades", "rules"):
            for key, share in (plan.get(section) or {}).items():
                if not 0 <= float(share) <= 1:
                    raise ReviewError(f"抽检比例应在 0% 到 100% 之间（{key}：{share:.0%}）。")
                if float(share) > 0:
                    clean[section][str(key)] = float(share)
        with self.write() as db:
            db.execute("INSERT OR REPLACE INTO review_meta VALUES ('plan', ?)", (json.dumps(clean),))
            self._log(by, "plan", None, json.dumps(clean, ensure_ascii=False))

    def _plan_condition(self, plan: dict) -> tuple[str, list]:
        clauses, values = [], []
        for grade, share in plan.get("grades", {}).items():
            clauses.append("(c.grade = ? AND c.sample < ?)")
            values.extend([grade, share])
        for code, share in plan.get("rules", {}).items():
            clauses.append("(c.sample < ? AND EXISTS (SELECT 1 FROM review_cache_findings h WHERE h.conversation_id = c.conversation_id"
                           " AND h.code = ?))")
            values.extend([share, code])
        return (" OR ".join(clauses) or "0"), values

    def plan_progress(self) -> list[dict]:
        """Per line of the plan: how many conversations it puts up, how many are reviewed."""
        plan, rows = self.plan(), []
        for kind, entries in (("grade", plan.get("grades", {})), ("rule", plan.get("rules", {}))):
            for key, share in entries.items():
                sql, values = self._plan_condition({"grades" if kind == "grade" else "rules": {key: share}})
                total, sampled, reviewed = self.db.execute(
                    "SELECT (SELECT COUNT(*) FROM review_cache_conversations c WHERE "
                    + ("c.grade = ?" if kind == "grade" else
                       "EXISTS (SELECT 1 FROM review_cache_findings h WHERE h.conversation_id = c.conversation_id AND h.code = ?)")
                    + f"), COUNT(*), COUNT(s.conversation_id) FROM review_cache_conversations c LEFT JOIN review_scores s"
                    f" USING (conversation_id) WHERE {sql}", [key, *values]).fetchone()
                rows.append({"kind": kind, "key": key, "share": share, "total": total, "sampled": sampled, "reviewed": reviewed})
        return rows

    # -- disputes (申诉) --

    def file_dispute(self, finding_key: str, filed_by: str, reason: str) -> int:
        user = self._require(filed_by, ("agent", "lead"))
        if not reason.strip():
            raise ReviewError("申诉时请写明理由。")
        with self.write() as db:
            finding = self._finding(finding_key)
            agent = finding["agent"] or ""
            if user["role"] == "agent" and agent != filed_by:
                raise ReviewError("客服只能对记在自己名下的问题申诉。")
            if db.execute("SELECT 1 FROM review_disputes WHERE finding_key = ? AND state = 'open'", (finding_key,)).fetchone():
                raise ReviewError("这条问题已有待处理的申诉。")
            cursor = db.execute(
                "INSERT INTO review_disputes (finding_key, conversation_id, code, agent, filed_by, reason, state, filed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'open', ?)",
                (finding_key, finding["conversation_id"], finding["code"], agent, filed_by, reason.strip()[:1000], now_iso()))
            self._log(filed_by, "dispute", finding["conversation_id"], f"{finding['code']} {reason.strip()}")
            return int(cursor.lastrowid or 0)

    def settle_dispute(self, dispute_id: int, lead: str, state: str, decision: str) -> None:
        """Accept (the finding was wrong: it no longer counts) or reject a dispute; only an
        open one, so a second lead settling it at the same moment is refused, not obeyed."""
        if state not in ("accepted", "rejected", "withdrawn"):
            raise ReviewError("申诉只能被接受、驳回或撤回。")
        with self.write() as db:
            row = db.execute("SELECT * FROM review_disputes WHERE id = ?", (dispute_id,)).fetchone()
            if row is None:
                raise ReviewError(f"没有编号为 {dispute_id} 的申诉。")
            if state == "withdrawn":
                if row["filed_by"] != lead:
                    raise ReviewError("只有申诉人可以撤回申诉。")
            else:
                self._require(lead, ("lead",))
                if not decision.strip():
                    raise ReviewError("处理申诉时请写明理由。")
            changed = db.execute("UPDATE review_disputes SET state = ?, decided_by = ?, decision = ?, decided_at = ?"
                                 " WHERE id = ? AND state = 'open'", (state, lead, decision.strip()[:1000], now_iso(), dispute_id)).rowcount
            if not changed:
                raise ReviewError(f"这条申诉已由{row['decided_by'] or '他人'}处理（{STATE_NAMES[row['state']]}），没有再次更改。")
            self._log(lead, f"dispute-{state}", row["conversation_id"], f"#{dispute_id} {decision.strip()}")
            self._rescore(row["conversation_id"], lead)

    def disputes(self, state: str = "", agent: str = "", page: int = 1) -> dict:
        clauses, values = [], []
        if state:
            clauses.append("d.state = ?")
            values.append(state)
        if agent:
            clauses.append("d.agent = ?")
            values.append(agent)
        where = " AND ".join(clauses) or "1"
        total = self.db.execute(f"SELECT COUNT(*) FROM review_disputes d WHERE {where}", values).fetchone()[0]
        rows = [dict(r) for r in self.db.execute(
            "SELECT d.*, v.flagged, r.name, r.zone FROM review_disputes d LEFT JOIN latest_rules r USING (code)"
            " LEFT JOIN (SELECT finding_key, MAX(flagged) AS flagged FROM review_verdicts GROUP BY 1) v USING (finding_key)"
            f" WHERE {where} ORDER BY d.state != 'open', d.filed_at DESC, d.id DESC LIMIT ? OFFSET ?",
            [*values, PAGE_SIZE, (max(page, 1) - 1) * PAGE_SIZE])]
        counts = dict(self.db.execute("SELECT state, COUNT(*) FROM review_disputes GROUP BY 1").fetchall())
        return {"rows": rows, "total": total, "counts": counts, "page": max(page, 1), "pages": max(1, math.ceil(total / PAGE_SIZE))}

    # -- calibration --

    def create_calibration(self, name: str, by: str, reviewers: Sequence[str], size: int, filters: Filters) -> int:
        self._require(by, ("lead",))
        reviewers = [r for r in dict.fromkeys(reviewers) if r]
        if len(reviewers) < 2:
            raise ReviewError("校准至少需要两位复核员。")
        for reviewer in reviewers:
            self._require(reviewer, ("auditor", "lead"))
        where, values = filters.where()
        ids = [r[0] for r in self.db.execute(
            f"SELECT conversation_id FROM review_cache_conversations c WHERE {where} ORDER BY sample LIMIT ?",
            [*values, max(1, min(size, 200))])]
        if not ids:
            raise ReviewError("筛选条件下没有会话可供校准。")
        with self.write() as db:
            cursor = db.execute("INSERT INTO review_calibrations (name, created_by, created_at, reviewers, conversations)"
                                " VALUES (?, ?, ?, ?, ?)", (name.strip() or f"校准 {now_iso()[:10]}", by, now_iso(),
                                                            json.dumps(reviewers, ensure_ascii=False), json.dumps(ids, ensure_ascii=False)))
            self._log(by, "calibration", None, f"#{cursor.lastrowid} {len(ids)}")
            return int(cursor.lastrowid or 0)

    def calibrations(self) -> list[dict]:
        rows = []
        for row in self.db.execute("SELECT * FROM review_calibrations ORDER BY id DESC"):
            item = dict(row)
            item["reviewers"] = json.loads(item["reviewers"])
            item["conversations"] = json.loads(item["conversations"])
            rows.append(item)
        return rows

    def blind_for(self, conversation_id: str, user: dict) -> bool:
        """Whether ``user`` reviews ``conversation_id`` blind: an auditor who is one of the
        reviewers of a calibration holding it sees no one else's verdicts there, so the
        agreement figures measure their own judgement (a lead sees everything)."""
        if user["role"] != "auditor":
            return False
        return any(user["name"] in c["reviewers"] and conversation_id in c["conversations"] for c in self.calibrations())

    def calibration(self, calibration_id: int) -> dict:
        from .calibration import agreement_table

        session = next((c for c in self.calibrations() if c["id"] == calibration_id), None)
        if session is None:
            raise ReviewError(f"没有编号为 {calibration_id} 的校准。")
        ids = session["conversations"]
        marks = ",".join("?" * len(ids))
        findings = [dict(r) for r in self.db.execute(
            f"SELECT finding_key, code FROM review_cache_findings WHERE conversation_id IN ({marks})", ids)]
        verdicts = [dict(r) for r in self.db.execute(
            f"SELECT finding_key, reviewer, code, verdict, conversation_id FROM review_verdicts WHERE conversation_id IN ({marks})", ids)]
        missed = [dict(r) for r in self.db.execute(
            f"SELECT conversation_id, message_key, code, reviewer FROM review_missed WHERE conversation_id IN ({marks})", ids)]
        progress = {reviewer: self.db.execute(
            f"SELECT COUNT(DISTINCT conversation_id) FROM (SELECT conversation_id FROM review_verdicts WHERE reviewer = ?"
            f" UNION ALL SELECT conversation_id FROM review_grades WHERE reviewer = ?) WHERE conversation_id IN ({marks})",
            [reviewer, reviewer, *ids]).fetchone()[0] for reviewer in session["reviewers"]}
        table = agreement_table(session["reviewers"], findings, verdicts, missed)
        return {"session": session, "table": table, "progress": progress}

    # -- export --

    def reviewed_feedback(self) -> dict:
        """The effective verdicts, for the overlay: false positives (with their message text)
        and added misses, one per finding, whoever's verdict counts."""
        roles = {u["name"]: u["role"] for u in self.users()}
        by_key: dict[str, list] = {}
        for row in self.db.execute("SELECT * FROM review_verdicts ORDER BY created_at"):
            by_key.setdefault(row["finding_key"], []).append(dict(row))
        disputes: dict[str, list] = {}
        for row in self.db.execute("SELECT d.*, v.text, v.flagged FROM review_disputes d LEFT JOIN review_verdicts v USING (finding_key)"
                                   " WHERE state IN ('accepted', 'rejected')"):
            disputes.setdefault(row["finding_key"], []).append(dict(row))
        false_positives = []
        for key in dict.fromkeys([*by_key, *disputes]):
            verdicts = by_key.get(key, [])
            if _effective_verdict(verdicts, disputes.get(key, ()), roles) != "false_positive":
                continue
            sample = verdicts[-1] if verdicts else None
            if sample is None:  # accepted dispute without a verdict: read the finding as it is now
                try:
                    finding = self._finding(key)
                except ReviewError:
                    continue
                sample = {"code": finding["code"], "flagged": finding["flagged"], "text": finding["text"],
                          "start": finding["start"], "end": finding["end"], "reason": disputes[key][-1]["decision"],
                          "conversation_id": finding["conversation_id"]}
            false_positives.append(sample)
        missed = [dict(r) for r in self.db.execute("SELECT * FROM review_missed ORDER BY id")]
        return {"false_positives": false_positives, "missed": missed}

    def conversation_messages(self, conversation_ids: Iterable[str]) -> dict[str, list[sqlite3.Row]]:
        """The messages of these conversations, as stored, to re-score them with an overlay."""
        grouped: dict[str, list] = {}
        ids = list(dict.fromkeys(conversation_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in self.db.execute(
                    "SELECT conversation_id, role, text, time, agent, shop, message_id, source, line, seq, partial = 1 AS partial"
                    f" FROM latest_messages WHERE conversation_id IN ({','.join('?' * len(chunk))}) ORDER BY seq", chunk):
                grouped.setdefault(row["conversation_id"], []).append(row)
        return grouped

    def recent_log(self, limit: int = 30) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM review_log ORDER BY id DESC LIMIT ?", (limit,))]


ROLE_NAMES = {"auditor": "质检员", "lead": "质检组长", "agent": "客服"}
STATE_NAMES = {"open": "待处理", "accepted": "已接受", "rejected": "已驳回", "withdrawn": "已撤回"}


def _effective_verdict(verdicts: Iterable[dict], disputes: Iterable[dict], roles: dict[str, str]) -> str | None:
    """The verdict that counts for a finding: a settled dispute first (a lead decided it after
    hearing the agent), then a lead's verdict, then the latest auditor's."""
    settled = [d for d in disputes if d.get("state") in ("accepted", "rejected")]
    if settled:
        last = max(settled, key=lambda d: d.get("decided_at") or "")
        return "false_positive" if last["state"] == "accepted" else "confirmed"
    verdicts = list(verdicts)
    if not verdicts:
        return None
    return max(verdicts, key=lambda v: (roles.get(v["reviewer"]) == "lead", v["created_at"]))["verdict"]


def _statements(script: str) -> list[str]:
    """The statements of a schema script, one by one (``executescript`` would commit the
    caller's transaction first)."""
    statements, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if sqlite3.complete_statement("\n".join(current)):
            statements.append("\n".join(current))
            current = []
    return statements
