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
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .engine import Linter, apply_edits, grade_of, replacement_of
from .errors import ConfigError, InputError
from .formats.scripts import SCRIPT_SUFFIXES, Problem, ScriptFile, Suppression, kind_of, read_script_file
from .model import ZONE_SEVERITY, Message, Score, Violation

if TYPE_CHECKING:  # imported when a .gitignore is read: most runs (one file, pre-commit) never need it
    import pathspec

@dataclass(frozen=True, slots=True)
class MetaRule:
    """A finding `check` makes about the input itself rather than about a reply."""

    code: str
    name: str
    zone: str
    summary: str


#: An entry, row, line or file that could not be read (or only in part): reported in every
#: output format, never baselined, and it fails the run unless ``allow-unreadable`` is set.
UNREADABLE = MetaRule("KF000", "unreadable-input", "red", "输入中有无法读取的条目、行或文件：它们没有被检查（或只检查了一部分），修好它们，本次结果才算完整。")
UNUSED = MetaRule("KF001", "unused-suppression", "yellow", "一条 ignore: 或 # kefu-lint: disable-… 抑制指令没有抑制任何问题。")
META_RULES = (UNREADABLE, UNUSED)
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

    @property
    def code(self) -> str:
        return self.violation.code

    @property
    def zone(self) -> str:
        return self.violation.zone


@dataclass(frozen=True)
class FileReport:
    path: str
    kind: str
    replies: int
    records: int
    findings: tuple[Finding, ...] = ()
    scores: tuple[Score, ...] = ()
    problems: tuple[Problem, ...] = ()
    error: str | None = None

    @property
    def score(self) -> int | None:
        """The mean reply score, or None for a file with no replies."""
        return round(sum(s.value for s in self.scores) / len(self.scores)) if self.scores else None

    @property
    def grade(self) -> str:
        return grade_of_findings(self.findings)

    @property
    def unreadable(self) -> list[Finding]:
        return [f for f in self.findings if f.code == UNREADABLE.code]


@dataclass(frozen=True)
class CheckReport:
    files: tuple[FileReport, ...]
    ruleset: str
    tokenizer: str
    baselined: int = 0
    fixed: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.files for f in report.findings]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.files if r.error]

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.files for p in r.problems]

    @property
    def grade(self) -> str:
        return grade_of_findings(self.findings)

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


def grade_of_findings(findings: Iterable[Finding]) -> str:
    """The reply grade model applied to a file or a run: tool meta-findings do not count."""
    return grade_of(f.violation for f in findings if f.code not in META_CODES)


# ----------------------------------------------------------------------------- discovery

@dataclass(frozen=True, slots=True)
class Unlisted:
    """A path found that cannot be read as a file: a FIFO (reading it would wait forever), a
    device, a symlink loop, a folder that cannot be listed. Reported as KF000, never skipped."""

    path: Path
    reason: str


def discover(paths: Iterable[Path], settings: Settings) -> Iterator[Path | Unlisted]:
    """Files to check: directories walked for reply scripts (:func:`_selected`); a file
    named on the command line is checked as named, unless ``settings.force_exclude`` (the
    pre-commit hook: pre-commit names every staged file), when the same test decides. What
    cannot be read as a file is an :class:`Unlisted` to report."""
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
            continue
        reason = _not_a_regular_file(path)
        if reason:
            yield Unlisted(path, reason)
        elif not (settings.force_exclude and _is_ruleset_file(path)):
            yield path


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
    return any(line.startswith(("rules:", "extends:")) for line in head.splitlines())


# ----------------------------------------------------------------------------- checking

class Checker:
    """Checks script files with one Linter and one set of settings."""

    def __init__(self, settings: Settings, *, linter: Linter | None = None, forced_kind: str | None = None) -> None:
        self.settings = settings
        select = settings.selection
        if any(selector.upper() == UNREADABLE.code or selector == UNREADABLE.name for selector in settings.ignore):
            # Ignoring it would be the silent skip it exists to prevent.
            raise ConfigError(f"{UNREADABLE.code} {UNREADABLE.name} cannot be ignored: what was not read is always reported; "
                              "pass --allow-unreadable (or allow-unreadable = true) so that it does not fail the run")
        self.report_unused = _meta_selected(UNUSED_SUPPRESSION, select, settings.ignore)
        self.linter = linter or Linter(
            settings.ruleset,
            select=[s for s in select if s not in META_CODES] if select is not None else None,
            ignore=[s for s in settings.ignore if s not in META_CODES],
            tokenizer=settings.tokenizer,
        )
        self.forced_kind = forced_kind

    def read(self, path: Path, data: bytes | None = None) -> ScriptFile:
        kind = kind_of(path, self.forced_kind)
        if kind is None and str(path) == "-":
            kind = "txt"
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
            return _unreadable_file(display, kind_of(path, self.forced_kind) or "?", str(error))
        findings, scores = self.lint_script(script, path, display)
        problems = tuple(Problem(display, p.line, p.reason, p.skipped) for p in script.problems)
        findings.extend(_unreadable(problem) for problem in problems)
        findings.sort(key=lambda f: (f.line, f.column, f.code))
        return FileReport(display, script.kind, len(script.messages), script.records, tuple(findings), tuple(scores), problems)

    def _file_context(self, script: ScriptFile, path: Path) -> tuple[set[str], str | None]:
        """Codes ignored for the whole file (directives + per-file-ignores) and its default scene:
        worked out once per file, for checking and for fixing alike."""
        return set(script.file_ignores) | set(self.settings.ignored_codes_for(path)), self.settings.scene_for(path)

    def lint_script(self, script: ScriptFile, path: Path, display: str) -> tuple[list[Finding], list[Score]]:
        file_ignores, default_scene = self._file_context(script, path)
        used: set[tuple[int, str]] = set()
        findings: list[Finding] = []
        scores: list[Score] = []
        for message in script.messages:
            scene = message.scene or default_scene
            kept = []
            for violation in self.linter.lint(message.text, scene=scene):
                if violation.code in message.ignore:
                    used.update(_matching(script.suppressions, message, violation.code))
                    continue
                if violation.code in file_ignores:
                    used.update((i, violation.code) for i, s in enumerate(script.suppressions) if s.scope == "file" and violation.code in s.codes)
                    continue
                kept.append(violation)
            scores.append(self.linter.score_violations(kept))
            for violation in kept:
                findings.append(self._locate(script, display, message, violation))
        if self.report_unused:
            for index, suppression in enumerate(script.suppressions):
                for code in suppression.codes:
                    if (index, code) not in used:
                        findings.append(_unused(display, suppression, code))
        findings.sort(key=lambda f: (f.line, f.column, f.code))
        return findings, scores

    def _locate(self, script: ScriptFile, display: str, message: Message, violation: Violation) -> Finding:
        if message.offsets:
            start_index = message.offsets[min(violation.start, len(message.offsets) - 1)]
            end_index = message.offsets[max(min(violation.end, len(message.offsets)) - 1, 0)] + 1
            line, column = script.line_column(start_index)
            end_line, end_column = script.line_column(end_index)
        else:
            line, column, end_line, end_column = message.line, message.column, message.line, message.column
        fixable = violation.fix is not None and message.source_range(violation.start, violation.end) is not None
        return Finding(display, line, column, end_line, end_column, violation, message, fixable)

    # -- fixes --

    def fix_script(self, path: Path, data: bytes, unsafe: bool) -> tuple[bytes, int]:
        """Apply fixes to one file's bytes until none is left; every other byte stays as it was."""
        script = self.read(path, data)
        original_count = len(script.messages)
        total = 0
        # Directives are comments and fixes never touch them, so the file context holds across passes.
        file_ignores, default_scene = self._file_context(script, path)
        for _ in range(8):
            edits = []
            for message in script.messages:
                for violation in self.linter.lint(message.text, scene=message.scene or default_scene):
                    if violation.code in message.ignore or violation.code in file_ignores or replacement_of(violation, unsafe) is None:
                        continue
                    source_range = message.source_range(violation.start, violation.end)
                    if source_range is None or "\n" in (replacement_of(violation, unsafe) or ""):
                        continue
                    edits.append(_shifted(violation, *source_range))
            new_text, used = apply_edits(script.text, edits, unsafe)
            if not used:
                break
            candidate = self.read(path, new_text.encode(script.encoding))
            if len(candidate.messages) != original_count:
                # The edit changed the file's structure (quoting, columns): keep what we had.
                break
            script = candidate
            total += len(used)
        return script.text.encode(script.encoding), total


def _unreadable(problem: Problem, *, whole_file: bool = False) -> Finding:
    what = "这个文件无法读取，整个文件都没有检查" if whole_file else "这一处无法正常读取"
    violation = Violation(code=UNREADABLE.code, name=UNREADABLE.name, zone=UNREADABLE.zone,
                          message=f"{what}：{problem.reason}", start=0, end=0)
    line = problem.line or 1
    return Finding(problem.path, line, 1, line, 1, violation, None)


def _unreadable_file(display: str, kind: str, error: str) -> FileReport:
    problem = Problem(display, None, error)
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


def _shifted(violation: Violation, start: int, end: int) -> Violation:
    return dataclasses.replace(violation, start=start, end=end)


def _matching(suppressions: tuple[Suppression, ...], message: Message, code: str) -> set[tuple[int, str]]:
    found = set()
    for index, suppression in enumerate(suppressions):
        if suppression.scope == "file" or code not in suppression.codes:
            continue
        if suppression.scope == "entry" or suppression.line < message.line:
            # the nearest directive above the reply is the one that applied
            found.add((index, code))
    return {max(found)} if found else set()


def _unused(display: str, suppression: Suppression, code: str) -> Finding:
    violation = Violation(
        code=UNUSED_SUPPRESSION[0],
        name=UNUSED_SUPPRESSION[1],
        zone="yellow",
        message=f"未使用的抑制指令 {code}:这里没有 {code} 的问题,请删除这条抑制,以免掩盖以后的问题",
        start=0,
        end=0,
    )
    return Finding(display, suppression.line, 1, suppression.line, 1, violation, None)


def _meta_selected(meta: tuple[str, str], select, ignore) -> bool:
    code, name = meta

    def hits(selector: str) -> bool:
        return selector == "ALL" or code.startswith(selector.upper()) or selector in (name, "yellow")

    selected = select is None or any(hits(s) for s in select)
    return selected and not any(hits(s) for s in ignore)


# ----------------------------------------------------------------------------- baseline

def fingerprint(finding: Finding) -> str:
    """Stable across line moves: the file, the rule, the reply and the flagged words."""
    reply = finding.reply.text if finding.reply else ""
    flagged = reply[finding.violation.start:finding.violation.end]
    import hashlib  # baselines only: kept off the cold start

    digest = hashlib.sha256("\x1f".join((finding.path, finding.code, reply, flagged)).encode("utf-8")).hexdigest()
    return digest[:24]


BASELINE_VERSION = 1


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    # Unreadable input is never grandfathered: a baseline must not hide what was not checked.
    counts = Counter(fingerprint(f) for f in findings if f.code != UNREADABLE.code)
    document = {"kefu-lint-baseline": BASELINE_VERSION, "findings": dict(sorted(counts.items()))}
    try:
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"--baseline {path}: cannot write the baseline: {error.strerror or error}") from None
    return sum(counts.values())


def read_baseline(path: Path) -> Counter:
    """The baseline's counts; any other shape (a count of ``1e400``, another version) is a
    ConfigError naming the file and what is wrong."""
    def invalid(why: str) -> ConfigError:
        return ConfigError(f"{path}: not a kefu-lint baseline file ({why})")

    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda name: math.nan)
    except OSError as error:
        raise ConfigError(f"--baseline {path}: cannot read: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:
        raise invalid(f"invalid JSON: {str(error)[:80]}") from None
    if not isinstance(document, dict) or "kefu-lint-baseline" not in document:
        raise invalid("no 'kefu-lint-baseline' version key")
    version = document["kefu-lint-baseline"]
    if type(version) is not int or version != BASELINE_VERSION:
        raise invalid(f"version {str(version)[:20]!r}; this kefu-lint reads version {BASELINE_VERSION}: record it again with --update-baseline")
    findings = document.get("findings")
    if not isinstance(findings, dict):
        raise invalid("'findings' must map fingerprints to counts")
    for key, count in findings.items():
        if type(count) is not int or not 1 <= count <= 1_000_000_000:
            raise invalid(f"the count of {key[:24]!r} must be a whole number from 1, not {str(count)[:20]}")
    return Counter(findings)


def apply_baseline(report: CheckReport, baseline: Counter) -> CheckReport:
    remaining = Counter(baseline)
    files = []
    dropped = 0
    for file_report in report.files:
        kept = []
        for finding in file_report.findings:
            key = fingerprint(finding)
            if remaining[key] > 0 and finding.code != UNREADABLE.code:
                remaining[key] -= 1
                dropped += 1
                continue
            kept.append(finding)
        files.append(FileReport(**{**file_report.__dict__, "findings": tuple(kept)}))
    return CheckReport(tuple(files), report.ruleset, report.tokenizer, dropped, report.fixed, report.notes)
