"""Rule documentation, generated from the declarations: ``kefu-lint explain``, the rule
tables of ``kefu-lint rules --format markdown``, and the README's generated sections.

A rule's text lives once, in its ruleset entry (``doc: {zh, en}``, ``message``,
``source``, ``examples``); a check's options live once, on its class (``Option``). Every
page here is assembled from those, so the README cannot drift from the code: the test
suite regenerates the README's marked blocks and compares (``python -m
kefu_lint.formats.rule_docs README.md`` rewrites them).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..model import SCENE_NAMES_ZH, ZONE_NAMES_ZH
from ..rules import CHECKS, ConditionRule, Rule

LANGUAGES = ("zh", "en")

_WORDS: dict[str, dict[str, Any]] = {  # words, a zone namer and role names per language
    "zh": {
        "zone": lambda zone: ZONE_NAMES_ZH[zone],
        "weight": "扣 {} 分",
        "scenes": "场景：{}",
        "all scenes": "全部",
        "conversations": "对话（audit）",
        "intents": "## 判断依据的意图",
        "flags": "判为违规",
        "excuses": "出现时免于判罚",
        "threshold": "阈值",
        "intent hint": "  `kefu-lint explain 意图名` 查看意图的例句和留出数据上的准确率。",
        "same name": "  同名的意图：`kefu-lint explain intent:{}`。",
        "condition": "## 判断条件",
        "options": "## 选项",
        "default": "默认",
        "items": "{} 条",
        "source": "## 依据",
        "examples": "## 规则集中的例子",
        "marks": "标出",
        "sep": "，",
        "colon": "：",
        "open": "（",
        "close": "）",
        "list": "、",
        "roles": {"agent": "客服消息", "customer": "顾客消息"},
        "no zone": "不设区（由规则要求出现的行为）",
        "intent heading": "# 意图 {name}（{label}；{role}；{zone}）",
        "intent threshold": "阈值：{:.3f}（模型概率达到它即判定；规则集未设定时，在留出数据上按精确率选出）",
        "held-out": "留出数据：精确率 {precision}，召回率 {recall}（训练例句中正例 {positives} 条、反例 {negatives} 条，5 折交叉验证）",
        "excused": "同一回复中同时做了这些行为时免于判罚：{}",
        "anchors": "锚点（出现即算）：{}",
        "positives": "## 例句（做了这件事）",
        "negatives": "## 难反例（字面相似，但没有做这件事）",
    },
    "en": {
        "zone": lambda zone: f"{zone} zone",
        "weight": "weight {}",
        "scenes": "scenes: {}",
        "all scenes": "all",
        "conversations": "conversations (audit)",
        "intents": "## Intents it judges by",
        "flags": "flags",
        "excuses": "excuses a hit",
        "threshold": "threshold",
        "intent hint": "  `kefu-lint explain INTENT` shows an intent's examples and held-out figures.",
        "same name": "  The intent of the same name: `kefu-lint explain intent:{}`.",
        "condition": "## Condition",
        "options": "## Options",
        "default": "default",
        "items": "{} items",
        "source": "## Source",
        "examples": "## Examples from the ruleset",
        "marks": "marks",
        "sep": ", ",
        "colon": ": ",
        "open": " (",
        "close": ")",
        "list": ", ",
        "roles": {"agent": "agent messages", "customer": "customer messages"},
        "no zone": "zone: none (an act rules require)",
        "intent heading": "# intent {name} ({role}, {zone})",
        "intent threshold": "threshold: {:.3f} (probability at which it fires; chosen on held-out data unless the ruleset sets one)",
        "held-out": "held-out: precision {precision}, recall {recall} on {positives} positive and {negatives} negative training examples (5-fold)",
        "excused": "excused when the reply also performs: {}",
        "anchors": "anchors (always count): {}",
        "positives": "## Examples (positive: performs the act)",
        "negatives": "## Hard negatives (look alike, do not perform it)",
    },
}


def explain_rule(loaded, rule: Rule, language: str = "zh") -> str:
    """A rule's page: heading, documentation, what it judges by, options, source, examples."""
    words = _WORDS[language]
    sep = words["sep"]
    scenes = applies_in(rule, language)
    heading = sep.join((words["zone"](rule.zone), words["weight"].format(rule.weight), words["scenes"].format(scenes)))
    lines = [f"# {rule.code} {rule.name}{words['open']}{heading}{words['close']}", "", rule.doc(language)]

    options = rule.config.options
    banned = tuple(options.get("intents", ()))
    excusing = tuple(options.get("excused_by_intents", ()))
    if banned or excusing:
        lines += ["", words["intents"]]
        for name in banned + excusing:
            intent = loaded.intents.definitions[name]
            role = words["excuses"] if name in excusing else words["flags"]
            label = f"{intent.label}{sep}" if language == "zh" and intent.label else ""
            lines.append(
                f"  {name}{words['open']}{label}{role}{words['close']}{words['colon']}{intent.description}"
                f"  {words['threshold']} {loaded.intents.threshold(name):.2f}"
            )
        lines.append(words["intent hint"])
    if rule.name in loaded.intents.definitions:
        lines.append(words["same name"].format(rule.name))
    if isinstance(rule, ConditionRule):
        labels = {name: intent.label for name, intent in loaded.intents.definitions.items()}
        lines += ["", words["condition"]]
        lines += [f"  {line}" for line in rule.describe(labels)]
    else:
        shown = [(key, value, option) for key, option in type(rule).options.items() if (value := options.get(key)) not in (None, (), {})]
        if shown:
            lines += ["", words["options"]]
            for key, value, option in shown:
                default = f"{words['open']}{words['default']}{words['close']}" if value == option.default else ""
                lines.append(f"  {key}{words['colon']}{_value(value, language)}{default}")
    if rule.config.source:
        lines += ["", words["source"], rule.config.source]
    bad = [e for e in rule.config.examples if e.bad]
    good = [e for e in rule.config.examples if not e.bad]
    if bad or good:
        lines += ["", words["examples"]]
        lines += [f"  ✗ {example_text(e)}    {words['open'].strip()}{words['marks']}{words['colon']}{sep.join(e.marks)}{words['close']}" for e in bad]
        lines += [f"  ✓ {example_text(e)}" for e in good]
    return "\n".join(lines)


def explain_page(loaded, code: str, language: str = "zh", *, ruleset_name: str = "default") -> str:
    """The page ``kefu-lint explain CODE`` prints (also the server's and the editor's hover):
    a rule by code or name, an intent by name (``intent:NAME`` when a rule has the same
    name), or one of check's own codes (KF000-KF003). Raises ConfigError for anything else."""
    from ..check import META_RULES
    from ..errors import ConfigError

    intent_name = code.removeprefix("intent:")
    rule = None if intent_name != code else loaded.rule(code.upper()) or next((r for r in loaded.rules if r.name == code), None)
    if rule is None and intent_name in loaded.intents:
        return explain_intent(loaded, intent_name, language)
    if rule is not None:
        return explain_rule(loaded, rule, language)
    meta = next((m for m in META_RULES if code.upper() == m.code or code == m.name), None)
    if meta is not None:  # a finding `check` makes about the input itself
        return f"# {meta.code} {meta.name}（{ZONE_NAMES_ZH[meta.zone]}，kefu-lint check）\n\n{meta.summary}"
    raise ConfigError(f"no rule {code!r} in ruleset {ruleset_name!r}; see 'kefu-lint rules'")


def explain_intent(loaded, name: str, language: str = "zh") -> str:
    """An intent's page: what act it is, its threshold and held-out figures, its examples."""
    words = _WORDS[language]
    intent = loaded.intents.definitions[name]
    metrics = loaded.intents.model().metrics.get(name, {})
    examples = intent.examples()

    def pct(value) -> str:
        return "–" if value is None else f"{value:.1%}"

    if intent.zone:
        zone = ZONE_NAMES_ZH[intent.zone] if language == "zh" else f"zone: {intent.zone}"
    else:
        zone = words["no zone"]
    role = words["roles"].get(intent.role, intent.role)
    lines = [words["intent heading"].format(name=name, label=intent.label or name, role=role, zone=zone), "", intent.description, "",
             words["intent threshold"].format(loaded.intents.threshold(name))]
    if metrics:
        lines.append(words["held-out"].format(
            precision=pct(metrics.get("precision")), recall=pct(metrics.get("recall")),
            positives=metrics.get("positives"), negatives=metrics.get("negatives"),
        ))
    if intent.excused_by:
        definitions = loaded.intents.definitions
        excusers = [definitions[n].label or n if language == "zh" and n in definitions else n for n in intent.excused_by]
        lines.append(words["excused"].format(words["list"].join(excusers)))
    if intent.anchors:
        lines.append(words["anchors"].format(words["list"].join(intent.anchors)))
    lines += ["", words["positives"], *(f"  ✓ {text}" for text in examples.positive[:8])]
    lines += ["", words["negatives"], *(f"  ✗ {text}" for text in examples.negative[:8])]
    return "\n".join(lines)


def example_text(example) -> str:
    """A reply as written; a conversation as its messages, one per line."""
    if example.conversation is None:
        return example.text
    roles = {"customer": "顾客", "agent": "客服", "system": "系统"}
    return "\n    ".join(
        f"{roles.get(role, role)}{'' if seconds is None else f' {seconds:g}秒'}：{text}" for role, seconds, text in example.conversation
    )


def summary(rule: Rule, language: str = "en") -> str:
    """The rule in a sentence or two: the first paragraph of what it does."""
    body = rule.doc(language)
    body = re.sub(r"^#+ .*\n", "", body.lstrip(), count=1)
    first = body.strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in first.splitlines())


def title(rule: Rule, language: str = "zh") -> str:
    """The rule in one sentence: the first sentence of its summary (the audit's ``rules`` table)."""
    text = summary(rule, language)
    match = re.match(r".+?[。！？](?=\s|$|[^）」』”。！？`])" if language == "zh" else r".+?[.!?](?=\s|$)", text)
    return match[0] if match else text


def applies_in(rule: Rule, language: str = "en") -> str:
    """Where a rule judges: its scenes; else every reply, or for a conversation rule that judges
    no lone reply (timing, unanswered messages) the conversations an audit reads."""
    words = _WORDS[language]
    if rule.config.scenes:
        return words["sep"].join(_scene(s, language) for s in rule.config.scenes)
    return words["conversations"] if rule.level == "conversation" else words["all scenes"]


def rules_table(rules: Iterable[Rule], language: str = "en") -> str:
    """The Markdown table of rules: code, name, zone, weight, scenes, fix, what it does."""
    lines = ["| code | name | zone | weight | scenes | fix | what it does |", "|---|---|---|---|---|---|---|"]
    for rule in rules:
        scenes = applies_in(rule, language)
        fix = "safe" if rule.fixable else ""
        text = summary(rule, language).replace("|", "\\|")
        # the anchor is where SARIF's helpUri points (formats/writers.py)
        lines.append(f"| <a id=\"{rule.code.lower()}\"></a>{rule.code} | `{rule.name}` | {rule.zone} | {rule.weight} | {scenes} | {fix} | {text} |")
    return "\n".join(lines)


def checks_reference() -> str:
    """Every ``check:`` a ruleset entry may name, with the options it accepts."""
    parts = []
    for name, check in CHECKS.items():
        parts.append(f"#### `check: {name}`\n")
        parts.append(" ".join(check.documentation().split()) + "\n")
        parts.append("| option | type | default | meaning |")
        parts.append("|---|---|---|---|")
        for key, option in check.options.items():
            meaning = option.doc.replace("|", "\\|")
            type_name = option.type_name.replace("|", "\\|")
            parts.append(f"| `{key}` | {type_name} | {_default(option.default)} | {meaning} |")
        parts.append("")
    return "\n".join(parts).rstrip()


# -- README blocks: <!-- generated: NAME --> … <!-- end generated --> --

_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def generated_blocks() -> dict[str, str]:
    """The README's generated blocks by name, built from the shipped rulesets and checks."""
    from ..rulesets import load_ruleset

    default = load_ruleset("default")
    platform = load_ruleset("platform")
    in_default = {rule.code for rule in default.rules}
    return {
        "default-rules": rules_table(default.rules),
        "platform-rules": rules_table(r for r in platform.rules if r.code not in in_default),
        "checks": checks_reference(),
    }


def render_readme(text: str, blocks: dict[str, str] | None = None) -> str:
    """``text`` with every marked block replaced by its generated content."""
    blocks = generated_blocks() if blocks is None else blocks

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in blocks:
            raise KeyError(f"README block {name!r} has no generator; known: {', '.join(blocks)}")
        return match.group(1) + blocks[name] + "\n" + match.group(4)

    return _BLOCK.sub(replace, text)


def _scene(scene: str, language: str) -> str:
    return SCENE_NAMES_ZH.get(scene, scene) if language == "zh" else scene


def _value(value: Any, language: str) -> str:
    words = _WORDS[language]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return words["sep"].join(f"{key}{words['colon']}{_value(item, language)}" for key, item in value.items())
    if isinstance(value, (tuple, list)):
        texts = [getattr(item, "text", item) for item in value]
        shown = "、".join(map(str, texts[:6])) + (" …" if len(texts) > 6 else "")
        return f"{words['items'].format(len(texts))}{words['open']}{shown}{words['close']}"
    return str(value)


def _default(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, (tuple, list)):
        return "`[" + ", ".join(map(str, value)) + "]`" if value else "`[]`"
    if isinstance(value, dict):
        return "`{}`" if not value else "`" + str(value) + "`"
    return f"`{value}`"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the generated blocks of the given Markdown files in place."""
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        updated = render_readme(text)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
