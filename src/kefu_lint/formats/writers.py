"""Writers: the same CheckReport as text for people, or JSON, SARIF, GitHub annotations, JUnit."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from xml.etree import ElementTree

import click

from .. import __version__
from ..check import META_RULES, UNREADABLE, CheckReport, Finding
from ..engine import Linter

ZONE_COLOURS = {"red": "red", "yellow": "yellow", "green": "green"}
SARIF_LEVELS = {"red": "error", "yellow": "warning", "green": "note"}
INFORMATION_URI = "https://pypi.org/project/kefu-lint/"


def help_uri(code: str) -> str:
    """Where a shipped rule is documented: its row in the README's rule tables, which
    carry an anchor per code (formats/rule_docs.py)."""
    return f"{INFORMATION_URI}#{code.lower()}"


@lru_cache(maxsize=1)
def shipped_codes() -> frozenset[str]:
    """Codes of the shipped rulesets (a shop's own rules have no page of ours to point at)."""
    from ..rulesets import load_ruleset

    return frozenset(rule.code for name in ("default", "platform") for rule in load_ruleset(name).rules)


def display_width(text: str) -> int:
    """Terminal columns (wcwidth: CJK and full-width take two, combining marks none; a
    control character counts one rather than making the whole width unknown)."""
    from wcwidth import wcswidth, wcwidth

    width = wcswidth(text)
    return width if width >= 0 else sum(max(wcwidth(c), 1) if c.isprintable() else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns."""
    return text + " " * max(width - display_width(text), 0)


#: The summary's words: Chinese for the CS team by default, English with ``--lang en``.
SUMMARY_WORDS = {
    "zh": {
        "grade": {"red": "红", "yellow": "黄", "green": "绿"},
        "replies": lambda n: f"{n} 条回复",
        "score": "得分",
        "files": lambda n: f"{n} 个文件",
        "found": lambda total, breakdown, replies, files: f"共发现 {total} 个问题（{breakdown}），涉及 {replies}、{files}。",
        "zone join": "，",
        "clean": lambda replies, files: f"检查了 {replies}、{files}，未发现问题。",
        "excluded": lambda paths: f"没有检查任何文件：所给的 {len(paths)} 个文件（{'、'.join(paths)}）都被 include/exclude 设置排除。",
        "no files": "没有检查任何文件：所给的路径中没有话术文件。",
        "fixable": lambda n: f"[*] 其中 {n} 个可用 --fix 自动修复。",
        "fixed": lambda n: f"已修复 {n} 个问题。",
        "baselined": lambda n: f"{n} 个问题已被基线隐藏，不计入得分。",
        "stale": lambda n: f"基线中有 {n} 条记录已不再匹配任何问题，可运行 --update-baseline 缩减基线：",
        "overall": lambda label, score: f"总评：{label}（得分 {score}）",
        "overall none": "总评：无（没有检查到任何回复）",
        "overall unchecked": "总评：无（未全部检查，不评级）",
        "not checked": "未检查（KF000）",
        "not all checked": lambda n, files: f"未全部检查：{files} 个文件中有 {n} 处输入无法读取（KF000），结果不完整。请修正这些输入，或加 --allow-unreadable 接受其余结果。",
        "unreadable here": lambda n: f"  {n} 处无法读取（KF000）",
        "clean part": lambda replies, files: f"已读取的 {replies}、{files}中未发现问题。",
        "nothing read": "没有读到任何回复：",
        "statistics": "按规则统计：",
        # A snippet's labels, each with its colon: full-width in Chinese text.
        "fix": "修复：",
        "suggestion": "建议：",
        "advice": "建议（请整句改写，不能直接替换）：",
        "evidence": "依据：",
    },
    "en": {
        "grade": {"red": "red", "yellow": "yellow", "green": "green"},
        "replies": lambda n: f"{n} repl{'y' if n == 1 else 'ies'}",
        "score": "score",
        "files": lambda n: f"{n} file{'' if n == 1 else 's'}",
        "found": lambda total, breakdown, replies, files: f"Found {total} finding{'' if total == 1 else 's'} ({breakdown}) in {replies}, {files}.",
        "zone join": ", ",
        "clean": lambda replies, files: f"Checked {replies} in {files}: no findings.",
        "excluded": lambda paths: f"No file checked: the {len(paths)} file{'s' if len(paths) != 1 else ''} given ({', '.join(paths)}) {'are' if len(paths) != 1 else 'is'} excluded by include/exclude.",
        "no files": "No file checked: no reply-script files under the paths given.",
        "fixable": lambda n: f"[*] {n} fixable with --fix.",
        "fixed": lambda n: f"Fixed {n} finding{'' if n == 1 else 's'}.",
        "baselined": lambda n: f"{n} finding{'' if n == 1 else 's'} hidden by the baseline (not scored).",
        "stale": lambda n: f"{n} baseline entr{'y' if n == 1 else 'ies'} no longer match any finding; --update-baseline shrinks the file:",
        "overall": lambda label, score: f"Overall grade: {label} (score {score})",
        "overall none": "Overall grade: none (no reply was checked)",
        "overall unchecked": "Overall grade: none (not everything was checked)",
        "not checked": "not checked (KF000)",
        "not all checked": lambda n, files: (
            f"Not all checked: {n} unreadable input{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''};"
            " fix them, or pass --allow-unreadable to accept the rest."
        ),
        "unreadable here": lambda n: f"  {n} unreadable (KF000)",
        "clean part": lambda replies, files: f"No findings in the {replies} read from {files}.",
        "nothing read": "No reply could be read:",
        "statistics": "Statistics:",
        "fix": "fix: ",
        "suggestion": "suggestion: ",
        "advice": "suggestion (rewrite the sentence, not a drop-in replacement): ",
        "evidence": "evidence: ",
    },
}


def _style(text: str, colour: bool, **style) -> str:
    return click.style(text, **style) if colour else text


# ----------------------------------------------------------------------------- text

def write_text(report: CheckReport, linter: Linter, *, colour: bool, statistics: bool, concise: bool = False,
               language: str = "zh") -> str:
    out: list[str] = []
    words = SUMMARY_WORDS[language]
    if not statistics:  # --statistics shows the counts instead of every finding (as ruff does)
        for finding in report.findings:
            out.append(_headline(finding, colour))
            if concise or finding.reply is None:
                continue
            out.extend(_snippet(finding, colour, words))
            out.append("")
    if statistics:
        out.extend(_statistics(report, colour, words))
    out.extend(_summary(report, colour, words))
    return "\n".join(out) + "\n"


def _headline(finding: Finding, colour: bool) -> str:
    v = finding.violation
    location = _style(f"{finding.path}:{finding.line}:{finding.column}:", colour, bold=True)
    code = _style(v.code, colour, fg=ZONE_COLOURS[v.zone], bold=True)
    zone = _style(f"[{v.zone}]", colour, fg=ZONE_COLOURS[v.zone])
    fixable = _style(" [*]", colour, fg="cyan") if finding.fixable else ""
    return f"{location} {code}{fixable} {zone} {v.message}"


def _snippet(finding: Finding, colour: bool, words: dict) -> list[str]:
    """The reply line with the flagged words underlined, then the suggestion."""
    reply = finding.reply
    v = finding.violation
    if reply is None:  # a finding about the file: no reply to show
        return []
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
    label = lambda key: _style(words[key], colour, fg="cyan")  # noqa: E731
    if v.fix is not None:
        lines.append(f"{pad} = {label('fix')}{text[v.start:v.end]} → {v.fix}")
    elif v.suggestion:
        lines.append(f"{pad} = {label('advice' if v.advice_only else 'suggestion')}{v.suggestion}")
    if v.evidence is not None:
        lines.append(f"{pad} = {label('evidence')}{evidence_text(v.evidence)}")
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


def _statistics(report: CheckReport, colour: bool, words: dict) -> list[str]:
    counts = Counter((f.code, f.violation.name, f.zone) for f in report.findings)
    fixable = Counter(f.code for f in report.findings if f.fixable)
    lines = [_style(words["statistics"], colour, bold=True)]
    for (code, name, zone), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        star = "[*]" if fixable[code] else "   "
        lines.append(f"{count:6d}  {code}  {star} {zone:<6} {name}")
    return lines


def _summary(report: CheckReport, colour: bool, words: dict) -> list[str]:
    findings = [f for f in report.findings if f.code != UNREADABLE.code]
    unreadable = report.unreadable
    zones = Counter(f.zone for f in findings)
    lines = [""]
    path_width = min(max((display_width(r.path) for r in report.files), default=0), 60)
    for file_report in report.files:
        if file_report.error:
            lines.append(f"  {pad(file_report.path, path_width)}  {_style(words['not checked'], colour, fg='red')}")
            continue
        score = "-" if file_report.score is None else str(file_report.score)
        grade = words["grade"][file_report.grade] if file_report.grade and not file_report.unreadable else "-"
        coloured = _style(grade, colour, fg=ZONE_COLOURS.get(file_report.grade or "", "white"))
        replies = words["replies"](file_report.replies)
        missing = words["unreadable here"](len(file_report.unreadable)) if file_report.unreadable else ""
        lines.append(f"  {pad(file_report.path, path_width)}  {replies:>10}  {words['score']} {score:>3}  {coloured}{missing}")
    total = len(findings)
    replies = words["replies"](sum(r.replies for r in report.files))
    files = words["files"](sum(1 for r in report.files if not r.error))
    if total:
        breakdown = words["zone join"].join(f"{words['grade'][zone]} {zones[zone]}" for zone in ("red", "yellow", "green") if zones[zone])
        lines.append(words["found"](total, breakdown, replies, files))
    elif unreadable and not any(r.replies for r in report.files):
        lines.append(words["nothing read"])  # "no findings in 0 replies" reads like a pass
    elif unreadable:
        lines.append(words["clean part"](replies, files))
    elif not report.files:
        lines.append(words["excluded"](report.excluded) if report.excluded else words["no files"])
    else:
        lines.append(words["clean"](replies, files))
    if unreadable:
        files_hit = len({f.path for f in unreadable})
        lines.append(_style(words["not all checked"](len(unreadable), files_hit), colour, fg="red", bold=True))
    fixable = sum(1 for f in report.findings if f.fixable)
    if fixable:
        lines.append(words["fixable"](fixable))
    if report.fixed:
        lines.append(words["fixed"](report.fixed))
    if report.baselined:
        lines.append(words["baselined"](report.baselined))
    if report.stale_baseline:
        lines.append(words["stale"](len(report.stale_baseline)))
        for entry in report.stale_baseline:
            lines.append(f"  {entry.path}  {entry.code}  「{entry.flagged}」  {entry.excerpt}")
    for note in report.notes:
        lines.append(note)
    if unreadable:
        lines.append(_style(words["overall unchecked"], colour, fg="red", bold=True))
    elif report.total is None:
        lines.append(words["overall none"])
    else:
        grade = report.total.grade
        label = _style(words["grade"][grade], colour, fg=ZONE_COLOURS[grade], bold=True)
        lines.append(words["overall"](label, report.total.value))
    return lines


def write_concise(report: CheckReport, linter: Linter, *, colour: bool, statistics: bool, language: str = "zh") -> str:
    return write_text(report, linter, colour=colour, statistics=statistics, concise=True, language=language)


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
        "advice_only": v.advice_only,
        "fix": v.fix,
        "fixable": finding.fixable,
        "points": finding.points,
        "fingerprint": _fingerprint(finding),
        "evidence": evidence_dict(v.evidence),
    }


def write_json(report: CheckReport, linter: Linter, **_) -> str:
    document = {
        "tool": {"name": "kefu-lint", "version": __version__, "ruleset": report.ruleset, "tokenizer": report.tokenizer},
        # No grade when something was not checked: a partial run must not read as a pass.
        "grade": None if report.unreadable else report.grade,
        "score": None if report.unreadable else report.score,
        "complete": not report.unreadable,
        "unreadable": len(report.unreadable),
        "findings": [finding_dict(f) for f in report.findings],
        "files": [
            {"path": r.path, "replies": r.replies, "score": r.score,
             "grade": r.grade if not r.unreadable else None, "error": r.error, "unreadable": len(r.unreadable)}
            for r in report.files
        ],
        "problems": [{"path": p.path, "line": p.line, "reason": p.reason, "skipped": p.skipped} for p in report.problems],
        "summary": dict(Counter(f.zone for f in report.findings)),
        "baselined": report.baselined,
        "stale_baseline": [entry.as_dict() for entry in report.stale_baseline],
        "excluded": list(report.excluded),
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
            **({"helpUri": help_uri(rule.code)} if rule.code in shipped_codes() else {}),
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
            "helpUri": help_uri(meta.code),  # the README's table of check's own codes
            "defaultConfiguration": {"level": SARIF_LEVELS[meta.zone]},
            "properties": {"zone": meta.zone, "tags": ["kefu", "kefu-lint", meta.zone]},
        }
        for meta in META_RULES
    ]
    index.update({meta.code: len(rules) + position for position, meta in enumerate(META_RULES)})
    results = []
    for finding in report.findings:
        v = finding.violation
        result: dict[str, Any] = {
            "ruleId": v.code,
            "level": SARIF_LEVELS[v.zone],
            "message": {"text": v.message + (f"建议：{v.suggestion}" if v.suggestion else "")},
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
        message = v.message + (f"建议：{v.suggestion}" if v.suggestion else "")
        lines.append(f"::{levels[v.zone]} {properties}::{_escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_junit(report: CheckReport, linter: Linter, **_) -> str:
    """One test suite per file, one failing test case per finding (a file without findings is
    one passing case, an unreadable file one error), so the totals are the sums of the suites."""
    suites = ElementTree.Element("testsuites", name="kefu-lint")
    tests = failures = errors = 0
    for file_report in report.files:
        suite_failures = 0 if file_report.error else len(file_report.findings)
        suite_tests = max(suite_failures, 1)
        suite_errors = 1 if file_report.error else 0
        suite = ElementTree.SubElement(
            suites, "testsuite", name=file_report.path, tests=str(suite_tests),
            failures=str(suite_failures), errors=str(suite_errors),
        )
        tests, failures, errors = tests + suite_tests, failures + suite_failures, errors + suite_errors
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
    suites.set("tests", str(tests))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


WRITERS: dict[str, Callable[..., str]] = {
    "text": write_text,
    "concise": write_concise,
    "json": write_json,
    "sarif": write_sarif,
    "github": write_github,
    "junit": write_junit,
}
