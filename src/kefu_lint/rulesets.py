"""Load, validate and build rulesets: YAML a CS trainer can edit, turned into rule objects.

A ruleset file::

    name: my-shop
    extends: default            # a shipped ruleset's name or a path relative to this file
    dictionary: [旗舰店, 运费险]   # extra words the tokenizer keeps whole
    rules:
      KF103:                    # override a built-in rule: keys given replace the parent's
        extend-phrases: [亲你懂吗]  # extend-<option> appends to a list option instead
      KF901:                    # a shop's own rule: pick a check and give it data
        name: no-competitor-names
        check: phrases
        zone: yellow
        message: 不要在回复中提及竞品「{matched}」
        phrases: [某某旗舰店]
        examples:
          bad: [{text: 某某旗舰店更便宜, mark: 某某旗舰店}]
          good: [我们家的价格很实惠]

Mistakes are errors naming the file, line and key; unknown keys are never ignored.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, cast

import yaml

from .errors import RulesetError
from .intent import INTENT_KEYS, ROLES, Intent, IntentDataError, IntentExamples, check_zone, parse_examples
from .model import SCENES, ZONES, Role
from .rules import CHECKS, Rule
from .rules.base import Example, OptionError, RuleConfig

CODE_PATTERN = re.compile(r"^[A-Z]{2,4}[0-9]{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
TOP_LEVEL_KEYS = {"name", "description", "extends", "dictionary", "rules", "scene_keywords", "scene_patterns", "intents",
                  "mid_conversation_openers"}
CONVERSATION_LINE = re.compile(r"^(customer|agent|system)(?:\s+(-?\d+(?:\.\d+)?))?\s*:\s*(.*)$", re.S)
#: The languages a rule's documentation may be written in (``doc: {zh: …, en: …}``).
DOC_LANGUAGES = ("zh", "en")
ENTRY_KEYS = {"name", "zone", "weight", "message", "check", "scenes", "suggest", "doc", "source", "enabled", "examples"}
DEFAULT_WEIGHTS = {"red": 50, "yellow": 10, "green": 15}
MAX_EXTENDS_DEPTH = 16


#: The shipped rulesets: package data next to this module (importlib.resources would cost a
#: cold start about 8 ms of imports for the same files; wheels install as plain files).
SHIPPED_RULESETS = Path(__file__).resolve().parent / "rulesets"


def shipped_ruleset_names() -> list[str]:
    return sorted(entry.name[:-5] for entry in SHIPPED_RULESETS.iterdir() if entry.name.endswith(".yaml"))


# --- YAML with line numbers and without aliases ---

class _Where(TypedDict):
    """Where a ruleset value was written, as RulesetError takes it."""

    source: str
    line: int | None
    key: str


class _LocatedDict(dict):
    """A mapping that remembers the line of each key, for error messages."""

    line: int = 0
    key_lines: dict[str, int]
    source: str = ""


class _Loader(yaml.SafeLoader):
    source = "<ruleset>"

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise RulesetError(
                "YAML aliases (*name) are not allowed in rulesets; write the values out",
                source=self.source,
                line=event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)


def _construct_located_map(loader: _Loader, node: yaml.MappingNode):
    data = _LocatedDict()
    data.line = node.start_mark.line + 1
    data.source = loader.source
    data.key_lines = {}
    yield data
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int)):
            raise RulesetError("mapping keys must be strings", source=loader.source, line=key_node.start_mark.line + 1)
        key = str(key)
        if key in data:
            raise RulesetError(f"duplicate key {key!r}", source=loader.source, line=key_node.start_mark.line + 1, key=key)
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_located_map)

# libyaml's C parser when PyYAML has it: parsing default.yaml in pure Python is most of a
# cold start. Its composer runs in C, so aliases are refused by an event scan instead.
_CBase = getattr(yaml, "CSafeLoader", None)
if _CBase is not None:

    class _CLoader(_CBase):  # type: ignore[misc, valid-type]
        source = "<ruleset>"

    _CLoader.add_constructor("tag:yaml.org,2002:map", _construct_located_map)


def _refuse_aliases(text: str, source: str) -> None:
    assert _CBase is not None  # asked only of the C loader, whose composer cannot refuse them
    for event in yaml.parse(text, Loader=_CBase):
        if isinstance(event, yaml.AliasEvent):
            assert event.start_mark is not None  # the parser marks every event
            raise RulesetError(
                "YAML aliases (*name) are not allowed in rulesets; write the values out",
                source=source,
                line=event.start_mark.line + 1,
            )


def parse_yaml(text: str, source: str) -> Any:
    loader: _Loader | _CLoader
    if _CBase is not None:
        try:
            _refuse_aliases(text, source)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            raise RulesetError(
                f"invalid YAML: {error.problem or error}", source=source, line=mark.line + 1 if mark else None
            ) from None
        except yaml.YAMLError as error:  # a control character (ReaderError)
            raise RulesetError(f"invalid YAML: {error}", source=source) from None
        loader = _CLoader(text)
    else:
        loader = _Loader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise RulesetError(
            f"invalid YAML: {error.problem or error}", source=source, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as error:
        raise RulesetError(f"invalid YAML: {error}", source=source) from None
    finally:
        loader.dispose()


def _line_of(mapping: Any, key: str) -> int | None:
    if isinstance(mapping, _LocatedDict):
        return mapping.key_lines.get(key, mapping.line)
    return None


def _source_of(mapping: Any, default: str) -> str:
    return mapping.source if isinstance(mapping, _LocatedDict) and mapping.source else default


# --- the built ruleset ---

@dataclass(frozen=True)
class Ruleset:
    """Validated rules, ready to run. Immutable; share one between Linters and threads."""

    name: str
    source: str
    description: str
    rules: tuple[Rule, ...]
    dictionary: tuple[str, ...] = ()
    #: Audit scene inference: scene -> phrases / regexes that put the reply to a customer
    #: message in that scene.
    scene_keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scene_patterns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Regexes: a log whose first message is the customer's and matches one starts
    #: mid-conversation (「那我这批海苔还能退吗」 goes on from something said before).
    mid_conversation_openers: tuple[str, ...] = ()
    #: What messages do (intents/): declared acts, and the model trained on their examples.
    intents: IntentSource = field(default_factory=lambda: IntentSource({}, None))

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)

    def tokenizer_words(self) -> list[tuple[str, int | None]]:
        """Words the ruleset adds to the tokenizer (its ``dictionary:``), on top of the domain
        dictionary. Rule phrases are deliberately not added: gluing 你去找快递 into one token
        would hide the 你 inside it from other rules."""
        return [(word, None) for word in self.dictionary]


def load_ruleset(ruleset: str | Path = "default", *, project_root: str | Path | None = None) -> Ruleset:
    """Load a shipped ruleset by name (``"default"``, ``"platform"``) or a YAML file by path.

    ``extends`` in a ruleset file names a shipped ruleset or a file inside ``project_root``
    (default: the working directory when it holds the ruleset, else the ruleset's folder):
    a ruleset from a pull request must not make CI read ``/etc/shadow`` or ``../secrets``.
    """
    entries, dictionary, meta = _load_merged(ruleset, chain=(), root=_project_root(ruleset, project_root))
    intents = IntentSource(_build_intents(meta["intents"]), meta["intent_model"])
    rules = tuple(_build_rule(code, entry, intents) for code, entry in entries.items() if entry.get("enabled", True))
    return Ruleset(
        name=meta.get("name") or str(ruleset),
        source=meta["source"],
        description=meta.get("description", ""),
        rules=tuple(sorted(rules, key=lambda r: r.code)),
        dictionary=tuple(dictionary),
        scene_keywords=meta["scene_keywords"],
        scene_patterns=meta["scene_patterns"],
        mid_conversation_openers=meta["mid_conversation_openers"],
        intents=intents,
    )


def _project_root(ruleset: str | Path, explicit: str | Path | None) -> Path:
    if explicit is not None:
        return Path(explicit).resolve()
    here = Path.cwd().resolve()
    folder = Path(ruleset).resolve().parent
    return here if folder.is_relative_to(here) else folder


def _resolve(reference: str | Path, relative_to: Path | None, root: Path | None = None, extended_by: str | None = None) -> tuple[str, str]:
    """(source name, YAML text) for a ruleset name or path; with ``root`` (an ``extends``),
    a path must lie inside it once symbolic links are followed."""
    text_reference = str(reference)
    is_name = isinstance(reference, str) and re.fullmatch(r"[a-z0-9_-]+", text_reference) is not None
    if is_name:
        resource = SHIPPED_RULESETS / f"{text_reference}.yaml"
        if resource.is_file():
            return f"<{text_reference}>", resource.read_text(encoding="utf-8")
    path = Path(reference)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if root is not None and not path.resolve().is_relative_to(root):
        shipped = ", ".join(shipped_ruleset_names())
        raise RulesetError(f"extends {_shown_key(text_reference)} is outside the project ({root}); extends names a shipped "
                           f"ruleset ({shipped}) or a file inside the project", source=extended_by, key="extends")
    if not path.is_file():
        shipped = ", ".join(shipped_ruleset_names())
        raise RulesetError(f"ruleset {text_reference!r} not found: not a shipped ruleset ({shipped}) nor a file")
    try:
        return str(path), path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RulesetError(f"cannot read ruleset: {error}", source=str(path)) from None


def _shown_key(key: str) -> str:
    """A key or name from the file, quoted and cut short: an error must not print a line of
    whatever file a ruleset managed to name."""
    return repr(key if len(key) <= 40 else key[:40] + "…")


def _load_merged(reference: str | Path, chain: tuple[str, ...], relative_to: Path | None = None, root: Path | None = None):
    source, text = _resolve(reference, relative_to, root if chain else None, chain[-1] if chain else None)
    if source in chain:
        raise RulesetError(f"circular extends: {' -> '.join(chain + (source,))}", source=source)
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise RulesetError("extends chain is too deep", source=source)
    data = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise RulesetError("a ruleset is a mapping with a 'rules' key", source=source, line=1)
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise RulesetError(
            f"unknown key {_shown_key(key)}; allowed: {', '.join(sorted(TOP_LEVEL_KEYS))}", source=source, line=_line_of(data, key),
            key=key[:40],
        )
    here = None if source.startswith("<") else Path(source).parent
    entries: dict[str, dict] = {}
    dictionary: list[str] = []
    inherited: dict = {"scene_keywords": {}, "scene_patterns": {}, "mid_conversation_openers": (), "intents": {}, "intent_model": None}
    extends = data.get("extends")
    if extends is not None and not isinstance(extends, str):
        raise RulesetError("extends names one ruleset: a shipped name or a path", source=source, line=_line_of(data, "extends"), key="extends")
    if extends:
        entries, dictionary, inherited = _load_merged(extends, chain + (source,), here, root)
    words = data.get("dictionary") or []
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise RulesetError("dictionary must be a list of words", source=source, line=_line_of(data, "dictionary"), key="dictionary")
    dictionary = dictionary + [w for w in words if w not in dictionary]
    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise RulesetError("rules must map codes to rule entries", source=source, line=_line_of(data, "rules"), key="rules")
    for code, entry in rules.items():
        line = _line_of(rules, code)
        if not CODE_PATTERN.match(code):
            raise RulesetError(f"rule code {code!r} must look like KF101", source=source, line=line, key=code)
        if not isinstance(entry, dict):
            raise RulesetError("a rule entry is a mapping", source=source, line=line, key=code)
        entries[code] = _merge_entry(entries.get(code), entry, code, source, line)
    meta = {
        "name": data.get("name"),
        "description": data.get("description", ""),
        "source": source,
        "scene_keywords": {**inherited["scene_keywords"], **_scene_lists(data, "scene_keywords", source)},
        "scene_patterns": {**inherited["scene_patterns"], **_scene_lists(data, "scene_patterns", source)},
        "mid_conversation_openers": _patterns(data, "mid_conversation_openers", source, inherited["mid_conversation_openers"]),
        "intents": _merge_intents(inherited["intents"], data, source),
        # The model belongs to the last file that changes what training reads; a file that
        # only moves a threshold or an excuse keeps its parent's model.
        "intent_model": _model_path(source) if _changes_training(data.get("intents"), inherited["intents"]) else inherited["intent_model"],
    }
    return entries, dictionary, meta


def _patterns(data: dict, key: str, source: str, inherited: tuple[str, ...]) -> tuple[str, ...]:
    """A list of regexes; a child's list replaces its parent's."""
    import regex

    if key not in data:
        return inherited
    items = data[key] or []
    line = _line_of(data, key)
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise RulesetError("expected a list of regular expressions", source=source, line=line, key=key)
    for pattern in items:
        try:
            regex.compile(pattern)
        except regex.error as error:
            raise RulesetError(f"bad regular expression {pattern!r}: {error}", source=source, line=line, key=key) from None
    return tuple(items)


def _scene_lists(data: dict, key: str, source: str) -> dict[str, tuple[str, ...]]:
    """``scene: [phrases]`` for audit scene inference; a child's list replaces its parent's."""
    import regex

    raw = data.get(key) or {}
    line = _line_of(data, key)
    if not isinstance(raw, dict):
        raise RulesetError(f"{key} maps scenes to lists", source=source, line=line, key=key)
    result = {}
    for scene, items in raw.items():
        if scene not in SCENES:
            raise RulesetError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}", source=source, line=_line_of(raw, scene), key=f"{key}.{scene}")
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise RulesetError("expected a list of strings", source=source, line=_line_of(raw, scene), key=f"{key}.{scene}")
        if key == "scene_patterns":
            for pattern in items:
                try:
                    regex.compile(pattern)
                except regex.error as error:
                    raise RulesetError(f"bad regular expression {pattern!r}: {error}", source=source, line=_line_of(raw, scene), key=f"{key}.{scene}") from None
        result[scene] = tuple(items)
    return result


def _merge_entry(parent: dict | None, child: dict, code: str, source: str, line: int | None) -> dict:
    """Child keys replace the parent's; ``extend-<option>`` appends to the parent's list."""
    merged = dict(parent or {})
    lines = dict(getattr(parent, "key_lines", {}) or {})
    sources = dict(merged.pop("__sources__", {}))
    for key, value in child.items():
        if key.startswith("extend-"):
            target = key[len("extend-"):]
            base = merged.get(target, [])
            if not isinstance(base, list) or not isinstance(value, list):
                raise RulesetError(f"{key} needs a list, and {target} must be a list", source=source, line=_line_of(child, key), key=f"{code}.{key}")
            merged[target] = base + value
            target_key = target
        else:
            merged[key] = value
            target_key = key
        lines[target_key] = _line_of(child, key)
        sources[target_key] = source
    result = _LocatedDict(merged)
    result.line = line if line is not None else getattr(child, "line", 0)
    result.key_lines = lines
    result.source = source
    result["__sources__"] = sources
    return result


# --- intents ---

class IntentSource:
    """A ruleset's intents and, loaded on first use, the model trained on their examples.

    Rules hold one of these rather than the model, so loading a ruleset reads no model file:
    a check that never needs an intent never pays for it.
    """

    def __init__(self, definitions: Mapping[str, Intent], model_path: str | None) -> None:
        self.definitions = dict(definitions)
        self.model_path = model_path
        self._model = None
        self._lock = threading.Lock()

    def __contains__(self, name: object) -> bool:
        return name in self.definitions

    def threshold(self, name: str) -> float:
        """The ruleset's override, else the threshold training chose on held-out data."""
        override = self.definitions[name].threshold
        if override is not None:
            return override
        model = self.model()
        return model.thresholds[model.index[name]]

    def model(self):
        """The trained :class:`~.intent.classifier.IntentModel`; RulesetError when missing."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from .intent.classifier import IntentModel, ModelError

                    if self.model_path is None or not Path(self.model_path).is_file():
                        raise RulesetError(
                            f"no intent model at {self.model_path}: run `kefu-lint train` on the ruleset that declares the intents"
                        )
                    try:
                        model = IntentModel.load(self.model_path)
                    except ModelError as error:
                        raise RulesetError(str(error)) from None
                    missing = set(self.definitions) - set(model.intents)
                    if missing:
                        raise RulesetError(
                            f"intent model {self.model_path} has no weights for {', '.join(sorted(missing))}: run `kefu-lint train`"
                        )
                    self._model = model
        return self._model


def _model_path(source: str) -> str:
    """``default.yaml`` → ``default.intents.json`` beside it (for shipped rulesets too)."""
    if source.startswith("<"):
        return str(SHIPPED_RULESETS / f"{source[1:-1]}.intents.json")
    path = Path(source)
    return str(path.with_name(path.stem + ".intents.json"))


#: Intent keys whose change needs `kefu-lint train` (the fingerprint reads them).
TRAINING_KEYS = {"examples", "extend-examples", "negatives_from", "pools", "role", "anchors"}


def _changes_training(raw: Any, inherited: dict) -> bool:
    if not isinstance(raw, dict):
        return False
    return any(name not in inherited or (isinstance(entry, dict) and TRAINING_KEYS & set(entry)) for name, entry in raw.items())


def _merge_intents(inherited: dict, data: dict, source: str) -> dict:
    """Child keys replace the parent's; ``extend-examples`` adds files or inline examples."""
    raw = data.get("intents")
    if raw is None:
        return inherited
    line = _line_of(data, "intents")
    if not isinstance(raw, dict):
        raise RulesetError("intents maps intent names to their definitions", source=source, line=line, key="intents")
    here = SHIPPED_RULESETS if source.startswith("<") else Path(source).parent
    merged = {name: dict(entry) for name, entry in inherited.items()}
    for name, entry in raw.items():
        where: _Where = {"source": source, "line": _line_of(raw, name), "key": f"intents.{name}"}
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise RulesetError(f"intent name must be kebab-case like 'blame-shifting', got {name!r}", **where)
        if not isinstance(entry, dict):
            raise RulesetError("an intent is a mapping (description, role, zone, examples …)", **where)
        allowed = INTENT_KEYS | {"extend-examples"}
        for key in entry:
            if key not in allowed:
                raise RulesetError(f"unknown key {key!r} for an intent; allowed: {', '.join(sorted(allowed))}", source=source, line=_line_of(entry, key), key=f"intents.{name}.{key}")
        target = merged.setdefault(name, {"files": [], "inline": IntentExamples(), "origin": source})
        for key, value in entry.items():
            key_where: _Where = {"source": source, "line": _line_of(entry, key), "key": f"intents.{name}.{key}"}
            if key in ("examples", "extend-examples"):
                files, inline = _intent_examples(value, here, key_where)
                if key == "examples":
                    target["files"], target["inline"] = files, inline
                else:
                    target["files"] = target["files"] + files
                    target["inline"] = IntentExamples(target["inline"].positive + inline.positive, target["inline"].negative + inline.negative)
            else:
                target[key] = value
                target.setdefault("lines", {})[key] = key_where
    return merged


def _intent_examples(value: Any, here: Path, where: _Where) -> tuple[list[str], IntentExamples]:
    """``examples: file.yaml`` / ``[a.yaml, b.yaml]`` / ``{positive: […], negative: […]}``."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        files = []
        for item in value:
            if not isinstance(item, str):
                raise RulesetError("examples name YAML files, or are a mapping with positive/negative lists", **where)
            path = here / item
            if not path.is_file():
                raise RulesetError(f"intent example file {item!r} not found next to the ruleset", **where)
            files.append(str(path))
        return files, IntentExamples()
    try:
        return [], parse_examples(value, "examples")
    except IntentDataError as error:
        raise RulesetError(str(error), **where) from None


def _build_intents(raw: dict) -> dict[str, Intent]:
    intents = {}
    for name, entry in raw.items():
        lines = entry.get("lines", {})

        def fail(message: str, key: str) -> RulesetError:
            where = lines.get(key) or {"source": entry["origin"], "key": f"intents.{name}"}
            return RulesetError(message, **where)

        if not entry.get("enabled", True):
            continue
        role = entry.get("role")
        if role not in ROLES:
            raise fail(f"role must be one of {', '.join(ROLES)}, got {role!r}", "role")
        try:
            zone = check_zone(entry.get("zone"))
        except IntentDataError as error:
            raise fail(str(error), "zone") from None
        description = entry.get("description")
        if not isinstance(description, str) or not description.strip():
            raise fail("every intent needs a description of the act", "description")
        threshold = entry.get("threshold")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1):
            raise fail(f"threshold must be a probability between 0 and 1, got {threshold!r}", "threshold")
        lists = {}
        for key in ("excused_by", "negatives_from", "anchors", "pools"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise fail(f"{key} must be a list of strings", key)
            lists[key] = tuple(value)
        label = entry.get("label", "")
        if not isinstance(label, str):
            raise fail(f"label must be a short name, got {label!r}", "label")
        intents[name] = Intent(
            name=name,
            description=description.strip(),
            role=role,
            label=label.strip() or name,
            zone=zone,
            example_files=tuple(entry["files"]),
            inline=entry["inline"],
            excused_by=lists["excused_by"],
            negatives_from=lists["negatives_from"],
            pools=lists["pools"],
            threshold=float(threshold) if threshold is not None else None,
            anchors=lists["anchors"],
            auxiliary=entry.get("auxiliary", False) is True,
            origin=entry["origin"],
        )
    for intent in intents.values():
        for other in intent.excused_by + intent.negatives_from + intent.pools:
            if other not in intents:
                raise RulesetError(f"intent {intent.name!r} names unknown intent {other!r}", source=intent.origin, key=f"intents.{intent.name}")
        for member in intent.pools:
            if intents[member].pools or intents[member].role != intent.role:
                raise RulesetError(f"intent {intent.name!r} pools {member!r}: a pool's members are plain intents of the same role", source=intent.origin, key=f"intents.{intent.name}.pools")
    return intents


def _build_rule(code: str, entry: _LocatedDict, intents: IntentSource | None = None) -> Rule:
    sources: dict[str, str] = entry.get("__sources__", {})

    def fail(message: str, key: str | None = None) -> RulesetError:
        return RulesetError(
            message,
            source=sources.get(key, entry.source) if key else entry.source,
            line=_line_of(entry, key) if key else entry.line,
            key=f"{code}.{key}" if key else code,
        )

    check = entry.get("check")
    if check is None:
        raise fail(f"new rule {code} needs a 'check' ({', '.join(sorted(CHECKS))})")
    if check not in CHECKS:
        raise fail(f"unknown check {check!r}; choose one of {', '.join(sorted(CHECKS))}", "check")
    rule_class = CHECKS[check]

    allowed = ENTRY_KEYS | set(rule_class.options) | {"__sources__"}
    for key in entry:
        if key not in allowed:
            raise fail(f"unknown key {key!r} for check {rule_class.check_name!r}; allowed: {', '.join(sorted(allowed - {'__sources__'}))}", key)

    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise fail(f"name must be kebab-case like 'negative-opener', got {name!r}", "name")
    zone = entry.get("zone")
    if zone not in ZONES:
        raise fail(f"zone must be one of {', '.join(ZONES)}, got {zone!r}", "zone")
    weight = entry.get("weight", DEFAULT_WEIGHTS[zone])
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
        raise fail(f"weight must be an integer 0..100, got {weight!r}", "weight")
    message = entry.get("message")
    if not isinstance(message, str) or not message.strip():
        raise fail("every rule needs a message telling the agent what is wrong and why", "message")
    scenes = entry.get("scenes") or []
    if not isinstance(scenes, list) or any(s not in SCENES for s in scenes):
        raise fail(f"scenes must be a list of {', '.join(SCENES)}", "scenes")
    for key in ("suggest", "source"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise fail(f"{key} must be a string", key)
    doc = entry.get("doc") or {}
    if isinstance(doc, str):
        doc = {"": doc}  # one text, whatever language it is in, serves every language
    elif not isinstance(doc, Mapping) or not all(lang in DOC_LANGUAGES and isinstance(text, str) for lang, text in doc.items()):
        raise fail(f"doc must be a text, or a mapping of {' and '.join(DOC_LANGUAGES)} to texts", "doc")

    options = {}
    for key, option in rule_class.options.items():
        if key not in entry:
            options[key] = option.default
            continue
        try:
            options[key] = option.parse(entry[key])
        except OptionError as error:
            raise fail(str(error), key) from None

    config = RuleConfig(
        code=code,
        name=name,
        zone=zone,
        weight=weight,
        message=message.strip(),
        check=rule_class.check_name,
        scenes=tuple(scenes),
        suggest=entry.get("suggest"),
        doc=dict(doc),
        source=entry.get("source"),
        options=options,
        examples=_parse_examples(entry.get("examples"), fail, tuple(scenes)),
        origin=entry.source,
        intents=intents,
    )
    try:
        return rule_class(config)
    except OptionError as error:
        raise fail(str(error)) from None


def _parse_examples(raw: Any, fail, scenes: tuple[str, ...]) -> tuple[Example, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or set(raw) - {"bad", "good"}:
        raise fail("examples must be a mapping with 'bad' and 'good' lists", "examples")
    default_scene = scenes[0] if scenes else None
    examples = []
    for kind in ("bad", "good"):
        items = raw.get(kind) or []
        if not isinstance(items, list):
            raise fail(f"examples.{kind} must be a list", "examples")
        for item in items:
            line = _line_of(raw, kind)
            if isinstance(item, str):
                item = {"text": item}
            if not isinstance(item, Mapping) or ("text" not in item) == ("conversation" not in item):
                raise fail(f"each {kind} example needs a 'text' (or, for conversation rules, a 'conversation')", "examples")
            extra = set(item) - {"text", "conversation", "mark", "marks", "scene", "fixed"}
            if extra:
                raise fail(f"unknown example key(s) {sorted(extra)}", "examples")
            conversation = _parse_conversation(item["conversation"], fail) if "conversation" in item else None
            text = "\n".join(m[2] for m in conversation) if conversation else str(item["text"])
            marks = item.get("marks") or ([item["mark"]] if "mark" in item else [])
            if kind == "bad" and not marks:
                raise fail(f"bad example {text!r} needs 'mark': the words the rule must flag", "examples")
            for mark in marks:
                if str(mark) not in text:
                    raise fail(f"mark {mark!r} is not in the example text {text!r}", "examples")
            scene = item.get("scene", default_scene)
            if scene is not None and scene not in SCENES:
                raise fail(f"unknown scene {scene!r} in an example", "examples")
            examples.append(
                Example(
                    text=text,
                    conversation=conversation,
                    bad=kind == "bad",
                    marks=tuple(str(m) for m in marks),
                    scene=scene,
                    fixed=item.get("fixed"),
                    line=getattr(item, "line", line),
                )
            )
    return tuple(examples)


def _parse_conversation(raw: Any, fail) -> tuple[tuple[Role, float | None, str], ...]:
    """``["customer 0: 在吗?", "agent 45: 您好"]``: role, optional seconds, text."""
    if not isinstance(raw, list) or not raw:
        raise fail("a conversation example is a list of 'role [seconds]: text' lines", "examples")
    lines: list[tuple[Role, float | None, str]] = []
    for entry in raw:
        match = CONVERSATION_LINE.match(str(entry))
        if not match:
            raise fail(f"conversation line {entry!r} must look like 'customer 12: 文本' or 'agent: 文本'", "examples")
        role, seconds, text = match.groups()
        # the pattern matches the three roles only
        lines.append((cast(Role, role), float(seconds) if seconds is not None else None, text))
    return tuple(lines)


def run_example(linter, rule: Rule, example: Example) -> list[str]:
    """The words ``rule`` flags in ``example`` (for the example tests and ``kefu-lint test``)."""
    if example.conversation is not None:
        from .model import ChatMessage

        messages = [
            ChatMessage("example", role, text, time=seconds, seq=index)
            for index, (role, seconds, text) in enumerate(example.conversation)
        ]
        result = linter.lint_conversation(messages)
        return [result.messages[f.message_index].message.text[f.violation.start:f.violation.end] for f in result.findings if f.violation.code == rule.code]
    return [example.text[v.start:v.end] for v in linter.lint(example.text, scene=example.scene) if v.code == rule.code]
