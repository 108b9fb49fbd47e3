"""Chat-log readers for the audit: JSONL, and CSV/TSV through a column mapping. Streaming.

Every input line becomes either a ``ChatMessage`` or a ``Rejected`` record with the file,
line and reason, so that lines read = messages + rejected, always.

JSONL, one message per line::

    {"conversation_id": "c1", "role": "customer", "text": "在吗", "time": "2026-11-01T10:00:00+08:00",
     "agent": "小美", "shop": "旗舰店", "message_id": "m1"}

``time`` is ISO-8601 or epoch seconds. CSV/TSV take ``--columns conversation_id=1,role=3,text=7``
(1-based numbers or header names) and ``--agent-role 1``/``--customer-role 0`` to map role
values, so raw exports such as the JDDC corpus read without conversion.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import json
import re
import sys
import zlib
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
#: A message's ``seq`` is input number * this + line number: input order, unique across inputs.
SEQ_PER_INPUT = 10_000_000_000
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rejected:
    source: str
    line: int
    reason: str
    raw: str


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
    encoding = encoding or "utf-8-sig"
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
    """Epoch seconds from epoch seconds (number or numeric string) or ISO-8601; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("time must be ISO-8601 or epoch seconds")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8)))  # China Standard Time
    return moment.timestamp()


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
    for name in REQUIRED:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip() and name != "text"):
            raise ValueError(f"missing {name}")
    text = record["text"]
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    if _UNDECODED.search(text):
        raise ValueError("text has bytes that are not valid UTF-8 (pass --encoding)")
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
    except (ValueError, TypeError) as error:
        reason = f"invalid JSON: {error.msg}" if isinstance(error, json.JSONDecodeError) else str(error)
        if at_end_of_file and isinstance(error, json.JSONDecodeError):
            reason += " (truncated last line?)"
        return Rejected(source, number, reason, line[:500].encode("utf-8", "replace").decode("utf-8", "replace"))


def read_jsonl(path: str, *, encoding: str | None = None, seq_start: int = 0) -> Iterator[ChatMessage | Rejected]:
    for batch in jsonl_line_batches(path, 1000, encoding=encoding):
        yield from parse_jsonl_batch(path, batch, seq_start)


LineBatch = tuple[int, list[str]]  # (number of the first line, the raw lines)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter), read lazily: memory stays bounded."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def jsonl_line_batches(path: str, size: int, *, encoding: str | None = None) -> Iterator[LineBatch]:
    """The raw lines of a JSONL log in numbered batches, for parsing elsewhere (audit workers).
    Read errors become an InputError naming the file, as in :func:`read_chat_log`."""
    try:
        with open_text(path, encoding) as stream:
            first = 1
            for lines in batched(stream, size):
                yield first, lines
                first += len(lines)
    except (OSError, EOFError, UnicodeError, zlib.error) as error:
        raise InputError(f"{path}: cannot read past this point: {error}") from None


def parse_jsonl_batch(path: str, batch: LineBatch, seq_start: int = 0) -> list[ChatMessage | Rejected]:
    """The records of a batch from :func:`jsonl_line_batches`: what :func:`read_jsonl` yields
    for those lines."""
    first, lines = batch
    records = []
    for number, raw in enumerate(lines, start=first):
        record = parse_jsonl_line(raw, path, number, seq_start + number, at_end_of_file=not raw.endswith("\n"))
        if record is not None:
            records.append(record)
    return records


def parse_table_row(row: list[str], positions: dict[str, int], mapping: ColumnMapping, source: str, number: int,
                    seq: int, delimiter: str) -> ChatMessage | Rejected | None:
    """One CSV/TSV row (already split): a message, a rejection, or None for a blank row."""
    if not row or all(not cell.strip() for cell in row):
        return None
    try:
        record = {}
        for name, index in positions.items():
            if index >= len(row):
                raise ValueError(f"row has {len(row)} columns, {name} is column {index + 1}")
            record[name] = row[index]
        return _message(record, source, number, seq, mapping)
    except ValueError as error:
        return Rejected(source, number, str(error), (delimiter.join(row))[:500])


def read_table(path: str, mapping: ColumnMapping, *, encoding: str | None = None, seq_start: int = 0) -> Iterator[ChatMessage | Rejected]:
    if not mapping.columns:
        raise ConfigError("CSV/TSV chat logs need --columns, e.g. --columns conversation_id=1,role=3,text=7")
    missing = [name for name in REQUIRED if name not in mapping.columns]
    if missing:
        raise ConfigError(f"--columns must name {', '.join(missing)}")
    delimiter = mapping.delimiter or ","
    csv.field_size_limit(MAX_LINE_CHARS)
    with open_text(path, encoding) as stream:
        # Tab-separated exports (the JDDC corpus among them) do not quote; csv would
        # treat a stray " in a message as an opening quote and swallow the next lines.
        quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
        reader = csv.reader(stream, delimiter=delimiter, quoting=quoting)
        positions: dict[str, int] | None = None
        row_line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                yield Rejected(path, row_line, f"malformed row: {error}", "")
                row_line = reader.line_num + 1
                continue
            number = row_line
            row_line = reader.line_num + 1
            if positions is None:
                positions, is_header = table_positions(mapping, row, path)
                if is_header:
                    continue
            record = parse_table_row(row, positions, mapping, path, number, seq_start + number, delimiter)
            if record is not None:
                yield record


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
                  encoding: str | None = None, seq_start: int = 0) -> Iterator[ChatMessage | Rejected]:
    """Messages and rejected lines of one log, in input order. A stream that breaks off (a
    corrupt gzip member, an unreadable disk) is an InputError naming the file."""
    try:
        yield from _read_chat_log(path, mapping, input_format, encoding, seq_start)
    except (OSError, EOFError, UnicodeError, zlib.error) as error:
        raise InputError(f"{path}: cannot read past this point: {error}") from None


def _read_chat_log(path, mapping, input_format, encoding, seq_start):
    kind = input_kind(path, mapping, input_format)
    if kind == "jsonl":
        return read_jsonl(path, encoding=encoding, seq_start=seq_start)
    return read_table(path, table_mapping(path, mapping, kind), encoding=encoding, seq_start=seq_start)


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
