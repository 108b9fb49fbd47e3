"""`kefu-lint server` driven over stdio by pygls's own language client, as an editor would:
diagnostics at `check`'s positions, code actions whose edits `check` then agrees with, hover
docs, configuration per file and reload when it changes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pygls")
from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")


class Editor:
    """A language client that remembers the last diagnostics of each document."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.client = LanguageClient("kefu-lint-test", "1")
        self.diagnostics: dict[str, types.PublishDiagnosticsParams] = {}
        self.arrived = asyncio.Condition()
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def published(params: types.PublishDiagnosticsParams) -> None:
            async with self.arrived:
                self.diagnostics[params.uri] = params
                self.arrived.notify_all()

        @self.client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            self.registered = params

    async def __aenter__(self) -> "Editor":
        await self.client.start_io(KEFU_LINT, "server", cwd=str(self.cwd))
        capabilities = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)))
        await self.client.initialize_async(types.InitializeParams(capabilities=capabilities, root_uri=self.cwd.as_uri(), locale="zh-CN"))
        self.client.initialized(types.InitializedParams())
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    async def wait(self, uri: str, version: int) -> list[types.Diagnostic]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: (g := self.diagnostics.get(uri)) is not None and (g.version or 0) >= version), 60)
        return self.diagnostics[uri].diagnostics

    async def open(self, path: Path) -> list[types.Diagnostic]:
        uri = path.as_uri()
        self.texts[uri] = path.read_text(encoding="utf-8")
        self.versions[uri] = 1
        self.diagnostics.pop(uri, None)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="yaml" if path.suffix == ".yaml" else "plaintext",
                                                 version=1, text=self.texts[uri])))
        return await self.wait(uri, 1)

    async def replace_all(self, path: Path, text: str) -> list[types.Diagnostic]:
        uri = path.as_uri()
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        return await self.wait(uri, self.versions[uri])

    async def actions(self, path: Path, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        result = await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()), range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic])))
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def hover(self, path: Path, line: int, character: int) -> str | None:
        result = await self.client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()), position=types.Position(line, character)))
        return result.contents.value if result else None


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 positions) as an editor does."""
    lines = text.splitlines(keepends=True) or [""]

    def offset(position: types.Position) -> int:
        before = sum(len(line) for line in lines[:position.line])
        line = lines[position.line] if position.line < len(lines) else ""
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return before + index
            units += 2 if ord(char) > 0xFFFF else 1
        return before + len(line)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


def check_json(*paths: Path, cwd: Path) -> list[dict]:
    result = subprocess.run([KEFU_LINT, "check", "-o", "json", *map(str, paths)], capture_output=True, cwd=cwd, timeout=120)
    assert result.returncode in (0, 1), result.stderr.decode()
    return json.loads(result.stdout)["findings"]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def run(coroutine):
    return asyncio.run(coroutine)


def test_txt_positions_actions_hover(tmp_path):
    script = tmp_path / "replies.txt"
    script.write_text("😀😀不行,这个不算售后\n您好，您的电话13812345678已登记\n  不知道\n", encoding="utf-8")

    async def scenario():
        async with Editor(tmp_path) as editor:
            diagnostics = await editor.open(script)
            expected = check_json(script, cwd=tmp_path)
            lines = script.read_text(encoding="utf-8").splitlines()
            assert [(d.code, d.range.start.line, d.range.start.character, d.range.end.character) for d in diagnostics] == [
                (f["code"], f["line"] - 1, utf16(lines[f["line"] - 1][:f["column"] - 1]), utf16(lines[f["end_line"] - 1][:f["end_column"] - 1]))
                for f in expected
            ]
            assert {d.source for d in diagnostics} == {"kefu-lint"}
            assert diagnostics[0].range.start.character == 4  # two emoji: four UTF-16 units
            assert diagnostics[0].severity == types.DiagnosticSeverity.Error

            opener = diagnostics[0]
            titles = [a.title for a in await editor.actions(script, opener)]
            assert any("禁用 KF101" in t for t in titles) and any("按建议改写 KF101" in t for t in titles)
            disable = next(a for a in await editor.actions(script, opener) if "禁用 KF101" in a.title)
            page = await editor.hover(script, opener.range.start.line, opener.range.start.character + 1)
            assert page.startswith("# KF101 negative-opener（红色警示区")

            privacy = next(d for d in diagnostics if d.code == "KF104")
            fix = next(a for a in await editor.actions(script, privacy) if a.is_preferred)
            uri = script.as_uri()
            fixed = apply(editor.texts[uri], fix.edit.changes[uri])
            assert "138****5678" in fixed
            disabled = apply(fixed, disable.edit.changes[uri])
            after = await editor.replace_all(script, disabled)
            assert [(d.code, d.range.start.line) for d in after] == [("KF102", 1), ("KF101", 3)]
            hover_on_directive = await editor.hover(script, 0, len("# kefu-lint: disable-next-line KF1"))
            assert hover_on_directive.startswith("# KF101")
            return disabled

    written = run(scenario())
    script.write_text(written, encoding="utf-8")
    codes = [f["code"] for f in check_json(script, cwd=tmp_path)]
    assert "KF101" in codes  # the third line's 不知道 is still there, the first line's is suppressed
    assert "KF001" not in codes and "KF104" not in codes
    assert [f["line"] for f in check_json(script, cwd=tmp_path) if f["code"] == "KF101"] == [4]


def test_yaml_config_per_file_and_reload(tmp_path):
    quiet, loud = tmp_path / "quiet", tmp_path / "loud"
    for folder in (quiet, loud):
        folder.mkdir()
        (folder / "scripts.yaml").write_text(textwrap.dedent("""\
            - id: a
              text: 不行，这个不算售后
            - id: b
              text: 您好，请问有什么可以帮您？
              ignore: [KF102]
        """), encoding="utf-8")
    config = quiet / "pyproject.toml"
    config.write_text('[tool.kefu-lint]\nignore = ["KF101"]\n', encoding="utf-8")

    async def scenario():
        async with Editor(tmp_path) as editor:
            for _ in range(100):  # the registration request may come after the first diagnostics
                if hasattr(editor, "registered"):
                    break
                await asyncio.sleep(0.05)
            assert editor.registered.registrations[0].method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
            quiet_codes = [d.code for d in await editor.open(quiet / "scripts.yaml")]
            loud_diagnostics = await editor.open(loud / "scripts.yaml")
            assert "KF101" not in quiet_codes and "KF101" in [d.code for d in loud_diagnostics]
            assert quiet_codes == [c for c in (f["code"] for f in check_json(quiet / "scripts.yaml", cwd=quiet))]
            unused = next(d for d in loud_diagnostics if d.code == "KF001")
            assert list(unused.tags) == [types.DiagnosticTag.Unnecessary]
            page = await editor.hover(loud / "scripts.yaml", 4, len("  ignore: [KF1"))
            assert page.startswith("# KF102 refusal")

            refusal = next(d for d in loud_diagnostics if d.code == "KF102")
            disable = next(a for a in await editor.actions(loud / "scripts.yaml", refusal) if "禁用 KF102" in a.title)
            uri = (loud / "scripts.yaml").as_uri()
            edited = apply(editor.texts[uri], disable.edit.changes[uri])

            config.write_text("[tool.kefu-lint]\n", encoding="utf-8")
            editor.diagnostics.pop((quiet / "scripts.yaml").as_uri())
            editor.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Changed)]))
            reloaded = await editor.wait((quiet / "scripts.yaml").as_uri(), 1)
            assert "KF101" in [d.code for d in reloaded]
            return edited

    edited = run(scenario())
    assert "ignore: [KF102]" in edited.split("- id: b")[0]
    (loud / "scripts.yaml").write_text(edited, encoding="utf-8")
    assert "KF102" not in [f["code"] for f in check_json(loud / "scripts.yaml", cwd=loud)]


def test_rulesets_and_excluded_files_get_no_diagnostics(tmp_path):
    ruleset = tmp_path / "shop.yaml"
    ruleset.write_text("extends: default\nrules: {}\n", encoding="utf-8")
    hooks = tmp_path / ".pre-commit-config.yaml"
    hooks.write_text("- 不行\n", encoding="utf-8")
    script = tmp_path / "ok.yaml"
    script.write_text("- 不行\n", encoding="utf-8")

    async def scenario():
        async with Editor(tmp_path) as editor:
            assert list(await editor.open(ruleset)) == []
            assert list(await editor.open(hooks)) == []
            assert [d.code for d in await editor.open(script)] == ["KF101"]

    run(scenario())
