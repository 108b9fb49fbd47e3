"""`kefu-lint audit` against hostile input and a broken environment (issue #19): through the
installed console script, with real files, real databases, real processes and signals."""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")


def audit(*args, stdin: bytes | None = None, timeout: float = 300):
    result = subprocess.run([KEFU_LINT, "audit", "--no-progress", *map(str, args)], input=stdin, capture_output=True,
                            timeout=timeout)
    result.out = result.stdout.decode("utf-8", "replace")
    result.err = result.stderr.decode("utf-8", "replace")
    return result


def rows(database: Path, query: str, *params):
    with sqlite3.connect(database) as db:
        return db.execute(query, params).fetchall()


def message(conversation: str, role: str, text: str, **fields) -> str:
    return json.dumps({"conversation_id": conversation, "role": role, "text": text, **fields}, ensure_ascii=False)


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def good_lines(count: int) -> list[str]:
    return [message(f"c{i // 4}", "customer" if i % 2 == 0 else "agent", f"您好，第{i}条", time=1762000000 + i * 10)
            for i in range(count)]


def assert_clean_failure(result, *expected: str):
    assert result.returncode == 2, result.out + result.err
    assert "Traceback" not in result.err, result.err
    for text in expected:
        assert text in result.err, result.err


# ----------------------------------------------------------------------------- D11 + reconciliation

def test_csv_unclosed_quote_rejects_its_row_and_reads_the_rest(tmp_path):
    table = ["cid,role,text"] + [f"c{i % 50},{'agent' if i % 2 else 'customer'},您好{i}" for i in range(1000)]
    table[3] = 'c1,agent,"您好 never closed'
    log = tmp_path / "quote.csv"
    log.write_text("\n".join(table) + "\n", encoding="utf-8")
    result = audit(log, "--out", tmp_path / "out", "--columns", "conversation_id=cid,role=role,text=text")
    assert result.returncode == 0, result.out + result.err
    assert "lines read 1000 = 999 scored + 1 rejected (totals reconcile)" in result.out
    assert "quote.csv:4: rejected: unclosed quote" in result.err
    assert rows(tmp_path / "out" / "audit.db", "SELECT line FROM rejected") == [(4,)]


def test_csv_unclosed_quote_in_the_middle_costs_only_its_line(tmp_path):
    # A quoted cell may span lines; one that never closes is cut at MAX_ROW_LINES lines.
    from kefu_lint.formats.chatlog import MAX_ROW_LINES

    lines = ["c0,customer,在吗", 'c0,agent,"第一行\n第二行"'] + ['c1,agent,"never closed'] + [
        f"c{2 + i // 10},customer,你好{i}" for i in range(MAX_ROW_LINES + 50)]
    log = tmp_path / "middle.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = audit(log, "--out", tmp_path / "out", "--columns", "conversation_id=1,role=2,text=3")
    total = MAX_ROW_LINES + 53
    assert f"lines read {total} = {total - 1} scored + 1 rejected (totals reconcile)" in result.out, result.out + result.err
    assert "middle.csv:4: rejected: unclosed quote?" in result.err  # the multi-line cell on lines 2-3 is fine
    texts = rows(tmp_path / "out" / "audit.db", "SELECT text FROM messages WHERE conversation_id = 'c0' ORDER BY seq")
    assert texts == [("在吗",), ("第一行\n第二行",)]


def test_records_lost_on_the_way_to_the_database_fail_the_run(tmp_path):
    out = tmp_path / "out"
    assert audit(write_jsonl(tmp_path / "first.jsonl", good_lines(4)), "--out", out).returncode == 0
    # Fault injection: the database silently drops one message of the next run.
    with sqlite3.connect(out / "audit.db") as db:
        db.execute("CREATE TRIGGER lose_one BEFORE INSERT ON messages WHEN NEW.line = 3 BEGIN SELECT RAISE(IGNORE); END")
    result = audit(write_jsonl(tmp_path / "second.jsonl", good_lines(12)), "--out", out)
    assert "lines read 12 = 11 scored + 0 rejected (TOTALS DO NOT RECONCILE)" in result.out, result.out
    assert_clean_failure(result, "1 of them were neither scored nor rejected")


# ----------------------------------------------------------------------------- D6, D9, D10, D8: bad values reject their line

def test_undecodable_bytes_and_lone_surrogates_in_any_field_reject_the_line(tmp_path):
    good = good_lines(8)
    log = tmp_path / "surrogates.jsonl"
    log.write_bytes("\n".join(good[:2]).encode() + b"\n"
                    + b'{"conversation_id":"\\ud800","role":"agent","text":"x"}\n'          # line 3: a lone surrogate escape
                    + b'{"conversation_id":"c9","role":"agent","text":"x","agent":"\xff\xfe"}\n'  # line 4: bytes, not UTF-8
                    + b'{"conversation_id":"c9","role":"agent","text":"x","shop":"\\udcff"}\n'   # line 5
                    + "\n".join(good[2:]).encode() + b"\n")
    out = tmp_path / "out"
    result = audit(log, "--out", out)
    assert result.returncode == 0, result.out + result.err
    assert "lines read 11 = 8 scored + 3 rejected (totals reconcile)" in result.out
    reasons = dict(rows(out / "audit.db", "SELECT line, reason FROM rejected"))
    assert "conversation_id has a lone surrogate" in reasons[3]
    assert "agent has bytes that are not valid UTF-8" in reasons[4] and "shop" in reasons[5]
    # and the CSV reader: an undecodable row is rejected alone
    table = tmp_path / "bytes.csv"
    table.write_bytes("c1,customer,在吗\n".encode() + b"c1,agent\xff,x\n" + "c1,agent,在的\n".encode())
    result = audit(table, "--out", tmp_path / "csv", "--columns", "conversation_id=1,role=2,text=3")
    assert "lines read 3 = 2 scored + 1 rejected (totals reconcile)" in result.out, result.out + result.err
    assert "bytes.csv:2: rejected: role has bytes that are not valid UTF-8" in result.err


def test_absurd_times_and_deep_nesting_reject_the_line(tmp_path):
    lines = good_lines(4) + [
        message("c9", "agent", "x", time=int("9" * 401)),      # OverflowError as a float
        '{"conversation_id": "c9", "role": "agent", "text": "x", "time": Infinity}',
        '{"conversation_id": "c9", "role": "agent", "text": "x", "time": NaN}',
        message("c9", "agent", "x", time="-inf"),
        message("c9", "agent", "x", time="1e400"),
        "[" * 100_000 + "]" * 100_000,                           # RecursionError in the JSON parser
        '{"a": ' * 50_000 + "1" + "}" * 50_000,
    ]
    out = tmp_path / "out"
    result = audit(write_jsonl(tmp_path / "absurd.jsonl", lines), "--out", out)
    assert result.returncode == 0, result.out + result.err
    assert "lines read 11 = 4 scored + 7 rejected (totals reconcile)" in result.out
    reasons = [reason for (reason,) in rows(out / "audit.db", "SELECT reason FROM rejected ORDER BY line")]
    assert all("time" in reason for reason in reasons[:5]) and all("nested too deeply" in r for r in reasons[5:])
    # conversations.jsonl stays valid JSON (no Infinity, no NaN)
    for line in (out / "conversations.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in conversations.jsonl"))


def test_epoch_milliseconds_are_read_as_milliseconds(tmp_path):
    # The same conversation, with times in seconds and in milliseconds: the same findings.
    def conversation(scale):
        return [message("c1", "customer", "在吗", time=1762000000 * scale),
                message("c1", "agent", "您好，在的，请问有什么可以帮您？", time=(1762000000 + 20) * scale),
                message("c1", "customer", "好的谢谢", time=(1762000000 + 40) * scale)]

    seconds, milliseconds = tmp_path / "s", tmp_path / "ms"
    audit(write_jsonl(tmp_path / "s.jsonl", conversation(1)), "--out", seconds)
    audit(write_jsonl(tmp_path / "ms.jsonl", conversation(1000)), "--out", milliseconds)
    query = "SELECT code, message_index FROM findings ORDER BY 1, 2"
    assert rows(milliseconds / "audit.db", query) == rows(seconds / "audit.db", query)
    assert rows(milliseconds / "audit.db", "SELECT first_response_seconds FROM conversations") == [(20.0,)]
    assert rows(milliseconds / "audit.db", "SELECT time FROM messages ORDER BY seq LIMIT 1") == [(1762000000.0,)]


# ----------------------------------------------------------------------------- D30

def test_truncated_gzip_keeps_its_readable_prefix_and_completes(tmp_path):
    data = gzip.compress(("\n".join(good_lines(4000)) + "\n").encode())
    log = tmp_path / "cut.jsonl.gz"
    log.write_bytes(data[: len(data) // 2])
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = audit(log, "--out", out, "--jobs", jobs)
        assert result.returncode == 0, result.out + result.err
        assert "(totals reconcile)" in result.out
        scored = rows(out / "audit.db", "SELECT COUNT(*) FROM messages")[0][0]
        assert scored > 1000  # the readable prefix, not lost with the batch it was read in
        assert rows(out / "audit.db", "SELECT status FROM runs") == [("complete",)]
        ((line, reason),) = rows(out / "audit.db", "SELECT line, reason FROM rejected WHERE reason LIKE '%cannot be read%'")
        assert line > scored and "past this point" in reason


# ----------------------------------------------------------------------------- D3: a broken environment is exit 2

@pytest.fixture
def mount_tmpfs(tmp_path):
    """A small file system of its own (a full disk, a read-only folder); needs root."""
    points = []

    def mount(options: str) -> Path:
        point = tmp_path / f"mount{len(points)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        points.append(point)
        return point

    yield mount
    for point in reversed(points):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_disk_full_is_a_clear_error_and_the_run_resumes(tmp_path, mount_tmpfs):
    log = write_jsonl(tmp_path / "big.jsonl", good_lines(40_000))  # about 5 MB: the database outgrows 2 MB
    disk = mount_tmpfs("size=2m")
    for jobs in ("1", "2"):
        out = disk / f"out{jobs}"
        result = audit(log, "--out", out, "--jobs", jobs)
        assert_clean_failure(result, f"{out}/audit.db: cannot use the audit database: database or disk is full")
        subprocess.run(["rm", "-rf", str(out)], check=True)
    result = audit(log, "--out", disk / "out")
    subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
    resumed = audit(log, "--out", disk / "out", "--resume")
    assert resumed.returncode == 0 and "lines read 40000 = 40000 scored + 0 rejected (totals reconcile)" in resumed.out, (
        resumed.out + resumed.err)


def test_read_only_out_and_unwritable_report_are_clear_errors(tmp_path, mount_tmpfs):
    log = write_jsonl(tmp_path / "log.jsonl", good_lines(8))
    read_only = mount_tmpfs("ro,size=1m")
    assert_clean_failure(audit(log, "--out", read_only / "out"), f"{read_only}/out/audit.db: cannot write:", "Read-only file system")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    result = audit(log, "--out", tmp_path / "out", "--report", tmp_path / "a-file" / "report.html")
    assert_clean_failure(result, "report.html: cannot write")


def test_a_database_that_is_not_one_or_is_corrupt_or_old_is_a_clear_error(tmp_path):
    log = write_jsonl(tmp_path / "log.jsonl", good_lines(8))
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are my notes, not a database\n" * 200, encoding="utf-8")
    assert_clean_failure(audit(log, "--db", not_a_database, "--out", tmp_path / "a"), "notes.db: cannot use the audit database: file is not a database")
    corrupt = tmp_path / "corrupt"
    assert audit(write_jsonl(tmp_path / "many.jsonl", good_lines(8000)), "--out", corrupt).returncode == 0
    with open(corrupt / "audit.db", "r+b") as database:
        database.seek(8 * 4096)
        database.write(b"\xde\xad\xbe\xef" * 40_000)
    assert_clean_failure(audit(tmp_path / "many.jsonl", "--out", corrupt, "--restart"), "database disk image is malformed")
    old = tmp_path / "old"
    assert audit(log, "--out", old).returncode == 0
    with sqlite3.connect(old / "audit.db") as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert_clean_failure(audit(log, "--out", old), "written by another version of kefu-lint (schema 1")
