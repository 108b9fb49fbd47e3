"""Reviewers' feedback as a ruleset overlay (``kefu-lint review OUT/ --export overlay.yaml``).

The overlay ``extends`` the ruleset the audit ran with and changes only data, as a shop's
own ruleset would (README: Writing your own ruleset):

- a false positive of a phrase rule (``check: phrases`` or ``negative-opener``) becomes an
  ``extend-exceptions`` entry: the clause around the flagged words, so that the exception
  is as narrow as the reviewed reply (``不知道您说的是哪一款呢`` rather than ``不知道``);
  of the privacy check, an ``extend-allowed_numbers`` entry;
- a missed finding of a phrase rule becomes an ``extend-phrases`` entry (a curt reply an
  ``extend-words`` one);
- every reviewed reply becomes an example of its rule (a false positive a good one, a miss
  a bad one with its mark) beside the rule's own, so ``kefu-lint test overlay.yaml`` holds
  the overlay to the reviewers' verdicts;
- false positives of rules judged by intent are written, commented out, as negative
  examples of those intents: adopting them means retraining (``kefu-lint train``);
- what data cannot express (a condition rule's false positive: a slow reply that was not
  slow) is listed for a person to decide.

The command prints what the overlay changes, a diff against the file it replaces, and each
reviewed reply linted before and after: the change re-auditing with the overlay will show.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import defaultdict
from pathlib import Path

import yaml

from .data import ReviewError, ReviewStore

#: Where a clause ends (the engine's sentence marks, and the comma family).
CLAUSE_BREAK = re.compile(r"[，,。.!！?？;；~～\n、…]")
PHRASE_CHECKS = ("phrases", "negative-opener")


def clause_around(text: str, start: int, end: int) -> str:
    """The clause of ``text`` holding ``text[start:end]``, and the next one too when the
    flagged words are the whole clause: an exception must be narrower than the phrase it
    excuses (「不行」 alone as an exception would excuse every 不行)."""
    left = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    following = CLAUSE_BREAK.search(text, end)
    right = following.start() if following else len(text)
    if text[left:right].strip() == text[start:end].strip():
        if following:
            further = CLAUSE_BREAK.search(text, following.end())
            right = further.start() if further else len(text)
        elif left:
            left = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, left - 1)), default=0)
    clause = text[left:right].strip()
    return clause or text[start:end]


def _example(example) -> dict | str:
    """A parsed ruleset example written back as the YAML a ruleset holds."""
    if not example.bad:
        return example.text if example.scene is None else {"text": example.text, "scene": example.scene}
    item: dict = {}
    if example.conversation is not None:
        item["conversation"] = [f"{role}{'' if seconds is None else f' {seconds:g}'}: {text}" for role, seconds, text in example.conversation]
    else:
        item["text"] = example.text
    item["marks"] = list(example.marks)
    if example.scene:
        item["scene"] = example.scene
    return item


def build_overlay(feedback: dict, ruleset_name: str, extends: str, failing: frozenset = frozenset()
                  ) -> tuple[dict, list[str], list[str]]:
    """The overlay (a ruleset mapping), the lines saying what it changes, and the commented
    intent examples; ``feedback`` is ``ReviewStore.reviewed_feedback()``; ``failing``: the
    (code, text) of reviewed replies the overlay does not judge as reviewed, kept out of
    its examples (they are listed for a person instead)."""
    from ..rulesets import load_ruleset

    loaded = load_ruleset(ruleset_name)
    rules = {rule.code: rule for rule in loaded.rules}
    changes: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    good: dict[str, list] = defaultdict(list)
    bad: dict[str, list] = defaultdict(list)
    notes: list[str] = []
    intent_negatives: dict[str, list[str]] = defaultdict(list)
    for fp in feedback["false_positives"]:
        rule = rules.get(fp["code"])
        if rule is None:
            notes.append(f"{fp['code']}：规则已不在 {ruleset_name} 中，误报「{fp['flagged']}」未导出")
            continue
        check = rule.config.check
        if (rule.code, fp["text"]) in failing:
            notes.append(f"{rule.code}「{fp['text'][:40]}」：加了例外仍被标出（可能由意图模型判定），未写入样例")
        if check in PHRASE_CHECKS and clause_around(fp["text"], fp["start"], fp["end"]) == fp["flagged"].strip():
            notes.append(f"{rule.code}「{fp['text'][:40]}」：整条回复就是问题词，写成例外会让这个词再也不被标出，未导出")
        elif check in PHRASE_CHECKS:
            changes[rule.code]["extend-exceptions"].append(clause_around(fp["text"], fp["start"], fp["end"]))
            if (rule.code, fp["text"]) not in failing:
                good[rule.code].append(fp["text"])
            for intent in rule.config.options.get("intents") or ():
                intent_negatives[intent].append(fp["text"])
        elif check == "privacy":
            changes[rule.code]["extend-allowed_numbers"].append(fp["flagged"])
            good[rule.code].append(fp["text"])
        else:
            notes.append(f"{rule.code} {rule.name}（{check}）误报「{fp['flagged'] or fp['text'][:20]}」：{fp.get('reason') or ''}"
                         "——条件类规则无法用例外表达，请人工判断是否调整（如 max_seconds）")
    for miss in feedback["missed"]:
        rule = rules.get(miss["code"])
        if rule is None:
            continue
        check = rule.config.check
        whole = miss["start"] == 0 and miss["end"] == len(miss["text"])
        if (rule.code, miss["text"]) in failing:
            notes.append(f"{rule.code}「{miss['flagged'][:30]}」：加入词条后仍未在「{miss['text'][:40]}」中标出（词条须与分词边界对齐），未写入样例")
        if check in PHRASE_CHECKS and not whole:
            changes[rule.code]["extend-phrases"].append(miss["flagged"])
            if (rule.code, miss["text"]) not in failing:
                bad[rule.code].append({"text": miss["text"], "mark": miss["flagged"]})
        elif check == "curt-reply":
            changes[rule.code]["extend-words"].append(miss["flagged"])
            if (rule.code, miss["text"]) not in failing:
                bad[rule.code].append({"text": miss["text"], "mark": miss["flagged"]})
        else:
            notes.append(f"{rule.code} {rule.name}（{check}）漏检「{miss['flagged'][:30]}」：{miss['note'] or ''}——请人工判断如何补进规则")
    overlay_rules: dict[str, dict] = {}
    summary: list[str] = []
    for code in sorted(set(changes) | set(good) | set(bad)):
        entry: dict = {}
        for key, values in changes[code].items():
            unique = list(dict.fromkeys(values))
            entry[key] = unique
            summary.append(f"{code} {rules[code].name}: {key} +{len(unique)}（{'、'.join(unique[:5])}{' …' if len(unique) > 5 else ''}）")
        reviewed_good = {text for text in good[code]}
        contradicted = [e for e in rules[code].config.examples if e.bad and e.text in reviewed_good]
        for example in contradicted:  # the reviewers overrule the shipped example
            notes.append(f"{code} 自带的问题样例「{example.text}」被复核为误报，已从本覆盖规则集的样例中去掉：采用前请确认")
        own_bad = [_example(e) for e in rules[code].config.examples if e.bad and e not in contradicted]
        own_good = [_example(e) for e in rules[code].config.examples if not e.bad]
        entry["examples"] = {"bad": own_bad + _unique(bad[code]), "good": own_good + _unique(good[code])}
        if good[code] or bad[code]:
            summary.append(f"{code} {rules[code].name}: 复核样例 +{len(_unique(good[code]))} 条正确回复、+{len(_unique(bad[code]))} 条问题回复")
        overlay_rules[code] = entry
    overlay = {"name": f"{loaded.name}-reviewed", "extends": extends,
               "description": "复核反馈生成的覆盖规则集（kefu-lint review --export）：误报转为例外，漏检转为词条，复核样例转为规则样例。",
               "rules": overlay_rules}
    commented = []
    if intent_negatives:
        commented.append("# 意图层的反例（误报的回复），采用前需重新训练：取消注释后运行 `kefu-lint train 本文件`（需要 kefu-lint[train]）")
        commented.append("# Intent hard negatives from false positives: uncomment, then retrain with `kefu-lint train THIS_FILE`.")
        commented.append("# intents:")
        for intent, texts in sorted(intent_negatives.items()):
            commented.append(f"#   {intent}:")
            commented.append(f"#     extend-examples: {{negative: {yaml.safe_dump(_unique(texts), allow_unicode=True, default_flow_style=True).strip()}}}")
    return overlay, summary + [f"需人工处理：{note}" for note in notes], commented


def _unique(items: list) -> list:
    seen, out = set(), []
    for item in items:
        key = repr(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _before_after(feedback: dict, ruleset: str, overlay: Path) -> list[tuple[str, str, str, str, bool | None]]:
    """Each reviewed reply linted with the ruleset and with the overlay: (kind, code, text,
    what changed, whether the overlay now judges it as reviewed; None for a conversation
    rule, which only a re-audit shows)."""
    from ..engine import Linter

    before, after = Linter(ruleset), Linter(str(overlay))
    levels = {rule.code: rule.level for rule in before.rules}
    outcomes: list[tuple[str, str, str, str, bool | None]] = []
    for kind, items in (("误报", feedback["false_positives"]), ("漏检", feedback["missed"])):
        for item in items:
            code, text = item["code"], item["text"]
            if levels.get(code) != "reply":
                outcomes.append((kind, code, text, "对话级规则：重新质检后见", None))
                continue
            was = code in {v.code for v in before.lint(text)}
            now = code in {v.code for v in after.lint(text)}
            if kind == "误报":
                outcomes.append((kind, code, text, "已消除" if not now else "仍被标出", not now))
            else:
                outcomes.append((kind, code, text, "原本已发现" if was else "现在能发现" if now else "仍未发现", now))
    return outcomes


def export_overlay(database: Path, path: Path) -> str:
    """Write the overlay to ``path``; returns what to print: the changes, the diff against
    the file it replaces, and the reviewed replies linted before and after."""
    store = ReviewStore(database)
    try:
        store.prepare()
        run = store.latest_run()
        if run is None:
            raise ReviewError(f"{database}: the audit database holds no run")
        feedback = store.reviewed_feedback()
    finally:
        store.close()
    if not feedback["false_positives"] and not feedback["missed"]:
        raise ReviewError("还没有可导出的复核结论（误报或补录的漏检）：no false positives or missed findings reviewed yet")
    ruleset = run["ruleset"]
    extends = ruleset if ruleset in ("default", "platform") or not Path(ruleset).exists() else \
        os.path.relpath(Path(ruleset).resolve(), path.resolve().parent)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    header = ["# 由 kefu-lint review --export 生成：先阅读，再采用（--ruleset 本文件 重新质检即可看到变化）。",
              f"# Generated from the reviews of run {run['run_id']}; read it before adopting it."]
    # Written once, tried on every reviewed reply, and written again without the examples it
    # does not hold to: the file's own examples pass `kefu-lint test`.
    failing: frozenset = frozenset()
    for _ in range(2):
        overlay, summary, commented = build_overlay(feedback, ruleset, extends, failing)
        text = "\n".join(header) + "\n" + yaml.safe_dump(overlay, allow_unicode=True, sort_keys=False, width=120)
        if commented:
            text += "\n" + "\n".join(commented) + "\n"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise ReviewError(f"--export {path}: cannot write: {error.strerror or error}") from None
        outcomes = _before_after(feedback, ruleset, path)
        failing = frozenset((code, text_) for kind, code, text_, _, holds in outcomes if holds is False)
        if not failing:
            break
    lines = [f"wrote {path}（extends: {extends}）", "", "改动 / changes:"]
    lines += [f"  {line}" for line in summary] or ["  （无）"]
    if old:
        diff = list(difflib.unified_diff(old.splitlines(), text.splitlines(), f"{path} (before)", f"{path} (now)", lineterm=""))
        lines += ["", "与原文件的差异 / diff against the file it replaced:", *(diff or ["  （相同）"])]
    lines += ["", "复核的回复，用原规则集与新规则集分别检查 / the reviewed replies, before → after:"]
    lines += [f"  {kind} {code}「{text_[:40]}」：{verdict}" for kind, code, text_, verdict, _ in outcomes]
    lines += ["", f"采用：kefu-lint test {path}；kefu-lint audit LOG --ruleset {path} --out OUT（复核记录保留）"]
    return "\n".join(lines)
