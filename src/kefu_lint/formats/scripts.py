"""Readers for reply-script libraries (话术库): YAML, TXT and CSV/TSV quick-phrase exports.

Every reader returns a :class:`ScriptFile`: the decoded source, the replies as ``Message``
objects whose ``offsets`` point back into the source, and the problems found on the way
(a broken row is reported and skipped; the rest of the file is still read).

YAML schema (a list of entries; ``id: text`` mappings and plain lists of strings work too)::

    - id: greet-1
      scene: greeting
      text: 您好,很高兴为您服务
      ignore: [KF202]

or the same entries grouped by category, one level deep (the category is a scene hint,
:data:`GROUP_SCENES`)::

    售前:
      - 亲，这款有货的
    结束语:
      - text: 感谢您的支持，祝您生活愉快

TXT: one reply per line; blank lines and ``#`` comments are skipped (replies piped in on
stdin without ``--stdin-filename`` are kind ``lines``: there a ``#`` line is a reply). CSV/TSV: a header row
is detected; the reply column is the one named 内容/话术/回复/content/text/reply, or
``--text-column`` (a name or a 1-based number), or else the longest column.
"""

from __future__ import annotations

import csv
import gc
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from ..errors import InputError
from ..model import SCENES, Message
from .decode import decode

#: A comment addressed to kefu-lint: ``# kefu-lint: DIRECTIVE CODES [-- reason]`` (the colon
#: may be left out before ``disable…``). Anything after ``kefu-lint:`` that is not a known
#: directive with codes is reported (KF003), never taken for a plain comment.
DIRECTIVE = re.compile(r"#\s*kefu-lint(?:\s*:|\s+(?=disable))\s*(?P<rest>.*)$", re.IGNORECASE)
DIRECTIVES = {"disable-next-line": "next-line", "disable-file": "file"}
TEXT_COLUMN_NAMES = ("内容", "话术", "回复", "回复内容", "快捷短语", "短语内容", "content", "text", "reply", "message")
SCENE_COLUMN_NAMES = ("scene", "场景")
ID_COLUMN_NAMES = ("id", "编号", "快捷编码", "shortcut", "快捷键")
SCRIPT_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".txt": "txt", ".csv": "csv", ".tsv": "tsv"}
MAX_YAML_ALIASES = 100
#: The scene a grouped library's category names (``售前: [...]``), for entries that name none.
#: A category that is itself a scene name (``presale:``) names that scene; any other is only
#: a group. Configurable with ``group-scenes`` (config.py).
GROUP_SCENES: dict[str, str] = {
    "售前": "presale", "售前咨询": "presale", "售后": "after_sales", "退换货": "after_sales",
    "催单": "logistics_delay", "物流": "logistics_delay", "物流延误": "logistics_delay",
    "结束语": "closing", "问候": "greeting", "欢迎语": "greeting", "下单": "order", "投诉": "complaint",
}
#: The longest reply `check` reads. Linting is linear in the reply (about 3 to 16 s per
#: 100,000 characters on hostile text), but no agent sends a reply of more than a few thousand
#: characters: a longer entry is a broken export, reported with its line and not checked.
MAX_REPLY_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class Problem:
    """A part of an input that could not be read. The rest of the input still was.

    ``skipped`` says whether the record was left unchecked (a row without its reply column)
    or was still checked as far as it could be (a ragged row, an unknown scene checked
    without one). Either way `check` reports it as KF000 and fails the run."""

    path: str
    line: int | None
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Suppression:
    """A ``# kefu-lint: disable-…`` directive or a YAML ``ignore:``; tracked to report unused
    and unknown ones. ``codes`` are the selectors as written: rule codes or rule names, which
    the checker resolves against the ruleset."""

    path: str
    line: int
    codes: tuple[str, ...]
    scope: str  # "next-line", "file" or "entry"
    #: (line, column) of the reply it applies to; None for a file directive, or a directive
    #: no reply followed (then it suppresses nothing and is reported unused).
    target: tuple[int, int] | None = None


@dataclass(frozen=True)
class ScriptFile:
    path: str
    kind: str
    text: str
    encoding: str
    messages: tuple[Message, ...]
    problems: tuple[Problem, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    file_ignores: tuple[str, ...] = field(default=())
    #: Entries found (replies + rejected records): the "nothing lost" count.
    records: int = 0
    #: Comments addressed to kefu-lint that are no directive it knows, or lack codes (KF003).
    bad_directives: tuple[Problem, ...] = ()

    def line_column(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of source index ``index``."""
        return LineIndex.of(self.text).line_column(index)


#: Line breaks as YAML, ``str.splitlines`` and editors count them: a file saved with
#: classic Mac line endings (CR only) has as many lines as one saved with LF.
LINE_BREAK = re.compile(r"\r\n?|\n")


class LineIndex:
    """Line starts of a text, so that positions cost O(log lines), not a scan from the top
    (counting newlines per finding is quadratic on a large file with many findings)."""

    _last: tuple[int, str, "LineIndex"] | None = None

    def __init__(self, text: str) -> None:
        self.starts = [0, *(match.end() for match in LINE_BREAK.finditer(text))]

    @classmethod
    def of(cls, text: str) -> "LineIndex":
        # One file is located at a time: remember the last index built.
        last = cls._last
        if last is not None and last[0] == id(text) and last[1] is text:
            return last[2]
        index = cls(text)
        cls._last = (id(text), text, index)
        return index

    def line_column(self, index: int) -> tuple[int, int]:
        line = bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1


def kind_of(path: Path, forced: str | None = None) -> str | None:
    if forced and forced != "auto":
        return forced
    return SCRIPT_SUFFIXES.get(path.suffix.lower())


def read_script_file(
    path: Path | str,
    *,
    kind: str | None = None,
    encoding: str | None = None,
    text_column: str | None = None,
    data: bytes | None = None,
    group_scenes: Mapping[str, str] | None = None,
) -> ScriptFile:
    """Read one script file (``data`` instead of the file for stdin). Raises InputError when the
    file as a whole cannot be read; a broken record inside it becomes a Problem.

    ``group_scenes`` maps the categories of a grouped YAML library (``售前: [...]``) to the
    scene their entries get when they name none (default :data:`GROUP_SCENES`)."""
    name = str(path)
    kind = kind or kind_of(Path(name)) or "txt"
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise InputError(f"{name}: cannot read: {error.strerror or error}") from None
    decoded = decode(data, name, encoding)
    text = decoded.text
    bad_directives: list[Problem] = []
    if kind == "yaml":
        messages, problems, suppressions, file_ignores, records = _read_yaml(
            text, name, GROUP_SCENES if group_scenes is None else group_scenes, bad_directives)
    elif kind in ("csv", "tsv"):
        messages, problems, suppressions, file_ignores, records = _read_csv(text, name, kind, text_column, bad_directives)
    elif kind in ("txt", "lines"):
        messages, problems, suppressions, file_ignores, records = _read_txt(text, name, bad_directives, comments=kind == "txt")
    else:
        raise InputError(f"{name}: unknown input format {kind!r} (yaml, txt, csv, tsv, lines)")
    messages, problems = _within_length_limit(messages, problems, name)
    return ScriptFile(name, kind, text, decoded.encoding, tuple(messages), tuple(problems), tuple(suppressions), file_ignores,
                      records, tuple(bad_directives))


def _within_length_limit(messages, problems, name: str) -> tuple[list[Message], list[Problem]]:
    """Replies past ``MAX_REPLY_CHARS`` become problems (they still count as records)."""
    if all(len(message.text) <= MAX_REPLY_CHARS for message in messages):
        return messages, problems
    kept = [message for message in messages if len(message.text) <= MAX_REPLY_CHARS]
    too_long = [
        Problem(name, message.line, f"回复有 {len(message.text):,} 个字符，超过上限 {MAX_REPLY_CHARS:,}，未检查")
        for message in messages if len(message.text) > MAX_REPLY_CHARS
    ]
    return kept, sorted([*problems, *too_long], key=lambda problem: problem.line or 0)


# ----------------------------------------------------------------------------- alignment

def align(value: str, source: str, start: int, end: int) -> tuple[int, ...]:
    """Source index of each character of ``value``, a scalar parsed from ``source[start:end]``.

    Characters of a parsed scalar appear in the source in order; escapes, quote doubling,
    indentation and line folding only add source characters between them. A whitespace
    character of the value may stand for any whitespace in the source (folding).
    """
    offsets = []
    position = start
    last = start
    for char in value:
        search = position
        found = -1
        while search < end:
            candidate = source[search]
            if candidate == char or (char in " \n" and candidate in " \n\r\t"):
                found = search
                break
            search += 1
        if found == -1:
            offsets.append(last)  # an escape such as \u4e0d: attribute it to the last position
            continue
        offsets.append(found)
        last = found
        position = found + 1
    return tuple(offsets)


def _message_at(text: str, source: str, offsets: tuple[int, ...], name: str, **extra) -> Message:
    line, column = LineIndex.of(source).line_column(offsets[0] if offsets else 0)
    return Message(text=text, source=name, line=line, column=column, offsets=offsets, **extra)


# ----------------------------------------------------------------------------- TXT

def _directive(line: str, path: str, number: int, bad: list[Problem]) -> Suppression | None:
    """The suppression a comment line states; a comment addressed to kefu-lint that states
    none it understands is recorded in ``bad`` (reported as KF003)."""
    match = DIRECTIVE.match(line)
    if not match:
        return None
    rest = match.group("rest").split(" -- ", 1)[0].split("#", 1)[0].strip()  # "-- reason" and later comments
    name, _, codes_text = rest.partition(" ")
    scope = DIRECTIVES.get(name.lower())
    if scope is None:
        known = "、".join(DIRECTIVES)
        bad.append(Problem(path, number, f"无法识别的 kefu-lint 指令「{name or rest}」：可用的指令是 {known}，例如「# kefu-lint: disable-next-line KF202」"))
        return None
    codes = tuple(code for code in re.split(r"[,，、\s]+", codes_text) if code)
    if not codes:
        bad.append(Problem(path, number, f"指令「{name}」缺少规则代码或名称，例如「# kefu-lint: {name} KF202」或「# kefu-lint: {name} informal-you」"))
        return None
    return Suppression(path, number, codes, scope)


def _take_directive(comment: str, name: str, number: int, bad: list[Problem], suppressions: list[Suppression],
                    file_ignores: list[str], pending: tuple[Suppression, ...]) -> tuple[Suppression, ...]:
    """Record a ``# kefu-lint: disable-…`` comment; return the directives waiting for the
    next reply (directive lines stacked above one reply all apply to it)."""
    directive = _directive(comment, name, number, bad)
    if directive is None:
        return pending
    if directive.scope == "file":
        suppressions.append(directive)
        file_ignores.extend(directive.codes)
        return pending
    return pending + (directive,)


def _settle(pending: tuple[Suppression, ...], message: Message | None, suppressions: list[Suppression]) -> tuple[str, ...]:
    """File the waiting directives as applying to ``message`` (None: no reply followed them);
    the codes they suppress on it."""
    target = (message.line, message.column) if message is not None else None
    suppressions.extend(replace(directive, target=target) for directive in pending)
    return tuple(code for directive in pending for code in directive.codes)


def _read_txt(text: str, name: str, bad: list[Problem], *, comments: bool = True):
    """One reply per line. With ``comments`` (a TXT script), a line starting with ``#`` is a
    comment or a directive; without (replies piped in on stdin, kind ``lines``), it is a
    reply like any other: 「#3号链接已补货」 is text an agent sends."""
    messages: list[Message] = []
    problems: list[Problem] = []
    suppressions: list[Suppression] = []
    file_ignores: list[str] = []
    pending: tuple[Suppression, ...] = ()
    position = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        line_start = position
        position += len(line)
        content = line.rstrip("\r\n")
        stripped = content.strip()
        if not stripped:
            continue
        if comments and stripped.startswith("#"):
            pending = _take_directive(stripped, name, number, bad, suppressions, file_ignores, pending)
            continue
        leading = len(content) - len(content.lstrip())
        reply = stripped
        offsets = tuple(range(line_start + leading, line_start + leading + len(reply)))
        message = Message(text=reply, source=name, line=number, column=leading + 1, offsets=offsets)
        messages.append(replace(message, ignore=_settle(pending, message, suppressions)))
        pending = ()
    _settle(pending, None, suppressions)
    suppressions.sort(key=lambda suppression: suppression.line)
    return messages, problems, suppressions, tuple(file_ignores), len(messages)


# ----------------------------------------------------------------------------- YAML

_CLoader = getattr(yaml, "CSafeLoader", None)


def _compose(text: str):
    """The YAML node tree (libyaml's C composer when PyYAML has it: ten times faster on a
    large library), after an event scan that refuses what could expand exponentially.

    An alias may reuse a text (an alias to a scalar); an alias to a list or mapping is how
    a "billion laughs" document multiplies itself, and script libraries have no need of it.
    """
    loader_class = _CLoader or yaml.SafeLoader
    collection_anchors: set[str] = set()
    aliases = 0
    for event in yaml.parse(text, Loader=loader_class):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)) and event.anchor:
            collection_anchors.add(event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            assert event.start_mark is not None  # the parser marks every event
            line = event.start_mark.line + 1
            if event.anchor in collection_anchors:
                raise yaml.YAMLError(f"line {line}: alias *{event.anchor} repeats a list or mapping; refusing aliases that could expand exponentially")
            if aliases > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"line {line}: more than {MAX_YAML_ALIASES} aliases; refusing to expand")
    return yaml.compose(text, Loader=loader_class)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a YAML library is read: its node tree holds no
    cycles to free, yet every few thousand nodes the collector walks all of it again, which
    made reading grow with the square of the library (100,000 replies: 4.5 s of 11)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_yaml(text: str, name: str, group_scenes: Mapping[str, str], bad: list[Problem]):
    with _collector_paused():
        return _read_yaml_tree(text, name, group_scenes, bad)


def _read_yaml_tree(text: str, name: str, group_scenes: Mapping[str, str], bad: list[Problem]):
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{name}{where}: invalid YAML: {error.problem or error}", line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as error:
        raise InputError(f"{name}: invalid YAML: {error}") from None
    except RecursionError:
        raise InputError(f"{name}: invalid YAML: nested too deeply") from None
    reader = _YamlReader(text, name)
    file_ignores = _yaml_directives(text, root, name, bad, reader.suppressions)
    if root is None:
        return reader.messages, reader.problems, reader.suppressions, file_ignores, 0
    if isinstance(root, yaml.MappingNode) and _looks_like_entries_mapping(root):
        # {entries: [...]} or {scripts: [...]} wrapper
        for key, value in root.value:
            if key.value in ("entries", "scripts", "replies"):
                root = value
                break
    if isinstance(root, yaml.SequenceNode):
        reader.entries(root, None)
    elif isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if not isinstance(key, yaml.ScalarNode):
                reader.records += 1
                reader.problem(key, "映射的键必须是条目编号或分类名（mapping keys must be entry ids or categories）")
            elif isinstance(value, yaml.SequenceNode):
                # A grouped library: category → list of entries, one level deep.
                category = str(key.value)
                reader.entries(value, group_scenes.get(category) or (category if category in SCENES else None))
            else:
                reader.records += 1
                reader.entry(value, key.value, None)
    else:
        raise InputError(f"{name}: a script library is a list of entries, an id: text mapping or a mapping of categories to lists, not a single value")
    return reader.messages, reader.problems, reader.suppressions, file_ignores, reader.records



def _yaml_directives(text: str, root, name: str, bad: list[Problem], suppressions: list[Suppression]) -> tuple[str, ...]:
    """``# kefu-lint: disable-file`` in a YAML comment line. An entry is suppressed with its own
    ``ignore:`` key, so a ``disable-next-line`` comment is reported with that hint rather
    than read as a plain comment. Lines inside a multi-line text are text, not comments."""
    inside: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            # a block text ends at the start of the line after it: that line is not inside
            inside.update(range(node.start_mark.line + 1, node.end_mark.line + (1 if node.end_mark.column else 0)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
    file_ignores: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("#") or (number - 1) in inside:
            continue
        directive = _directive(stripped, name, number, bad)
        if directive is None:
            continue
        if directive.scope == "next-line":
            bad.append(Problem(name, number, "YAML 话术库里请用条目自己的「ignore: [KF202]」抑制问题；disable-next-line 只用于 TXT 和 CSV"))
            continue
        suppressions.append(directive)
        file_ignores.extend(directive.codes)
    return tuple(file_ignores)


def _looks_like_entries_mapping(root: yaml.MappingNode) -> bool:
    keys = {k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
    return bool(keys & {"entries", "scripts", "replies"}) and len(keys) <= 3


ENTRY_KEYS = {"id", "scene", "text", "ignore", "group", "note", "tags"}


class _YamlReader:
    """Collects one YAML library's replies, problems and suppressions, entry by entry."""

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name
        self.messages: list[Message] = []
        self.problems: list[Problem] = []
        self.suppressions: list[Suppression] = []
        self.records = 0

    def problem(self, node, reason: str, *, skipped: bool = True) -> None:
        self.problems.append(Problem(self.name, node.start_mark.line + 1, reason, skipped))

    def entries(self, sequence: yaml.SequenceNode, group_scene: str | None) -> None:
        for item in sequence.value:
            self.records += 1
            self.entry(item, None, group_scene)

    def entry(self, node, entry_id, group_scene: str | None) -> None:
        if isinstance(node, yaml.ScalarNode):
            if node.tag != "tag:yaml.org,2002:str" and node.style is None and not _is_plain_text(node):
                self.problem(node, f"条目 {node.value!r} 不是文字（not text），未检查")
                return
            self.messages.append(_scalar_message(node, self.source, self.name,
                                                 id=str(entry_id) if entry_id is not None else None, scene=group_scene))
            return
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "条目应是一段文字，或带 text 的映射（an entry is a string or a mapping with 'text'），未检查")
            return
        fields = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
        unknown = set(fields) - ENTRY_KEYS
        if unknown:
            self.problem(node, f"条目中有未知的键 {sorted(unknown)}（可用：{', '.join(sorted(ENTRY_KEYS))}），未检查")
            return
        text_node = fields.get("text")
        if not isinstance(text_node, yaml.ScalarNode):
            self.problem(node, "条目没有 text 文字（entry has no 'text' string），未检查")
            return
        scene = fields["scene"].value if isinstance(fields.get("scene"), yaml.ScalarNode) else None
        if scene is not None and scene not in SCENES:
            # Reported, and the reply still checked: a misspelt scene must not hide a red reply.
            self.problem(fields["scene"], f"未知场景「{scene}」（unknown scene; known: {', '.join(SCENES)}），已按无场景检查", skipped=False)
            scene = None
        ignore: tuple[str, ...] = ()
        if "ignore" in fields:
            ignore_node = fields["ignore"]
            if isinstance(ignore_node, yaml.SequenceNode):
                ignore = tuple(str(item.value).strip() for item in ignore_node.value if isinstance(item, yaml.ScalarNode))
            elif isinstance(ignore_node, yaml.ScalarNode):
                ignore = tuple(c for c in re.split(r"[,，、\s]+", str(ignore_node.value)) if c)
        entry_id = fields["id"].value if isinstance(fields.get("id"), yaml.ScalarNode) else entry_id
        message = _scalar_message(text_node, self.source, self.name, id=str(entry_id) if entry_id is not None else None,
                                  scene=scene or group_scene, ignore=ignore)
        self.messages.append(message)
        if "ignore" in fields:
            self.suppressions.append(Suppression(self.name, fields["ignore"].start_mark.line + 1, ignore, "entry",
                                                 (message.line, message.column)))



def _is_plain_text(node: yaml.ScalarNode) -> bool:
    return bool(node.value) and not re.fullmatch(r"[-+0-9.eE_:xXoO]+|true|false|null|~|yes|no", node.value, re.IGNORECASE)


def _scalar_message(node: yaml.ScalarNode, source: str, name: str, **extra) -> Message:
    value = node.value
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("|", ">"):
        start = source.find("\n", start) + 1 or start  # the content begins after the indicator line
    elif node.style in ("'", '"'):
        start += 1
    offsets = align(value, source, start, end)
    return _message_at(value, source, offsets, name, **extra)


# ----------------------------------------------------------------------------- CSV / TSV

def _read_csv(text: str, name: str, kind: str, text_column: str | None, bad: list[Problem]):
    messages: list[Message] = []
    problems: list[Problem] = []
    suppressions: list[Suppression] = []
    file_ignores: list[str] = []
    delimiter = "\t" if kind == "tsv" else _sniff_delimiter(text)
    rows = list(_rows_with_offsets(text, delimiter, name, problems))
    if not rows:
        return messages, problems, suppressions, (), len(problems)
    header = [cell.strip().lower() for cell, _ in rows[0][1]]
    has_header = _looks_like_header(header)
    body = rows[1:] if has_header else rows
    column = _text_column(header if has_header else [], text_column, body, name)
    scene_column = _named_column(header, SCENE_COLUMN_NAMES) if has_header else None
    id_column = _named_column(header, ID_COLUMN_NAMES) if has_header else None
    width = len(rows[0][1])
    pending: tuple[Suppression, ...] = ()
    records = 0
    for line, cells in body:
        first = cells[0][0].strip() if cells else ""
        if first.startswith("#"):
            pending = _take_directive(first, name, line, bad, suppressions, file_ignores, pending)
            continue
        if all(not value.strip() for value, _ in cells):
            continue
        records += 1
        if len(cells) <= column:
            problems.append(Problem(name, line, f"这一行只有 {len(cells)} 列，回复在第 {column + 1} 列（row has {len(cells)} columns, the reply column is number {column + 1}），未检查"))
            _settle(pending, None, suppressions)
            pending = ()
            continue
        if len(cells) != width and has_header:
            # Ragged row: still read when the reply column exists, but say so.
            problems.append(Problem(name, line, f"这一行有 {len(cells)} 列，表头有 {width} 列（row has {len(cells)} columns, the header has {width}），已照常检查", skipped=False))
        value, (cell_start, cell_end) = cells[column]
        reply = value.strip()
        if not reply:
            _settle(pending, None, suppressions)
            pending = ()
            continue
        offsets = align(reply, text, cell_start, cell_end)
        scene = cells[scene_column][0].strip() if scene_column is not None and scene_column < len(cells) else None
        if scene and scene not in SCENES:
            problems.append(Problem(name, line, f"未知场景「{scene}」（unknown scene; known: {', '.join(SCENES)}），已按无场景检查", skipped=False))
            scene = None
        entry_id = cells[id_column][0].strip() if id_column is not None and id_column < len(cells) else None
        message = _message_at(reply, text, offsets, name, id=entry_id or None, scene=scene or None)
        messages.append(replace(message, ignore=_settle(pending, message, suppressions)))
        pending = ()
    records += sum(1 for p in problems if "unclosed quote" in p.reason)
    _settle(pending, None, suppressions)
    suppressions.sort(key=lambda suppression: suppression.line)
    return messages, problems, suppressions, tuple(file_ignores), records


def _sniff_delimiter(text: str) -> str:
    sample = text[:8192]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if sample.count("\t") > sample.count(",") else ","


def _rows_with_offsets(text: str, delimiter: str, name: str, problems: list[Problem]):
    """Yield (line, [(value, (start, end)), ...]) with each cell's source range.

    A small RFC 4180 scanner instead of ``csv.reader``: the reader gives values but not
    where they are, and positions are the point of a linter. An unclosed quote is reported
    and the rest of the file from that row on is skipped (it cannot be split reliably).
    """
    index = 0
    length = len(text)
    line = 1
    while index < length:
        row_line = line
        cells = []
        while True:
            cell_start = index
            if index < length and text[index] == '"':
                index += 1
                value_chars = []
                closed = False
                while index < length:
                    char = text[index]
                    if char == '"':
                        if index + 1 < length and text[index + 1] == '"':
                            value_chars.append('"')
                            index += 2
                            continue
                        closed = True
                        index += 1
                        break
                    if char == "\n" or (char == "\r" and text[index + 1:index + 2] != "\n"):
                        line += 1  # LF, CRLF and a lone CR (classic Mac files) each end a line
                    value_chars.append(char)
                    index += 1
                if not closed:
                    problems.append(Problem(name, row_line, "引号没有闭合（unclosed quote），从这一行到文件末尾无法分行，未检查"))
                    return
                # text after the closing quote up to the delimiter belongs to the cell
                tail_start = index
                while index < length and text[index] not in (delimiter, "\n", "\r"):
                    index += 1
                value = "".join(value_chars) + text[tail_start:index]
                cells.append((value, (cell_start + 1, index)))
            else:
                while index < length and text[index] not in (delimiter, "\n", "\r"):
                    index += 1
                cells.append((text[cell_start:index], (cell_start, index)))
            if index < length and text[index] == delimiter:
                index += 1
                continue
            break
        if index < length and text[index] == "\r":
            index += 1
            if index >= length or text[index] != "\n":
                line += 1  # a lone CR ends the row as LF does
        if index < length and text[index] == "\n":
            index += 1
            line += 1
        yield row_line, cells


def _looks_like_header(header: Sequence[str]) -> bool:
    names = set(TEXT_COLUMN_NAMES) | set(SCENE_COLUMN_NAMES) | set(ID_COLUMN_NAMES) | {"分组", "group", "快捷短语分组"}
    return any(cell in names for cell in header)


def _named_column(header: Sequence[str], names: Sequence[str]) -> int | None:
    for wanted in names:
        if wanted in header:
            return header.index(wanted)
    return None


def _text_column(header: Sequence[str], requested: str | None, body, name: str) -> int:
    if requested:
        if requested.isdigit():
            return int(requested) - 1
        if requested.lower() in header:
            return header.index(requested.lower())
        raise InputError(f"{name}: no column named {requested!r} (columns: {', '.join(header) or 'no header row'})")
    named = _named_column(header, TEXT_COLUMN_NAMES)
    if named is not None:
        return named
    # No header names the replies: take the column with the longest text on average.
    totals: dict[int, int] = {}
    for _, cells in body[:200]:
        for position, (value, _) in enumerate(cells):
            totals[position] = totals.get(position, 0) + len(value)
    return max(totals, key=totals.__getitem__) if totals else 0


__all__ = ["ScriptFile", "Problem", "Suppression", "LineIndex", "read_script_file", "kind_of", "align"]
