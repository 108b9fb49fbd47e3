"""Nothing skipped in silence (issue #16, item 1): `kefu-lint check` as a CI gate.

Every entry, row, line or file that cannot be read is a KF000 finding in every output
format, the run exits 2 unless the user opts out (``--allow-unreadable``), and the summary
never says "All checked" nor gives a grade when something was not checked. Real files,
the installed console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu_lint.formats.scripts import read_script_file

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
FUZZ = settings(max_examples=max(150, settings.default.max_examples))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([KEFU_LINT, *args], capture_output=True, text=True, timeout=180, cwd=cwd)


def codes_at(result: subprocess.CompletedProcess) -> list[tuple[str, int]]:
    return [(f["code"], f["line"]) for f in json.loads(result.stdout)["findings"]]


# ----------------------------------------------------------------------------- grouped YAML

GROUPED = textwrap.dedent("""\
    售前:
      - 亲，这款有货的
      - text: 不行哦
    售后:
      - 不行哦，这个不算售后
    结束语:
      - 好的，已经给您处理好了
    常用:
      - 好的，已经给您处理好了
      - {text: 好的，已经给您处理好了, scene: closing}
""")


def test_a_grouped_library_is_read_and_its_categories_are_scene_hints(tmp_path):
    (tmp_path / "lib.yaml").write_text(GROUPED, encoding="utf-8")
    result = run("check", "-o", "json", "lib.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["files"][0]["replies"] == 6 and document["complete"] is True
    found = codes_at(result)
    assert ("KF101", 3) in found and ("KF101", 5) in found and ("KF102", 5) in found
    # 结束语 names the closing scene, so the closing requirement (KF301) is asked of its reply;
    # 常用 names no scene, so the same reply there is not judged for a close, unless the
    # entry names the scene itself.
    assert [line for code, line in found if code == "KF301"] == [7, 10]


def test_the_category_to_scene_mapping_is_configurable(tmp_path):
    (tmp_path / "kefu-lint.toml").write_text('group-scenes = {"收尾" = "closing"}\n', encoding="utf-8")
    (tmp_path / "lib.yaml").write_text("收尾:\n  - 好的，已经给您处理好了\n结束语:\n  - 好的，已经给您处理好了\n", encoding="utf-8")
    found = codes_at(run("check", "-o", "json", "lib.yaml", cwd=tmp_path))
    assert found == [("KF301", 2), ("KF301", 4)]  # the shipped mapping stays, the shop's adds to it
    (tmp_path / "kefu-lint.toml").write_text('group-scenes = {"收尾" = "closng"}\n', encoding="utf-8")
    result = run("check", "lib.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "kefu-lint.toml: group-scenes.'收尾' must be one of" in result.stderr


# ----------------------------------------------------------------------------- every format

BAD_SCENE = "- text: 不行哦\n  scene: greting\n- text: 您好\n"


@pytest.mark.parametrize("output_format", ["text", "concise", "json", "sarif", "github", "junit"])
def test_an_unknown_scene_is_a_reported_error_in_every_format_and_the_reply_is_still_checked(tmp_path, output_format):
    (tmp_path / "s.yaml").write_text(BAD_SCENE, encoding="utf-8")
    result = run("check", "-o", output_format, "s.yaml", cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 2, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "All checked" not in out and "总评：绿" not in out and "，未发现问题。" not in out
    if output_format in ("text", "concise"):
        assert "s.yaml:1:1: KF101 [red]" in out or "s.yaml:1:9: KF101 [red]" in out
        assert "s.yaml:2:1: KF000 [red]" in out and "未知场景「greting」" in out
        assert "总评：无（未全部检查" in out and "未全部检查" in out
    elif output_format == "json":
        document = json.loads(out)
        assert ("KF000", 2) in codes_at(result) and any(code == "KF101" for code, _ in codes_at(result))
        assert document["grade"] is None and document["complete"] is False and document["unreadable"] == 1
    elif output_format == "sarif":
        run_ = json.loads(out)["runs"][0]
        results = [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"], r["level"]) for r in run_["results"]]
        assert ("KF000", 2, "error") in results and any(r[0] == "KF101" for r in results)
        rules = run_["tool"]["driver"]["rules"]
        kf000 = next(r for r in run_["results"] if r["ruleId"] == "KF000")
        assert rules[kf000["ruleIndex"]]["id"] == "KF000"
    elif output_format == "github":
        assert "::error file=s.yaml,line=2,col=1,endLine=2,endColumn=1,title=KF000 unreadable-input::" in out
        assert "title=KF101 negative-opener" in out
    else:
        cases = [case.get("name") for case in ElementTree.fromstring(out).iter("testcase")]
        assert "KF000 unreadable-input at s.yaml:2:1" in cases and any(c.startswith("KF101") for c in cases)


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github", "junit"])
def test_a_file_that_cannot_be_read_is_in_every_format_and_there_is_no_grade(tmp_path, output_format):
    (tmp_path / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("您好\n", encoding="utf-8")
    result = run("check", "-o", output_format, ".", cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 2 and "Traceback" not in out + result.stderr
    assert "broken.yaml" in out and "invalid YAML" in out
    assert "All checked" not in out and "总评：绿" not in out and "，未发现问题。" not in out
    if output_format == "json":
        assert json.loads(out)["grade"] is None and ("KF000", 2) in codes_at(result)  # where the parser stopped
    if output_format == "junit":
        suites = ElementTree.fromstring(out)
        assert suites.get("errors") == "1"
        assert next(s for s in suites if s.get("name") == "broken.yaml").find("testcase/error") is not None


def test_every_broken_record_kind_is_a_kf000_with_its_line(tmp_path):
    (tmp_path / "lib.yaml").write_text("- 您好\n- {id: x}\n- [a, b]\n- {text: 不行, colour: red}\n", encoding="utf-8")
    (tmp_path / "q.csv").write_text("分组,快捷编码,内容\n售前,a,您好\n售前,b\n售后,c,不行,多余\n", encoding="utf-8")
    (tmp_path / "d.txt").write_text("# kefu-lint: disable-next-line\n您好\n", encoding="utf-8")
    result = run("check", "-o", "json", ".", cwd=tmp_path)
    unreadable = sorted((f["path"], f["line"]) for f in json.loads(result.stdout)["findings"] if f["code"] == "KF000")
    assert unreadable == [("lib.yaml", 2), ("lib.yaml", 3), ("lib.yaml", 4), ("q.csv", 3), ("q.csv", 4)]
    # a directive without codes is read: it is a broken suppression (KF003), not unread input
    assert [(f["path"], f["line"]) for f in json.loads(result.stdout)["findings"] if f["code"] == "KF003"] == [("d.txt", 1)]
    assert result.returncode == 2


def test_allow_unreadable_still_reports_but_does_not_fail_the_run(tmp_path):
    (tmp_path / "s.yaml").write_text(BAD_SCENE, encoding="utf-8")
    (tmp_path / "clean.yaml").write_text("- text: 您好\n  scene: greting\n", encoding="utf-8")
    result = run("check", "--allow-unreadable", "s.yaml", cwd=tmp_path)
    assert result.returncode == 1  # the red reply still fails it
    assert "KF000" in result.stdout and "总评：无（未全部检查" in result.stdout
    (tmp_path / "kefu-lint.toml").write_text("allow-unreadable = true\n", encoding="utf-8")
    result = run("check", "clean.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "clean.yaml:2:1: KF000" in result.stdout and "All checked" not in result.stdout


@pytest.mark.parametrize("lang, said, not_said", [
    ("zh", ["未全部检查：1 个文件中有 1 处输入无法读取（KF000）", "总评：无（未全部检查"], ["Not all checked", "Overall grade"]),
    ("en", ["Not all checked: 1 unreadable input in 1 file", "Overall grade: none (not everything was checked)"], ["未全部检查", "未评级", "总评"]),
])
def test_the_unreadable_summary_speaks_the_chosen_language(tmp_path, lang, said, not_said):
    (tmp_path / "s.yaml").write_text(BAD_SCENE, encoding="utf-8")
    out = run("check", "--lang", lang, "s.yaml", cwd=tmp_path).stdout
    summary = out[out.rindex("s.yaml "):]  # the per-file line and what follows: the summary, not the findings' messages
    assert all(text in summary for text in said), summary
    assert not any(text in summary for text in not_said), summary


def test_a_baseline_never_hides_unreadable_input(tmp_path):
    (tmp_path / "s.yaml").write_text(BAD_SCENE, encoding="utf-8")
    first = run("check", "--baseline", "b.json", "s.yaml", cwd=tmp_path)
    assert first.returncode == 2
    recorded = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["entries"]
    assert [entry["code"] for entry in recorded] == ["KF101"]  # not KF000
    again = run("check", "--baseline", "b.json", "-o", "json", "s.yaml", cwd=tmp_path)
    assert again.returncode == 2 and codes_at(again) == [("KF000", 2)]


# ----------------------------------------------------------------------------- the invariant

ENTRY = st.one_of(
    st.sampled_from(["不行哦", "您好", "好的"]).map(lambda text: ("good", f"- {text}")),
    st.sampled_from(["greting", "售前", "closing "]).map(lambda scene: ("bad-scene", f"- {{text: 不行, scene: '{scene}'}}")),
    st.just(("skipped", "- {id: x}")),
    st.just(("skipped", "- [a, b]")),
    st.just(("skipped", "- {text: 您好, colour: red}")),
    st.just(("good", "- {text: 您好, scene: closing}")),
)


@FUZZ
@given(st.lists(st.lists(ENTRY, max_size=5), min_size=1, max_size=4), st.booleans())
def test_every_entry_is_a_reply_or_a_skipped_problem(groups, grouped):
    """Records = replies + skipped entries, in a flat or grouped library; an entry with a bad
    scene is both checked and reported."""
    if grouped:
        text = "".join(f"组{i}:\n" + "".join(f"  {line}\n" for _, line in entries) for i, entries in enumerate(groups) if entries)
    else:
        text = "".join(f"{line}\n" for entries in groups for _, line in entries)
    kinds = [kind for entries in groups for kind, _ in entries]
    script = read_script_file("lib.yaml", data=text.encode("utf-8"))
    assert script.records == len(kinds)
    assert len(script.messages) == kinds.count("good") + kinds.count("bad-scene")
    assert sum(p.skipped for p in script.problems) == kinds.count("skipped")
    assert sum(not p.skipped for p in script.problems) == kinds.count("bad-scene")
    assert all(p.line for p in script.problems)


def test_kf000_cannot_be_ignored_and_explain_knows_it(tmp_path):
    (tmp_path / "s.yaml").write_text(BAD_SCENE, encoding="utf-8")
    for selector in ("KF000", "unreadable-input"):
        result = run("check", "--ignore", selector, "s.yaml", cwd=tmp_path)
        assert result.returncode == 2 and "KF000 unreadable-input cannot be ignored" in result.stderr
    explained = run("explain", "KF000", cwd=tmp_path)
    assert explained.returncode == 0 and explained.stdout.startswith("# KF000 unreadable-input（红色警示区")
