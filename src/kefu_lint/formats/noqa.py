"""Writing suppressions into script files (``check --add-noqa``, after ruff's ``--add-noqa``).

Each reply with findings gets a suppression of exactly those codes: in YAML its own
``ignore:`` (added to the entry, or extended), in TXT and CSV a
``# kefu-lint: disable-next-line CODES`` line (row) above it. Only insertions are made, so
every other byte stays as it was (comments, quoting, order, line endings, the encoding), and
a second run finds nothing left to suppress and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

from .scripts import ScriptFile, _compose, _rows_with_offsets, _sniff_delimiter


@dataclass(frozen=True, slots=True)
class Insertion:
    """``text`` inserted at index ``at`` of the decoded source."""

    at: int
    text: str


def add_suppressions(script: ScriptFile, codes: Mapping[int, Sequence[str]]) -> tuple[str, list[int]]:
    """``script``'s text with a suppression of ``codes[i]`` for reply ``i``; and the replies
    that could take none (a YAML block text with an explicit indentation, ``- |2``)."""
    insertions, refused = suppression_insertions(script, codes)
    text = script.text
    for insertion in sorted(insertions, key=lambda i: i.at, reverse=True):
        text = text[:insertion.at] + insertion.text + text[insertion.at:]
    return text, refused


def suppression_insertions(script: ScriptFile, codes: Mapping[int, Sequence[str]]) -> tuple[list[Insertion], list[int]]:
    """The insertions that suppress ``codes[i]`` for reply ``i`` (what ``add_suppressions``
    writes; the language server offers them as "disable for this line/entry" edits), and
    the replies that could take none."""
    newline = "\r\n" if "\r\n" in script.text else "\n"
    if script.kind == "yaml":
        return _yaml_insertions(script, codes, newline)
    return _line_insertions(script, codes, newline), []


def _directive(codes: Sequence[str]) -> str:
    # spaces between codes: a comma would split a CSV comment row into cells
    return "# kefu-lint: disable-next-line " + " ".join(codes)


# ----------------------------------------------------------------------------- TXT / CSV

def _line_insertions(script: ScriptFile, codes: Mapping[int, Sequence[str]], newline: str) -> list[Insertion]:
    """A directive line just above each reply's line (TXT) or row (CSV), indented like it."""
    row_starts = _csv_row_starts(script) if script.kind in ("csv", "tsv") else None
    insertions = []
    for index, wanted in codes.items():
        message = script.messages[index]
        assert message.offsets is not None  # the script readers locate every reply
        if row_starts is None:
            start = script.text.rfind("\n", 0, message.offsets[0]) + 1
            indent = script.text[start:message.offsets[0]]
        else:
            start, indent = _row_containing(row_starts, message.offsets[0]), ""
        insertions.append(Insertion(start, indent + _directive(wanted) + newline))
    return insertions


def _csv_row_starts(script: ScriptFile) -> list[int]:
    delimiter = "\t" if script.kind == "tsv" else _sniff_delimiter(script.text)
    starts = []
    for _, cells in _rows_with_offsets(script.text, delimiter, script.path, []):
        if cells:
            first = cells[0][1][0]
            # a quoted first cell's range starts after its quote
            starts.append(first - 1 if first > 0 and script.text[first - 1] == '"' else first)
    return starts


def _row_containing(row_starts: list[int], index: int) -> int:
    from bisect import bisect_right

    return row_starts[max(bisect_right(row_starts, index) - 1, 0)]


# ----------------------------------------------------------------------------- YAML

def _yaml_insertions(script: ScriptFile, codes: Mapping[int, Sequence[str]], newline: str):
    """``ignore:`` for each entry: extended where it exists, added after the entry's last line
    otherwise; a bare text becomes ``text: …`` with its ``ignore:`` beside it."""
    text = script.text
    firsts = sorted((m.offsets[0], i) for i, m in enumerate(script.messages) if i in codes and m.offsets)
    insertions: list[Insertion] = []
    refused: list[int] = []
    for node, parent_column in _entry_nodes(_compose(text)):
        if isinstance(node, yaml.MappingNode):
            fields = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
            text_node = fields.get("text")
            index = _message_of(firsts, text_node) if isinstance(text_node, yaml.ScalarNode) else None
            if index is None:
                continue
            if "ignore" in fields:
                insertions.extend(_extend_ignore(text, fields["ignore"], codes[index], newline))
            elif node.flow_style:
                insertions.append(Insertion(node.end_mark.index - 1, f", ignore: [{', '.join(codes[index])}]"))
            else:
                column = node.value[0][0].start_mark.column
                insertions.append(Insertion(_after_line(text, _last_scalar(node)), " " * column + _ignore_line(codes[index]) + newline))
        elif isinstance(node, yaml.ScalarNode):
            index = _message_of(firsts, node)
            if index is None:
                continue
            if node.style in ("|", ">") and any(c.isdigit() for c in _block_header(text, node)):
                refused.append(index)  # an explicit indentation (`|2`) would have to be rewritten
                continue
            column = node.start_mark.column if parent_column is None else parent_column + 2
            if parent_column is None:  # a list item: `- 你好` becomes `- text: 你好` + ignore
                insertions.append(Insertion(node.start_mark.index, "text: "))
            else:  # `id: 你好` becomes `id:`, then the text and its ignore indented below
                colon = text.rfind(":", 0, node.start_mark.index)
                insertions.append(Insertion(colon + 1, newline + " " * column + "text:"))
            # A text over several lines (a `- |` or `- >` block, a folded quote) is now a value
            # inside the new mapping: its lines move two columns right, which YAML reads as the
            # same text (a block's indentation is its own; a flow scalar's is folded away).
            insertions.extend(Insertion(at, "  ") for at in _continuation_lines(text, node))
            insertions.append(Insertion(_after_line(text, node), " " * column + _ignore_line(codes[index]) + newline))
    return insertions, refused


def _block_header(text: str, node: yaml.ScalarNode) -> str:
    """A block scalar's header: ``|``, ``>-``, ``|2+`` …, up to the end of its line."""
    end = text.find("\n", node.start_mark.index)
    return text[node.start_mark.index:end if end != -1 else len(text)].split("#", 1)[0].strip()


def _continuation_lines(text: str, node: yaml.ScalarNode) -> list[int]:
    """Where each line of ``node`` after its first starts, for the lines that hold anything
    (an empty line has no indentation to keep; one of spaces only keeps its spaces)."""
    starts = []
    at = text.find("\n", node.start_mark.index, node.end_mark.index)
    while at != -1 and at + 1 < node.end_mark.index:
        start = at + 1
        if text[start] not in "\r\n":
            starts.append(start)
        at = text.find("\n", start, node.end_mark.index)
    return starts


def _ignore_line(codes: Sequence[str]) -> str:
    return f"ignore: [{', '.join(codes)}]"


def _message_of(firsts: list[tuple[int, int]], node: yaml.ScalarNode) -> int | None:
    """The reply read from ``node``: the one whose first character lies inside it."""
    from bisect import bisect_left

    at = bisect_left(firsts, (node.start_mark.index, -1))
    if at < len(firsts) and firsts[at][0] < max(node.end_mark.index, node.start_mark.index + 1):
        return firsts[at][1]
    return None


def _last_scalar(node):
    """The last scalar of a block collection: its line is the collection's last line (the
    collection's own end mark is the next entry's start, past the comments before it)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node


def _entry_nodes(root):
    """Each entry node with, for an ``id: text`` mapping, its key's column (None in a list)."""
    if root is None:
        return
    if isinstance(root, yaml.MappingNode):
        keys = {k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
        if keys & {"entries", "scripts", "replies"} and len(keys) <= 3:
            for key, value in root.value:
                if key.value in ("entries", "scripts", "replies"):
                    root = value
                    break
    if isinstance(root, yaml.SequenceNode):
        for item in root.value:
            yield item, None
    elif isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            yield value, key.start_mark.column if isinstance(value, yaml.ScalarNode) else None


def _after_line(text: str, node) -> int:
    """The index just after the line a node's last character is on."""
    end = node.end_mark.index
    if end > 0 and text[end - 1] == "\n":
        return end  # a block text or a nested block ends with its line
    newline = text.find("\n", end)
    return len(text) if newline == -1 else newline + 1


def _extend_ignore(text: str, node, codes: Sequence[str], newline: str) -> list[Insertion]:
    if isinstance(node, yaml.SequenceNode):
        if node.flow_style or not node.value:
            close = text.rfind("]", node.start_mark.index, node.end_mark.index)
            return [Insertion(close, (", " if node.value else "") + ", ".join(codes))]
        last = _last_scalar(node.value[-1])
        dash = text.rfind("-", 0, node.value[-1].start_mark.index)
        column = dash - (text.rfind("\n", 0, dash) + 1)
        return [Insertion(_after_line(text, last), "".join(" " * column + f"- {code}" + newline for code in codes))]
    if isinstance(node, yaml.ScalarNode) and node.style is None and node.value:
        return [Insertion(node.end_mark.index, ", " + ", ".join(codes))]
    if isinstance(node, yaml.ScalarNode) and node.style in ("'", '"'):
        return [Insertion(node.end_mark.index - 1, ", " + ", ".join(codes))]
    return []  # an empty `ignore:`: nothing to extend safely


__all__ = ["add_suppressions", "suppression_insertions", "Insertion"]
