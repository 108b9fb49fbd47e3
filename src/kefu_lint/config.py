"""Project configuration: ``[tool.kefu-lint]`` in pyproject.toml, kefu-lint.toml or .kefu-lint.yaml.

Found by walking up from the checked path; the first file that configures kefu-lint wins.
Command-line options override it. Unknown keys are errors.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model import SCENES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FAIL_ON = ("red", "yellow", "green", "never")
CONFIG_FILES = ("pyproject.toml", "kefu-lint.toml", ".kefu-lint.yaml")
KEYS = {
    "ruleset", "select", "extend-select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
    "fail-on", "scenes", "tokenizer", "respect-gitignore", "encoding", "text-column",
}
DEFAULT_EXCLUDE = (".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache")


@dataclass(frozen=True)
class Settings:
    root: Path = field(default_factory=Path.cwd)
    source: str | None = None
    ruleset: str = "default"
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    fail_on: str = "red"
    scenes: tuple[tuple[str, str], ...] = ()
    tokenizer: str = "jieba"
    respect_gitignore: bool = True
    encoding: str | None = None
    text_column: str | None = None

    def merged(self, **overrides: Any) -> "Settings":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def _matches(self, pattern: str, path: Path) -> bool:
        relative = self.relative(path)
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
        found = (explicit, data or {})
    else:
        found = find_config(start)
    if found is None:
        return Settings(root=Path.cwd())
    path, data = found
    return settings_from(data, path)


def settings_from(data: dict, path: Path) -> Settings:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: kefu-lint configuration must be a table/mapping")
    unknown = set(data) - KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KEYS))}")
    root = path.parent.resolve()

    def codes(key: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {key} must be a list of rule codes, names or zones")
        return tuple(value)

    settings = Settings(root=root, source=str(path))
    ruleset = data.get("ruleset")
    if ruleset is not None:
        if not isinstance(ruleset, str):
            raise ConfigError(f"{path}: ruleset must be a name or a path")
        candidate = root / ruleset
        ruleset = str(candidate) if candidate.is_file() else ruleset
    per_file = data.get("per-file-ignores") or {}
    if not isinstance(per_file, dict):
        raise ConfigError(f"{path}: per-file-ignores maps globs to lists of codes")
    scenes = data.get("scenes") or {}
    if not isinstance(scenes, dict) or any(s not in SCENES for s in scenes.values()):
        raise ConfigError(f"{path}: scenes maps globs to one of {', '.join(SCENES)}")
    fail_on = data.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise ConfigError(f"{path}: fail-on must be one of {', '.join(FAIL_ON)}")
    exclude = codes("exclude")
    return settings.merged(
        ruleset=ruleset,
        select=codes("select"),
        extend_select=codes("extend-select"),
        ignore=codes("ignore"),
        per_file_ignores=tuple((glob, tuple(v)) for glob, v in per_file.items()),
        exclude=(tuple(exclude) if exclude is not None else DEFAULT_EXCLUDE) + (codes("extend-exclude") or ()),
        fail_on=fail_on,
        scenes=tuple(scenes.items()),
        tokenizer=data.get("tokenizer"),
        respect_gitignore=data.get("respect-gitignore"),
        encoding=data.get("encoding"),
        text_column=str(data["text-column"]) if data.get("text-column") is not None else None,
    )
