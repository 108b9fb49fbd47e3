"""The auditor's report: one self-contained HTML file (inline CSS and SVG, no network)."""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path

from .. import __version__
from .html_widgets import bars, highlight, histogram, zone_bar

WORST_SHOWN = 10
ZONE_WORDS = {"red": "红", "yellow": "黄", "green": "绿"}

CSS = """
body{font-family:-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;background:#f6f7f9;color:#1d2530}
header{background:#1d2530;color:#fff;padding:20px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#b8c2cc;font-size:13px}
main{padding:24px 32px;max-width:1200px}section{background:#fff;border-radius:8px;padding:16px 20px;margin-bottom:20px;box-shadow:0 1px 2px #0001}
h2{font-size:17px;margin:0 0 12px}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:130px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:24px}.card span{color:#5b6673;font-size:12px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:20px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e9ee}th{color:#5b6673;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}.grade{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.grade.red{background:#d64545}.grade.yellow{background:#e0a400}.grade.green{background:#2e9e5b}
.conv{border-top:1px solid #e6e9ee;padding:10px 0}.msg{margin:4px 0;font-size:14px}.role{display:inline-block;width:56px;color:#5b6673;font-size:12px}
.msg.agent .text{background:#eef4ff;padding:2px 6px;border-radius:4px}mark{border-radius:3px;padding:0 2px}mark.red{background:#f8c9c9}mark.yellow{background:#fbe7a6}mark.green{background:#c9ecd6}
.finding{font-size:12px;color:#5b6673;margin-left:60px}.ok{color:#2e9e5b}.warn{color:#d64545}
.act{display:inline-block;font-size:11px;padding:0 6px;margin-left:4px;border-radius:8px;background:#e9edf2;color:#3d4753}
.who{color:#8a94a0;font-size:11px;margin-left:4px}.timeline{display:flex;gap:2px;margin:6px 0 8px}
.tick{width:14px;height:14px;border-radius:3px;background:#d5dbe2}.tick.agent{background:#9db8e8}.tick.red{outline:2px solid #d64545}
.tick.yellow{outline:2px solid #e0a400}.tick.green{outline:2px solid #2e9e5b}h2 small{color:#8a94a0;font-weight:400;margin-left:6px;font-size:12px}
"""

ROLE_NAMES = {"customer": "顾客", "agent": "客服", "system": "系统"}


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _act_labels(ruleset: str) -> dict[str, str]:
    """Act name -> its short Chinese label, from the run's ruleset (names when it is gone)."""
    from ..errors import KefuLintError
    from ..rulesets import load_ruleset

    try:
        return {name: intent.label for name, intent in load_ruleset(ruleset).intents.definitions.items()}
    except (KefuLintError, OSError):
        return {}


def write_report(db: sqlite3.Connection, run_id: str, path: Path) -> None:
    run = db.execute("SELECT inputs, ruleset, lines_read, messages, rejected, conversations, mean_score, finished_at, timezone FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    inputs, ruleset, lines_read, messages, rejected, conversations, mean_score, finished, timezone = run
    scored = db.execute("SELECT COUNT(*) FROM messages WHERE run_id = ? AND message_index IS NOT NULL", (run_id,)).fetchone()[0]
    scores = [row[0] for row in db.execute("SELECT score FROM conversations WHERE run_id = ?", (run_id,))]
    grades = dict(db.execute("SELECT grade, COUNT(*) FROM conversations WHERE run_id = ? GROUP BY grade", (run_id,)).fetchall())
    zones = dict(db.execute("SELECT zone, COUNT(*) FROM findings WHERE run_id = ? GROUP BY zone", (run_id,)).fetchall())
    top = db.execute("SELECT code, name, zone, COUNT(*) AS n FROM findings WHERE run_id = ? GROUP BY code ORDER BY n DESC, code LIMIT 12", (run_id,)).fetchall()
    agents = db.execute("SELECT agent, conversations, mean_score, red_rate, findings, top_rules FROM agents WHERE run_id = ? ORDER BY mean_score, agent LIMIT 200", (run_id,)).fetchall()
    worst = db.execute("SELECT conversation_id, agent, score, grade FROM conversations WHERE run_id = ? ORDER BY score, findings DESC, conversation_id LIMIT ?", (run_id, WORST_SHOWN)).fetchall()
    rejected_rows = db.execute("SELECT source, line, reason FROM rejected WHERE run_id = ? ORDER BY source, line LIMIT 50", (run_id,)).fetchall()

    first, last = db.execute("SELECT MIN(time_local), MAX(time_local) FROM messages WHERE run_id = ?", (run_id,)).fetchone()
    period = f"{first[:10]} 至 {last[:10]}" if first and last else "–"
    reconciled = lines_read == scored + rejected
    cards = [
        ("读入记录 lines read", lines_read), ("已评分消息 scored", scored), ("拒收 rejected", rejected),
        ("会话 conversations", conversations), ("平均分 mean score", f"{mean_score:.1f}" if mean_score is not None else "–"),
        *((f"{ZONE_WORDS[g]}色会话 {g}", grades.get(g, 0)) for g in ("red", "yellow", "green")),
    ]
    zone_names = {zone: ZONE_WORDS[zone] for zone in ZONE_WORDS}

    def heading(chinese: str, english: str) -> str:
        return f"<h2>{_esc(chinese)}<small>{_esc(english)}</small></h2>"

    bins = [0] * 11  # the bands follow the grade thresholds, so the bars of a grade add up to its tile
    for score in scores:
        bins[10 if score >= 100 else score // 10] += 1
    body = [
        f"<header><h1>kefu-lint 质检报告 <small>audit report</small></h1><p>对话时间 {_esc(period)}（{_esc(timezone)}）· "
        f"规则集 {_esc(ruleset)} · {_esc(', '.join(json.loads(inputs)))} · 生成于 {_esc(finished or '')} · run {_esc(run_id)} · kefu-lint {__version__}</p></header><main>",
        '<div class="cards">' + "".join(f'<div class="card"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>' for k, v in cards) + "</div>",
        f'<p class="{"ok" if reconciled else "warn"}" id="reconcile">总数{"一致" if reconciled else "不一致"}：读入 {lines_read} = 评分 {scored} + 拒收 {rejected}。'
        f' Totals {"reconcile" if reconciled else "DO NOT reconcile"}: {lines_read} lines read = {scored} scored + {rejected} rejected.</p>',
        '<div class="grid"><section>' + heading("会话得分分布", "Score distribution")
        + histogram(bins, {"histogram": "会话得分分布", "score_axis": "会话得分（红 <60 ≤ 黄 <100 = 绿）"}) + "</section>",
        "<section>" + heading("区域", "Zones") + zone_bar(grades, zone_names, "会话按等级") + zone_bar(zones, zone_names, "问题按区域")
        + "</section></div>",
        "<section>" + heading("高频问题规则", "Top rules")
        + (bars([(f"{code} {name}", count, zone) for code, name, zone, count in top], width=1100) if top else "<p class='ok'>没有发现问题。</p>")
        + "</section>",
        "<section>" + heading("客服", "Agents") + "<table><tr><th>客服</th><th>会话数</th><th>平均分</th><th>红线率</th><th>问题数</th><th>高频规则</th></tr>",
    ]
    for agent, count, mean, red_rate, findings, top_rules in agents:
        rules = " ".join(f"{code}×{n}" for code, n in json.loads(top_rules))
        body.append(f'<tr><td>{_esc(agent)}</td><td class="num">{count}</td><td class="num">{mean:.1f}</td><td class="num">{red_rate:.0%}</td><td class="num">{findings}</td><td>{_esc(rules)}</td></tr>')
    body.append("</table></section>")
    body.append("<section>" + heading("得分最低的会话", "Worst conversations"))
    labels = _act_labels(ruleset)
    for cid, agent, score, grade in worst:
        started = db.execute("SELECT MIN(time_local) FROM messages WHERE run_id = ? AND conversation_id = ?", (run_id, cid)).fetchone()[0]
        body.append(f'<div class="conv"><b>{_esc(cid)}</b> · {_esc((started or "")[:16].replace("T", " "))} · 客服 {_esc(agent or "(unknown)")}'
                    f' · 得分 {score} <span class="grade {grade}">{ZONE_WORDS[grade]}</span>')
        spans: dict[int, list] = {}
        notes: dict[int, list] = {}
        for index, start, end, zone, code, message, level in db.execute(
            'SELECT message_index, start, "end", zone, code, message, level FROM findings WHERE run_id = ? AND conversation_id = ? ORDER BY message_index, start',
            (run_id, cid)):
            if level == "reply":  # a conversation finding is an absence: marking the whole message would hide its red words
                spans.setdefault(index, []).append((start, end, zone))
            notes.setdefault(index, []).append(f"{code} [{zone}] {message}")
        messages = db.execute(
            "SELECT message_index, role, text, agent, acts FROM messages WHERE run_id = ? AND conversation_id = ? ORDER BY message_index",
            (run_id, cid)).fetchall()
        # The timeline: one tick per message, who spoke and what was found there (对话时间线).
        body.append('<div class="timeline" aria-label="对话时间线">')
        for index, role, _, _, acts in messages:
            worst_zone = min((zone for _, _, zone in spans.get(index, [])), key=("red", "yellow", "green").index, default="")
            title = f"{index} {ROLE_NAMES.get(role, role)}" + (f" · {'、'.join(labels.get(a, a) for a in acts.split(','))}" if acts else "")
            body.append(f'<span class="tick {_esc(role)} {worst_zone}" title="{_esc(title)}"></span>')
        body.append("</div>")
        for index, role, text, who, acts in messages:
            chips = "".join(f'<span class="act">{_esc(labels.get(a, a))}</span>' for a in acts.split(",") if a) if acts else ""
            speaker = f'<span class="who">{_esc(who)}</span>' if who and role == "agent" else ""
            body.append(f'<div class="msg {role}"><span class="role">{_esc(ROLE_NAMES.get(role, role))}</span>'
                        f'<span class="text">{highlight(text, spans.get(index, []))}</span>{speaker}{chips}</div>')
            for note in notes.get(index, []):
                body.append(f'<div class="finding">{_esc(note)}</div>')
        body.append("</div>")
    body.append("</section>")
    if rejected_rows:
        body.append("<section>" + heading("被拒收的记录", "Rejected input") + "<table><tr><th>文件</th><th>行</th><th>原因</th></tr>")
        body.extend(f"<tr><td>{_esc(s)}</td><td class='num'>{n}</td><td>{_esc(r)}</td></tr>" for s, n, r in rejected_rows)
        body.append("</table></section>")
    body.append("</main>")
    document = (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>kefu-lint audit {_esc(run_id)}</title>'
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
