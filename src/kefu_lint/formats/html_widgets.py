"""HTML pieces shared by the static audit report and the workbench (``kefu-lint review``):
SVG charts (no script, no network, readable in a screenshot and in an e-mail) and a message
with its flagged words highlighted. Every piece of text is escaped here."""

from __future__ import annotations

from html import escape

ZONE_COLOURS = {"red": "#d64545", "yellow": "#e0a400", "green": "#2e9e5b"}
ZONE_RANK = {"red": 3, "yellow": 2, "green": 1}
LINE_COLOURS = ["#3867d6", "#d64545", "#8854d0", "#e67e22", "#16a085", "#2d3436"]
MUTED = "#5b6673"


def _text(x: float, y: float, label, *, size: int = 11, anchor: str = "start", fill: str = MUTED, extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f"{escape(str(label))}</text>")


def histogram(bins: list[int], labels: dict[str, str]) -> str:
    """Conversations per score band. The bands follow the grade thresholds (red < 60 ≤ yellow
    < 100 = green), so each bar has one grade and the bars of a grade add up to its tile;
    100 is a band of its own, since 90–99 is yellow."""
    width, height, top = 560, 180, max(bins) or 1
    bar = width / len(bins)
    parts = [f'<svg viewBox="0 0 {width} {height + 34}" width="100%" role="img" aria-label="{escape(labels["histogram"])}">']
    for index, count in enumerate(bins):
        grade = "green" if index == 10 else "yellow" if index >= 6 else "red"
        band = "100" if index == 10 else f"{index * 10}–{index * 10 + 9}"
        bar_height = count / top * height
        x = index * bar
        parts.append(f'<rect class="bin {grade}" x="{x + 3:.1f}" y="{height - bar_height:.1f}" width="{bar - 6:.1f}"'
                     f' height="{bar_height:.1f}" fill="{ZONE_COLOURS[grade]}" data-count="{count}"><title>{band}：{count}</title></rect>')
        parts.append(_text(x + bar / 2, height + 14, "100" if index == 10 else index * 10, anchor="middle"))
        if count:
            parts.append(_text(x + bar / 2, max(height - bar_height - 4, 10), count, anchor="middle", fill="#1d2530"))
    parts.append(_text(width / 2, height + 30, labels["score_axis"], anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)


def zone_bar(counts: dict[str, int], names: dict[str, str], label: str) -> str:
    """One stacked bar; every segment is labelled (in the bar when it fits, under it else)."""
    total = sum(counts.values())
    width, x = 560, 0.0
    parts = [f'<svg viewBox="0 0 {width} 52" width="100%" role="img" aria-label="{escape(label)}">']
    if not total:
        parts.append(_text(0, 18, "—"))
    under = []
    for zone in ("red", "yellow", "green"):
        count = counts.get(zone, 0)
        share = count / total * width if total else 0
        if share:
            text = f"{names[zone]} {count}（{count / total:.0%}）"
            parts.append(f'<rect x="{x:.1f}" y="0" width="{share:.1f}" height="24" fill="{ZONE_COLOURS[zone]}"><title>{escape(text)}</title></rect>')
            if share > len(text) * 7:
                parts.append(_text(x + share / 2, 16, text, size=11, anchor="middle", fill="#fff"))
            else:
                under.append(text)
        x += share
    caption = label + ("：" + "，".join(under) if under else "")
    parts.append(_text(0, 44, caption))
    parts.append("</svg>")
    return "".join(parts)


def bars(rows: list[tuple[str, int, str]], link: list[str] | None = None, width: int = 560) -> str:
    """Horizontal bars: (label, value, zone) rows, largest first; ``link``: a URL per row;
    ``width``: of the drawing, for the width of the section it is shown in."""
    if not rows:
        return '<p class="muted">—</p>'
    row_height = 22
    top = max(value for _, value, _ in rows) or 1
    label_width = 250
    parts = [f'<svg viewBox="0 0 {width} {row_height * len(rows)}" width="100%" role="img">']
    for index, (label, value, zone) in enumerate(rows):
        y = index * row_height
        length = value / top * (width - label_width - 50)
        row = (_text(0, y + 15, label, size=12, fill="#1d2530")
               + f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="14" fill="{ZONE_COLOURS.get(zone, "#3867d6")}"></rect>'
               + _text(label_width + length + 4, y + 15, value, size=11, fill="#1d2530"))
        if link and link[index]:
            row = f'<a href="{escape(link[index])}">{row}</a>'
        parts.append(row)
    parts.append("</svg>")
    return "".join(parts)


def trend(periods: list[str], team: list[dict], agents: list[dict], labels: dict[str, str]) -> str:
    """Mean score per period: the team as a grey band line, each agent shown as a coloured
    line with dots, a legend, and the 60 line (red below it)."""
    width, height, left, bottom = 720, 220, 36, 36
    if not periods:
        return f'<p class="muted">{escape(labels["no_data"])}</p>'
    step = (width - left - 20) / max(len(periods) - 1, 1)
    position = {period: left + index * step for index, period in enumerate(periods)}

    def y_of(score: float) -> float:
        return 10 + (100 - score) / 100 * (height - 20)

    parts = [f'<svg viewBox="0 0 {width} {height + bottom + 22 * ((len(agents) + 3) // 4)}" width="100%" role="img"'
             f' aria-label="{escape(labels["trend"])}" class="trend">']
    for score in (0, 60, 100):
        y = y_of(score)
        colour = ZONE_COLOURS["red"] if score == 60 else "#e6e9ee"
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-dasharray="{"4 3" if score == 60 else ""}"/>')
        parts.append(_text(left - 6, y + 4, score, anchor="end"))
    every = max(1, len(periods) // 8)
    for index, period in enumerate(periods):
        if index % every == 0 or index == len(periods) - 1:
            parts.append(_text(position[period], height + 14, period[5:], anchor="middle"))

    def polyline(points: list[dict], colour: str, css: str, width_px: float, name: str) -> None:
        coords = [(position[p["period"]], y_of(p["mean"])) for p in points if p["period"] in position]
        if not coords:
            return
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline class="{css}" data-agent="{escape(name)}" points="{path}" fill="none" stroke="{colour}" stroke-width="{width_px}"/>')
        for (x, y), point in zip(coords, points):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>{escape(name)} {escape(point["period"])}：'
                         f'{point["mean"]:.1f}（{point["n"]}）</title></circle>')

    polyline(team, "#9aa4af", "team", 3, labels["team"])
    for index, agent in enumerate(agents):
        polyline(agent["points"], LINE_COLOURS[index % len(LINE_COLOURS)], "agent-line", 1.8, agent["agent"])
    legend = [(labels["team"], "#9aa4af")] + [(a["agent"], LINE_COLOURS[i % len(LINE_COLOURS)]) for i, a in enumerate(agents)]
    for index, (name, colour) in enumerate(legend):
        x = left + (index % 4) * 170
        y = height + 32 + (index // 4) * 20
        parts.append(f'<rect x="{x}" y="{y - 9}" width="14" height="4" fill="{colour}"/>')
        parts.append(_text(x + 20, y - 3, name, size=12, fill="#1d2530"))
    parts.append("</svg>")
    return "".join(parts)


def highlight(text: str, spans) -> str:
    """``text`` escaped, each flagged span in a ``<mark>`` of its class ("red", "yellow
    missed" …). Where spans overlap, each character shows the most severe zone covering it
    (a yellow 你 inside a red 你自己看 leaves the whole phrase red), so no red words hide."""
    if not spans:
        return escape(text)
    marks: list[str | None] = [None] * len(text)
    for start, end, css in spans:
        rank = ZONE_RANK.get(css.split()[0], 0)
        for index in range(max(start, 0), min(end, len(text))):
            current = marks[index]
            if current is None or ZONE_RANK.get(current.split()[0], 0) < rank:
                marks[index] = css
    out, index = [], 0
    while index < len(text):
        css, end = marks[index], index
        while end < len(text) and marks[end] == css:
            end += 1
        piece = escape(text[index:end])
        out.append(piece if css is None else f'<mark class="{escape(css)}">{piece}</mark>')
        index = end
    return "".join(out)
