"""Where kefu-lint keeps what it builds once and reuses across runs (never required)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$KEFU_LINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/kefu-lint``, else ``~/.cache/kefu-lint``."""
    explicit = os.environ.get("KEFU_LINT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "kefu-lint"


def read_cached(name: str) -> str | None:
    """The cached text called ``name``, or None when it is missing or unreadable."""
    try:
        return (cache_dir() / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_cached(name: str, text: str) -> None:
    """Store ``text`` atomically; see :func:`write_cached_bytes`."""
    write_cached_bytes(name, text.encode("utf-8"))


def read_cached_bytes(name: str) -> bytes | None:
    try:
        return (cache_dir() / name).read_bytes()
    except OSError:
        return None


def write_cached_bytes(name: str, data: bytes) -> None:
    """Store ``data`` atomically (a reader never sees half a file); failures are ignored,
    because a cache that cannot be written only costs time."""
    import tempfile  # only when something is written: once per machine, not every start

    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=directory, delete=False, suffix=".tmp") as handle:
            handle.write(data)
        os.replace(handle.name, directory / name)
    except OSError:
        pass
