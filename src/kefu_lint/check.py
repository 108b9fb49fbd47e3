"""Checking script files: discover, read, lint, apply suppressions, baseline and fixes.

The library side of ``kefu-lint check``; the CLI only parses options and picks a writer.
"""

from __future__ import annotations

import dataclasses

import json
import math
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import regex

from .config import Settings
from .engine import Linter, combine_scores, score_violations
from .errors import ConfigError, InputError
from .formats.scripts import SCRIPT_SUFFIXES, Problem, ScriptFile, kind_of, read_script_file
from .model import ZONE_SEVERITY, Message, Score, Violation, Zone
from .text.tokenize import TokenizerPool

if TYPE_CHECKING:  # imported when a .gitignore is read: most runs (one file, pre-commit) never need it
    import pathspec

@dataclass(frozen=True, slots=True)
class MetaRule:
    """A finding `check` makes about the input itself rather than about a reply."""

    code: str
    name: str
    zone: Zone
    summary: str


#: An entry, row, line or file that could not be read (or only in part): reported in every
#: output format, never baselined, and it fails the run unless ``allow-unreadable`` is set.
UNREADABLE = MetaRule("KF000", "unreadable-input", "red", "输入中有无法读取的条目、行或文件：它们没有被检查（或只检查了一部分），修好它们，本次结果才算完整。")
UNUSED = MetaRule("KF001", "unused-suppression", "yellow", "一条 ignore: 或 # kefu-lint: disable-… 抑制指令没有抑制任何问题。")
UNKNOWN_CODE = MetaRule("KF002", "unknown-code", "yellow", "抑制里写的代码或名称不是任何规则，这条抑制不起作用。")
UNKNOWN_DIRECTIVE = MetaRule("KF003", "unknown-directive", "yellow", "一条 # kefu-lint: 注释不是能识别的指令（未知指令、缺少代码，或在 YAML 里用了 disable-next-line）。")
#: Findings of `check` about the input, not about a reply: they cost no points.
META_RULES = (UNREADABLE, UNUSED, UNKNOWN_CODE, UNKNOWN_DIRECTIVE)
UNUSED_SUPPRESSION = (UNUSED.code, UNUSED.name)
META_CODES = {rule.code for rule in META_RULES}


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation located in a file."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    violation: Violation
    reply: Message | None
    fixable: bool = False
    #: Which reply of its file (None for a finding about the file, such as an unused suppression).
    reply_index: int | None = None
    #: What the finding costs its reply's score (the rule's weight).
    points: int = 0

    @property
    def code(self) -> str:
        return self.violation.code

    @property
    def zone(self) -> str:
        return self.violation.zone


class _Totalled:
    """The score and grade of a report's ``total`` (None when it holds no reply)."""

    if TYPE_CHECKING:  # each report works out its own total
        @property
        def total(self) -> Score | None: ...

    @property
    def score(self) -> int | None:
        return self.total.value if self.total else None

    @property
    def grade(self) -> str | None:
        return self.total.grade if self.total else None


@dataclass(frozen=True)
class FileReport(_Totalled):
    path: str
    kind: str
    replies: int
    records: int
    findings: tuple[Finding, ...] = ()
    problems: tuple[Problem, ...] = ()
    error: str | None = None

    @cached_property
    def scores(self) -> tuple[Score, ...]:
        """Each reply's score, from the findings the report still holds: a finding hidden by
        the baseline or a suppression costs nothing (README, "Score model")."""
        by_reply: list[list[Finding]] = [[] for _ in range(self.replies)]
        for finding in self.findings:
            if finding.reply_index is not None:
                by_reply[finding.reply_index].append(finding)
        return tuple(
            score_violations([f.violation for f in found], {f.code: f.points for f in found}) for found in by_reply
        )

    @cached_property
    def total(self) -> Score | None:
        """The file's score and grade (None for a file with no replies)."""
        return combine_scores(self.scores)

    @property
    def unreadable(self) -> list[Finding]:
        return [f for f in self.findings if f.code == UNREADABLE.code]


@dataclass(frozen=True)
class CheckReport(_Totalled):
    files: tuple[FileReport, ...]
    ruleset: str
    tokenizer: str
    baselined: int = 0
    fixed: int = 0
    notes: tuple[str, ...] = field(default=())
    #: Baseline entries that matched no finding (the baseline can shrink).
    stale_baseline: tuple["BaselineEntry", ...] = ()
    #: Files named on the command line that include/exclude left out (``--force-exclude``).
    excluded: tuple[str, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.files for f in report.findings]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.files if r.error]

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.files for p in r.problems]

    @cached_property
    def total(self) -> Score | None:
        """The run's score and grade over every reply checked (None when no reply was)."""
        return combine_scores(score for report in self.files for score in report.scores)

    @property
    def unreadable(self) -> list[Finding]:
        """KF000 findings: when there is one, not everything was checked and there is no grade."""
        return [f for r in self.files for f in r.unreadable]

    def fails(self, fail_on: str) -> bool:
        """Findings at or above ``fail_on`` (unreadable input has its own exit code, 2)."""
        findings = [f for f in self.findings if f.code != UNREADABLE.code]
        if fail_on == "never":
            return False
        return any(ZONE_SEVERITY[f.zone] >= ZONE_SEVERITY[fail_on] for f in findings) if fail_on != "green" else bool(findings)


# ----------------------------------------------------------------------------- discovery

@dataclass(frozen=True, slots=True)
class Unlisted:
    """A path found that cannot be read as a file: a FIFO (reading it would wait forever), a
    device, a symlink loop, a folder that cannot be listed. Reported as KF000, never skipped."""

    path: Path
    reason: str


def discover(paths: Iterable[Path], settings: Settings, excluded: list[Path] | None = None) -> Iterator[Path | Unlisted]:
    """Files to check: directories walked for reply scripts (:func:`_selected`); a file
    named on the command line is checked as named, unless ``settings.force_exclude`` (the
    pre-commit hook: pre-commit names every staged file), when the same test decides and the
    files it leaves out go into ``excluded`` (to say so). What cannot be read as a file is an
    :class:`Unlisted` to report."""
    for path in paths:
        if str(path) == "-":
            yield path
            continue
        if path.is_dir():
            yield from _walk(path, settings)
            continue
        if not os.path.lexists(path):
            raise InputError(f"{path}: no such file or directory")
        if settings.force_exclude and not _selected(path, settings):
            if excluded is not None:
                excluded.append(path)
            continue
        reason = _not_a_regular_file(path)
        if reason:
            yield Unlisted(path, reason)
        elif not (settings.force_exclude and _is_ruleset_file(path)):
            yield path
        elif excluded is not None:
            excluded.append(path)


def _not_a_regular_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, or None when it is a regular file. Asked before
    any read: opening a FIFO blocks until something writes to it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return f"cannot read: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file; not read (reading it would wait for a writer)"
    return "not a regular file (a device or socket); not read"


def _walk(root: Path, settings: Settings) -> Iterator[Path | Unlisted]:
    specs: list[tuple[Path, pathspec.PathSpec]] = []
    real_root = _real(root)
    if settings.respect_gitignore:
        for folder in [*reversed(real_root.parents), real_root]:
            spec = _gitignore(folder)
            if spec:
                specs.append((folder, spec))
    unlistable: list[OSError] = []
    for directory, subdirectories, files in os.walk(root, onerror=unlistable.append):
        yield from _unlisted_folders(unlistable)
        here = Path(directory)
        if settings.respect_gitignore and _real(here) != real_root:
            spec = _gitignore(_real(here))
            if spec:
                specs.append((_real(here), spec))
        subdirectories[:] = sorted(
            d for d in subdirectories
            if not d.startswith(".") and not settings.excluded(here / d) and not _ignored(here / d, specs, True)
        )
        for name in sorted(files):
            candidate = here / name
            if not _selected(candidate, settings) or _ignored(candidate, specs, False):
                continue
            reason = _not_a_regular_file(candidate)
            if reason:
                yield Unlisted(candidate, reason)
            elif not _is_ruleset_file(candidate):
                yield candidate
    yield from _unlisted_folders(unlistable)


def _selected(path: Path, settings: Settings) -> bool:
    """Whether a file is one kefu-lint checks, by its name (asked before it is opened: a
    FIFO's name may match, and reading it would block): of a kind it reads, matched by
    ``include``, not ``exclude``d (other tools' files such as CI workflows and
    ``.pre-commit-config.yaml`` are, by default), not hidden. A ruleset among them is then
    left out too (:func:`_is_ruleset_file`)."""
    if path.suffix.lower() not in SCRIPT_SUFFIXES or path.name.startswith("."):
        return False
    return settings.included(path) and not settings.excluded(path)


def is_checked_file(path: Path, settings: Settings, text: str) -> bool:
    """Whether ``check`` would check the file at ``path`` (whose text is ``text``) when it
    walks a folder: a reply script selected by the settings, not a ruleset. The language
    server asks it of every document the editor opens."""
    if not _selected(path, settings):
        return False
    return not (path.suffix.lower() in (".yaml", ".yml") and is_ruleset_text(text[:4096]))


def is_ruleset_text(head: str) -> bool:
    return any(line.startswith(("rules:", "extends:")) for line in head.splitlines())


def _is_ruleset_file(path: Path) -> bool:
    """A ruleset next to the scripts is configuration, not replies."""
    return path.suffix.lower() in (".yaml", ".yml") and _is_ruleset(path)


def _unlisted_folders(errors: list[OSError]) -> Iterator[Unlisted]:
    """The folders ``os.walk`` could not list since last asked (it reports them to ``onerror``
    and would otherwise go on without them)."""
    while errors:
        error = errors.pop(0)
        yield Unlisted(Path(error.filename or "?"), f"cannot list this folder: {error.strerror or error}; nothing in it was checked")


def _real(path: Path) -> Path:
    """The path with symlinks resolved; a loop stays as it is (``Path.resolve`` raises)."""
    return Path(os.path.realpath(path))


def _gitignore(folder: Path) -> pathspec.PathSpec | None:
    ignore_file = folder / ".gitignore"
    if not ignore_file.is_file():
        return None
    try:
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec

    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def _ignored(path: Path, specs: list[tuple[Path, pathspec.PathSpec]], is_dir: bool) -> bool:
    resolved = _real(path)
    for folder, spec in specs:
        try:
            relative = resolved.relative_to(folder).as_posix()
        except ValueError:
            continue
        if spec.match_file(relative + ("/" if is_dir else "")):
            return True
    return False


def _is_ruleset(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return is_ruleset_text(head)


# ----------------------------------------------------------------------------- checking

class Checker:
    """Checks script files with one Linter and one set of settings."""

    def __init__(self, settings: Settings, *, linter: Linter | None = None, forced_kind: str | None = None,
                 tokenizers: TokenizerPool | None = None) -> None:
        self.settings = settings
        select = settings.selection
        if any(selector.upper() == UNREADABLE.code or selector == UNREADABLE.name for selector in settings.ignore):
            # Ignoring it would be the silent skip it exists to prevent.
            raise ConfigError(f"{UNREADABLE.code} {UNREADABLE.name} cannot be ignored: what was not read is always reported; "
                              "pass --allow-unreadable (or allow-unreadable = true) so that it does not fail the run")
        self.reported_meta = {rule.code for rule in META_RULES if _meta_selected((rule.code, rule.name), select, settings.ignore)}
        meta_selectors = META_CODES | {rule.name for rule in META_RULES}
        self.linter = linter or Linter(
            settings.ruleset,
            select=[s for s in select if s not in meta_selectors] if select is not None else None,
            ignore=[s for s in settings.ignore if s not in meta_selectors],
            tokenizer=settings.tokenizer,
            shop_numbers=settings.shop_numbers,
            tokenizers=tokenizers,
        )
        self.forced_kind = forced_kind
        # What a suppression may name: any rule of the ruleset (selected or not) by code or by
        # name, and check's own codes; anything else is an unknown code (KF002).
        self.rule_codes: dict[str, str] = {}
        for code, name in [*((rule.code, rule.name) for rule in self.linter.ruleset.rules), *((m.code, m.name) for m in META_RULES)]:
            self.rule_codes[code.upper()] = code
            self.rule_codes[name.lower()] = code

    def resolve(self, selector: str) -> str | None:
        """The rule code a suppression's selector names (a code or a rule name), or None."""
        return self.rule_codes.get(selector.upper()) or self.rule_codes.get(selector.lower())

    def _resolved(self, selectors) -> set[str]:
        return {code for code in map(self.resolve, selectors) if code is not None}

    def read(self, path: Path, data: bytes | None = None) -> ScriptFile:
        kind = kind_of(path, self.forced_kind)
        if kind is None and str(path) == "-":
            kind = "lines"  # replies piped in: a leading # is text, not a comment
        if kind is None:
            raise InputError(f"{path}: unsupported file type (use .yaml, .txt, .csv, .tsv or --input-format)")
        return read_script_file(
            path, kind=kind, encoding=self.settings.encoding, text_column=self.settings.text_column, data=data,
            group_scenes=dict(self.settings.group_scenes),
        )

    def check_file(self, path: Path | Unlisted, data: bytes | None = None) -> FileReport:
        """One file's report; a file or record that cannot be read is a KF000 finding in it."""
        if isinstance(path, Unlisted):
            display = self.settings.relative(path.path)
            return _unreadable_file(display, kind_of(path.path, self.forced_kind) or "?", f"{display}: {path.reason}")
        display = "-" if str(path) == "-" else self.settings.relative(path)
        try:
            script = self.read(path, data)
        except InputError as error:
            return _unreadable_file(display, kind_of(path, self.forced_kind) or "?", str(error), line=error.line)
        findings = self.lint_script(script, path, display)
        problems = tuple(Problem(display, p.line, p.reason, p.skipped) for p in script.problems)
        findings.extend(_unreadable(problem) for problem in problems)
        findings.sort(key=lambda f: (f.line, f.column, f.code))
        return FileReport(display, script.kind, len(script.messages), script.records, tuple(findings), problems)

    def _file_context(self, script: ScriptFile, path: Path) -> tuple[set[str], str | None]:
        """Codes ignored for the whole file (directives + per-file-ignores) and its default scene:
        worked out once per file, for checking and for fixing alike."""
        return self._resolved(script.file_ignores) | self._resolved(self.settings.ignored_codes_for(path)), self.settings.scene_for(path)

    def lint_script(self, script: ScriptFile, path: Path, display: str) -> list[Finding]:
        _, default_scene = self._file_context(script, path)
        configured = self._resolved(self.settings.ignored_codes_for(path))
        by_target: dict[tuple[int, int], list[int]] = {}
        for number, suppression in enumerate(script.suppressions):
            if suppression.target is not None:
                by_target.setdefault(suppression.target, []).append(number)
        whole_file = [number for number, suppression in enumerate(script.suppressions) if suppression.scope == "file"]
        used: set[tuple[int, str]] = set()

        def suppressing(numbers: list[int], code: str) -> list[tuple[int, str]]:
            return [(n, selector) for n in numbers for selector in script.suppressions[n].codes if self.resolve(selector) == code]

        findings: list[Finding] = []
        verdicts = self.linter.lint_many([message.text for message in script.messages],
                                         scenes=[message.scene or default_scene for message in script.messages])
        for index, (message, violations) in enumerate(zip(script.messages, verdicts)):
            own = by_target.get((message.line, message.column), [])
            for violation in violations:
                users = suppressing(own, violation.code) or suppressing(whole_file, violation.code)
                if users:
                    used.update(users)
                elif violation.code not in configured:
                    findings.append(self._locate(script, display, message, violation, index))
        meta: list[Finding] = []
        for number, suppression in enumerate(script.suppressions):
            for selector in suppression.codes:
                code = self.resolve(selector)
                if code is None:
                    meta.append(_meta_finding(display, suppression.line, UNKNOWN_CODE, _unknown_code_message(selector, self.rule_codes)))
                elif (number, selector) not in used and code not in META_CODES:
                    meta.append(_meta_finding(display, suppression.line, UNUSED,
                                              f"未使用的抑制「{selector}」：这里没有 {code} 的问题，请删除这条抑制，以免掩盖以后的问题。"))
        meta.extend(_meta_finding(display, problem.line or 1, UNKNOWN_DIRECTIVE, problem.reason + "。")
                    for problem in script.bad_directives)
        # check's own findings obey --select/--ignore and a file's own disable-file of them
        silenced = self._resolved(script.file_ignores) | configured
        findings.extend(f for f in meta if f.code in self.reported_meta and f.code not in silenced)
        findings.sort(key=lambda f: (f.line, f.column, f.code))
        return findings

    def _locate(self, script: ScriptFile, display: str, message: Message, violation: Violation, index: int) -> Finding:
        if message.offsets:
            start_index = message.offsets[min(violation.start, len(message.offsets) - 1)]
            end_index = message.offsets[max(min(violation.end, len(message.offsets)) - 1, 0)] + 1
            line, column = script.line_column(start_index)
            end_line, end_column = script.line_column(end_index)
        else:
            line, column, end_line, end_column = message.line, message.column, message.line, message.column
        fixable = violation.fix is not None and message.source_range(violation.start, violation.end) is not None
        return Finding(display, line, column, end_line, end_column, violation, message, fixable, index,
                       self.linter.weights.get(violation.code, 0))

    # -- fixes --

    def fix_script(self, path: Path, data: bytes, unsafe: bool) -> tuple[bytes, int]:
        """Apply fixes to one file's bytes; every byte outside the changed characters stays.

        Each reply is fixed by the engine (``Linter.fix``: the same rewrite as the API, kept
        only when it reads well), and the difference between its old and new text is written
        back at the characters' source positions. A reply whose changes cannot be placed (an
        escape or a fold inside them) or that would not read back as written is left alone.
        """
        script = self.read(path, data)
        file_ignores, default_scene = self._file_context(script, path)
        planned: dict[int, tuple[str, list[tuple[int, int, str]], int]] = {}
        for index, message in enumerate(script.messages):
            new_text, used = self.linter.fix(message.text, scene=message.scene or default_scene, unsafe=unsafe,
                                             exclude=self._resolved(message.ignore) | file_ignores)
            edits = _source_edits(message, new_text) if used and new_text != message.text else None
            if edits:
                planned[index] = (new_text, edits, len(used))
        for _ in range(2):  # a second try without the replies that did not read back
            text = _with_edits(script.text, [edit for _, edits, _ in planned.values() for edit in edits])
            candidate = self.read(path, text.encode(script.encoding))
            if len(candidate.messages) != len(script.messages):
                planned = {}
                continue
            wrong = [i for i, (expected, _, _) in planned.items() if candidate.messages[i].text != expected]
            if not wrong:
                return text.encode(script.encoding), sum(count for _, _, count in planned.values())
            planned = {i: plan for i, plan in planned.items() if i not in wrong}
        return script.text.encode(script.encoding), 0


def _unreadable(problem: Problem, *, whole_file: bool = False) -> Finding:
    what = "这个文件无法读取，整个文件都没有检查" if whole_file else "这一处无法正常读取"
    violation = Violation(code=UNREADABLE.code, name=UNREADABLE.name, zone=UNREADABLE.zone,
                          message=f"{what}：{problem.reason}", start=0, end=0)
    line = problem.line or 1
    return Finding(problem.path, line, 1, line, 1, violation, None)


def _unreadable_file(display: str, kind: str, error: str, *, line: int | None = None) -> FileReport:
    problem = Problem(display, line, error)
    return FileReport(display, kind, 0, 1, (_unreadable(problem, whole_file=True),), error=error)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` over the file at ``path`` all or nothing: into a temporary file beside
    it, renamed over it once complete, so a failed write (a full disk, a file size limit)
    leaves the file as it was instead of truncated. A read-only file is refused, not replaced."""
    import tempfile  # fixes only: kept off the cold start

    target = Path(os.path.realpath(path))  # a symlinked script keeps its link
    if not os.access(target, os.W_OK):
        raise PermissionError(13, "the file is read-only", str(path))
    mode = stat.S_IMODE(os.stat(target).st_mode)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".kefu-fix")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _source_edits(message: Message, new_text: str) -> list[tuple[int, int, str]] | None:
    """The reply's change as (start, end, replacement) edits of the source, or None when a
    changed range is not one contiguous run of source characters."""
    from difflib import SequenceMatcher

    edits = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, message.text, new_text, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        source_range = message.source_range(i1, i2)
        replacement = new_text[j1:j2]
        if source_range is None or "\n" in replacement or "\r" in replacement:
            return None
        edits.append((*source_range, replacement))
    return edits


def _with_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, replacement in sorted(edits):
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _meta_finding(display: str, line: int, rule: MetaRule, message: str) -> Finding:
    violation = Violation(code=rule.code, name=rule.name, zone=rule.zone, message=message, start=0, end=0)
    return Finding(display, line, 1, line, 1, violation, None)


def _unknown_code_message(selector: str, known: dict[str, str]) -> str:
    import difflib  # only for a misspelt suppression

    close = difflib.get_close_matches(selector.upper(), [k for k in known if k[:2] == "KF"], n=1, cutoff=0.6) or \
        difflib.get_close_matches(selector.lower(), [k for k in known if k[:2] != "KF"], n=1, cutoff=0.6)
    hint = f"是不是「{close[0]}」？" if close else "可用 kefu-lint rules 查看全部规则。"
    return f"抑制里的「{selector}」不是任何规则的代码或名称，这条抑制不起作用：{hint}"


def _meta_selected(meta: tuple[str, str], select, ignore) -> bool:
    code, name = meta

    def hits(selector: str) -> bool:
        return selector == "ALL" or code.startswith(selector.upper()) or selector in (name, "yellow")

    selected = select is None or any(hits(s) for s in select)
    return selected and not any(hits(s) for s in ignore)


# ----------------------------------------------------------------------------- baseline
#
# A baseline is a list of findings a team has accepted for now, written so a person can review
# it: where, which rule, the flagged words and a short excerpt of the reply. An entry matches a
# finding on its path, rule, flagged words and the clause around them, each normalised (width,
# Traditional/Simplified, punctuation and spaces dropped), so moving a reply or editing another
# clause of it (「亲，」 put in front) does not bring the finding back. An entry left over is
# then matched on path, rule and flagged words alone (one containing the other: a finding on
# the whole reply grows with it), so the context of the words may change too; each entry
# hides one finding, so a second finding of the same words still shows.

BASELINE_VERSION = 2
EXCERPT_CHARS = 12
#: The flagged-words key of a finding about the whole reply (see ``_match_key``).
WHOLE_REPLY = "\x00whole reply"
_CLAUSE_BREAKS = regex.compile(r"[\p{P}\p{S}\p{Z}\s]+")


@dataclass(frozen=True)
class BaselineEntry:
    """One accepted finding, as the baseline file records it."""

    path: str
    code: str
    name: str
    flagged: str
    excerpt: str
    fingerprint: str

    def as_dict(self) -> dict:
        return {"path": self.path, "code": self.code, "name": self.name, "flagged": self.flagged,
                "excerpt": self.excerpt, "fingerprint": self.fingerprint}


def _bare(text: str) -> str:
    """Normalised for matching: folded (width, case, Traditional→Simplified) with
    punctuation, symbols and spaces dropped."""
    from .text.normalize import normalize

    return _CLAUSE_BREAKS.sub("", normalize(text).text)


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clauses of ``text`` (split at punctuation and spaces) that overlap ``[start, end)``."""
    found, position = [], 0
    for gap in [*_CLAUSE_BREAKS.finditer(text), None]:
        clause_end = gap.start() if gap else len(text)
        if clause_end > position and position < max(end, start + 1) and clause_end > start:
            found.append((position, clause_end))
        if gap is None:
            break
        position = gap.end()
    return found


def _match_key(finding: Finding) -> tuple[str, str]:
    """(normalised flagged words, normalised clauses around them) of a finding. A finding
    about the whole reply (no thanks in a closing reply, a curt reply) is not about its words:
    its key is the reply's ``id`` where the library gives one, so an edit inside the reply
    that leaves the finding standing does not bring it back; without an id, the entries of
    that rule in that file each hide one such finding."""
    reply = finding.reply.text if finding.reply else ""
    v = finding.violation
    if finding.reply is not None and reply and _bare(reply[:v.start]) == "" and _bare(reply[v.end:]) == "":
        return WHOLE_REPLY, finding.reply.id or ""
    clauses = _clauses(reply, v.start, v.end)
    context = reply[clauses[0][0]:clauses[-1][1]] if clauses else reply[v.start:v.end]
    return _bare(reply[v.start:v.end]), _bare(context)


def fingerprint(finding: Finding) -> str:
    """Stable across line moves and edits elsewhere in the reply (see above)."""
    import hashlib  # baselines and SARIF only: kept off the cold start

    flagged, context = _match_key(finding)
    digest = hashlib.sha256("\x1f".join((finding.path, finding.code, flagged, context)).encode("utf-8")).hexdigest()
    return digest[:16]


def _excerpt(finding: Finding) -> str:
    """The flagged words with a few characters either side, on one line."""
    reply = finding.reply.text if finding.reply else ""
    v = finding.violation
    start, end = max(v.start - EXCERPT_CHARS, 0), min(v.end + EXCERPT_CHARS, len(reply))
    text = ("…" if start else "") + reply[start:end] + ("…" if end < len(reply) else "")
    return " ".join(text.split())


def baseline_entry(finding: Finding) -> BaselineEntry:
    reply = finding.reply.text if finding.reply else ""
    flagged = " ".join(reply[finding.violation.start:finding.violation.end].split())
    return BaselineEntry(finding.path, finding.code, finding.violation.name, flagged, _excerpt(finding), fingerprint(finding))


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    entries = sorted((baseline_entry(f) for f in findings), key=lambda e: (e.path, e.code, e.flagged, e.fingerprint))
    document = {"kefu-lint-baseline": BASELINE_VERSION, "entries": [e.as_dict() for e in entries]}
    try:
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"--baseline {path}: cannot write the baseline（无法写入基线文件）: {error.strerror or error}") from None
    return len(entries)


class OldBaseline(ConfigError):
    """A version 1 baseline (opaque hashes): migrated by ``--update-baseline``, refused otherwise."""

    def __init__(self, path: Path, counts: Counter) -> None:
        self.counts = counts
        super().__init__(
            f"{path}: 这是旧格式（版本 1）的基线，只记录了无法审阅的哈希，不能再用来匹配。"
            f"请运行 `kefu-lint check --baseline {path} --update-baseline` 把它迁移为新格式："
            "旧基线中仍能匹配的问题会被保留，新出现的问题不会被写入。"
            "(old version 1 baseline: rerun with --update-baseline to migrate it)"
        )


def read_baseline(path: Path) -> list[BaselineEntry]:
    """The entries of a baseline file; a version 1 file raises ``OldBaseline``; any other
    shape is a ConfigError naming the file and what is wrong."""
    def invalid(why: str) -> ConfigError:
        return ConfigError(f"{path}: 不是 kefu-lint 基线文件（not a kefu-lint baseline file: {why}）")

    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda name: math.nan)
    except OSError as error:
        raise ConfigError(f"--baseline {path}: cannot read: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:
        raise invalid(f"invalid JSON: {str(error)[:80]}") from None
    if not isinstance(document, dict) or "kefu-lint-baseline" not in document:
        raise invalid("no 'kefu-lint-baseline' version key")
    version = document["kefu-lint-baseline"]
    if type(version) is int and version == 1:
        findings = document.get("findings")
        if not isinstance(findings, dict):
            raise invalid("'findings' must map fingerprints to counts")
        for key, count in findings.items():
            if type(count) is not int or not 1 <= count <= 1_000_000_000:
                raise invalid(f"the count of {key[:24]!r} must be a whole number from 1, not {str(count)[:20]}")
        raise OldBaseline(path, Counter(findings))
    if type(version) is not int or version != BASELINE_VERSION:
        raise invalid(f"version {str(version)[:20]!r}; this kefu-lint reads version {BASELINE_VERSION} "
                      "(and migrates version 1 with --update-baseline)")
    if not isinstance(document.get("entries"), list):
        raise invalid("'entries' must be a list of accepted findings")
    entries = []
    for number, item in enumerate(document["entries"], start=1):
        fields = {name: value for name in BaselineEntry.__dataclass_fields__
                  if isinstance(item, dict) and isinstance(value := item.get(name), str)}
        if len(fields) != len(BaselineEntry.__dataclass_fields__):
            raise invalid(f"基线文件的第 {number} 条记录不完整，需要 path、code、name、flagged、excerpt、fingerprint 六个文本字段")
        entries.append(BaselineEntry(**fields))
    return entries


def migrated_findings(findings: Iterable[Finding], old: Counter) -> list[Finding]:
    """The findings a version 1 baseline accepted (by its old hash), for writing them anew."""
    import hashlib

    remaining = Counter(old)
    kept = []
    for finding in findings:
        reply = finding.reply.text if finding.reply else ""
        flagged = reply[finding.violation.start:finding.violation.end]
        key = hashlib.sha256("\x1f".join((finding.path, finding.code, reply, flagged)).encode("utf-8")).hexdigest()[:24]
        if remaining[key] > 0:
            remaining[key] -= 1
            kept.append(finding)
    return kept


def apply_baseline(report: CheckReport, baseline: Iterable[BaselineEntry]) -> CheckReport:
    """The report without the findings the baseline accepts (each entry hides one finding);
    scores are worked out from what is left, so hidden findings cost nothing."""
    by_fingerprint: dict[str, list[BaselineEntry]] = {}
    for entry in baseline:
        by_fingerprint.setdefault(entry.fingerprint, []).append(entry)
    hidden: set[int] = set()
    candidates = [f for f in report.findings if f.code not in META_CODES]
    for finding in candidates:  # first the exact matches: the words and their clause
        waiting = by_fingerprint.get(fingerprint(finding))
        if waiting:
            waiting.pop()
            hidden.add(id(finding))
    left = [entry for entries in by_fingerprint.values() for entry in entries]
    loose: dict[tuple[str, str], list[BaselineEntry]] = {}
    for entry in left:
        loose.setdefault((entry.path, entry.code), []).append(entry)
    for finding in candidates:  # then the words alone, for a clause that was edited
        entries = loose.get((finding.path, finding.code))
        if id(finding) in hidden or not entries:
            continue
        flagged = _bare(finding.reply.text[finding.violation.start:finding.violation.end]) if finding.reply else ""
        for entry in entries:
            old = _bare(entry.flagged)
            if old and (old in flagged or flagged in old) and flagged:
                entries.remove(entry)
                hidden.add(id(finding))
                break
    files = [
        dataclasses.replace(file_report, findings=tuple(f for f in file_report.findings if id(f) not in hidden))
        for file_report in report.files
    ]
    stale = sorted((e for entries in loose.values() for e in entries), key=lambda e: (e.path, e.code, e.flagged))
    return dataclasses.replace(report, files=tuple(files), baselined=report.baselined + len(hidden), stale_baseline=tuple(stale))
