"""Audit outputs read back from the database: per-conversation JSONL and per-agent CSV."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path


def write_conversations_jsonl(db: sqlite3.Connection, run_id: str, path: Path, *, jobs: int = 1, full: bool = False) -> int:
    """One JSON object per conversation, every finding with its message index, its message's
    ``seq`` (the key of ``messages`` and ``findings`` in the database) and span, in
    conversation-id order; with ``full``, also the rule's name and message, the flagged words
    and the suggestion (else they are in the database only: the text is stored once).
    With ``jobs`` > 1, worker processes each write a range of conversations to a part file
    and the parts are joined (the same bytes as one process)."""
    return start_conversations_jsonl(db, run_id, path, jobs=jobs, full=full)()


def start_conversations_jsonl(db: sqlite3.Connection, run_id: str, path: Path, *, jobs: int = 1,
                              full: bool = False) -> Callable[[], int]:
    """Like :func:`write_conversations_jsonl`, but returns as soon as the part writers are
    running (with ``jobs`` > 1), so the caller can do other work meanwhile; call the returned
    function to wait for the file and get the number of conversations written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ranges = _id_ranges(db, run_id, jobs)
    database = db.execute("PRAGMA database_list").fetchone()[2]
    if len(ranges) == 1 or not database:
        with path.open("w", encoding="utf-8") as out:
            count = _write_range(db, run_id, out, None, None, full)
        return lambda: count
    from ..workers import Supervised

    parts = [path.with_name(f"{path.name}.part{index}") for index in range(len(ranges))]
    workers = Supervised(len(ranges), what=f"{path.name} writer")
    try:
        pending = workers.start(_write_range_file, [(database, run_id, str(part), *bounds, full) for part, bounds in zip(parts, ranges)])
    except BaseException:
        workers.close(wait=False)
        raise

    def wait() -> int:
        finished = False
        try:
            counts = pending()
            with path.open("wb") as out:
                for part in parts:
                    with part.open("rb") as piece:
                        shutil.copyfileobj(piece, out, 1 << 20)
            finished = True
            return sum(counts)
        finally:
            workers.close(wait=finished)
            for part in parts:
                part.unlink(missing_ok=True)

    return wait


def _id_ranges(db: sqlite3.Connection, run_id: str, parts: int) -> list[tuple[str | None, str | None]]:
    """``parts`` ranges [low, high) of conversation ids with about as many conversations each."""
    total = db.execute("SELECT COUNT(*) FROM conversations WHERE run_id = ?", (run_id,)).fetchone()[0]
    if parts <= 1 or total < parts * 1000:  # not worth a process
        return [(None, None)]
    cuts = [db.execute("SELECT conversation_id FROM conversations WHERE run_id = ? ORDER BY conversation_id LIMIT 1 OFFSET ?",
                       (run_id, total * index // parts)).fetchone()[0] for index in range(1, parts)]
    bounds = [None, *cuts, None]
    return list(pairwise(bounds))


def _write_range_file(database: str, run_id: str, path: str, low: str | None, high: str | None, full: bool) -> int:
    db = sqlite3.connect(database)
    try:
        with open(path, "w", encoding="utf-8") as out:
            return _write_range(db, run_id, out, low, high, full)
    finally:
        db.close()


_CONVERSATION_FIELDS = ("conversation_id", "agent", "shop", "messages", "agent_messages", "score", "grade",
                        "finding_count", "red_findings", "first_response_seconds")
_FINDING_FIELDS = ("message_index", "seq", "code", "name", "zone", "level", "message", "start", "end", "text", "suggestion")
#: The lean form: where each finding is and which rule's; its words are in the database,
#: and what the rule is (zone, level, weight, title) in its ``rules`` table.
_LEAN_FIELDS = ("message_index", "seq", "code", "start", "end")


def _write_range(db: sqlite3.Connection, run_id: str, out, low: str | None, high: str | None, full: bool) -> int:
    where = "run_id = ? AND conversation_id >= ? AND conversation_id < ?" if low is not None and high is not None else (
        "run_id = ? AND conversation_id >= ?" if low is not None else
        "run_id = ? AND conversation_id < ?" if high is not None else "run_id = ?")
    parameters = (run_id, *(bound for bound in (low, high) if bound is not None))
    count = 0
    fields = _FINDING_FIELDS if full else _LEAN_FIELDS
    columns = ", ".join({"text": "flagged", "end": '"end"'}.get(name, name) for name in fields)
    findings = db.execute(
        f"SELECT conversation_id, {columns} FROM findings WHERE {where} ORDER BY conversation_id, message_index, start, code",
        parameters)
    pending = next(findings, None)
    for row in db.execute(
        "SELECT conversation_id, agent, shop, messages, agent_messages, score, grade, findings, red_findings,"
        f" first_response_seconds FROM conversations WHERE {where} ORDER BY conversation_id", parameters):
        cid = row[0]
        items = []
        # Both queries are ordered by conversation id, so the findings merge in one pass.
        while pending is not None and pending[0] <= cid:
            if pending[0] == cid:
                items.append(dict(zip(fields, pending[1:])))
            pending = next(findings, None)
        record = dict(zip(_CONVERSATION_FIELDS, row))
        record["findings"] = items
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_agents_csv(db: sqlite3.Connection, run_id: str, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = db.execute(
        "SELECT agent, conversations, mean_score, red_rate, findings, top_rules FROM agents WHERE run_id = ?"
        " ORDER BY mean_score, agent", (run_id,)).fetchall()
    # UTF-8 with BOM so that Excel, which auditors open CSVs in, shows the Chinese text.
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["agent", "conversations", "mean_score", "red_rate", "findings", "top_rules"])
        for agent, conversations, mean, red_rate, findings, top in rows:
            top_rules = " ".join(f"{code}×{count}" for code, count in json.loads(top))
            writer.writerow([excel_safe(agent), conversations, f"{mean:.1f}", f"{red_rate:.3f}", findings, excel_safe(top_rules)])
    return len(rows)


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(cell: str) -> str:
    """A text cell of a CSV written for Excel, never read as a formula: an agent named
    ``=HYPERLINK(…)`` is shown as written, with the quote OWASP recommends in front."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell
