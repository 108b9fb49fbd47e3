"""The ``kefu-lint`` command. Thin: parse options, call the library, choose a writer.

Exit codes (stable): 0 nothing at or above ``--fail-on``; 1 findings at or above it;
2 usage, configuration or input errors.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import KefuLintError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
OUTPUT_FORMATS = ("text", "concise", "json", "sarif", "github", "junit")


def _codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(part.strip() for part in value.replace(" ", ",").split(",") if part.strip())


def _text_encoding_option(ctx, param, value: str | None) -> str | None:
    """``--encoding``: a typo or a codec that is no text encoding (base64, rot13) is refused
    before any file is read, with the CLI's one error path (exit 2)."""
    if value is None:
        return None
    from .errors import ConfigError
    from .formats.decode import text_encoding

    try:
        return text_encoding(value)
    except ConfigError as error:
        raise ConfigError(f"--encoding: {error}") from None


def _max_rejected_option(value: str, where: str = "--max-rejected") -> tuple[float, bool]:
    """``--max-rejected N|P%`` (or the config's ``audit.max-rejected``): how many rejected
    records a run accepts, as a count or as a share of the records read. Returns
    (number, is_share)."""
    from .errors import ConfigError

    text = str(value).strip()
    share = text.endswith("%")
    try:
        number = float(text[:-1]) if share else int(text)
    except ValueError:
        number = -1
    if number < 0 or (share and number > 100):
        raise ConfigError(f"{where}：应为记录数 N（如 0、10）或占读入记录的百分比 P%（如 1%、100%），而不是「{value}」")
    return number, share


def _colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _warning_to_stderr(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


def _config_option(command):
    return click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
                        help="Config file (default: [tool.kefu-lint] in pyproject.toml, kefu-lint.toml or .kefu-lint.yaml, found upward).")(command)


def _project_settings(config_file: Path | None, paths=()):
    """The project's settings, found as every command finds them: ``--config``, else the
    first config upward from the first path given (the working directory when none is)."""
    from .config import load_settings

    first = next((Path(p) for p in paths if str(p) != "-"), Path("."))
    return load_settings(first, config_file)


class KefuGroup(click.Group):
    """Turns a user's mistake into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx):
        warnings.showwarning = _warning_to_stderr
        try:
            return super().invoke(ctx)
        except KefuLintError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_ERROR)
        except BrokenPipeError:
            # The reader went away (`| head`): an environment error, not findings (click's own
            # handling exits 1). Later writes, and the flush at exit, go nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            click.echo("error: the output was closed before kefu-lint finished writing it (broken pipe)", err=True)
            ctx.exit(EXIT_ERROR)


@click.group(cls=KefuGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kefu-lint")
def main() -> None:
    """Lint Chinese e-commerce customer-service replies (客服话术) against etiquette standards."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, allow_dash=True))
@_config_option
@click.option("--ruleset", help="Shipped ruleset name (default, platform) or a YAML file.")
@click.option("--select", help="Comma-separated codes, prefixes, names or zones to check (default ALL).")
@click.option("--extend-select", help="Add to the selection.")
@click.option("--ignore", help="Comma-separated codes, prefixes, names or zones to skip.")
@click.option("--fail-on", type=click.Choice(["red", "yellow", "green", "never"]), help="Exit 1 when a finding is at or above this zone (default red).")
@click.option("--output-format", "-o", "output_format", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True)
@click.option("--output-file", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here instead of stdout.")
@click.option("--statistics", is_flag=True, help="Count findings per rule.")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, also apply suggested rewrites.")
@click.option("--diff", is_flag=True, help="Show the fixes as a diff without writing them.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), help="Hide findings recorded in FILE; records them if FILE does not exist.")
@click.option("--update-baseline", is_flag=True, help="Rewrite the --baseline file with today's findings.")
@click.option("--scene", type=click.Choice(["greeting", "presale", "order", "logistics_delay", "after_sales", "complaint", "closing"]), help="Scene for replies that do not name one.")
@click.option("--encoding", callback=_text_encoding_option, help="Input encoding (default: detect UTF-8/BOM/UTF-16/GB18030).")
@click.option("--text-column", help="CSV/TSV column holding the replies (name or 1-based number).")
@click.option("--input-format", type=click.Choice(["auto", "yaml", "txt", "csv", "tsv"]), default="auto", show_default=True)
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip .gitignored files (default on).")
@click.option("--force-exclude/--no-force-exclude", default=None,
              help="Apply include/exclude to files named on the command line too (as the pre-commit hook does).")
@click.option("--tokenizer", type=click.Choice(["jieba", "jieba-rs", "auto"]), help="Segmentation backend.")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--allow-unreadable", is_flag=True, default=None,
              help="Report unreadable entries, lines and files (KF000) without failing the run on them.")
@click.option("--lang", "language", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the text summary (中文 or English).")
@click.option("--add-noqa", is_flag=True, help="Suppress every current finding in place (YAML: the entry's ignore:, TXT/CSV: a disable-next-line comment).")
@click.option("--stdin-filename", type=click.Path(path_type=Path, dir_okay=False),
              help="Check stdin (-) as this file would be: its format, its config (found from it) and its name in reports (for editors and hosts).")
def check(paths, config_file, ruleset, select, extend_select, ignore, fail_on, output_format, output_file, statistics,
          fix, unsafe_fixes, diff, baseline, update_baseline, scene, encoding, text_column, input_format,
          respect_gitignore, force_exclude, tokenizer, color, exit_zero, allow_unreadable, language, add_noqa, stdin_filename):
    """Check reply-script files (YAML, TXT, CSV/TSV; directories recursively; - for stdin).

    Replies piped in on stdin are one per line, and a line starting with # is a reply there
    (with --stdin-filename NAME, stdin is read as NAME would be, comments and all)."""
    from .check import CheckReport, Checker, discover
    from .errors import ConfigError
    from .formats.writers import WRITERS

    paths = list(paths) or ([Path("-")] if stdin_filename else [Path(".")])
    if stdin_filename is not None and not any(str(p) == "-" for p in paths):
        raise ConfigError("--stdin-filename 用于标准输入：请同时给出 -（例如 kefu-lint check --stdin-filename a.yaml -）")
    settings = _project_settings(config_file, [stdin_filename] if stdin_filename else paths)
    settings = settings.merged(
        ruleset=ruleset, select=_codes(select), extend_select=_codes(extend_select), fail_on=fail_on,
        encoding=encoding, text_column=text_column, respect_gitignore=respect_gitignore, tokenizer=tokenizer,
        force_exclude=force_exclude, allow_unreadable=allow_unreadable,
    )
    if ignore:
        settings = settings.merged(ignore=settings.ignore + _codes(ignore))
    if scene:
        settings = settings.merged(scenes=settings.scenes + (("*", scene),))
    checker = Checker(settings, forced_kind=None if input_format == "auto" else input_format)

    excluded: list[Path] = []
    files = list(discover(paths, settings, excluded))
    if not files and (output_format != "text" or output_file is not None):
        # Nothing to check is no error (a commit that stages only other tools' files must
        # pass the hook, as ruff's --force-exclude does), but it is said, never a silent pass:
        # the text summary says it, and for the other formats this line does.
        what = NOTHING_CHECKED[language]
        click.echo(f"warning: {what['excluded'](len(excluded)) if excluded else what['none']}", err=True)
    if add_noqa:
        _add_noqa(checker, files)
    stdin_data = sys.stdin.buffer.read() if any(str(p) == "-" for p in files) else None
    fixed_total = 0
    diffs: list[str] = []
    write_errors: list[str] = []
    if fix or diff:
        for path in files:
            fixed_total += _fix_one(checker, path, stdin_data, unsafe_fixes, write=fix and not diff, diffs=diffs,
                                    write_errors=write_errors, stdin_as=stdin_filename)
        if diff:
            click.echo("".join(diffs), nl=False)
            click.echo(f"{fixed_total} fix{'es' if fixed_total != 1 else ''} would be applied.", err=True)
            sys.exit(EXIT_FINDINGS if fixed_total else EXIT_OK)
        if any(str(p) == "-" for p in files):
            return  # the fixed text went to stdout

    reports = tuple(checker.check_file(stdin_filename or path, stdin_data) if str(path) == "-" else checker.check_file(path)
                    for path in files)
    report = CheckReport(reports, str(settings.ruleset), checker.linter.tokenizer_name, fixed=fixed_total,
                         excluded=tuple(settings.relative(path) for path in excluded))
    if baseline is not None:
        report = _with_baseline(report, baseline, update_baseline)

    writer = WRITERS[output_format]
    rendered = writer(report, checker.linter, colour=_colour(color) and output_file is None, statistics=statistics,
                      language=language)
    if output_file is not None:
        try:
            output_file.write_text(rendered, encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"--output-file {output_file}: cannot write the report: {error.strerror or error}") from None
    else:
        click.echo(rendered, nl=False, color=_colour(color))

    for message in write_errors:
        click.echo(f"error: {message}", err=True)
    if write_errors or (report.unreadable and not settings.allow_unreadable):
        sys.exit(EXIT_ERROR)
    if not exit_zero and report.fails(settings.fail_on):
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_OK)


#: Said on stderr when no file is left to check.
NOTHING_CHECKED = {
    "zh": {"excluded": lambda n: f"没有检查任何文件：所给的 {n} 个文件都被 include/exclude 设置排除（--force-exclude）",
           "none": "没有检查任何文件：所给的路径中没有话术文件（.yaml、.yml、.txt、.csv、.tsv）"},
    "en": {"excluded": lambda n: f"no file checked: the {n} file{'s' if n != 1 else ''} given {'are' if n != 1 else 'is'} excluded by include/exclude (--force-exclude)",
           "none": "no file checked: no reply-script files (.yaml, .yml, .txt, .csv, .tsv) under the paths given"},
}


def _add_noqa(checker, files: list[Path]) -> None:
    """``--add-noqa``: write a suppression for every current finding, then exit (0 when every
    finding is now suppressed, 1 when some reply could not take one, 2 on an input error)."""
    from .check import META_CODES
    from .errors import ConfigError, InputError
    from .formats.noqa import add_suppressions

    if any(str(path) == "-" for path in files):
        raise ConfigError("--add-noqa 会改写文件，不能用于标准输入（-）")
    added = replies = 0
    left: list[str] = []
    failed = False
    from .check import Unlisted, replace_file

    for path in files:
        if isinstance(path, Unlisted):
            click.echo(f"error: {path.path}: {path.reason}", err=True)
            failed = True
            continue
        try:
            script = checker.read(path)
        except InputError as error:
            click.echo(f"error: {error}", err=True)
            failed = True
            continue
        codes: dict[int, set[str]] = {}
        count: dict[int, int] = {}
        for finding in checker.lint_script(script, path, str(path)):
            if finding.reply_index is not None and finding.code not in META_CODES:
                codes.setdefault(finding.reply_index, set()).add(finding.code)
                count[finding.reply_index] = count.get(finding.reply_index, 0) + 1
        if not codes:
            continue
        text, refused = add_suppressions(script, {i: sorted(c) for i, c in codes.items()})
        after = checker.read(path, text.encode(script.encoding))
        if len(after.messages) != len(script.messages) or after.problems != script.problems:
            click.echo(f"error: {path}: 添加抑制会改变文件结构，未修改此文件", err=True)
            failed = True
            continue
        try:
            replace_file(path, text.encode(script.encoding))
        except OSError as error:
            click.echo(f"error: {path}: 无法写入：{error.strerror or error}", err=True)
            failed = True
            continue
        for index in refused:
            message = script.messages[index]
            left.append(f"{path}:{message.line}:{message.column}: 多行文本不能改写为带 ignore 的条目，请手动添加 ignore: [{', '.join(sorted(codes[index]))}]")
        replies += len(codes) - len(refused)
        added += sum(n for i, n in count.items() if i not in refused)
    for line in left:
        click.echo(line)
    click.echo(f"已为 {replies} 条回复添加抑制，共 {added} 个问题。")
    sys.exit(EXIT_ERROR if failed else EXIT_FINDINGS if left else EXIT_OK)


def _with_baseline(report, baseline: Path, update: bool):
    """Hide the findings ``baseline`` accepts; record it first when it is missing or ``update``
    asks (a version 1 file is migrated: only the findings it accepted are written anew)."""
    from dataclasses import replace

    from .check import META_CODES, OldBaseline, apply_baseline, migrated_findings, read_baseline, write_baseline

    if update or not baseline.exists():
        accepted = [f for f in report.findings if f.code not in META_CODES]
        migrated = False
        if baseline.exists():
            try:
                read_baseline(baseline)
            except OldBaseline as old:
                accepted, migrated = migrated_findings(accepted, old.counts), True
        count = write_baseline(baseline, accepted)
        verb = "已迁移为新格式" if migrated else "已记录"
        report = replace(report, notes=report.notes + (f"基线 {baseline} {verb}，共 {count} 条；以后只报告新出现的问题。",))
    return apply_baseline(report, read_baseline(baseline))


def _fix_one(checker, path, stdin_data: bytes | None, unsafe: bool, *, write: bool, diffs: list[str],
             write_errors: list[str], stdin_as: Path | None = None) -> int:
    from .check import Unlisted, replace_file
    from .errors import InputError

    if isinstance(path, Unlisted):
        return 0  # reported by the check that follows
    is_stdin = str(path) == "-"
    try:
        data = stdin_data if is_stdin else path.read_bytes()
        new_data, count = checker.fix_script(stdin_as if is_stdin and stdin_as else path, data or b"", unsafe)
    except (InputError, OSError):
        return 0  # reported by the check that follows
    if is_stdin and write:
        sys.stdout.buffer.write(new_data)
        return count
    if not count:
        return 0
    if write:
        try:
            replace_file(path, new_data)
        except OSError as error:
            # The file is still checked (its findings show as unfixed); the run fails with exit 2.
            write_errors.append(f"{checker.settings.relative(path)}: cannot write the fixes: {error.strerror or error}")
            return 0
    else:
        shown = stdin_as if is_stdin and stdin_as else path
        script = checker.read(shown, data)
        before = script.text.splitlines(keepends=True)
        after = new_data.decode(script.encoding).splitlines(keepends=True)
        diffs.append("".join(difflib.unified_diff(before, after, f"a/{shown}", f"b/{shown}")))
    return count


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Folder for the database, JSONL and CSV (default kefu-audit).")
@click.option("--db", "database", type=click.Path(path_type=Path, dir_okay=False), help="SQLite database (default OUT/audit.db).")
@click.option("--report", type=click.Path(path_type=Path, dir_okay=False), help="Write a self-contained HTML report here.")
@click.option("--columns", help="CSV/TSV column mapping, e.g. conversation_id=1,role=3,text=7 (numbers or header names).")
@click.option("--agent-role", help="Role value(s) meaning agent in CSV/TSV, e.g. 1.")
@click.option("--customer-role", help="Role value(s) meaning customer in CSV/TSV, e.g. 0.")
@click.option("--input-format", type=click.Choice(["auto", "jsonl", "csv", "tsv"]), help="Input format (default auto: from the file name).")
@click.option("--encoding", callback=_text_encoding_option, help="Input encoding (default: detect UTF-8/BOM/UTF-16/GB18030).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="Worker processes (default 1).")
@click.option("--partial/--no-partial", default=None, help="The log starts mid-conversation: do not judge the greeting.")
@click.option("--timezone", help="Zone of times without an offset and of the *_local columns: Asia/Shanghai (default), UTC, +08:00 …")
@click.option("--max-rejected", help="Rejected records accepted before the run fails (exit 2): a count N or a share P% of the records read"
                                     " (default 0; 100% accepts all).")
@click.option("--keep-history/--no-keep-history", default=None,
              help="Keep earlier runs in the database (default: it holds the last run reported; query the latest_* views).")
@click.option("--jsonl", "jsonl_form", type=click.Choice(["lean", "full"]),
              help="conversations.jsonl: lean (default) gives each finding's code, zone, message seq and span, the words being"
                   " in the database once; full also repeats the rule's message, the flagged words and the suggestion.")
@click.option("--resume", is_flag=True, help="Continue an interrupted audit of the same input.")
@click.option("--restart", is_flag=True, help="Discard a previous audit of the same input and redo it.")
@click.option("--ruleset", help="Shipped ruleset name (default, platform) or a YAML file (default: the config's, else default).")
@click.option("--select", help="Comma-separated codes, prefixes, names or zones.")
@click.option("--ignore", help="Comma-separated codes, prefixes, names or zones to skip.")
@click.option("--tokenizer", type=click.Choice(["jieba", "jieba-rs", "auto"]), help="Segmentation backend (default: the config's, else jieba).")
@_config_option
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="spark: run on Apache Spark (kefu-lint[spark]) and write Parquet to --out.")
@click.option("--master", default="local[2]", show_default=True, help="Spark master URL, with --engine spark.")
@click.option("--lang", "language", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the rejection reasons, shown and stored (中文 or English).")
def audit(inputs, config_file, out_dir, database, report, columns, agent_role, customer_role, input_format, encoding, jobs, partial,
          timezone, max_rejected, keep_history, jsonl_form, resume, restart, ruleset, select, ignore, tokenizer, progress, engine, master,
          language):
    """Score chat logs (JSONL, CSV/TSV, .gz, - for stdin) per message, conversation and agent.

    Options not given here come from the config (the top-level ruleset, select, ignore,
    tokenizer and encoding, and [tool.kefu-lint.audit] for the rest and to override the
    encoding for chat logs), else their defaults.
    """
    from .audit.run import AuditOptions

    settings = _project_settings(config_file, inputs)
    configured = settings.audit
    given = lambda value, fallback, default=None: value if value is not None else fallback if fallback is not None else default  # noqa: E731
    options = AuditOptions(
        ruleset=str(given(ruleset, settings.ruleset)), select=_codes(select) if select else settings.selection,
        ignore=tuple(settings.ignore) + (_codes(ignore) or ()),
        tokenizer=given(tokenizer, settings.tokenizer), shop_numbers=settings.shop_numbers,
        columns=given(columns, configured.columns),
        agent_role=given(agent_role, configured.agent_role), customer_role=given(customer_role, configured.customer_role),
        input_format=given(input_format, configured.input_format, "auto"),
        # the config's encodings are checked when it is read
        encoding=given(encoding, given(configured.encoding, settings.encoding)),
        jobs=given(jobs, configured.jobs, 1), partial=given(partial, configured.partial, False),
        timezone=given(timezone, configured.timezone), keep_history=given(keep_history, configured.keep_history, False),
        jsonl=given(jsonl_form, configured.jsonl, "lean"),
        language=language,
    )
    limit = _max_rejected_option(given(max_rejected, configured.max_rejected, "0"),
                                 "--max-rejected" if max_rejected is not None else f"{settings.source}: audit.max-rejected")
    out_dir = given(out_dir, configured.out, Path("kefu-audit"))
    if engine == "spark":
        _audit_on_spark(inputs, out_dir, options, master, limit)
        return
    from contextlib import ExitStack

    from .audit.run import audit_folder_lock, spooled_stdin
    from .audit.store import output_errors

    with ExitStack() as stack:
        stack.enter_context(output_errors(out_dir))
        stack.enter_context(audit_folder_lock(out_dir))
        paths = [stack.enter_context(spooled_stdin(out_dir)) if path == "-" else path for path in inputs]
        _audit_locally(paths, out_dir, database or out_dir / "audit.db", report, options, limit, resume, restart, progress)


#: How ``audit`` shows a rejected record on stderr, in its ``--lang``.
REJECTED_WORDS = {
    "zh": {"rejected": "拒收：", "more": lambda n: f"……另有 {n} 条记录被拒收（见数据库的 rejected 表）"},
    "en": {"rejected": "rejected: ", "more": lambda n: f"… and {n} more rejected lines (see the 'rejected' table)"},
}


def _audit_locally(paths, out_dir, database, report, options, max_rejected, resume, restart, progress):
    from .audit.run import run_audit
    from .audit.store import output_errors
    from .formats.audit_outputs import write_agents_csv
    from .formats.report_html import write_report

    shown = [0]
    words = REJECTED_WORDS[options.language]

    def on_rejected(record):
        shown[0] += 1
        if shown[0] <= 20:
            click.echo(f"{record.source}:{record.line}: {words['rejected']}{record.reason}", err=True)

    bar = None
    show_progress = sys.stderr.isatty() if progress is None else progress

    def on_progress(done, total):
        nonlocal bar
        if not show_progress:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=done, unit="conv", desc="scoring", file=sys.stderr, dynamic_ncols=True)
        bar.n = done
        bar.refresh()

    try:
        outcome = run_audit(paths, database, options, resume=resume, restart=restart, progress=on_progress,
                            on_rejected=on_rejected, conversations_jsonl=out_dir / "conversations.jsonl")
    finally:
        if bar is not None:
            bar.close()
    if shown[0] > 20:
        click.echo(words["more"](shown[0] - 20), err=True)

    import sqlite3

    db = sqlite3.connect(str(database))
    try:
        jsonl_path = out_dir / "conversations.jsonl"
        agents_path = out_dir / "agents.csv"
        with output_errors(agents_path):
            write_agents_csv(db, outcome.run_id, agents_path)
        if report is not None:
            with output_errors(report):
                write_report(db, outcome.run_id, report)
    finally:
        db.close()
    for note in outcome.notes:
        click.echo(note)
    passed = _print_audit_summary(
        f"Audited run {outcome.run_id}", outcome.summary,
        f"database {database}  ·  {jsonl_path}  ·  {agents_path}" + (f"  ·  report {report}" if report else ""), max_rejected,
    )
    sys.exit(EXIT_OK if passed else EXIT_ERROR)


def _rejected_over_limit(summary: dict, max_rejected: tuple[float, bool]) -> str | None:
    """Why the run fails for its rejected records, or None when they are within the limit."""
    limit, share = max_rejected
    rejected, read = summary["rejected"], summary["lines_read"]
    if rejected == 0 or (rejected <= read * limit / 100 if share else rejected <= limit):
        return None
    shown = f"{limit:g}%" if share else f"{limit:g}"
    return (f"读入的 {read} 条记录中有 {rejected} 条被拒收（超过 --max-rejected {shown}）：拒收原因见上方和数据库的 rejected 表；"
            f"请修正输入后重跑，或用 --max-rejected 放宽（--max-rejected 100% 接受全部）。"
            f" ({rejected} of {read} records rejected, over --max-rejected {shown})")


def _print_audit_summary(label: str, summary: dict, outputs: str, max_rejected: tuple[float, bool]) -> bool:
    reconciled = summary["lines_read"] == summary["scored"] + summary["rejected"]
    grades = summary["grades"]
    click.echo(f"{label}: {summary['conversations']} conversations, {summary['messages']} messages.")
    click.echo(
        f"  lines read {summary['lines_read']} = {summary['scored']} scored + {summary['rejected']} rejected"
        f" {'(totals reconcile)' if reconciled else '(TOTALS DO NOT RECONCILE)'}"
    )
    mean = summary["mean_score"]
    click.echo(
        f"  conversations: red {grades.get('red', 0)}, yellow {grades.get('yellow', 0)}, green {grades.get('green', 0)}"
        f"; mean score {mean:.1f}" if mean is not None else "  no conversations"
    )
    click.echo(f"  {outputs}")
    if not reconciled:
        missing = summary["lines_read"] - summary["scored"] - summary["rejected"]
        click.echo(f"error: the readers read {summary['lines_read']} records, but "
                   + (f"{missing} of them were neither scored nor rejected" if missing > 0 else f"{-missing} more were stored")
                   + ": results are incomplete, do not use them", err=True)
        return False
    over = _rejected_over_limit(summary, max_rejected)
    if over:
        click.echo(f"error: {over}", err=True)
    return over is None


def _audit_on_spark(inputs, out_dir, options, master, max_rejected):
    from .errors import ConfigError
    from .formats.chatlog import ColumnMapping, parse_timezone

    if "-" in inputs:
        raise ConfigError("the Spark engine reads files (JSONL, CSV/TSV, Parquet), not stdin")
    if options.keep_history:
        raise ConfigError("--keep-history is for the local audit's database; the Spark engine writes one run's Parquet to --out")
    zone = parse_timezone(options.timezone)
    from . import spark as kefu_spark

    mapping = ColumnMapping.parse(options.columns, options.agent_role, options.customer_role) if options.columns else None
    session = kefu_spark.session(master)
    try:
        summary = kefu_spark.run_files(session, list(inputs), out_dir, ruleset=options.ruleset, select=options.select,
                                       ignore=options.ignore, tokenizer=options.tokenizer,
                                       shop_numbers=options.shop_numbers, mapping=mapping,
                                       input_format=options.input_format, partial=options.partial, encoding=options.encoding,
                                       timezone=zone, language=options.language)
    finally:
        session.stop()
    names = ", ".join(f"{n}.parquet" for n in kefu_spark.OUTPUT_TABLES)
    passed = _print_audit_summary(f"Audited on Spark ({master})", summary, f"{out_dir}/: {names}", max_rejected)
    sys.exit(EXIT_OK if passed else EXIT_ERROR)


@main.command()
@click.option("--ruleset", help="Shipped ruleset name or a YAML file (default: the config's, else default).")
@_config_option
@click.option("--output-format", "-o", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="markdown: a table with each rule's summary, for a shop's own docs.")
@click.option("--lang", "language", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the markdown summaries.")
def rules(ruleset, config_file, output_format, language):
    """List the rules: code, name, zone, weight, scenes, fixable."""
    import json

    from .rulesets import load_ruleset

    loaded = load_ruleset(ruleset or _project_settings(config_file).ruleset)
    if output_format == "markdown":
        from .formats.rule_docs import rules_table

        click.echo(rules_table(loaded.rules, language))
        return
    from .formats.reply_json import rule_dict

    rows = [rule_dict(r) for r in loaded.rules]
    if output_format == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'code':<7}{'name':<24}{'zone':<8}{'weight':>6}  {'fix':<4}scenes")
    for row in rows:
        click.echo(f"{row['code']:<7}{row['name']:<24}{row['zone']:<8}{row['weight']:>6}  {'yes' if row['fixable'] else '':<4}{row['applies_in']}")


@main.command()
@click.argument("code")
@click.option("--ruleset", help="Shipped ruleset name or a YAML file (default: the config's, else default).")
@_config_option
@click.option("--lang", "language", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the page (中文 or English).")
def explain(code, ruleset, config_file, language):
    """Print a rule's (or an intent's) documentation and examples.

    CODE is a rule's code or name, or an intent's name (``intent:NAME`` when a rule has
    the same name).
    """
    from .formats.rule_docs import explain_page
    from .rulesets import load_ruleset

    ruleset = ruleset or _project_settings(config_file).ruleset
    click.echo(explain_page(load_ruleset(ruleset), code, language, ruleset_name=str(ruleset)))


@main.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="Port to serve the workbench on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; another than loopback needs --token.")
@click.option("--token", help="Access token every client must give once (?token=…); 'auto' makes one.")
@click.option("--user", "users", multiple=True, metavar="NAME:ROLE", help="Add a local user (role auditor, lead or agent); repeatable.")
@click.option("--export", "export_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the reviewers' feedback as a ruleset overlay (YAML) and print what it changes, instead of serving.")
@click.option("--lang", "language", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Default language of the pages.")
def review(target, port, host, token, users, export_path, language):
    """The auditor's workbench over an audit (OUT folder or its audit.db): filter, read and
    review conversations (复核), disputes (申诉), trends and calibration, in the browser.

    Needs kefu-lint[review]."""
    from .review.command import add_users, check_binding, database_of, serve

    required_token = None if export_path is not None else check_binding(host, token)
    database = database_of(target)  # users are added before serving: set-up and start in one command
    for line in add_users(database, users):
        click.echo(f"user {line}")
    if export_path is not None:
        from .review.overlay import export_overlay

        click.echo(export_overlay(database, export_path))
        return
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        from .errors import ConfigError

        raise ConfigError("the workbench needs its extra: pip install 'kefu-lint[review]'") from None
    serve(database, host, port, required_token, language, click.echo)


@main.command(name="test")
@click.argument("rulesets", nargs=-1)
@_config_option
def test_ruleset(rulesets, config_file):
    """Run a ruleset's own examples (like `vale test`): bad ones must be flagged, good ones not.

    RULESETS default to the configured ruleset."""
    from .engine import Linter
    from .rulesets import load_ruleset, run_example

    failures = 0
    total = 0
    for name in rulesets or (_project_settings(config_file).ruleset,):
        loaded = load_ruleset(name)
        linter = Linter(loaded)
        for rule in loaded.rules:
            examples = rule.config.examples
            if not any(e.bad for e in examples):
                failures += 1
                click.echo(f"FAIL {rule.code} {rule.name}: no bad example")
            for example in examples:
                total += 1
                flagged = sorted(run_example(linter, rule, example))
                ok = flagged == sorted(example.marks) if example.bad else not flagged
                if not ok:
                    failures += 1
                    expected = f"marks {list(example.marks)}" if example.bad else "no finding"
                    click.echo(f"FAIL {rule.code} {rule.name}: {example.text!r}: expected {expected}, got {flagged}")
    click.echo(f"{total - failures if failures <= total else 0} passed, {failures} failed")
    sys.exit(EXIT_FINDINGS if failures else EXIT_OK)


@main.command()
@click.argument("ruleset", required=False)
@_config_option
@click.option("--output", "output_path", type=click.Path(path_type=Path, dir_okay=False), help="Model file (default: RULESET.intents.json beside the ruleset).")
@click.option("--check", "check_only", is_flag=True, help="Exit 1 when the model beside the ruleset was not trained on its current examples.")
@click.option("--seed", default=0, show_default=True, help="Seed for the held-out split.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Intents fitted at once (default: one per CPU; the model is the same).")
def train(ruleset, config_file, output_path, check_only, seed, jobs):
    """Rebuild the intent model from a ruleset's examples (needs kefu-lint[train]).

    RULESET defaults to the configured ruleset, else default."""
    from .errors import ConfigError
    from .intent import IntentDataError, fingerprint
    from .intent.classifier import IntentModel
    from .intent.train import format_reports
    from .intent.train import train as fit
    from .rulesets import load_ruleset

    ruleset = ruleset or _project_settings(config_file).ruleset
    loaded = load_ruleset(ruleset)
    definitions = loaded.intents.definitions
    if not definitions:
        raise ConfigError(f"ruleset {ruleset!r} declares no intents")
    try:  # the example files are read here, not when the ruleset loads
        digest = fingerprint(definitions)
    except IntentDataError as error:
        raise ConfigError(str(error)) from None
    target = Path(output_path or loaded.intents.model_path)
    if check_only:
        current = IntentModel.load(target).fingerprint if target.is_file() else None
        if current != digest:
            click.echo(f"{target}: trained on other examples ({current} ≠ {digest}); run `kefu-lint train {ruleset}`")
            sys.exit(EXIT_FINDINGS)
        click.echo(f"{target}: up to date ({digest})")
        return
    try:
        model, reports = fit(definitions, seed=seed, fingerprint=digest, jobs=jobs)
    except RuntimeError as error:
        raise ConfigError(str(error)) from None
    click.echo(format_reports(reports))
    try:
        target.write_text(model.to_json(), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write the model: {error}") from None
    size = target.stat().st_size
    click.echo(f"wrote {target} ({len(model.weights)} n-grams, {size / 1e6:.1f} MB, fingerprint {digest})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (beyond loopback needs --token).")
@click.option("--port", default=8081, show_default=True, type=click.IntRange(0, 65535), help="Port (LanguageTool's default is 8081).")
@click.option("--ruleset", "rulesets", multiple=True, metavar="NAME=RULESET",
              help="A ruleset to serve, as NAME=RULESET (a shipped name or a YAML file); repeat for several. The first is the default "
                   "(default: the config's ruleset, as 'default').")
@_config_option
@click.option("--tokenizer", type=click.Choice(["jieba", "jieba-rs", "auto"]), help="Segmentation backend (default: the config's, else auto).")
@click.option("--token", envvar="KEFU_LINT_TOKEN", help="API token requests must send (Authorization: Bearer …); or $KEFU_LINT_TOKEN.")
@click.option("--allow-anonymous", is_flag=True, help="Serve beyond loopback without a token (anyone who reaches the port may use it).")
@click.option("--cors-origin", "cors_origins", multiple=True, help="Origin browsers may call from (repeat; * for any), e.g. chrome-extension://ID.")
@click.option("--max-body-bytes", default=1_000_000, show_default=True, type=int, help="Largest request body.")
@click.option("--max-batch", default=1_000, show_default=True, type=int, help="Most replies in one /v1/batch request.")
@click.option("--max-text-chars", default=20_000, show_default=True, type=int, help="Longest reply (characters).")
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes.")
def serve(host, port, rulesets, config_file, tokenizer, token, allow_anonymous, cors_origins, max_body_bytes, max_batch,
          max_text_chars, workers):
    """Serve kefu-lint over HTTP: JSON endpoints under /v1 and LanguageTool's /v2/check.

    Needs the serve extra: pip install 'kefu-lint[serve]'. The OpenAPI document is at /openapi.json."""
    from .serve.command import run_service

    run_service(_project_settings(config_file), host=host, port=port, rulesets=rulesets, tokenizer=tokenizer, token=token,
                allow_anonymous=allow_anonymous, cors_origins=cors_origins, max_body_bytes=max_body_bytes, max_batch=max_batch,
                max_text_chars=max_text_chars, workers=workers)


@main.command()
@click.argument("texts", nargs=-1)
@click.option("--jsonl", is_flag=True, help="Read one JSON reply per line from stdin, write one JSON result per line.")
@_config_option
@click.option("--ruleset", help="Shipped ruleset name or a YAML file (default: the config's, else default).")
@click.option("--scene", type=click.Choice(["greeting", "presale", "order", "logistics_delay", "after_sales", "complaint", "closing"]),
              help="Scene for replies that do not name one.")
@click.option("--tokenizer", type=click.Choice(["jieba", "jieba-rs", "auto"]), help="Segmentation backend.")
@click.option("--lang", "language", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of error records.")
def lint(texts, jsonl, config_file, ruleset, scene, tokenizer, language):
    """Lint replies given as arguments, or (--jsonl) as JSON lines on stdin; print JSON results.

    With --jsonl, each line in is a JSON string or {"text", "scene", "id"} and gets exactly
    one line out: /v1/lint's result with its line number, or an error record
    {"line": N, "error": {...}} for a line that is not a reply. Exit 0, or 2 if any line
    was an error record."""
    import io

    from .engine import Linter
    from .errors import ConfigError
    from .serve.pipe import run_pipe

    if jsonl == bool(texts):
        raise ConfigError("kefu-lint lint 需要回复文本参数，或 --jsonl 从标准输入逐行读取（二者选一）")
    settings = _project_settings(config_file)
    linter = Linter(ruleset or settings.ruleset, select=settings.selection, ignore=settings.ignore,
                    tokenizer=tokenizer or settings.tokenizer, shop_numbers=settings.shop_numbers)
    stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", line_buffering=True, write_through=True)
    # stdin line by line, not read to the end: a host writes a reply and waits for its answer
    lines = iter(sys.stdin.buffer.readline, b"") if jsonl else (json.dumps(text, ensure_ascii=False).encode() for text in texts)
    failed = run_pipe(linter, lines, stdout, language, scene)
    sys.exit(EXIT_ERROR if failed else EXIT_OK)


@main.command()
@_config_option
def server(config_file):
    """Run the language server on stdin/stdout (for editors: diagnostics, fixes, hover docs).

    Each document is checked with the configuration found from it, as `check` finds it,
    unless --config names one for all. Needs the lsp extra: pip install 'kefu-lint[lsp]'."""
    import importlib.util

    from .errors import ConfigError

    if importlib.util.find_spec("pygls") is None:
        raise ConfigError("kefu-lint server 需要 lsp 扩展：pip install 'kefu-lint[lsp]'")
    if config_file is not None:
        _project_settings(config_file)  # a missing or broken config stops here, not in the editor
    from .lsp.server import main as serve_stdio

    serve_stdio(config_file)


if __name__ == "__main__":  # pragma: no cover
    main()
