"""Errors a user can cause. The CLI catches :class:`KefuLintError` once and prints its message."""

from __future__ import annotations


class KefuLintError(Exception):
    """Base class: the message says what is wrong and how to fix it."""


class ConfigError(KefuLintError):
    """Bad configuration or arguments (exit code 2 in the CLI)."""


class RulesetError(ConfigError):
    """A ruleset file is invalid; the message names the file, line and key."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None, key: str | None = None):
        self.source, self.line, self.key = source, line, key
        where = source or "<ruleset>"
        if line is not None:
            where += f":{line}"
        keypart = f" [{key}]" if key else ""
        super().__init__(f"{where}:{keypart} {message}")


class InputError(KefuLintError):
    """An input file cannot be read; the message names the file (and line or byte offset).
    ``line``: where the reader stopped, when it knows (a YAML syntax error), so the finding
    that reports the file sits on that line in every output format."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class PatternTimeoutWarning(UserWarning):
    """A ruleset regex hit its time limit on one reply; the rest of the run goes on."""

    #: Which rule and pattern timed out (set where it is raised), for callers that collapse
    #: the warnings of many replies into one.
    rule: str | None = None
    pattern: str | None = None
