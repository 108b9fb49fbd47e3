"""Writers: the same CheckReport as text for people, or JSON, SARIF, GitHub annotations, JUnit."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable
from xml.etree import ElementTree

import click

from .. import __version__
from ..check import META_RULES, UNREADABLE, CheckReport, Finding
from ..engine import Linter

ZONE_COLOURS = {"red": "red", "yellow": "yellow", "green": "green"}
ZONE_LABELS = {"red": "红", "yellow": "黄", "green": "绿"}
SARIF_LEVELS = {"red": "error", "yellow": "warning", "green": "note"}
INFORMATION_URI = "https://pypi.org/project/kefu-lint/"


def display_width(text: str) -> int:
    """Terminal columns: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else (0 if unicodedata.combining(c) else 1) for c in text)


def _style(text: str, colour: bool, **style) -> str:
    return click.style(text, **style) if colour else text


# ----------------------------------------------------------------------------- text

def write_text(report: CheckReport, linter: Linter, *, colour: bool, statistics: bool, concise: bool = False) -> str:
    out: list[str] = []
    for finding in report.findings:
        out.append(_headline(finding, colour))
        if concise or finding.reply is None:
            continue
        out.extend(_snippet(finding, colour))
        out.append("")
    if statistics:
        out.extend(_statistics(report, colour))
    out.extend(_summary(report, colour))
    return "\n".join(out) + "\n"


def _headline(finding: Finding, colour: bool) -> str:
    v = finding.violation
    location = _style(f"{finding.path}:{finding.line}:{finding.column}:", colour, bold=True)
    code = _style(v.code, colour, fg=ZONE_COLOURS[v.zone], bold=True)
    zone = _style(f"[{v.zone}]", colour, fg=ZONE_COLOURS[v.zone])
    fixable = _style(" [*]", colour, fg="cyan") if finding.fixable else ""
    return f"{location} {code}{fixable} {zone} {v.message}"


def _snippet(finding: Finding, colour: bool) -> list[str]:
    """The reply line with the flagged words underlined, then the suggestion."""
    reply = finding.reply
    v = finding.violation
    text = reply.text
    line_start = text.rfind("\n", 0, v.start) + 1
    line_end = text.find("\n", v.start)
    line_end = len(text) if line_end == -1 else line_end
    line_text = text[line_start:line_end]
    span_end = min(v.end, line_end)
    gutter = str(finding.line)
    pad = " " * len(gutter)
    before = display_width(line_text[: v.start - line_start])
    marks = max(display_width(text[v.start:span_end]), 1)
    lines = [
        f"{pad} |",
        f"{_style(gutter, colour, dim=True)} | {line_text}",
        f"{pad} | {' ' * before}{_style('^' * marks, colour, fg=ZONE_COLOURS[v.zone], bold=True)}",
    ]
    if v.fix is not None:
        lines.append(f"{pad} = {_style('修复', colour, fg='cyan')}: {text[v.start:v.end]} → {v.fix}")
    elif v.suggestion:
        lines.append(f"{pad} = {_style('建议', colour, fg='cyan')}: {v.suggestion}")
    if v.evidence is not None:
        lines.append(f"{pad} = {_style('依据', colour, fg='cyan')}: {evidence_text(v.evidence)}")
    return lines


def evidence_text(evidence) -> str:
    """One line an auditor can read: the act, the confidence, the clause and the cues."""
    cues = "、".join(f"「{feature}」" for feature in evidence.features)
    return f"判定为「{evidence.intent}」，置信度 {evidence.confidence:.2f}，所判断的句子「{evidence.clause}」" + (f"，主要线索 {cues}" if cues else "")


def evidence_dict(evidence) -> dict | None:
    if evidence is None:
        return None
    return {
        "intent": evidence.intent,
        "confidence": evidence.confidence,
        "clause": evidence.clause,
        "start": evidence.start,
        "end": evidence.end,
        "features": list(evidence.features),
    }


def _statistics(report: CheckReport, colour: bool) -> list[str]:
    counts = Counter((f.code, f.violation.name, f.zone) for f in report.findings)
    fixable = Counter(f.code for f in report.findings if f.fixable)
    lines = ["", _style("Statistics:", colour, bold=True)]
    for (code, name, zone), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        star = "[*]" if fixable[code] else "   "
        lines.append(f"{count:6d}  {code}  {star} {zone:<6} {name}")
    return lines


def _summary(report: CheckReport, colour: bool) -> list[str]:
    findings = [f for f in report.findings if f.code != UNREADABLE.code]
    unreadable = report.unreadable
    zones = Counter(f.zone for f in findings)
    lines = [""]
    for file_report in report.files:
        if file_report.error:
            lines.append(f"  {file_report.path:<40} {_style('not checked (KF000)', colour, fg='red')}")
            continue
        score = "-" if file_report.score is None else str(file_report.score)
        grade = file_report.grade if file_report.replies and not file_report.unreadable else "-"
        coloured = _style(f"{grade:<6}", colour, fg=ZONE_COLOURS.get(grade, "white"))
        missing = f"  {len(file_report.unreadable)} unreadable (KF000)" if file_report.unreadable else ""
        lines.append(f"  {file_report.path:<40} {file_report.replies:5d} replies  score {score:>3}  {coloured}{missing}")
    total = len(findings)
    replies = sum(r.replies for r in report.files)
    breakdown = ", ".join(f"{zone} {zones[zone]}" for zone in ("red", "yellow", "green") if zones[zone])
    checked = sum(1 for r in report.files if not r.error)
    if total:
        lines.append(f"Found {total} finding{'s' if total != 1 else ''} ({breakdown}) in {replies} replies, {checked} file{'s' if checked != 1 else ''}.")
    elif unreadable:
        lines.append(f"No findings in the {replies} replies read from {checked} file{'s' if checked != 1 else ''}.")
    else:
        lines.append(f"All checked! {replies} replies in {checked} file{'s' if checked != 1 else ''}, no findings.")
    if unreadable:
        files = len({f.path for f in unreadable})
        lines.append(_style(
            f"未全部检查：{files} 个文件中有 {len(unreadable)} 处输入无法读取（KF000），结果不完整。"
            f"Not all checked: {len(unreadable)} unreadable input{'s' if len(unreadable) != 1 else ''} in {files} file{'s' if files != 1 else ''};"
            " fix them, or pass --allow-unreadable to accept the rest.", colour, fg="red", bold=True))
    fixable = sum(1 for f in report.findings if f.fixable)
    if fixable:
        lines.append(f"[*] {fixable} fixable with --fix.")
    if report.fixed:
        lines.append(f"Fixed {report.fixed} finding{'s' if report.fixed != 1 else ''}.")
    if report.baselined:
        lines.append(f"{report.baselined} finding{'s' if report.baselined != 1 else ''} hidden by the baseline.")
    for note in report.notes:
        lines.append(note)
    if unreadable:
        lines.append("Overall grade: " + _style("none (未评级: not everything was checked)", colour, fg="red", bold=True))
        return lines
    grade = report.grade
    lines.append("Overall grade: " + _style(f"{grade} ({ZONE_LABELS[grade]})", colour, fg=ZONE_COLOURS[grade], bold=True))
    return lines


def write_concise(report: CheckReport, linter: Linter, *, colour: bool, statistics: bool) -> str:
    return write_text(report, linter, colour=colour, statistics=statistics, concise=True)


# ----------------------------------------------------------------------------- JSON

def finding_dict(finding: Finding) -> dict:
    v = finding.violation
    reply = finding.reply
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "code": v.code,
        "name": v.name,
        "zone": v.zone,
        "message": v.message,
        "text": reply.text[v.start:v.end] if reply else None,
        "reply": reply.text if reply else None,
        "reply_id": reply.id if reply else None,
        "start": v.start,
        "end": v.end,
        "suggestion": v.suggestion,
        "fix": v.fix,
        "fixable": finding.fixable,
        "evidence": evidence_dict(v.evidence),
    }


def write_json(report: CheckReport, linter: Linter, **_) -> str:
    document = {
        "tool": {"name": "kefu-lint", "version": __version__, "ruleset": report.ruleset, "tokenizer": report.tokenizer},
        # No grade when something was not checked: a partial run must not read as a pass.
        "grade": None if report.unreadable else report.grade,
        "complete": not report.unreadable,
        "unreadable": len(report.unreadable),
        "findings": [finding_dict(f) for f in report.findings],
        "files": [
            {"path": r.path, "replies": r.replies, "score": r.score,
             "grade": r.grade if r.replies and not r.unreadable else None, "error": r.error, "unreadable": len(r.unreadable)}
            for r in report.files
        ],
        "problems": [{"path": p.path, "line": p.line, "reason": p.reason, "skipped": p.skipped} for p in report.problems],
        "summary": dict(Counter(f.zone for f in report.findings)),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# ----------------------------------------------------------------------------- SARIF 2.1.0

def write_sarif(report: CheckReport, linter: Linter, **_) -> str:
    rules = list(linter.ruleset.rules)
    index = {rule.code: position for position, rule in enumerate(rules)}
    descriptors = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": f"{rule.name} ({rule.zone} zone)"},
            "fullDescription": {"text": rule.config.message.replace("{matched}", "…").replace("{missing}", "…").replace("{kind}", "…").replace("{template}", "…")},
            "help": {"text": rule.doc(), "markdown": rule.doc()},
            "defaultConfiguration": {"level": SARIF_LEVELS[rule.zone]},
            "properties": {"zone": rule.zone, "tags": ["kefu", rule.zone]},
        }
        for rule in rules
    ] + [
        {
            "id": meta.code,
            "name": meta.name,
            "shortDescription": {"text": f"{meta.name} ({meta.zone} zone)"},
            "fullDescription": {"text": meta.summary},
            "defaultConfiguration": {"level": SARIF_LEVELS[meta.zone]},
            "properties": {"zone": meta.zone, "tags": ["kefu", "kefu-lint", meta.zone]},
        }
        for meta in META_RULES
    ]
    index.update({meta.code: len(rules) + position for position, meta in enumerate(META_RULES)})
    results = []
    for finding in report.findings:
        v = finding.violation
        result = {
            "ruleId": v.code,
            "level": SARIF_LEVELS[v.zone],
            "message": {"text": v.message + (f" 建议: {v.suggestion}" if v.suggestion else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": finding.line,
                            "startColumn": finding.column,
                            "endLine": finding.end_line,
                            "endColumn": max(finding.end_column, finding.column),
                        },
                    }
                }
            ],
            "partialFingerprints": {"kefuLint/v1": _fingerprint(finding)},
            "properties": {"zone": v.zone, "name": v.name, **({"evidence": evidence_dict(v.evidence)} if v.evidence else {})},
        }
        if v.code in index:
            result["ruleIndex"] = index[v.code]
        results.append(result)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kefu-lint",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"ruleset": report.ruleset, "tokenizer": report.tokenizer},
            }
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _fingerprint(finding: Finding) -> str:
    from ..check import fingerprint

    return fingerprint(finding)


# ----------------------------------------------------------------------------- GitHub, JUnit

def _escape_property(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def write_github(report: CheckReport, linter: Linter, **_) -> str:
    levels = {"red": "error", "yellow": "warning", "green": "notice"}
    lines = []
    for finding in report.findings:
        v = finding.violation
        properties = (
            f"file={_escape_property(finding.path)},line={finding.line},col={finding.column},"
            f"endLine={finding.end_line},endColumn={finding.end_column},title={_escape_property(f'{v.code} {v.name}')}"
        )
        message = v.message + (f" 建议: {v.suggestion}" if v.suggestion else "")
        lines.append(f"::{levels[v.zone]} {properties}::{_escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_junit(report: CheckReport, linter: Linter, **_) -> str:
    errors = sum(1 for r in report.files if r.error)
    suites = ElementTree.Element("testsuites", name="kefu-lint", tests=str(len(report.files)),
                                 failures=str(sum(len(r.findings) for r in report.files if not r.error)), errors=str(errors))
    for file_report in report.files:
        failures = 0 if file_report.error else len(file_report.findings)
        suite = ElementTree.SubElement(
            suites, "testsuite", name=file_report.path, tests=str(max(failures, 1)),
            failures=str(failures), errors="1" if file_report.error else "0",
        )
        if file_report.error:
            case = ElementTree.SubElement(suite, "testcase", name=file_report.path, classname="kefu-lint")
            ElementTree.SubElement(case, "error", message=file_report.error, type=f"{UNREADABLE.code} {UNREADABLE.name}")
            continue
        if not file_report.findings:
            ElementTree.SubElement(suite, "testcase", name=file_report.path, classname="kefu-lint")
        for finding in file_report.findings:
            v = finding.violation
            case = ElementTree.SubElement(
                suite, "testcase", name=f"{v.code} {v.name} at {finding.path}:{finding.line}:{finding.column}", classname=finding.path
            )
            failure = ElementTree.SubElement(case, "failure", message=v.message, type=v.zone)
            failure.text = f"{finding.path}:{finding.line}:{finding.column}: {v.code} [{v.zone}] {v.message}"
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


WRITERS: dict[str, Callable[..., str]] = {
    "text": write_text,
    "concise": write_concise,
    "json": write_json,
    "sarif": write_sarif,
    "github": write_github,
    "junit": write_junit,
}
