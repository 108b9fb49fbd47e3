"""``kefu-lint server``: a Language Server (pygls) for reply-script files (YAML, TXT, CSV/TSV).

What an editor gets, all through ``check``'s own code so the editor and CI never disagree:

- diagnostics as you type, at the positions ``check`` reports (``Checker.check_file`` on the
  editor's text), with the project's configuration found from each file as ``check`` finds
  it; files ``check`` would not check (rulesets, excluded files) get none;
- code actions: a finding's safe fix, its suggested rewrite (marked as needing review), and
  "disable for this line/entry", which writes the suppression ``check --add-noqa`` writes
  (formats/noqa.py); a source action applies every safe fix (``check --fix``);
- hover on a finding or on a code or rule name in a suppression: the rule's page from
  ``kefu-lint explain``, in the client's locale (Chinese, or English for an English locale);
- reload: when a ``pyproject.toml``, ``kefu-lint.toml``, ``.kefu-lint.yaml`` or ruleset file
  changes (watched, or saved in the editor), the configuration and rulesets are read again
  and every open document is checked again.

Positions are converted to the encoding the client negotiated (UTF-16 by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from .. import __version__
from ..check import META_CODES, Checker, FileReport, Finding, is_checked_file, is_ruleset_text
from ..config import Settings, load_settings
from ..engine import replacement_of
from ..errors import KefuLintError
from ..formats.noqa import suppression_insertions
from ..formats.scripts import LINE_BREAK, ScriptFile
from ..formats.writers import help_uri
from ..text.tokenize import TokenizerPool

#: Files whose change means the configuration or a ruleset may have changed.
CONFIG_NAMES = ("pyproject.toml", "kefu-lint.toml", ".kefu-lint.yaml")
WATCHED_GLOBS = ("**/pyproject.toml", "**/kefu-lint.toml", "**/.kefu-lint.yaml", "**/*.yaml", "**/*.yml")
SEVERITY = {"red": types.DiagnosticSeverity.Error, "yellow": types.DiagnosticSeverity.Warning,
            "green": types.DiagnosticSeverity.Information}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class _Checked:
    """The last check of one open document: what code actions and hovers work from."""

    version: int | None
    path: Path
    checker: Checker
    script: ScriptFile | None
    report: FileReport


class KefuLanguageServer(LanguageServer):
    def __init__(self, config_file: Path | None = None) -> None:
        super().__init__("kefu-lint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        #: ``--config``: one configuration for every document (else found from each file)
        self.config_file = config_file
        self.tokenizers = TokenizerPool()
        self.checkers: dict[Settings, Checker] = {}
        self.checked: dict[str, _Checked] = {}
        self.language = "zh"

    # -- checking --

    def checker_for(self, path: Path) -> Checker:
        """The Checker of the settings that apply to ``path`` (found upward, as ``check`` does)."""
        settings = load_settings(path, self.config_file)  # as `check PATH` finds it: upward from the file
        checker = self.checkers.get(settings)
        if checker is None:
            checker = self.checkers[settings] = Checker(settings, tokenizers=self.tokenizers)
        return checker

    def check_document(self, document: TextDocument) -> None:
        path = Path(document.path)
        try:
            checker = self.checker_for(path)
        except KefuLintError as error:  # a broken config or ruleset: said once, on the first line
            self.checked.pop(document.uri, None)
            self.publish(document, [types.Diagnostic(
                range=types.Range(types.Position(0, 0), types.Position(0, 0)), message=str(error),
                severity=types.DiagnosticSeverity.Error, source="kefu-lint", code="config")])
            return
        text = document.source
        if not is_checked_file(path, checker.settings, text):
            self.checked.pop(document.uri, None)
            self.publish(document, [])
            return
        data = text.encode("utf-8")
        report = checker.check_file(path, data)
        try:
            script = checker.read(path, data)
        except KefuLintError:
            script = None
        self.checked[document.uri] = _Checked(document.version, path, checker, script, report)
        lines = _lines(text)
        self.publish(document, [self.diagnostic(document, lines, finding) for finding in report.findings])

    def publish(self, document: TextDocument, diagnostics: list[types.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=document.uri, version=document.version, diagnostics=diagnostics))

    def diagnostic(self, document: TextDocument, lines: list[str], finding: Finding) -> types.Diagnostic:
        start = _position(document, lines, finding.line, finding.column)
        end = _position(document, lines, finding.end_line, finding.end_column)
        if start == end:  # a finding about a line (KF000-KF003): the whole line
            end = _position(document, lines, finding.line, len(lines[finding.line - 1]) + 1 if finding.line <= len(lines) else 1)
        violation = finding.violation
        message = violation.message
        if violation.suggestion and violation.fix is None:
            message += f"（建议：{violation.suggestion}）"
        return types.Diagnostic(
            range=types.Range(start, end), message=message, severity=SEVERITY[violation.zone], source="kefu-lint",
            code=violation.code, code_description=types.CodeDescription(href=help_uri(violation.code)),
            tags=[types.DiagnosticTag.Unnecessary] if violation.code == "KF001" else None,
        )

    def recheck_all(self) -> None:
        self.checkers.clear()
        for uri in list(self.workspace.text_documents):
            self.check_document(self.workspace.get_text_document(uri))

    # -- code actions --

    def code_actions(self, uri: str, wanted: types.Range) -> list[types.CodeAction]:
        checked = self.checked.get(uri)
        if checked is None or checked.script is None:
            return []
        document = self.workspace.get_text_document(uri)
        lines = _lines(document.source)
        actions: list[types.CodeAction] = []
        for finding in checked.report.findings:
            diagnostic = self.diagnostic(document, lines, finding)
            if not _overlaps(diagnostic.range, wanted):
                continue
            actions.extend(self.finding_actions(document, lines, checked, finding, diagnostic))
        fixed, count = checked.checker.fix_script(checked.path, document.source.encode("utf-8"), False)
        if count:
            whole = types.Range(types.Position(0, 0), _position(document, lines, len(lines) + 1, 1))
            actions.append(types.CodeAction(
                title=f"kefu-lint：应用全部安全修复（{count} 处）", kind=types.CodeActionKind.SourceFixAll,
                edit=_edit(uri, [types.TextEdit(whole, fixed.decode("utf-8"))])))
        return actions

    def finding_actions(self, document: TextDocument, lines: list[str], checked: _Checked, finding: Finding,
                        diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        actions = []
        violation = finding.violation
        index = finding.reply_index
        if index is not None and finding.reply is not None:
            for unsafe in (False, True):
                replacement = replacement_of(violation, unsafe)
                if replacement is None or (unsafe and violation.fix is not None):
                    continue
                edit = self.reply_edit(document, lines, checked, index, violation.start, violation.end, replacement)
                if edit is None:
                    continue
                title = (f"修复 {violation.code}：改为「{replacement}」" if not unsafe
                         else f"按建议改写 {violation.code}：「{replacement}」（请确认语义）")
                actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                                                is_preferred=not unsafe, edit=_edit(document.uri, [edit])))
        if index is not None and violation.code not in META_CODES and checked.script is not None:
            insertions, refused = suppression_insertions(checked.script, {index: [violation.code]})
            if insertions and not refused:
                what = "这一条" if checked.script.kind == "yaml" else "这一行"
                edits = [types.TextEdit(types.Range(p, p), insertion.text) for insertion in insertions
                         for p in [_index_position(document, lines, checked.script, insertion.at)]]
                actions.append(types.CodeAction(title=f"在{what}禁用 {violation.code}（{violation.name}）", kind=types.CodeActionKind.QuickFix,
                                                diagnostics=[diagnostic], edit=_edit(document.uri, edits)))
        return actions

    def reply_edit(self, document: TextDocument, lines: list[str], checked: _Checked, index: int, start: int, end: int,
                   replacement: str) -> types.TextEdit | None:
        """The edit replacing ``[start, end)`` of reply ``index``, or None when it cannot be
        placed in the source as plain characters (an escape in a quoted YAML string, a fold)
        or the file would not read back with the reply rewritten (as ``check --fix`` checks)."""
        script = checked.script
        assert script is not None
        message = script.messages[index]
        source = message.source_range(start, end)
        if source is None or "\n" in replacement or "\r" in replacement:
            return None
        text = script.text[:source[0]] + replacement + script.text[source[1]:]
        try:
            again = checked.checker.read(checked.path, text.encode("utf-8"))
        except KefuLintError:
            return None
        expected = message.text[:start] + replacement + message.text[end:]
        if len(again.messages) != len(script.messages) or again.messages[index].text != expected:
            return None
        return types.TextEdit(types.Range(_index_position(document, lines, script, source[0]),
                                          _index_position(document, lines, script, source[1])), replacement)

    # -- hover --

    def hover(self, uri: str, position: types.Position) -> types.Hover | None:
        from ..formats.rule_docs import explain_page

        checked = self.checked.get(uri)
        if checked is None:
            return None
        document = self.workspace.get_text_document(uri)
        lines = document.lines
        server_position = document.position_codec.position_from_client_units(lines, position)
        line = lines[server_position.line].rstrip("\r\n") if server_position.line < len(lines) else ""
        code = None
        for match in _WORD.finditer(line):
            if match.start() <= server_position.character <= match.end():
                code = checked.checker.resolve(match.group())
                break
        if code is None:  # on a finding: its rule
            text_lines = _lines(document.source)
            for finding in checked.report.findings:
                if _within(self.diagnostic(document, text_lines, finding).range, position):
                    code = finding.code
                    break
        if code is None:
            return None
        try:
            page = explain_page(checked.checker.linter.ruleset, code, self.language)
        except KefuLintError:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=page))


def _lines(text: str) -> list[str]:
    """The lines of ``text`` as ``check`` counts them (CR, LF and CRLF), without their breaks."""
    return LINE_BREAK.split(text)


def _position(document: TextDocument, lines: list[str], line: int, column: int) -> types.Position:
    """``check``'s 1-based line and character column as an LSP position in the client's units."""
    if line > len(lines):
        return types.Position(line=len(lines) - 1, character=document.position_codec.client_num_units(lines[-1]))
    text = lines[line - 1]
    return types.Position(line=line - 1, character=document.position_codec.client_num_units(text[:column - 1]))


def _index_position(document: TextDocument, lines: list[str], script: ScriptFile, index: int) -> types.Position:
    line, column = script.line_column(index)
    return _position(document, lines, line, column)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _within(r: types.Range, p: types.Position) -> bool:
    return (r.start.line, r.start.character) <= (p.line, p.character) <= (r.end.line, r.end.character)


def _edit(uri: str, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(changes={uri: edits})


def build_server(config_file: Path | None = None) -> KefuLanguageServer:
    server = KefuLanguageServer(config_file)

    @server.feature(types.INITIALIZE)
    def initialize(ls: KefuLanguageServer, params: types.InitializeParams) -> None:
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        locale = str(options.get("lang") or params.locale or "zh")
        ls.language = "en" if locale.lower().startswith("en") else "zh"

    @server.feature(types.INITIALIZED)
    def initialized(ls: KefuLanguageServer, params: types.InitializedParams) -> None:
        dynamic = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        if dynamic and dynamic.dynamic_registration:
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="kefu-lint-config", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[types.FileSystemWatcher(glob_pattern=glob) for glob in WATCHED_GLOBS]),
            )]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KefuLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.check_document(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KefuLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.check_document(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KefuLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        if _is_configuration(Path(document.path), document.source):
            ls.recheck_all()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KefuLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.checked.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(ls: KefuLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.recheck_all()

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll]))
    def code_action(ls: KefuLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params.text_document.uri, params.range)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: KefuLanguageServer, params: types.HoverParams) -> types.Hover | None:
        return ls.hover(params.text_document.uri, params.position)

    return server


def _is_configuration(path: Path, text: str) -> bool:
    return path.name in CONFIG_NAMES or (path.suffix.lower() in (".yaml", ".yml") and is_ruleset_text(text[:4096]))


def main(config_file: Path | None = None) -> None:
    build_server(config_file).start_io()
