"""`kefu-lint audit` end to end: real files, a real SQLite database, real processes."""

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

from conftest import EXAMPLES, ROOT
from kefu_lint import Linter
from kefu_lint.model import ChatMessage

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
CHAT_LOG = EXAMPLES / "chat_log.jsonl"


def audit(*args, stdin: bytes | None = None, check=True):
    result = subprocess.run([KEFU_LINT, "audit", *map(str, args)], input=stdin, capture_output=True, timeout=600)
    result.out = result.stdout.decode("utf-8", "replace")
    result.err = result.stderr.decode("utf-8", "replace")
    if check:
        assert result.returncode == 0, result.out + result.err
    return result


def rows(database: Path, query: str, *params):
    with sqlite3.connect(database) as db:
        return db.execute(query, params).fetchall()


def test_example_log_end_to_end(tmp_path):
    # The example log holds two broken lines: by default any rejected line fails the run (exit
    # 2, with the count), though everything else is scored and stored.
    result = audit(CHAT_LOG, "--out", tmp_path, "--report", tmp_path / "report.html", check=False)
    assert result.returncode == 2 and "Traceback" not in result.err, result.out + result.err
    assert "读入的 27 条记录中有 2 条被拒收（超过 --max-rejected 0）" in result.err
    database = tmp_path / "audit.db"
    assert "lines read 27 = 25 scored + 2 rejected (totals reconcile)" in result.out
    assert "chat_log.jsonl:8: 拒收：JSON 无效" in result.err
    assert "chat_log.jsonl:13: 拒收：不认识的角色 'bot?'" in result.err
    assert rows(database, "SELECT COUNT(*) FROM conversations") == [(5,)]
    assert rows(database, "SELECT line, reason FROM rejected ORDER BY line")[0][0] == 8
    grades = dict(rows(database, "SELECT conversation_id, grade FROM conversations"))
    assert grades["c1001"] == "green"  # greeting, answer, thanks: a model conversation
    assert grades["c1002"] == grades["c1003"] == grades["c1004"] == "red"
    codes = {code for (code,) in rows(database, "SELECT code FROM findings WHERE conversation_id = 'c1002'")}
    assert {"KF401", "KF403", "KF302", "KF101", "KF102"} <= codes
    assert ("KF402",) in rows(database, "SELECT code FROM findings WHERE conversation_id = 'c1005'")
    assert ("KF404",) in rows(database, "SELECT code FROM findings WHERE conversation_id = 'c1003'")
    # per-conversation JSONL and per-agent CSV
    conversations = [json.loads(line) for line in (tmp_path / "conversations.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(conversations) == 5
    c1002 = next(c for c in conversations if c["conversation_id"] == "c1002")
    flagged = next(f for f in c1002["findings"] if f["code"] == "KF102")
    # The lean JSONL (the default) stores no text: its seq and span find the words in the database.
    assert "text" not in flagged and "message" not in flagged and flagged["message_index"] == 4
    (text,) = rows(database, "SELECT text FROM messages WHERE seq = ?", flagged["seq"])[0]
    assert text[flagged["start"]:flagged["end"]] == "不归我们管"
    flagged_seq = flagged["seq"]
    with (tmp_path / "agents.csv").open(encoding="utf-8-sig") as handle:
        agents = {row["agent"]: row for row in csv.DictReader(handle)}
    assert set(agents) == {"小美", "阿强"} and agents["阿强"]["red_rate"] == "1.000"
    # --max-rejected N|P%: a count or a share of the records read (2 of 27 is 7.4%)
    for limit, code in (("1", 2), ("2", 0), ("7%", 2), ("8%", 0), ("100%", 0)):
        again = audit(CHAT_LOG, "--out", tmp_path, "--max-rejected", limit, check=False)
        assert again.returncode == code and "already audited" in again.out, (limit, again.out + again.err)
    assert audit(CHAT_LOG, "--out", tmp_path, "--max-rejected", "lots", check=False).returncode == 2
    # --jsonl full repeats the words and the rule's message in each finding, as earlier versions did
    audit(CHAT_LOG, "--out", tmp_path, "--max-rejected", "100%", "--jsonl", "full")
    full = [json.loads(line) for line in (tmp_path / "conversations.jsonl").read_text(encoding="utf-8").splitlines()]
    flagged = next(f for c in full if c["conversation_id"] == "c1002" for f in c["findings"] if f["code"] == "KF102")
    assert flagged["text"] == "不归我们管" and flagged["name"] and flagged["message"] and flagged["seq"] == flagged_seq


def test_rerun_does_not_duplicate(tmp_path):
    audit(CHAT_LOG, "--max-rejected", "100%", "--out", tmp_path)
    counts = rows(tmp_path / "audit.db", "SELECT (SELECT COUNT(*) FROM findings), (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM runs)")
    again = audit(CHAT_LOG, "--max-rejected", "100%", "--out", tmp_path)
    assert "already audited" in again.out
    assert rows(tmp_path / "audit.db", "SELECT (SELECT COUNT(*) FROM findings), (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM runs)") == counts
    audit(CHAT_LOG, "--max-rejected", "100%", "--out", tmp_path, "--restart")
    assert rows(tmp_path / "audit.db", "SELECT (SELECT COUNT(*) FROM findings), (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM runs)") == counts


@pytest.fixture(scope="module")
def generated_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "generated.jsonl"
    with path.open("w", encoding="utf-8") as out:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_log.py"), "30000"], stdout=out, check=True)
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_kill_9_then_resume_loses_nothing(tmp_path, generated_log, jobs):
    reference = tmp_path / "reference"
    audit(generated_log, "--out", reference)
    expected = rows(reference / "audit.db", "SELECT COUNT(*), SUM(score), SUM(findings) FROM conversations")

    out = tmp_path / "interrupted"
    process = subprocess.Popen([KEFU_LINT, "audit", str(generated_log), "--out", str(out), "--no-progress", "--jobs", jobs],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = out / "audit.db"
    deadline = time.monotonic() + 120
    scored = 0
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        try:
            scored = rows(database, "SELECT COUNT(*) FROM conversations")[0][0]
        except sqlite3.Error:
            continue
        if scored > 0:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < scored < expected[0][0], "the run must be killed while scoring"

    refused = audit(generated_log, "--out", out, check=False)
    assert refused.returncode == 2 and "--resume" in refused.err
    resumed = audit(generated_log, "--out", out, "--resume", "--jobs", jobs)
    assert "Resumed run" in resumed.out and "(totals reconcile)" in resumed.out
    assert rows(database, "SELECT COUNT(*), SUM(score), SUM(findings) FROM conversations") == expected
    assert rows(database, "SELECT COUNT(*) FROM findings") == rows(reference / "audit.db", "SELECT COUNT(*) FROM findings")


def test_two_jobs_give_the_same_results(tmp_path, generated_log):
    # Broken lines among the good ones: workers parse and insert the input with --jobs 2.
    lines = generated_log.read_text(encoding="utf-8").splitlines(keepends=True)
    for position, broken in ((5, "{not json\n"), (12_000, '{"conversation_id": "x", "role": "alien", "text": "?"}\n'),
                             (20_000, "[1, 2]\n")):
        lines.insert(position, broken)
    log = tmp_path / "log.jsonl"
    log.write_text("".join(lines) + '{"conversation_id": "c1", "role"', encoding="utf-8")  # truncated last line
    one = audit(log, "--out", tmp_path / "one", "--max-rejected", "4")
    two = audit(log, "--out", tmp_path / "two", "--jobs", "2", "--max-rejected", "4")
    assert "30004 = 30000 scored + 4 rejected (totals reconcile)" in two.out
    assert one.err.splitlines() == two.err.splitlines()  # the same rejections, reported in input order
    queries = [
        "SELECT conversation_id, message_index, code, start, \"end\", flagged FROM findings ORDER BY 1, 2, 3, 4",
        "SELECT seq, conversation_id, message_index, scenes, score, grade FROM messages ORDER BY seq",
        "SELECT source, line, reason FROM rejected ORDER BY line",
        "SELECT conversation_id, score, grade, findings FROM conversations ORDER BY 1",
    ]
    for query in queries:
        assert rows(tmp_path / "one" / "audit.db", query) == rows(tmp_path / "two" / "audit.db", query), query
    # The JSONL is written in parts by two processes and joined: the same bytes as one writer.
    for name in ("conversations.jsonl", "agents.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_gzip_stdin_and_csv_with_header_mapping(tmp_path):
    data = CHAT_LOG.read_bytes()
    (tmp_path / "log.jsonl.gz").write_bytes(gzip.compress(data))
    assert "27 = 25 scored + 2 rejected" in audit(tmp_path / "log.jsonl.gz", "--max-rejected", "2", "--out", tmp_path / "gz").out
    assert "27 = 25 scored + 2 rejected" in audit("-", "--max-rejected", "2", "--out", tmp_path / "stdin", stdin=data).out
    table = tmp_path / "export.csv"
    table.write_text("会话,角色,内容,时间\nk1,买家,在吗?,2026-11-01 10:00:00\nk1,客服,不行,2026-11-01 10:00:50\nk1,坏角色,x,\n", encoding="utf-8")
    result = audit(table, "--out", tmp_path / "csv", "--columns", "conversation_id=会话,role=角色,text=内容,time=时间",
                   "--agent-role", "客服", "--customer-role", "买家", "--max-rejected", "1")
    assert "3 = 2 scored + 1 rejected" in result.out
    codes = {c for (c,) in rows(tmp_path / "csv" / "audit.db", "SELECT code FROM findings")}
    assert {"KF101", "KF401"} <= codes


def test_jddc_sample_through_a_column_mapping(tmp_path, jddc_path):
    result = audit(jddc_path, "--out", tmp_path, "--columns", "conversation_id=1,role=3,text=7", "--agent-role", "1")
    assert "lines read 12136 = 12136 scored + 0 rejected (totals reconcile)" in result.out
    assert rows(tmp_path / "audit.db", "SELECT COUNT(*) FROM conversations") == [(994,)]
    # the publisher's masking tokens are not leaks; the one leak is an agent writing out a
    # customer's account name (Latin letters after 客户账号), which the sample left unmasked
    leaks = rows(tmp_path / "audit.db", "SELECT flagged, message FROM findings WHERE code = 'KF104'")
    assert len(leaks) == 1 and leaks[0][0].isascii() and leaks[0][0].isalpha() and "账号" in leaks[0][1]


SCENE_RULE = """\
extends: default
rules:
  KF911:
    name: complaint-needs-a-name
    check: phrases
    zone: yellow
    scenes: [complaint]
    message: 处理投诉时请报上工号「{matched}」
    phrases: [已处理]
"""


def test_scene_inference_and_conversation_scoring(tmp_path):
    messages = [
        ChatMessage("c", "customer", "在吗", 0, seq=1),
        ChatMessage("c", "agent", "在的", 5, agent="a", seq=2),
        ChatMessage("c", "customer", "你们态度太差了，我要投诉", 10, seq=3),  # upset, no delay: no triad
        ChatMessage("c", "agent", "请提供订单号", 15, agent="a", seq=4),
        ChatMessage("c", "agent", "已处理", 20, agent="a", seq=5),
    ]
    result = Linter().lint_conversation(reversed(messages))  # out of order on input
    # The agent's last turn is two messages: both close the conversation. No reply rule of the
    # default applies by topic, so no topic scenes are inferred.
    assert [m.scenes for m in result.messages] == [(), ("greeting",), (), ("closing",), ("closing",)]
    codes = {(f.message_index, f.violation.code) for f in result.findings}
    assert codes == {(3, "KF302"), (4, "KF301")}
    assert result.score.grade == "yellow" and result.agent == "a" and result.first_response_seconds == 5
    # A shop's reply rule that applies in the complaint scene: the turn after the complaint is in it.
    shop = tmp_path / "shop.yaml"
    shop.write_text(SCENE_RULE, encoding="utf-8")
    with_topics = Linter(str(shop)).lint_conversation(messages)
    assert [m.scenes for m in with_topics.messages][3:] == [("closing", "complaint"), ("closing", "complaint")]
    assert (4, "KF911") in {(f.message_index, f.violation.code) for f in with_topics.findings}


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = subprocess.run(["which", name], capture_output=True, text=True).stdout.strip()
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("headless Chromium is required in CI (.ci/run installs Debian's chromium)")
    pytest.skip("Chromium not installed")


def test_report_renders_in_a_real_browser(tmp_path):
    from PIL import Image, ImageStat

    chromium = _chromium()
    report = tmp_path / "report.html"
    audit(CHAT_LOG, "--max-rejected", "100%", "--out", tmp_path, "--report", report)
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # self-contained
    profile = tmp_path / "profile"
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", report.as_uri()],
                         capture_output=True, text=True, timeout=120)
    for expected in ("27 lines read = 25 scored + 2 rejected", "小美", "阿强", "Score distribution", "Top rules",
                     '<mark class="red">不归我们管</mark>', "c1002"):
        assert expected in dom.stdout, expected
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1600",
                    f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1600)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the screenshot is blank"
    assert max(ImageStat.Stat(image).stddev) > 10
    # the red bars of the histogram and zone chart are drawn
    red_pixels = sum(count for count, (r, g, b) in colours if r > 190 and g < 90 and b < 90)
    assert red_pixels > 500
