"""The shipped pre-commit hook and file discovery on a real shop repository (issue #16, item 2):
the hook hands kefu-lint only the kinds of files it reads, and other tools' files (a GitHub
workflow, ``.pre-commit-config.yaml``, dependency pins) and the config's excludes are left
alone without a word. Driven with a real ``pre-commit try-repo`` on a temporary git
repository, and through the installed console script."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")

#: A small shop repository: reply scripts beside everything else a repository holds.
SHOP_FILES = {
    "README.md": "# 小店话术库\n\n不行，这个不算售后\n",
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0"\n\n[tool.kefu-lint]\nextend-exclude = ["drafts/*"]\n',
    ".github/workflows/ci.yml": "name: CI\non: [push]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo 不行\n",
    ".pre-commit-config.yaml": "repos:\n  - repo: local\n    hooks: []\n",
    "requirements.txt": "jieba>=0.42\n",
    "drafts/old.txt": "不知道\n",
    "scripts/presale.yaml": "- id: greet\n  scene: greeting\n  text: 您好，很高兴为您服务\n",
    "scripts/after_sales.txt": "不行，这个不算售后\n",
    "scripts/closing.csv": "编号,话术\n1,感谢您的耐心等待，祝您生活愉快\n",
}
NOT_SCRIPTS = ("README.md", "pyproject.toml", "ci.yml", ".pre-commit-config.yaml", "requirements.txt", "drafts/old.txt")
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "kefu", "GIT_AUTHOR_EMAIL": "kefu@example.com",
                "GIT_COMMITTER_NAME": "kefu", "GIT_COMMITTER_EMAIL": "kefu@example.com"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_IDENTITY})


@pytest.fixture
def shop(tmp_path) -> Path:
    repo = tmp_path / "shop"
    for name, text in SHOP_FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "话术库")
    return repo


def check(repo: Path, *args: str):
    return subprocess.run([KEFU_LINT, "check", *args], cwd=repo, capture_output=True, text=True, timeout=300)


def checked_files(output: str) -> list[str]:
    """The files the text report's summary lists (one line per file checked, in Chinese by
    default: ``scripts/a.txt   1 条回复  得分   0  红``; ``--lang en``: ``1 reply  score``)."""
    summary = re.compile(r"^\s*(\S+)\s+\d+ (?:条回复|replies|reply)\s+(?:得分|score)\s")
    return sorted(match[1] for match in map(summary.match, output.splitlines()) if match)


def test_folders_skip_other_tools_files_and_the_configs_excludes(shop):
    result = check(shop)
    assert result.returncode == 1, result.stdout + result.stderr  # the red reply in after_sales.txt
    assert checked_files(result.stdout) == ["scripts/after_sales.txt", "scripts/closing.csv", "scripts/presale.yaml"]
    assert result.stderr == ""


def test_force_exclude_leaves_named_files_that_are_not_scripts_alone(shop):
    named = [".github/workflows/ci.yml", ".pre-commit-config.yaml", "README.md", "pyproject.toml", "requirements.txt",
             "drafts/old.txt", "scripts/after_sales.txt"]
    result = check(shop, "--force-exclude", *named)
    assert result.returncode == 1 and result.stderr == "", result.stdout + result.stderr
    assert checked_files(result.stdout) == ["scripts/after_sales.txt"]
    assert not any(name in result.stdout for name in NOT_SCRIPTS)
    # without it a file named on the command line is checked as named, as ruff does
    assert checked_files(check(shop, "drafts/old.txt").stdout) == ["drafts/old.txt"]
    # include narrows what is a reply script, for folders and, forced, for named files
    (shop / "pyproject.toml").write_text(SHOP_FILES["pyproject.toml"] + 'include = ["scripts/*.yaml"]\nforce-exclude = true\n',
                                         encoding="utf-8")
    assert checked_files(check(shop).stdout) == ["scripts/presale.yaml"]
    only = check(shop, "scripts/after_sales.txt", "scripts/presale.yaml")
    assert only.returncode == 0 and checked_files(only.stdout) == ["scripts/presale.yaml"], only.stdout + only.stderr


def test_force_exclude_that_leaves_out_every_file_given_says_so(shop):
    """It printed "0 replies, no findings" as if something had been checked. Now it says
    that every file given was excluded (exit 0: a commit that stages only other tools'
    files must pass the hook, as with ruff), in the text summary, and on stderr for the
    other formats, whose output stays valid."""
    named = [".github/workflows/ci.yml", ".pre-commit-config.yaml", "README.md"]
    result = check(shop, "--force-exclude", *named)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("没有检查任何文件：所给的 3 个文件（.github/workflows/ci.yml、.pre-commit-config.yaml、README.md）"
            "都被 include/exclude 设置排除。") in result.stdout
    assert "未发现问题" not in result.stdout and "总评：无" in result.stdout
    english = check(shop, "--force-exclude", "--lang", "en", "-o", "json", "README.md")
    assert english.returncode == 0 and json.loads(english.stdout)["excluded"] == ["README.md"]
    assert english.stderr == "warning: no file checked: the 1 file given is excluded by include/exclude (--force-exclude)\n"
    sarif = check(shop, "--force-exclude", "-o", "sarif", *named)
    assert sarif.returncode == 0 and json.loads(sarif.stdout)["runs"][0]["results"] == []
    assert "warning: 没有检查任何文件：所给的 3 个文件都被 include/exclude 设置排除（--force-exclude）" in sarif.stderr


def pre_commit_try_repo(repo: Path, home: Path, *args: str):
    result = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "kefu-lint", "--verbose", *args],
                            cwd=repo, capture_output=True, text=True, timeout=900,
                            env={**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"})
    # the hook's own output, after the configuration try-repo prints
    hook_output = result.stdout.split("- hook id: kefu-lint", 1)[-1]
    return result, hook_output


# CI installs kefu-lint[test], which holds pre-commit: there a missing pre-commit fails the test.
@pytest.mark.skipif(importlib.util.find_spec("pre_commit") is None and not os.environ.get("CI"),
                    reason="pre-commit is not installed (pip install 'kefu-lint[test]'): the shipped hook cannot be tried")
def test_the_shipped_hook_in_a_real_repository(shop, tmp_path):
    home = tmp_path / "pre-commit-home"
    result, hook = pre_commit_try_repo(shop, home, "--all-files")
    assert result.returncode == 1, result.stdout + result.stderr  # the hook ran and failed on the red reply
    assert "scripts/after_sales.txt:1:1: KF101 [red]" in hook
    assert checked_files(hook) == ["scripts/after_sales.txt", "scripts/closing.csv", "scripts/presale.yaml"], hook
    assert "共发现 2 个问题（红 2），涉及 3 条回复、3 个文件。" in hook
    assert not any(name in hook for name in NOT_SCRIPTS), hook
    assert "error" not in hook.lower() and "unsupported" not in hook
    # a commit that touches only other files: nothing for the hook to check, and it passes
    (shop / "README.md").write_text("# 小店话术库\n\n不知道\n", encoding="utf-8")
    (shop / ".github/workflows/ci.yml").write_text(SHOP_FILES[".github/workflows/ci.yml"] + "      - run: echo 不可以\n",
                                                  encoding="utf-8")
    (shop / "requirements.txt").write_text("jieba>=0.42\npyyaml\n", encoding="utf-8")
    git(shop, "add", "-A")
    staged, hook = pre_commit_try_repo(shop, home)
    assert staged.returncode == 0, staged.stdout + staged.stderr
    # the hook names the files it was handed and left out (--force-exclude), and checks none
    assert "kefu-lint" in staged.stdout and checked_files(hook) == [], staged.stdout
    # once a reply script is staged, the hook checks that one file
    (shop / "scripts/after_sales.txt").write_text("很抱歉，这个暂时无法办理，我帮您联系售后处理\n", encoding="utf-8")
    git(shop, "add", "-A")
    fixed, hook = pre_commit_try_repo(shop, home)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert checked_files(hook) == ["scripts/after_sales.txt"], hook
