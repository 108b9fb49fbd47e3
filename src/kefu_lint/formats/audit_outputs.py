"""Audit outputs read back from the database: per-conversation JSONL and per-agent CSV."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path


def write_conversations_jsonl(db: sqlite3.Connection, run_id: str, path: Path) -> int:
    """One JSON object per conversation, every finding with its message index and span."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    findings = db.execute(
        "SELECT conversation_id, message_index, code, name, zone, level, message, start, \"end\", flagged, suggestion"
        " FROM findings WHERE run_id = ? ORDER BY conversation_id, message_index, start, code", (run_id,))
    pending = next(findings, None)
    with path.open("w", encoding="utf-8") as out:
        for row in db.execute(
            "SELECT conversation_id, agent, shop, messages, agent_messages, score, grade, findings, red_findings,"
            " first_response_seconds FROM conversations WHERE run_id = ? ORDER BY conversation_id", (run_id,)):
            cid = row[0]
            items = []
            # Both queries are ordered by conversation id, so the findings merge in one pass.
            while pending is not None and pending[0] <= cid:
                if pending[0] == cid:
                    items.append(dict(zip(
                        ("message_index", "code", "name", "zone", "level", "message", "start", "end", "text", "suggestion"),
                        pending[1:])))
                pending = next(findings, None)
            record = dict(zip(("conversation_id", "agent", "shop", "messages", "agent_messages", "score", "grade",
                               "finding_count", "red_findings", "first_response_seconds"), row))
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
            writer.writerow([agent, conversations, f"{mean:.1f}", f"{red_rate:.3f}", findings, top_rules])
    return len(rows)
