"""`check --baseline`: a file a team can review, matched so that small edits do not bring
accepted findings back, reporting the entries that no longer match; the old hash format is
migrated by --update-baseline and refused otherwise. Through the installed console script."""

from __future__ import annotations

import hashlib
import json

from test_cli import run

LIBRARY = """\
- id: refuse
  text: 不行,这个不算售后
- id: hello
  text: 你好,请问有什么可以帮你
- id: done
  scene: closing
  text: 好的,已经给您处理好了
"""


def _record(tmp_path, text=LIBRARY):
    library = tmp_path / "话术.yaml"
    library.write_text(text, encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    first = run("check", "--baseline", baseline, library, cwd=tmp_path)
    assert first.returncode == 0, first.out + first.err
    return library, baseline


def test_the_baseline_is_a_list_a_person_can_review(tmp_path):
    _, baseline = _record(tmp_path)
    document = json.loads(baseline.read_text(encoding="utf-8"))
    assert document["kefu-lint-baseline"] == 2
    entries = document["entries"]
    assert sorted((e["code"], e["flagged"]) for e in entries) == [
        ("KF101", "不行"), ("KF102", "这个不算售后"), ("KF202", "你"), ("KF202", "你好"), ("KF301", "好的,已经给您处理好了"),
    ]
    for entry in entries:
        assert set(entry) == {"path", "code", "name", "flagged", "excerpt", "fingerprint"}
        assert entry["path"] == "话术.yaml" and entry["flagged"] in entry["excerpt"]
        assert len(entry["fingerprint"]) == 16
    assert "不行,这个不算售后" in baseline.read_text(encoding="utf-8")  # readable Chinese, not \\u escapes


def test_edits_elsewhere_in_the_reply_and_moves_do_not_resurface_findings(tmp_path):
    library, baseline = _record(tmp_path)
    edited = (
        "# 新增的注释把每条回复往下挪了一行\n"
        + LIBRARY.replace("text: 不行,这个不算售后", "text: 亲，不行,这个不算售后")
        .replace("text: 你好,请问有什么可以帮你", "text: 你好,请问今天有什么可以帮你")
        .replace("text: 好的,已经给您处理好了", "text: 亲，好的,已经给您处理好了")
    )
    library.write_text(edited, encoding="utf-8")
    result = run("check", "-o", "json", "--baseline", baseline, library, cwd=tmp_path)
    document = json.loads(result.out)
    assert result.returncode == 0, result.out
    assert document["findings"] == [] and document["baselined"] == 5 and document["stale_baseline"] == []
    # the hidden findings cost nothing: every reply scores as a clean one would
    assert (document["files"][0]["score"], document["grade"]) == (100, "green")


def test_a_whole_reply_finding_survives_an_edit_inside_the_reply(tmp_path):
    """A finding about the whole reply (no thanks in a closing reply) flags all its words:
    any edit inside the reply changed them, and the accepted finding came back. Now it is
    matched on the reply (its id) and the rule, not on its words."""
    library, baseline = _record(tmp_path)
    edited = LIBRARY.replace("text: 好的,已经给您处理好了", "text: 好的，已经帮您把地址改好了")
    library.write_text(edited, encoding="utf-8")
    document = json.loads(run("check", "-o", "json", "--baseline", baseline, library, cwd=tmp_path).out)
    assert document["findings"] == [] and document["baselined"] == 5 and document["stale_baseline"] == []
    # the edit that answers the finding makes the entry stale, as any other fixed finding
    library.write_text(LIBRARY.replace("text: 好的,已经给您处理好了", "text: 好的，已经给您处理好了，感谢您的信任，祝您购物愉快！"),
                       encoding="utf-8")
    document = json.loads(run("check", "-o", "json", "--baseline", baseline, library, cwd=tmp_path).out)
    assert [e["code"] for e in document["stale_baseline"]] == ["KF301"]
    # a second reply with the same whole-reply finding is new, and shows
    library.write_text(edited + "- id: done2\n  scene: closing\n  text: 好的，马上给您发货\n", encoding="utf-8")
    document = json.loads(run("check", "-o", "json", "--baseline", baseline, library, cwd=tmp_path).out)
    assert [(f["code"], f["line"]) for f in document["findings"]] == [("KF301", 10)]


def test_a_new_finding_still_shows_even_with_the_same_words(tmp_path):
    library, baseline = _record(tmp_path)
    library.write_text(LIBRARY + "- id: again\n  text: 不行,这个不算售后\n", encoding="utf-8")
    result = run("check", "-o", "json", "--baseline", baseline, library, cwd=tmp_path)
    assert result.returncode == 1
    assert sorted(f["code"] for f in json.loads(result.out)["findings"]) == ["KF101", "KF102"]


def test_entries_that_no_longer_match_are_reported_so_the_file_can_shrink(tmp_path):
    library, baseline = _record(tmp_path)
    library.write_text(LIBRARY.replace("不行,这个不算售后", "很抱歉，这个情况我帮您联系售后处理"), encoding="utf-8")
    result = run("check", "--baseline", baseline, library, cwd=tmp_path)
    assert result.returncode == 0
    assert "基线中有 2 条记录已不再匹配任何问题，可运行 --update-baseline 缩减基线：" in result.out
    assert "  话术.yaml  KF101  「不行」" in result.out
    stale = json.loads(run("check", "-o", "json", "--baseline", baseline, library, cwd=tmp_path).out)["stale_baseline"]
    assert sorted(e["code"] for e in stale) == ["KF101", "KF102"]
    run("check", "--baseline", baseline, "--update-baseline", library, cwd=tmp_path)
    assert len(json.loads(baseline.read_text(encoding="utf-8"))["entries"]) == 3


def _old_hash(path, code, reply, flagged):
    return hashlib.sha256("\x1f".join((path, code, reply, flagged)).encode("utf-8")).hexdigest()[:24]


def test_an_old_hash_baseline_is_refused_with_a_hint_and_migrated_by_update(tmp_path):
    library = tmp_path / "s.txt"
    library.write_text("不行\n你好\n", encoding="utf-8")
    baseline = tmp_path / "old.json"
    # what version 1 wrote for this file: only 不行 was accepted then; 你好 came later
    old = {"kefu-lint-baseline": 1, "findings": {_old_hash("s.txt", "KF101", "不行", "不行"): 1}}
    baseline.write_text(json.dumps(old), encoding="utf-8")
    refused = run("check", "--baseline", baseline, library, cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.err
    assert "旧格式（版本 1）的基线" in refused.err and "--update-baseline" in refused.err
    migrated = run("check", "--baseline", baseline, "--update-baseline", library, cwd=tmp_path)
    assert "已迁移为新格式，共 1 条" in migrated.out
    entries = json.loads(baseline.read_text(encoding="utf-8"))["entries"]
    assert [(e["code"], e["flagged"]) for e in entries] == [("KF101", "不行")]
    after = json.loads(run("check", "-o", "json", "--baseline", baseline, library, cwd=tmp_path).out)
    assert [f["code"] for f in after["findings"]] == ["KF202"]  # the finding the old file never accepted


def test_a_file_that_is_no_baseline_is_an_error_not_overwritten(tmp_path):
    library = tmp_path / "s.txt"
    library.write_text("你好\n", encoding="utf-8")
    for content in ("not json", '{"kefu-lint-baseline": 2, "entries": [{"code": "KF202"}]}', "[1, 2]"):
        baseline = tmp_path / "b.json"
        baseline.write_text(content, encoding="utf-8")
        for extra in ((), ("--update-baseline",)):
            result = run("check", "--baseline", baseline, *extra, library, cwd=tmp_path)
            assert result.returncode == 2 and "Traceback" not in result.err, result.err
            assert "基线" in result.err
            assert baseline.read_text(encoding="utf-8") == content
