"""Chat-log readers for the audit: JSONL, and CSV/TSV through a column mapping. Streaming.

Every input line becomes either a ``ChatMessage`` or a ``Rejected`` record with the file,
line and reason, so that lines read = messages + rejected, always.

JSONL, one message per line::

    {"conversation_id": "c1", "role": "customer", "text": "在吗", "time": "2026-11-01T10:00:00+08:00",
     "agent": "小美", "shop": "旗舰店", "message_id": "m1"}

``time`` is ISO-8601 or an epoch number: seconds, or milliseconds when it is 1e11 or more
(1e11 seconds is the year 5138, 1e11 milliseconds 1973); past 1e14 (or not finite) it is
rejected. CSV/TSV take ``--columns conversation_id=1,role=3,text=7``
(1-based numbers or header names) and ``--agent-role 1``/``--customer-role 0`` to map role
values, so raw exports such as the JDDC corpus read without conversion.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import gzip
import io
import json
import math
import re
import sys
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

from ..errors import ConfigError, InputError
from ..model import ChatMessage

FIELDS = ("conversation_id", "role", "text", "time", "agent", "shop", "message_id")
REQUIRED = ("conversation_id", "role", "text")
ROLE_ALIASES = {
    "customer": "customer", "buyer": "customer", "user": "customer", "顾客": "customer", "客户": "customer", "买家": "customer",
    "agent": "agent", "staff": "agent", "seller": "agent", "service": "agent", "客服": "agent", "卖家": "agent",
    "system": "system", "bot": "system", "robot": "system", "系统": "system", "机器人": "system",
}
MAX_LINE_CHARS = 1_000_000
#: A quoted CSV cell may span lines, but one that runs on past this many is taken for an
#: unclosed quote: its first line is rejected and the lines it swallowed are read again.
MAX_ROW_LINES = 1000
#: Epoch numbers from here on are milliseconds (1e11 seconds is the year 5138, 1e11 ms is 1973) …
EPOCH_MILLISECONDS_FROM = 1e11
#: … and from here on out of range (1e14 milliseconds is the year 5138 again).
EPOCH_OUT_OF_RANGE = 1e14
#: A message's ``seq`` is input number * this + line number: input order, unique across inputs.
SEQ_PER_INPUT = 10_000_000_000
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode
_SURROGATE = re.compile("[\ud800-\udfff]")  # no character: SQLite, UTF-8 and Parquet refuse it
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rejected:
    source: str
    line: int
    reason: str
    raw: str


@dataclass(slots=True)
class RecordCount:
    """How many records a reader has read (a non-blank JSONL line, a CSV/TSV row other than
    the header, a point where the file breaks off), counted as they are read and apart from
    what becomes of them: records lost on the way to the database then show as a mismatch."""

    records: int = 0


def storable(text: str) -> str:
    """``text`` with what is no character (a lone surrogate, an undecodable byte) as ``?``:
    the raw text of a rejected line, kept for the auditor, must itself be storable."""
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class ColumnMapping:
    """Where each field is in a CSV/TSV row, and which role values mean agent or customer."""

    columns: dict[str, str]
    agent_roles: tuple[str, ...] = ()
    customer_roles: tuple[str, ...] = ()
    header: bool | None = None  # None: detect
    delimiter: str | None = None

    @classmethod
    def parse(cls, spec: str | None, agent_roles: str | None = None, customer_roles: str | None = None,
              header: bool | None = None, delimiter: str | None = None) -> ColumnMapping:
        columns: dict[str, str] = {}
        for part in (spec or "").split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ConfigError(f"--columns takes field=column pairs, got {part!r}")
            field, column = (p.strip() for p in part.split("=", 1))
            if field not in FIELDS:
                raise ConfigError(f"--columns: unknown field {field!r}; fields: {', '.join(FIELDS)}")
            columns[field] = column
        split = lambda value: tuple(v.strip() for v in (value or "").split(",") if v.strip())  # noqa: E731
        return cls(columns, split(agent_roles), split(customer_roles), header, delimiter)


def open_text(path: str, encoding: str | None = None) -> io.TextIOBase:
    """A text stream for a path, ``-`` (stdin) or a ``.gz`` file; UTF-8 (with or without BOM) unless told."""
    if path == "-":
        raw = sys.stdin.buffer
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - the caller closes the wrapper
        except OSError as error:
            raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if path.endswith(".gz") or head == b"\x1f\x8b":
        raw = gzip.GzipFile(fileobj=raw)
    if encoding is None:
        # "utf-8-sig" only when there is a BOM: its decoder drops an incomplete BOM at the end
        # of the input (a file holding just \xef), and that line would be lost uncounted.
        encoding = "utf-8-sig" if (raw.peek(3)[:3] if hasattr(raw, "peek") else codecs.BOM_UTF8) == codecs.BOM_UTF8 else "utf-8"
    # Undecodable bytes are replaced, and the line they sit on is rejected with its reason.
    return io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")


def _flag(value) -> bool:
    """``partial``: JSON true/false, or 1/0, true/false, yes/no in a CSV cell."""
    if value in (None, "", False, 0, "0"):
        return False
    if value is True or value == 1 or str(value).strip().lower() in ("1", "true", "yes"):
        return True
    if str(value).strip().lower() in ("false", "no"):
        return False
    raise ValueError(f"partial must be true or false, got {value!r}")


def parse_time(value) -> float | None:
    """Epoch seconds from an epoch number (seconds, or milliseconds from 1e11 on; also as a
    numeric string) or ISO-8601; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("time must be ISO-8601 or epoch seconds")
    if isinstance(value, (int, float)):
        return _epoch_seconds(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _epoch_seconds(number)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8)))  # China Standard Time
    return moment.timestamp()


def _epoch_seconds(number: int | float) -> float:
    shown = repr(number) if len(repr(number)) <= 30 else repr(number)[:30] + "…"
    try:
        seconds = float(number)
    except OverflowError:  # an integer of hundreds of digits
        seconds = math.inf
    if math.isnan(seconds):
        raise ValueError(f"time must be a number of epoch seconds, got {shown}")
    if abs(seconds) >= EPOCH_OUT_OF_RANGE:
        raise ValueError(f"time {shown} is out of range (epoch seconds, or milliseconds from 1e11)")
    return seconds / 1000 if abs(seconds) >= EPOCH_MILLISECONDS_FROM else seconds


def _role(value, mapping: ColumnMapping | None) -> str:
    text = str(value).strip()
    if mapping is not None:
        if text in mapping.agent_roles:
            return "agent"
        if text in mapping.customer_roles:
            return "customer"
        if mapping.agent_roles and not mapping.customer_roles and text not in ROLE_ALIASES:
            return "customer"  # --agent-role alone: everything else is the customer
    role = ROLE_ALIASES.get(text.lower())
    if role is None:
        raise ValueError(f"unknown role {text!r} (customer, agent, system; or map values with --agent-role)")
    return role


def _message(record: dict, source: str, line: int, seq: int, mapping: ColumnMapping | None) -> ChatMessage:
    for name in (*FIELDS, "partial"):
        value = record.get(name)
        if isinstance(value, str) and _SURROGATE.search(value):
            if _UNDECODED.search(value):
                raise ValueError(f"{name} has bytes that are not valid UTF-8 (pass --encoding)")
            raise ValueError(f"{name} has a lone surrogate (\\u{ord(_SURROGATE.search(value)[0]):04x}), which is no character")
    for name in REQUIRED:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip() and name != "text"):
            raise ValueError(f"missing {name}")
    text = record["text"]
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    optional = {name: (str(record[name]) if record.get(name) not in (None, "") else None) for name in ("agent", "shop", "message_id")}
    return ChatMessage(
        conversation_id=str(record["conversation_id"]).strip(),
        role=_role(record["role"], mapping),  # type: ignore[arg-type]
        text=text,
        time=parse_time(record.get("time")),
        partial=_flag(record.get("partial")),
        source=source,
        line=line,
        seq=seq,
        **optional,
    )


def parse_jsonl_line(line: str, source: str, number: int, seq: int, *, at_end_of_file: bool = False) -> ChatMessage | Rejected | None:
    """One JSONL line: a message, a rejection with its reason, or None for a blank line.
    The local reader and the Spark engine both call this, so they accept the same lines."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if len(line) > MAX_LINE_CHARS:
        return Rejected(source, number, f"line longer than {MAX_LINE_CHARS} characters", line[:200])
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            raise ValueError("a line must be a JSON object")
        return _message(record, source, number, seq, None)
    except RecursionError:
        return Rejected(source, number, "invalid JSON: nested too deeply", storable(line[:500]))
    except (ValueError, TypeError) as error:
        reason = f"invalid JSON: {error.msg}" if isinstance(error, json.JSONDecodeError) else str(error)
        if at_end_of_file and isinstance(error, json.JSONDecodeError):
            reason += " (truncated last line?)"
        return Rejected(source, number, reason, storable(line[:500]))


def read_jsonl(path: str, *, encoding: str | None = None, seq_start: int = 0,
               count: RecordCount | None = None) -> Iterator[ChatMessage | Rejected]:
    for batch in jsonl_line_batches(path, 1000, encoding=encoding, count=count):
        yield from parse_jsonl_batch(path, batch, seq_start)


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Raw lines of a JSONL log, numbered, for parsing elsewhere (audit workers)."""

    first: int  # number of the first line
    lines: list[str]
    #: Why the file cannot be read past these lines (a truncated .gz), or None.
    broken: str | None = None


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter), read lazily: memory stays bounded."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


#: What a stream that breaks off part-way raises: a truncated or corrupt .gz, a failing disk.
READ_ERRORS = (OSError, EOFError, UnicodeError, zlib.error)


def _lines_until_broken(stream: Iterable[str], broken: list[str]) -> Iterator[str]:
    """The lines of ``stream`` up to where it breaks off; the reason then goes into ``broken``,
    so that the lines before the break are still read (and the break is reported as a record)."""
    try:
        yield from stream
    except READ_ERRORS as error:
        broken.append(f"the file cannot be read past this point: {error}")


def jsonl_line_batches(path: str, size: int, *, encoding: str | None = None,
                       count: RecordCount | None = None) -> Iterator[LineBatch]:
    """The raw lines of a JSONL log in numbered batches; where the file breaks off, a last
    batch says why. ``count`` counts the non-blank lines (and the break) as they are read."""
    with open_text(path, encoding) as stream:
        broken: list[str] = []
        first = 1
        for lines in batched(_lines_until_broken(stream, broken), size):
            if count is not None:
                count.records += sum(1 for line in lines if line.strip())
            yield LineBatch(first, lines)
            first += len(lines)
        if broken:
            if count is not None:
                count.records += 1
            yield LineBatch(first, [], broken[0])


def parse_jsonl_batch(path: str, batch: LineBatch, seq_start: int = 0) -> list[ChatMessage | Rejected]:
    """The records of a batch from :func:`jsonl_line_batches`: what :func:`read_jsonl` yields
    for those lines."""
    records = []
    for number, raw in enumerate(batch.lines, start=batch.first):
        record = parse_jsonl_line(raw, path, number, seq_start + number, at_end_of_file=not raw.endswith("\n"))
        if record is not None:
            records.append(record)
    if batch.broken is not None:
        records.append(Rejected(path, batch.first + len(batch.lines), batch.broken, ""))
    return records


def _blank(row: list[str]) -> bool:
    return not row or all(not cell.strip() for cell in row)


def parse_table_row(row: list[str], positions: dict[str, int], mapping: ColumnMapping, source: str, number: int,
                    seq: int, delimiter: str) -> ChatMessage | Rejected | None:
    """One CSV/TSV row (already split): a message, a rejection, or None for a blank row."""
    if _blank(row):
        return None
    try:
        record = {}
        for name, index in positions.items():
            if index >= len(row):
                raise ValueError(f"row has {len(row)} columns, {name} is column {index + 1}")
            record[name] = row[index]
        return _message(record, source, number, seq, mapping)
    except ValueError as error:
        return Rejected(source, number, str(error), storable(delimiter.join(row)[:500]))


def read_table(path: str, mapping: ColumnMapping, *, encoding: str | None = None, seq_start: int = 0,
               count: RecordCount | None = None) -> Iterator[ChatMessage | Rejected]:
    if not mapping.columns:
        raise ConfigError("CSV/TSV chat logs need --columns, e.g. --columns conversation_id=1,role=3,text=7")
    missing = [name for name in REQUIRED if name not in mapping.columns]
    if missing:
        raise ConfigError(f"--columns must name {', '.join(missing)}")
    delimiter = mapping.delimiter or ","
    csv.field_size_limit(MAX_LINE_CHARS)
    counted = count if count is not None else RecordCount()
    with open_text(path, encoding) as stream:
        # Tab-separated exports (the JDDC corpus among them) do not quote; csv would
        # treat a stray " in a message as an opening quote and swallow the next lines.
        quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
        broken: list[str] = []
        tape = _RowTape(_lines_until_broken(stream, broken))
        positions: dict[str, int] | None = None
        while True:
            # strict: a quote the csv module cannot close is an error here, not a cell that
            # silently swallows the rest of the file.
            reader = csv.reader(tape, delimiter=delimiter, quoting=quoting, strict=True)
            try:
                for row in reader:
                    number = tape.row_start
                    tape.next_row()
                    if positions is None:
                        positions, is_header = table_positions(mapping, row, path)
                        if is_header:
                            continue
                    if not _blank(row):
                        counted.records += 1
                    record = parse_table_row(row, positions, mapping, path, number, seq_start + number, delimiter)
                    if record is not None:
                        yield record
                break
            except (csv.Error, _RowTooLong) as error:
                counted.records += 1
                number, first_line = tape.row_start, tape.reread_after_first_line()
                yield Rejected(path, number, _row_error(error), storable(first_line.rstrip("\r\n")[:500]))
        if broken:
            counted.records += 1
            yield Rejected(path, tape.row_start, broken[0], "")


class _RowTooLong(Exception):
    pass


def _row_error(error: Exception) -> str:
    text = str(error)
    if isinstance(error, _RowTooLong):
        return f"unclosed quote? a quoted cell runs on past {MAX_ROW_LINES} lines (the lines after this one are read on their own)"
    if "unexpected end of data" in text:
        return "unclosed quote: the quoted cell runs to the end of the file (the lines after this one are read on their own)"
    if "field limit" in text:
        return f"unclosed quote? a cell longer than {MAX_LINE_CHARS} characters (the lines after this one are read on their own)"
    return f"malformed row: {text}"


class _RowTape:
    """The physical lines the csv module reads, kept from the start of the row it is reading:
    a row it cannot finish (an unclosed quote) is rejected alone and the lines it swallowed
    are read again, as rows of their own. At most ``MAX_ROW_LINES`` lines are kept."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._again: deque[str] = deque()
        self._row: list[str] = []
        self.row_start = 1  # line number of the row being read

    def __iter__(self) -> _RowTape:
        return self

    def __next__(self) -> str:
        if len(self._row) >= MAX_ROW_LINES:
            raise _RowTooLong
        line = self._again.popleft() if self._again else next(self._lines)
        self._row.append(line)
        return line

    def next_row(self) -> None:
        self.row_start += len(self._row)
        self._row = []

    def reread_after_first_line(self) -> str:
        """Drop the row being read but its first line, which is returned; read the rest again."""
        first, rest = (self._row[0], self._row[1:]) if self._row else ("", [])
        self._again.extendleft(reversed(rest))
        self.row_start += 1
        self._row = []
        return first


def table_positions(mapping: ColumnMapping, first_row: list[str], path: str) -> tuple[dict[str, int], bool]:
    named = {cell.strip().lower(): index for index, cell in enumerate(first_row)}
    by_name = any(not column.isdigit() for column in mapping.columns.values())
    is_header = mapping.header if mapping.header is not None else by_name or all(f in named for f in REQUIRED)
    positions = {}
    for field, column in mapping.columns.items():
        if column.isdigit():
            positions[field] = int(column) - 1
        elif column.lower() in named:
            positions[field] = named[column.lower()]
        else:
            raise ConfigError(f"{path}: no column named {column!r} in the header ({', '.join(first_row)})")
    return positions, is_header


def read_chat_log(path: str, *, mapping: ColumnMapping | None = None, input_format: str = "auto",
                  encoding: str | None = None, seq_start: int = 0,
                  count: RecordCount | None = None) -> Iterator[ChatMessage | Rejected]:
    """Messages and rejected lines of one log, in input order; ``count`` counts the records
    read. Where the stream breaks off (a truncated .gz) the lines before are read and the
    break is a rejected record; a file that cannot be opened at all is an InputError."""
    try:
        yield from _read_chat_log(path, mapping, input_format, encoding, seq_start, count)
    except READ_ERRORS as error:
        raise InputError(f"{path}: cannot read past this point: {error}") from None


def _read_chat_log(path, mapping, input_format, encoding, seq_start, count):
    kind = input_kind(path, mapping, input_format)
    if kind == "jsonl":
        return read_jsonl(path, encoding=encoding, seq_start=seq_start, count=count)
    return read_table(path, table_mapping(path, mapping, kind), encoding=encoding, seq_start=seq_start, count=count)


def input_kind(path: str, mapping: ColumnMapping | None, input_format: str = "auto") -> str:
    """jsonl, csv or tsv, from ``input_format`` or the file name."""
    if input_format != "auto":
        return input_format
    suffix = Path(path.removesuffix(".gz")).suffix.lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv", ".txt": "tsv"}.get(
        suffix, "jsonl" if not (mapping and mapping.columns) else "csv"
    )


def table_mapping(path: str, mapping: ColumnMapping | None, kind: str) -> ColumnMapping:
    mapping = mapping or ColumnMapping({})
    if mapping.delimiter is None:
        delimiter = "\t" if kind == "tsv" else ","
        mapping = ColumnMapping(mapping.columns, mapping.agent_roles, mapping.customer_roles, mapping.header, delimiter)
    return mapping
