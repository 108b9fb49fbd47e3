"""The auditor's report: one self-contained HTML file (inline CSS and SVG, no network)."""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path

from .. import __version__

ZONE_COLOURS = {"red": "#d64545", "yellow": "#e0a400", "green": "#2e9e5b"}
WORST_SHOWN = 10

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
.tick.yellow{outline:2px solid #e0a400}.tick.green{outline:2px solid #2e9e5b}
"""

ROLE_NAMES = {"customer": "顾客", "agent": "客服", "system": "系统"}


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _histogram(scores: list[int]) -> str:
    bins = [0] * 10
    for score in scores:
        bins[min(score // 10, 9)] += 1
    width, height, top = 520, 200, max(bins) or 1
    bar = width / 10
    parts = [f'<svg viewBox="0 0 {width} {height + 30}" width="100%" role="img" aria-label="score histogram">']
    for index, count in enumerate(bins):
        bar_height = count / top * height
        colour = ZONE_COLOURS["red"] if index < 6 else ZONE_COLOURS["yellow"] if index < 9 else ZONE_COLOURS["green"]
        x = index * bar
        parts.append(f'<rect x="{x + 3:.1f}" y="{height - bar_height:.1f}" width="{bar - 6:.1f}" height="{bar_height:.1f}" fill="{colour}"><title>{index * 10}–{index * 10 + 9 if index < 9 else 100}: {count}</title></rect>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height + 14}" font-size="11" text-anchor="middle" fill="#5b6673">{index * 10}</text>')
        if count:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{max(height - bar_height - 4, 10):.1f}" font-size="11" text-anchor="middle">{count}</text>')
    parts.append(f'<text x="{width / 2}" y="{height + 28}" font-size="11" text-anchor="middle" fill="#5b6673">conversation score</text></svg>')
    return "".join(parts)


def _zone_bar(counts: dict[str, int], label: str) -> str:
    total = sum(counts.values()) or 1
    width, x = 520, 0.0
    parts = [f'<svg viewBox="0 0 {width} 46" width="100%" role="img" aria-label="{_esc(label)}">']
    for zone in ("red", "yellow", "green"):
        share = counts.get(zone, 0) / total * width
        if share:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{share:.1f}" height="26" fill="{ZONE_COLOURS[zone]}"><title>{zone}: {counts.get(zone, 0)}</title></rect>')
            if share > 60:
                parts.append(f'<text x="{x + share / 2:.1f}" y="17" font-size="12" fill="#fff" text-anchor="middle">{zone} {counts.get(zone, 0)}</text>')
        x += share
    parts.append(f'<text x="0" y="42" font-size="11" fill="#5b6673">{_esc(label)}</text></svg>')
    return "".join(parts)


def _top_rules(rows: list[tuple[str, str, str, int]]) -> str:
    if not rows:
        return "<p class='ok'>No findings.</p>"
    width, row_height, top = 960, 24, rows[0][3]  # drawn across the full-width section
    parts = [f'<svg viewBox="0 0 {width} {row_height * len(rows)}" width="100%" role="img" aria-label="top rules">']
    for index, (code, name, zone, count) in enumerate(rows):
        y = index * row_height
        bar = count / top * (width - 260)
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{_esc(code)} {_esc(name)}</text>')
        parts.append(f'<rect x="210" y="{y + 4}" width="{bar:.1f}" height="16" fill="{ZONE_COLOURS[zone]}"></rect>')
        parts.append(f'<text x="{214 + bar:.1f}" y="{y + 16}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _highlight(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The message with each flagged span in a <mark> of its zone (overlaps: the first wins)."""
    out, position = [], 0
    for start, end, zone in sorted(spans):
        if start < position or start == end:
            continue
        out.append(_esc(text[position:start]))
        out.append(f'<mark class="{zone}">{_esc(text[start:end])}</mark>')
        position = end
    out.append(_esc(text[position:]))
    return "".join(out)


def _act_labels(ruleset: str) -> dict[str, str]:
    """Act name -> its short Chinese label, from the run's ruleset (names when it is gone)."""
    from ..errors import KefuLintError
    from ..rulesets import load_ruleset

    try:
        return {name: intent.label for name, intent in load_ruleset(ruleset).intents.definitions.items()}
    except (KefuLintError, OSError):
        return {}


def write_report(db: sqlite3.Connection, run_id: str, path: Path) -> None:
    run = db.execute("SELECT inputs, ruleset, lines_read, messages, rejected, conversations, mean_score, finished_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    inputs, ruleset, lines_read, messages, rejected, conversations, mean_score, finished = run
    scored = db.execute("SELECT COUNT(*) FROM messages WHERE run_id = ? AND message_index IS NOT NULL", (run_id,)).fetchone()[0]
    scores = [row[0] for row in db.execute("SELECT score FROM conversations WHERE run_id = ?", (run_id,))]
    grades = dict(db.execute("SELECT grade, COUNT(*) FROM conversations WHERE run_id = ? GROUP BY grade", (run_id,)).fetchall())
    zones = dict(db.execute("SELECT zone, COUNT(*) FROM findings WHERE run_id = ? GROUP BY zone", (run_id,)).fetchall())
    top = db.execute("SELECT code, name, zone, COUNT(*) AS n FROM findings WHERE run_id = ? GROUP BY code ORDER BY n DESC, code LIMIT 12", (run_id,)).fetchall()
    agents = db.execute("SELECT agent, conversations, mean_score, red_rate, findings, top_rules FROM agents WHERE run_id = ? ORDER BY mean_score, agent LIMIT 200", (run_id,)).fetchall()
    worst = db.execute("SELECT conversation_id, agent, score, grade FROM conversations WHERE run_id = ? ORDER BY score, findings DESC, conversation_id LIMIT ?", (run_id, WORST_SHOWN)).fetchall()
    rejected_rows = db.execute("SELECT source, line, reason FROM rejected WHERE run_id = ? ORDER BY source, line LIMIT 50", (run_id,)).fetchall()

    reconciled = lines_read == scored + rejected
    cards = [
        ("lines read", lines_read), ("messages scored", scored), ("rejected", rejected), ("conversations", conversations),
        ("mean score", f"{mean_score:.1f}" if mean_score is not None else "–"),
        ("red conversations", grades.get("red", 0)),
    ]
    body = [
        f"<header><h1>kefu-lint audit report</h1><p>run {_esc(run_id)} · ruleset {_esc(ruleset)} · "
        f"{_esc(', '.join(json.loads(inputs)))} · {_esc(finished or '')} UTC · kefu-lint {__version__}</p></header><main>",
        '<div class="cards">' + "".join(f'<div class="card"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>' for k, v in cards) + "</div>",
        f'<p class="{"ok" if reconciled else "warn"}" id="reconcile">Totals {"reconcile" if reconciled else "DO NOT reconcile"}: '
        f"{lines_read} lines read = {scored} scored + {rejected} rejected.</p>",
        '<div class="grid"><section><h2>Score distribution</h2>' + _histogram(scores) + "</section>",
        "<section><h2>Zones</h2>" + _zone_bar(grades, "conversations by grade") + _zone_bar(zones, "findings by zone") + "</section></div>",
        "<section><h2>Top rules</h2>" + _top_rules(top) + "</section>",
        "<section><h2>Agents</h2><table><tr><th>agent</th><th>conversations</th><th>mean score</th><th>red rate</th><th>findings</th><th>top rules</th></tr>",
    ]
    for agent, count, mean, red_rate, findings, top_rules in agents:
        rules = " ".join(f"{code}×{n}" for code, n in json.loads(top_rules))
        body.append(f'<tr><td>{_esc(agent)}</td><td class="num">{count}</td><td class="num">{mean:.1f}</td><td class="num">{red_rate:.0%}</td><td class="num">{findings}</td><td>{_esc(rules)}</td></tr>')
    body.append("</table></section>")
    body.append("<section><h2>Worst conversations</h2>")
    labels = _act_labels(ruleset)
    for cid, agent, score, grade in worst:
        body.append(f'<div class="conv"><b>{_esc(cid)}</b> · agent {_esc(agent or "(unknown)")} · score {score} <span class="grade {grade}">{grade}</span>')
        spans: dict[int, list] = {}
        notes: dict[int, list] = {}
        for index, start, end, zone, code, message in db.execute(
            'SELECT message_index, start, "end", zone, code, message FROM findings WHERE run_id = ? AND conversation_id = ? ORDER BY message_index, start',
            (run_id, cid)):
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
                        f'<span class="text">{_highlight(text, spans.get(index, []))}</span>{speaker}{chips}</div>')
            for note in notes.get(index, []):
                body.append(f'<div class="finding">{_esc(note)}</div>')
        body.append("</div>")
    body.append("</section>")
    if rejected_rows:
        body.append("<section><h2>Rejected input</h2><table><tr><th>file</th><th>line</th><th>reason</th></tr>")
        body.extend(f"<tr><td>{_esc(s)}</td><td class='num'>{n}</td><td>{_esc(r)}</td></tr>" for s, n, r in rejected_rows)
        body.append("</table></section>")
    body.append("</main>")
    document = (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>kefu-lint audit {_esc(run_id)}</title>'
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
