"""The package ships py.typed, so its types are part of its API: the package passes mypy (the
configuration in pyproject.toml), and a host program using every public name passes
`mypy --strict` and runs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from conftest import ROOT

import kefu_lint

HOST = ROOT / "tests" / "data" / "typed_host.py"

if not os.environ.get("CI"):
    pytest.importorskip("mypy", reason="needs the test extra (mypy)")


def _mypy(*args: str, cache) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_package_passes_mypy(tmp_path):
    result = _mypy(cache=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Success" in result.stdout


def test_a_host_using_every_public_name_passes_mypy_strict(tmp_path):
    imported = {alias.name for node in ast.walk(ast.parse(HOST.read_text(encoding="utf-8")))
                if isinstance(node, ast.ImportFrom) and node.module == "kefu_lint" for alias in node.names}
    assert set(kefu_lint.__all__) <= imported, f"the host does not use {sorted(set(kefu_lint.__all__) - imported)}"
    result = _mypy("--strict", str(HOST), cache=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    ran = subprocess.run([sys.executable, str(HOST)], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "138****5678" in ran.stdout
