"""The auditor's workbench (issue #17), driven as its users drive it: a real audit of the
benchmark's generated log, the real server on a port, a real headless Chromium clicking
through it (playwright, pointed at Debian's chromium), a real HTTP client for what a
browser would not send, and real SQLite for two writers at once and for a re-run audit.

Screenshots go to ``KEFU_REVIEW_SHOTS`` (default: the test's tmp folder); they were looked
at when the workbench was built (Chinese rendered with fonts-noto-cjk).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu_lint.review.calibration import agreement_table, cohen_kappa
from kefu_lint.review.data import Filters, ReviewError, ReviewStore, sample_point

ROOT = Path(__file__).resolve().parents[1]
KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
CHROMIUM = Path("/usr/bin/chromium")
SHOPS = ["旗舰店", "专营店", "折扣店"]
XSS_TEXTS = ["<script>window.__xss = 1</script>不行，这个不算售后", '<img src=x onerror="window.__xss = 2">你自己看']


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([KEFU_LINT, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def write_log(path: Path, messages: int) -> None:
    """The benchmark generator's log (benchmarks/generate_log.py), spread over 14 days the
    way a fortnight's export is (conversation n on day n mod 14, its own timing kept), with a
    shop per conversation and message ids; plus one conversation whose agent wrote markup."""
    generated = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_log.py"), str(messages)],
                               capture_output=True, text=True, check=True).stdout.splitlines()
    with path.open("w", encoding="utf-8") as out:
        for index, line in enumerate(generated):
            record = json.loads(line)
            number = int(record["conversation_id"][1:])
            record.update(time=round(record["time"] + number % 14 * 86400, 1), message_id=f"m{index}", shop=SHOPS[number % 3])
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        start = 1_762_000_000
        for index, (role, text) in enumerate([("customer", "在吗？<b>急</b>"), ("agent", XSS_TEXTS[0]), ("customer", "？？"),
                                              ("agent", XSS_TEXTS[1])]):
            out.write(json.dumps({"conversation_id": "x-markup", "role": role, "text": text, "time": start + index * 10,
                                  "agent": "客服001" if role == "agent" else None, "shop": SHOPS[0], "message_id": f"x{index}"},
                                 ensure_ascii=False) + "\n")


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("review")
    write_log(folder / "log.jsonl", 1500)
    result = _run("audit", str(folder / "log.jsonl"), "--out", str(folder / "out"), "--no-progress")
    assert result.returncode == 0, result.stderr
    result = _run("review", str(folder / "out"), "--user", "小李:auditor", "--user", "小周:auditor", "--user", "王组长:lead",
                  "--user", "客服001:agent", "--export", str(folder / "nothing.yaml"))
    assert result.returncode == 2 and "还没有可导出的复核结论" in result.stderr, result.stderr  # users added, nothing to export yet
    return folder


@pytest.fixture()
def store(audited):
    opened = ReviewStore(audited / "out" / "audit.db")
    opened.prepare()
    yield opened
    opened.close()


# -- words --

def test_every_word_a_template_uses_exists_in_both_languages():
    import re

    from kefu_lint.review.words import WORDS

    assert WORDS["zh"].keys() == WORDS["en"].keys(), set(WORDS["zh"]) ^ set(WORDS["en"])
    templates = ROOT / "src" / "kefu_lint" / "review" / "templates"
    used = set()
    for template in templates.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\.(\w+)", source))
        # t['role_' + x], t[g + '_zone'], t['state_' + st], t['order_' + o]: every value of x
        for prefix in re.findall(r"t\['(\w+_)' \+", source):
            assert any(key.startswith(prefix) for key in WORDS["zh"]), prefix
    missing = used - set(WORDS["zh"]) - {"format"}
    assert not missing, missing   # Jinja would render a missing word as nothing


# -- calibration figures --

def test_cohen_kappa_matches_the_textbook_case():
    # 50 units: both yes 20, both no 15, first yes second no 5, first no second yes 10.
    pairs = [(True, True)] * 20 + [(False, False)] * 15 + [(True, False)] * 5 + [(False, True)] * 10
    figures = cohen_kappa(pairs)
    assert figures.units == 50 and figures.agreement == pytest.approx(0.7)
    assert figures.kappa == pytest.approx((0.7 - 0.5) / 0.5)
    assert cohen_kappa([(True, True)] * 4).kappa is None  # one label throughout: chance explains it all
    assert cohen_kappa([]).agreement is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_kappa_is_symmetric_bounded_and_one_for_identical_varied_labels(pairs):
    figures = cohen_kappa(pairs)
    swapped = cohen_kappa([(b, a) for a, b in pairs])
    assert figures.agreement == swapped.agreement
    assert (figures.kappa is None) == (swapped.kappa is None)
    if figures.kappa is not None:
        assert -1 - 1e-9 <= figures.kappa <= 1 + 1e-9
        assert figures.kappa == pytest.approx(swapped.kappa)
    same = cohen_kappa([(a, a) for a, _ in pairs])
    if len({a for a, _ in pairs}) == 2:
        assert same.kappa == pytest.approx(1.0)


def test_agreement_table_counts_misses_against_the_system():
    findings = [{"finding_key": "k1", "code": "KF101"}, {"finding_key": "k2", "code": "KF101"}]
    verdicts = [{"finding_key": "k1", "reviewer": "a", "code": "KF101", "verdict": "confirmed", "conversation_id": "c"},
                {"finding_key": "k1", "reviewer": "b", "code": "KF101", "verdict": "confirmed", "conversation_id": "c"},
                {"finding_key": "k2", "reviewer": "a", "code": "KF101", "verdict": "false_positive", "conversation_id": "c"},
                {"finding_key": "k2", "reviewer": "b", "code": "KF101", "verdict": "confirmed", "conversation_id": "c"}]
    missed = [{"conversation_id": "c", "message_key": "id:m3", "code": "KF103", "reviewer": "a"}]
    rows = {row["code"]: row for row in agreement_table(["a", "b"], findings, verdicts, missed)}
    assert rows["KF101"]["pairs"][0]["figures"].agreement == pytest.approx(0.5)
    # a added a miss b did not: they disagree on it, and a disagrees with the system there
    assert rows["KF103"]["pairs"][0]["figures"].agreement == 0
    assert rows["KF103"]["system"][0]["figures"].agreement == 0 and rows["KF103"]["system"][1]["figures"].agreement == 1
    assert rows["全部"]["units"] == 3


# -- the data layer: identity across re-runs, two writers, sampling --

def _first_finding(store: ReviewStore, code: str, *, only_red: bool = False):
    """The first finding of ``code``; ``only_red``: in a conversation where it is the only red one."""
    cid = store.db.execute(
        "SELECT h.conversation_id FROM review_cache_findings h JOIN review_cache_conversations c USING (conversation_id)"
        " WHERE h.code = ? AND (? = 0 OR c.red_findings = 1) ORDER BY h.conversation_id LIMIT 1", (code, int(only_red))).fetchone()[0]
    return next(f for f in store.conversation(cid).findings if f.code == code)


def test_reviews_survive_a_rerun_audit_and_follow_the_finding_not_a_row_id(audited, tmp_path):
    store = ReviewStore(audited / "out" / "audit.db")
    store.prepare()
    finding = _first_finding(store, "KF101", only_red=True)
    store.set_verdict(finding.key, "小李", "false_positive", "先说明了原因，再给了办法")
    reviewed = store.conversation(finding.conversation_id).review
    assert reviewed["source"] == "reviewed" and reviewed["score"] > store.conversation(finding.conversation_id).summary["score"]
    store.close()
    # The next export of the same shop (one more conversation): a new run, and the database
    # keeps only it, so every audit row is rewritten; the review tables are not, and the
    # verdict still applies to the same finding.
    grown = tmp_path / "log-grown.jsonl"
    grown.write_text((audited / "log.jsonl").read_text(encoding="utf-8") + json.dumps(
        {"conversation_id": "z-new", "role": "agent", "text": "不行", "time": 1_762_000_000, "agent": "客服002"}) + "\n",
        encoding="utf-8")
    result = _run("audit", str(grown), "--out", str(audited / "out"), "--no-progress")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(audited / "out" / "audit.db") as db:
        assert db.execute("SELECT COUNT(DISTINCT run_id) FROM findings").fetchone()[0] == 1
    store = ReviewStore(audited / "out" / "audit.db")
    store.prepare()
    again = next(f for f in store.conversation(finding.conversation_id).findings if f.key == finding.key)
    assert again.effective == "false_positive" and again.verdicts[0]["reason"] == "先说明了原因，再给了办法"
    assert store.conversation(finding.conversation_id).review["score"] == reviewed["score"]
    store.set_verdict(finding.key, "小李", "confirmed")  # leave the shared audit as the browser tests expect it
    store.close()


def test_two_leads_settling_one_dispute_at_once_one_wins_the_other_is_told(audited):
    setup = ReviewStore(audited / "out" / "audit.db")
    setup.prepare()
    finding = _first_finding(setup, "KF102")
    dispute = setup.file_dispute(finding.key, "王组长", "顾客要求的是换货，客服已转售后")
    setup.add_user("李组长", "lead", "test")
    setup.close()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def settle(lead: str, state: str) -> None:
        store = ReviewStore(audited / "out" / "audit.db")
        barrier.wait()
        try:
            store.settle_dispute(dispute, lead, state, "已核实")
            outcomes.append(f"{lead}:{state}")
        except ReviewError as error:
            outcomes.append(str(error))
        finally:
            store.close()

    threads = [threading.Thread(target=settle, args=("王组长", "accepted")), threading.Thread(target=settle, args=("李组长", "rejected"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and sum("已由" in outcome for outcome in outcomes) == 1, outcomes
    check = ReviewStore(audited / "out" / "audit.db")
    row = check.db.execute("SELECT state, decided_by FROM review_disputes WHERE id = ?", (dispute,)).fetchone()
    assert f"{row['decided_by']}:{row['state']}" in outcomes
    check.close()


def test_the_sampling_plan_takes_every_red_and_a_stable_share_of_the_rest(store):
    store.set_plan({"grades": {"red": 1.0, "green": 0.05, "yellow": 0.2}, "rules": {}}, "王组长")
    progress = {row["key"]: row for row in store.plan_progress()}
    assert progress["red"]["sampled"] == progress["red"]["total"] > 0
    yellow = progress["yellow"]
    assert 0.1 * yellow["total"] < yellow["sampled"] < 0.3 * yellow["total"]
    assert sample_point("c00000001") == sample_point("c00000001") and 0 <= sample_point("x") < 1
    queue = store.conversations(Filters(grade="red"), queue=True)
    assert queue["total"] <= progress["red"]["total"] and all(row["grade"] == "red" for row in queue["rows"])
    with pytest.raises(ReviewError, match="权限"):
        store.set_plan({"grades": {"red": 0.5}}, "小李")   # an auditor does not set the plan
    store.set_plan({"grades": {"red": 1.0, "yellow": 0.2, "green": 0.05}, "rules": {"KF104": 1.0}}, "王组长")


def test_filters_narrow_every_figure_and_bins_add_up_to_the_grade_tiles(store):
    everything = store.overview(Filters())
    assert sum(everything["histogram"]) == everything["totals"]["conversations"]
    histogram = everything["histogram"]
    assert sum(histogram[:6]) == everything["grades"].get("red", 0)
    assert sum(histogram[6:10]) == everything["grades"].get("yellow", 0) and histogram[10] == everything["grades"].get("green", 0)
    one_shop = store.overview(Filters(shop="旗舰店"))
    assert 0 < one_shop["totals"]["conversations"] < everything["totals"]["conversations"]
    days = store.choices()["days"]
    assert days[0] < days[1]  # the log spans a fortnight
    first_week = store.overview(Filters(date_to=days[0]))
    assert first_week["totals"]["conversations"] < everything["totals"]["conversations"]
    with pytest.raises(ReviewError, match="YYYY-MM-DD"):
        Filters.from_query({"date_from": "2025/11/01"})


# -- the server, a real browser --

@pytest.fixture(scope="module")
def server(audited):
    pytest.importorskip("starlette", reason="the workbench needs kefu-lint[review]")
    import uvicorn

    from kefu_lint.review.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(audited / "out" / "audit.db")
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("headless Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium fonts-noto-cjk)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need kefu-lint[review] (playwright)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("KEFU_REVIEW_SHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser, server: str, user: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("console", lambda message: page.problems.append(message.text) if message.type == "error" else None)
    page.goto(server + "/")
    assert "/login" in page.url
    page.select_option("#login-name", user)
    page.click("#login-button")
    page.wait_for_url(server + "/")
    return page


def test_overview_filters_and_trend_in_the_browser(browser, server, shots):
    page = _page(browser, server, "王组长")
    everything = int(page.inner_text("#card-conversations"))
    tiles = sum(int(page.inner_text(f"#tile-{grade}")) for grade in ("red", "yellow", "green"))
    bins = sum(int(count) for count in page.eval_on_selector_all("#histogram rect.bin", "bars => bars.map(b => b.dataset.count)"))
    assert everything == tiles == bins
    assert page.locator("#trend polyline.agent-line").count() == 5 and page.locator("#trend polyline.team").count() == 1
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    page.select_option("#filter-shop", "专营店")   # a choice applies the filters at once (app.js)
    page.wait_for_url("**shop=*")
    assert 0 < int(page.inner_text("#card-conversations")) < everything
    page.click("#period-week")
    page.wait_for_url("**period=week*")
    weeks = page.eval_on_selector_all("#trend polyline.team", "lines => lines[0].getAttribute('points').split(' ').length")
    assert 2 <= weeks <= 3   # a fortnight is two or three calendar weeks
    page.screenshot(path=str(shots / "overview-week.png"), full_page=True)
    page.click("a.lang")
    assert page.inner_text("nav").split()[:2] == ["Overview", "Conversations"] and "Agent score trend" in page.inner_text("main")
    page.click("a.lang")
    assert "客服得分趋势" in page.inner_text("main")
    agent = page.locator("#agents a").first.inner_text()
    page.locator("#agents a").first.click()
    page.wait_for_url("**agent=*")
    assert page.locator("#trend polyline.agent-line").count() == 1
    assert page.locator("#trend polyline.agent-line").get_attribute("data-agent") == agent
    assert not page.problems, page.problems
    page.context.close()


def test_review_a_conversation_dispute_and_settle_in_the_browser(browser, server, shots):
    auditor = _page(browser, server, "小李")
    auditor.goto(server + "/conversations?code=KF101")
    auditor.locator("a.conversation-link").first.click()
    auditor.wait_for_selector(".finding")
    conversation_url = auditor.url
    assert auditor.locator("mark.red").count() >= 1    # the flagged words, not the whole message
    finding = auditor.locator(".finding[data-code=KF101]").first
    finding.locator("button.fp").click()               # no reason yet: the browser asks for one
    assert auditor.url == conversation_url and auditor.locator(".verdict.false_positive").count() == 0
    finding.locator("input.reason").fill("先致歉再说明，不算否定开头")
    finding.locator("button.fp").click()
    auditor.wait_for_selector(".verdict.false_positive")
    assert "先致歉再说明" in auditor.inner_text(".finding.dismissed")
    assert auditor.locator("#reviewed-score").count() == 1
    agent_text = auditor.locator(".msg.agent .text").first
    words = agent_text.inner_text()[:2]
    auditor.fill("#missed-flagged", words)
    auditor.select_option("#missed-code", "KF103")
    auditor.click("#missed-add")
    auditor.wait_for_selector(".finding.missed")
    auditor.screenshot(path=str(shots / "conversation.png"), full_page=True)
    auditor.goto(server + "/conversations")
    assert auditor.locator("#conversation-list .source.reviewed").count() >= 1   # the list says which scores are reviewed
    assert not auditor.problems, auditor.problems

    # The agent charged with a red finding disputes it; the lead accepts.
    lead_page = _page(browser, server, "王组长")
    lead_page.goto(server + "/conversations?agent=客服001&code=KF102")
    lead_page.locator("a.conversation-link").first.click()
    agent_url = lead_page.url
    lead_page.context.close()
    agent = _page(browser, server, "客服001")
    agent.goto(agent_url)
    own = agent.locator(".finding[data-code=KF102]").first
    own.locator("input.reason").fill("顾客问的是别家店的售后，我已说明并给了办法")
    own.locator("button.dispute-button").click()
    agent.wait_for_selector(".trail.dispute.open")
    for page_only_for_the_team in ("/calibration", "/plan", "/users"):
        response = agent.goto(server + page_only_for_the_team)
        assert response.status == 403 and "没有这项权限" in agent.inner_text(".flash")
    agent.goto(server + "/conversations?agent=客服002")    # an agent's list is their own, whatever the query
    assert set(agent.locator("#conversation-list td:nth-child(4)").all_inner_texts()) <= {"客服001"}
    agent.context.close()
    lead = _page(browser, server, "王组长")
    lead.goto(server + "/disputes")
    row = lead.locator("tr.dispute-row.open", has_text="顾客问的是别家店的售后").first
    row.locator("input[name=decision]").fill("属实，接受申诉")
    row.locator("button[value=accepted]").click()
    lead.click("#state-accepted")
    assert lead.locator("tr.dispute-row.accepted", has_text="属实，接受申诉").count() == 1
    lead.screenshot(path=str(shots / "disputes.png"), full_page=True)
    lead.goto(agent_url)
    assert lead.locator(".finding[data-code=KF102] .verdict.false_positive").count() >= 1  # the accepted dispute counts
    assert not lead.problems, lead.problems
    lead.context.close()
    auditor.context.close()


def test_chat_text_is_shown_as_text_and_runs_nothing(browser, server, shots):
    page = _page(browser, server, "王组长")
    page.goto(server + "/c/x-markup")
    texts = page.locator(".msg .text").all_inner_texts()
    assert any("<script>window.__xss = 1</script>" in text for text in texts)
    assert any('<img src=x onerror="window.__xss = 2">' in text for text in texts)
    assert page.evaluate("window.__xss") is None and page.locator(".msg img").count() == 0
    page.screenshot(path=str(shots / "markup.png"), full_page=True)
    page.context.close()


def test_calibration_shows_agreement_per_rule(browser, server, shots, audited):
    page = _page(browser, server, "王组长")
    page.goto(server + "/calibration")
    page.fill("#calibration-form input[name=name]", "十一月第二周校准")
    page.check("#calibration-form input[value=小李]")
    page.check("#calibration-form input[value=小周]")
    page.fill("#calibration-form input[name=size]", "3")
    page.select_option("#calibration-form select[name=grade]", "red")
    page.click("#calibration-form button")
    page.wait_for_url("**/calibration/*")
    store = ReviewStore(audited / "out" / "audit.db")
    session = store.calibrations()[0]
    for cid in session["conversations"]:
        for finding in store.conversation(cid).findings:
            store.set_verdict(finding.key, "小李", "confirmed")
            store.set_verdict(finding.key, "小周", "false_positive" if finding.zone == "yellow" else "confirmed", "不影响体验")
    # In the sample, each auditor sees their own verdicts only (the lead sees both).
    assert store.blind_for(session["conversations"][0], {"name": "小周", "role": "auditor"})
    store.close()
    auditor = _page(browser, server, "小李")
    auditor.goto(server + "/c/" + urllib.parse.quote(session["conversations"][0]))
    trails = " ".join(auditor.locator(".finding .trail").all_inner_texts())
    assert "小李" in trails and "小周" not in trails
    auditor.context.close()
    page.reload()
    table = page.inner_text("#agreement")
    assert ("小李 × 小周" in table or "小周 × 小李" in table) and "全部" in table and "κ" in table
    page.screenshot(path=str(shots / "calibration.png"), full_page=True)
    page.context.close()


# -- security, over plain HTTP --

def _opener():
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post(opener, url: str, fields: dict, headers: dict | None = None):
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST", headers=headers or {})
    try:
        return opener.open(request, timeout=30)
    except urllib.error.HTTPError as error:
        return error


def _csrf(opener, url: str) -> str:
    import re

    page = opener.open(url, timeout=30).read().decode()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_forms_without_the_csrf_token_or_from_another_origin_change_nothing(server, audited):
    opener = _opener()
    token = _csrf(opener, server + "/login")
    _post(opener, server + "/login", {"csrf": token, "name": "王组长"})
    store = ReviewStore(audited / "out" / "audit.db")
    finding = _first_finding(store, "KF104")
    before = store.db.execute("SELECT COUNT(*) FROM review_verdicts").fetchone()[0]
    url = server + "/c/" + urllib.parse.quote(finding.conversation_id) + "/verdict"
    fields = {"finding_key": finding.key, "verdict": "false_positive", "reason": "csrf"}
    _post(opener, url, fields)
    _post(opener, url, {**fields, "csrf": "forged"})
    _post(opener, url, {**fields, "csrf": token}, headers={"Origin": "http://evil.example"})
    assert store.db.execute("SELECT COUNT(*) FROM review_verdicts").fetchone()[0] == before
    response = _post(opener, url, {**fields, "csrf": token})
    assert response.status == 303
    assert store.db.execute("SELECT COUNT(*) FROM review_verdicts").fetchone()[0] == before + 1
    store.set_verdict(finding.key, "王组长", "confirmed")
    store.close()


def test_another_address_needs_a_token(audited):
    result = _run("review", str(audited / "out"), "--host", "0.0.0.0")
    assert result.returncode == 2 and "--token" in result.stderr and "Traceback" not in result.stderr
    pytest.importorskip("starlette")
    import uvicorn

    from kefu_lint.review.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(create_app(audited / "out" / "audit.db", token="s3cret-token-123"),
                                             host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    while not instance.started:
        time.sleep(0.05)
    try:
        opener = _opener()
        refused = _post(opener, f"http://127.0.0.1:{port}/login", {})
        assert refused.status == 403
        with pytest.raises(urllib.error.HTTPError):
            opener.open(f"http://127.0.0.1:{port}/login?token=wrong", timeout=30)
        assert opener.open(f"http://127.0.0.1:{port}/login?token=s3cret-token-123", timeout=30).status == 200
        assert opener.open(f"http://127.0.0.1:{port}/login", timeout=30).status == 200   # remembered in the session
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


# -- feedback into the rules --

def test_export_writes_an_overlay_that_extends_the_ruleset_and_a_reaudit_shows_it(audited, tmp_path):
    store = ReviewStore(audited / "out" / "audit.db")
    store.prepare()
    finding = _first_finding(store, "KF101")
    store.set_verdict(finding.key, "王组长", "false_positive", "组长复核：说明情况，不算拒绝")
    store.close()
    overlay = audited / "overlay.yaml"
    result = _run("review", str(audited / "out"), "--export", str(overlay), cwd=audited)
    assert result.returncode == 0, result.stderr
    assert "extend-exceptions" in result.stdout and "已消除" in result.stdout
    text = overlay.read_text(encoding="utf-8")
    assert "extends: default" in text and "KF101:" in text
    assert _run("test", str(overlay), cwd=audited).returncode == 0
    again = _run("review", str(audited / "out"), "--export", str(overlay), cwd=audited)
    assert "（相同）" in again.stdout   # the diff against the file it replaces
    with sqlite3.connect(audited / "out" / "audit.db") as db:
        before = db.execute("SELECT COUNT(*) FROM latest_findings WHERE code = 'KF101'").fetchone()[0]
    result = _run("audit", "log.jsonl", "--out", "out", "--no-progress", "--ruleset", "overlay.yaml", cwd=audited)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(audited / "out" / "audit.db") as db:
        after = db.execute("SELECT COUNT(*) FROM latest_findings WHERE code = 'KF101'").fetchone()[0]
        kept = db.execute("SELECT COUNT(*) FROM review_verdicts").fetchone()[0]
    assert after < before and kept > 0


def test_the_static_report_has_its_dates_chinese_labels_and_a_histogram_that_agrees_with_the_tiles(audited):
    import re

    report = audited / "report.html"
    result = _run("audit", str(audited / "log.jsonl"), "--out", str(audited / "out-report"), "--no-progress", "--report", str(report))
    assert result.returncode == 0, result.stderr
    page = report.read_text(encoding="utf-8")
    assert re.search(r"对话时间 2025-11-\d\d 至 2025-11-\d\d", page) and "会话得分分布" in page and "高频问题规则" in page
    tiles = {grade: int(re.search(rf"<b>(\d+)</b><span>{word}色会话 {grade}</span>", page).group(1))
             for grade, word in (("red", "红"), ("yellow", "黄"), ("green", "绿"))}
    for grade, count in tiles.items():
        bins = re.findall(rf'<rect class="bin {grade}"[^>]* data-count="(\d+)"', page)
        assert sum(map(int, bins)) == count, grade
