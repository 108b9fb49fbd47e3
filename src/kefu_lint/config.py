"""Project configuration: ``[tool.kefu-lint]`` in pyproject.toml, kefu-lint.toml or .kefu-lint.yaml.

Found by walking up from the checked path; the first file that configures kefu-lint wins.
Command-line options override it. Unknown keys are errors.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .formats.decode import printable_name, text_encoding
from .formats.scripts import GROUP_SCENES
from .model import SCENES
from .text.tokenize import TOKENIZER_NAMES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FAIL_ON = ("red", "yellow", "green", "never")
CONFIG_FILES = ("pyproject.toml", "kefu-lint.toml", ".kefu-lint.yaml")
KEYS = {
    "ruleset", "select", "extend-select", "ignore", "per-file-ignores", "include", "extend-include", "exclude",
    "extend-exclude", "force-exclude", "fail-on", "scenes", "tokenizer", "respect-gitignore", "encoding", "text-column",
    "group-scenes", "allow-unreadable", "shop-numbers", "audit",
}
#: The files a folder is searched for: every kind kefu-lint reads. ``include`` narrows it
#: (``include = ["话术/*"]``); a file of another kind is never a reply script.
DEFAULT_INCLUDE = ("*.yaml", "*.yml", "*.txt", "*.csv", "*.tsv")
#: Files of those kinds that are other tools' configuration, never reply scripts: CI
#: workflows, pre-commit's own files, kefu-lint's config, dependency pins, licences. They are
#: left alone without a word, in a folder or (with ``force-exclude``, as the pre-commit hook
#: runs) named on the command line.
TOOL_FILES = (
    ".github", ".gitlab", ".circleci", ".gitea", ".forgejo", ".gitlab-ci.yml", ".travis.yml", "appveyor.yml",
    "azure-pipelines.yml", "bitbucket-pipelines.yml", ".pre-commit-config.yaml", ".pre-commit-hooks.yaml",
    ".kefu-lint.yaml", "codecov.yml", ".codecov.yml", "mkdocs.yml", ".readthedocs.yaml", ".readthedocs.yml",
    "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml", "environment.yml", "environment.yaml",
    "pnpm-lock.yaml", "pnpm-workspace.yaml", ".yamllint", ".yamllint.yaml", ".yamllint.yml", "requirements*.txt",
    "constraints*.txt", "LICENSE*", "LICENCE*", "COPYING*", "NOTICE*", "CMakeLists.txt", "robots.txt",
)
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache",
    *TOOL_FILES,
)


@dataclass(frozen=True)
class AuditSettings:
    """``[tool.kefu-lint.audit]``: the audit's own options (the top-level ``ruleset``,
    ``select``, ``extend-select``, ``ignore``, ``tokenizer``, ``encoding`` and ``shop-numbers``
    apply to it as to ``check``; ``encoding`` here wins over the top-level one).
    None is unset: the command line, then the built-in default, decide."""

    columns: str | None = None          # the --columns spec, field=column pairs
    agent_role: str | None = None
    customer_role: str | None = None
    input_format: str | None = None
    encoding: str | None = None
    timezone: str | None = None
    jobs: int | None = None
    max_rejected: str | None = None
    keep_history: bool | None = None
    partial: bool | None = None
    out: Path | None = None
    jsonl: str | None = None            # lean | full: what conversations.jsonl says of each finding


@dataclass(frozen=True)
class Settings:
    root: Path = field(default_factory=Path.cwd)
    source: str | None = None
    ruleset: str = "default"
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    #: ``include``/``exclude`` decide for files named on the command line too (pre-commit
    #: names every staged file), as ruff's ``force-exclude`` does.
    force_exclude: bool = False
    fail_on: str = "red"
    scenes: tuple[tuple[str, str], ...] = ()
    tokenizer: str = "auto"
    respect_gitignore: bool = True
    encoding: str | None = None
    text_column: str | None = None
    #: The shop's own numbers (hotline, return-address phone): never flagged nor masked.
    shop_numbers: tuple[str, ...] = ()
    #: A grouped YAML library's categories → the scene of their entries (added to GROUP_SCENES).
    group_scenes: tuple[tuple[str, str], ...] = tuple(GROUP_SCENES.items())
    #: Unreadable input (KF000) is still reported but does not fail the run.
    allow_unreadable: bool = False
    audit: AuditSettings = field(default_factory=AuditSettings)

    @property
    def selection(self) -> tuple[str, ...] | None:
        """``select`` with ``extend-select`` added (None: the ruleset's default selection)."""
        if self.select is None and not self.extend_select:
            return None
        return tuple(self.select or ("ALL",)) + self.extend_select

    def merged(self, **overrides: Any) -> "Settings":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def relative(self, path: Path) -> str:
        """The path as reports show it: relative to the working directory, as ruff prints it
        (so ``file:line`` opens from where the command ran, also in a sub-folder of the
        project), printable whatever its bytes."""
        return printable_name(_relative_to(path, Path.cwd()))

    def _matches(self, pattern: str, path: Path) -> bool:
        # Config globs are the project's: relative to the folder of the config file.
        relative = _relative_to(path, self.root)
        return fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(relative, pattern.rstrip("/") + "/*")

    def ignored_codes_for(self, path: Path) -> tuple[str, ...]:
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file_ignores:
            if self._matches(pattern, path):
                codes.extend(pattern_codes)
        return tuple(codes)

    def scene_for(self, path: Path) -> str | None:
        for pattern, scene in self.scenes:
            if self._matches(pattern, path):
                return scene
        return None

    def excluded(self, path: Path) -> bool:
        return any(part in self.exclude for part in path.parts) or any(self._matches(p, path) for p in self.exclude)

    def included(self, path: Path) -> bool:
        return any(self._matches(pattern, path) for pattern in self.include)


def _relative_to(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when inside it, else as given. ``realpath``, not
    ``Path.resolve``: a symlink loop is an unreadable file to report, not a RuntimeError."""
    try:
        return Path(os.path.realpath(path)).relative_to(os.path.realpath(folder)).as_posix()
    except ValueError:
        return path.as_posix()


def find_config(start: Path) -> tuple[Path, dict] | None:
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            if not candidate.is_file():
                continue
            data = _read(candidate)
            if data is not None:
                return candidate, data
    return None


def _read(path: Path) -> dict | None:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    if path.suffix == ".toml":
        try:
            document = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: invalid TOML: {error}") from None
        if path.name == "pyproject.toml":
            return document.get("tool", {}).get("kefu-lint")
        return document
    import yaml

    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from None
    return document or {}


def load_settings(start: Path, explicit: Path | None = None) -> Settings:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} not found")
        data = _read(explicit)
        found: tuple[Path, dict] | None = (explicit, data or {})
    else:
        found = find_config(start)
    if found is None:
        return Settings(root=Path.cwd())
    path, data = found
    return settings_from(data, path)


@dataclass(frozen=True)
class _ValueType:
    """What a config key holds: ``accepts`` tests a value, ``described`` names it for the user;
    a table's ``entries`` type is checked entry by entry, so the error names the entry."""

    described: str
    accepts: Callable[[Any], bool]
    entries: "_ValueType | None" = None

    def problem(self, key: str, value: Any) -> str | None:
        """Why ``value`` cannot be the value of ``key``, or None when it can."""
        if not self.accepts(value):
            return f"{key} must be {self.described}, not {_shown(value)}"
        if self.entries is not None:
            for name, entry in value.items():
                problem = self.entries.problem(f"{key}.{name!r}", entry)
                if problem:
                    return problem
        return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_text_list(value: Any) -> bool:
    # A string is refused where a list belongs: tuple("KF101") would be five codes K, F, 1, 0, 1.
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _table_of(described: str, entries: _ValueType) -> _ValueType:
    return _ValueType(described, lambda value: isinstance(value, dict) and all(isinstance(k, str) for k in value), entries)


def _is_one_of(choices: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in choices


_CODES = _ValueType("a list of rule codes, names or zones, e.g. [\"KF101\", \"yellow\"]", _is_text_list)
_GLOBS = _ValueType("a list of path globs, e.g. [\"drafts/*\"]", _is_text_list)
#: Every key's type, checked before any value is used (the TOML and YAML parsers accept any).
KEY_TYPES: dict[str, _ValueType] = {
    "ruleset": _ValueType("a shipped ruleset name or a path to a YAML file", _is_text),
    "select": _CODES,
    "extend-select": _CODES,
    "ignore": _CODES,
    "per-file-ignores": _table_of("a table of globs to lists of rule codes, e.g. {\"faq/*\" = [\"KF202\"]}", _CODES),
    "include": _GLOBS,
    "extend-include": _GLOBS,
    "exclude": _GLOBS,
    "extend-exclude": _GLOBS,
    "force-exclude": _ValueType("true or false", lambda value: isinstance(value, bool)),
    "fail-on": _ValueType(f"one of {', '.join(FAIL_ON)}", _is_one_of(FAIL_ON)),
    "scenes": _table_of("a table of globs to scenes, e.g. {\"presale/*\" = \"presale\"}",
                        _ValueType(f"one of {', '.join(SCENES)}", _is_one_of(tuple(SCENES)))),
    "tokenizer": _ValueType(f"one of {', '.join(TOKENIZER_NAMES)}", _is_one_of(TOKENIZER_NAMES)),
    "respect-gitignore": _ValueType("true or false", lambda value: isinstance(value, bool)),
    "encoding": _ValueType("the name of a text encoding, e.g. \"gb18030\"", _is_text),
    "text-column": _ValueType("a column name or a 1-based column number",
                              lambda value: _is_text(value) or (type(value) is int and value >= 1)),
    "shop-numbers": _ValueType("a list of the shop's own phone numbers, e.g. [\"400-820-8820\"]",
                               lambda value: _is_text_list(value) and all(any(c.isdigit() for c in item) for item in value)),
    "group-scenes": _table_of("a table of YAML categories to scenes, e.g. {\"售前\" = \"presale\"}",
                              _ValueType(f"one of {', '.join(SCENES)}", _is_one_of(tuple(SCENES)))),
    "allow-unreadable": _ValueType("true or false", lambda value: isinstance(value, bool)),
}
_ROLES = _ValueType("a role value or a list of them, e.g. \"客服\" or [\"客服\", \"1\"]",
                    lambda value: _is_text(value) or _is_text_list(value))
#: The keys of ``[tool.kefu-lint.audit]`` and their types.
AUDIT_KEY_TYPES: dict[str, _ValueType] = {
    "columns": _ValueType("a table of fields to columns (header names or 1-based numbers), e.g."
                          " {conversation_id = \"会话编号\", role = 2, text = \"消息内容\"}",
                          lambda value: _is_text(value) or (isinstance(value, dict) and all(
                              isinstance(k, str) and (_is_text(v) or (type(v) is int and v >= 1)) for k, v in value.items()))),
    "agent-role": _ROLES,
    "customer-role": _ROLES,
    "input-format": _ValueType("one of auto, jsonl, csv, tsv", _is_one_of(("auto", "jsonl", "csv", "tsv"))),
    "encoding": _ValueType("the name of a text encoding, e.g. \"gb18030\"", _is_text),
    "timezone": _ValueType("an IANA zone name or an offset, e.g. \"Asia/Shanghai\" or \"+08:00\"", _is_text),
    "jobs": _ValueType("a number of worker processes from 1 to 64", lambda value: type(value) is int and 1 <= value <= 64),
    "max-rejected": _ValueType("a count or a share of the records read, e.g. 0, 10 or \"1%\"",
                               lambda value: (type(value) is int and value >= 0) or _is_text(value)),
    "keep-history": _ValueType("true or false", lambda value: isinstance(value, bool)),
    "partial": _ValueType("true or false", lambda value: isinstance(value, bool)),
    "out": _ValueType("a folder for the audit's outputs, relative to the config file", _is_text),
    "jsonl": _ValueType("one of lean, full", _is_one_of(("lean", "full"))),
}
KEY_TYPES["audit"] = _table_of("a table of the audit's options, e.g. [tool.kefu-lint.audit] with columns = {…}",
                               _ValueType("any", lambda value: True))
assert set(KEY_TYPES) == KEYS


def _checked(data: dict, path: Path, key_types: dict[str, _ValueType] | None = None, table: str = "") -> dict:
    """``data`` after every key's value is checked against its type; errors name file and key
    (``audit.jobs`` for a key of the ``audit`` table)."""
    key_types = KEY_TYPES if key_types is None else key_types
    unknown = set(data) - set(key_types)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(table + str(key) for key in sorted(map(str, unknown)))};"
                          f" known: {', '.join(table + key for key in sorted(key_types))}")
    for key, value in data.items():
        problem = key_types[key].problem(table + key, value)
        if problem:
            raise ConfigError(f"{path}: {problem}")
    if "encoding" in data:
        try:
            text_encoding(data["encoding"])
        except ConfigError as error:
            raise ConfigError(f"{path}: {table}encoding: {error}") from None
    if "audit" in data and not table:
        _checked(data["audit"], path, AUDIT_KEY_TYPES, "audit.")
    return data


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "the string", list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
    if isinstance(value, (list, dict)):
        return kind
    shown = repr(value)
    return f"{kind} {shown if len(shown) <= 40 else shown[:37] + '...'}"


def settings_from(data: dict, path: Path) -> Settings:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: kefu-lint configuration must be a table/mapping")
    data = _checked(data, path)
    root = path.parent.resolve()

    def listed(key: str) -> tuple[str, ...] | None:
        value = data.get(key)
        return None if value is None else tuple(value)

    settings = Settings(root=root, source=str(path))
    ruleset = data.get("ruleset")
    if ruleset is not None:
        candidate = root / ruleset
        ruleset = str(candidate) if candidate.is_file() else ruleset
    per_file = data.get("per-file-ignores") or {}
    scenes = data.get("scenes") or {}
    group_scenes = {**GROUP_SCENES, **(data.get("group-scenes") or {})}
    exclude = listed("exclude")
    include = listed("include")
    return settings.merged(
        ruleset=ruleset,
        select=listed("select"),
        extend_select=listed("extend-select"),
        ignore=listed("ignore"),
        per_file_ignores=tuple((glob, tuple(codes)) for glob, codes in per_file.items()),
        include=(include if include is not None else DEFAULT_INCLUDE) + (listed("extend-include") or ()),
        exclude=(exclude if exclude is not None else DEFAULT_EXCLUDE) + (listed("extend-exclude") or ()),
        force_exclude=data.get("force-exclude"),
        fail_on=data.get("fail-on"),
        scenes=tuple(scenes.items()),
        tokenizer=data.get("tokenizer"),
        respect_gitignore=data.get("respect-gitignore"),
        encoding=data.get("encoding"),
        text_column=str(data["text-column"]) if data.get("text-column") is not None else None,
        shop_numbers=listed("shop-numbers"),
        group_scenes=tuple(group_scenes.items()),
        allow_unreadable=data.get("allow-unreadable"),
        audit=_audit_settings(data.get("audit") or {}, root),
    )


def _audit_settings(data: dict, root: Path) -> AuditSettings:
    columns = data.get("columns")
    if isinstance(columns, dict):  # the --columns spec, so that one parser reads both
        columns = ",".join(f"{field}={column}" for field, column in columns.items())
    roles = lambda key: ",".join(data[key]) if isinstance(data.get(key), list) else data.get(key)  # noqa: E731
    max_rejected = data.get("max-rejected")
    return AuditSettings(
        columns=columns, agent_role=roles("agent-role"), customer_role=roles("customer-role"),
        input_format=data.get("input-format"), encoding=data.get("encoding"), timezone=data.get("timezone"),
        jobs=data.get("jobs"), max_rejected=None if max_rejected is None else str(max_rejected),
        keep_history=data.get("keep-history"), partial=data.get("partial"),
        out=root / data["out"] if data.get("out") is not None else None, jsonl=data.get("jsonl"),
    )
