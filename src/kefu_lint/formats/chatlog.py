"""Chat-log readers for the audit: JSONL, and CSV/TSV through a column mapping. Streaming.

Every input line becomes either a ``ChatMessage`` or a ``Rejected`` record with the file,
line and reason, so that lines read = messages + rejected, always.

JSONL, one message per line::

    {"conversation_id": "c1", "role": "customer", "text": "在吗", "time": "2026-11-01T10:00:00+08:00",
     "agent": "小美", "shop": "旗舰店", "message_id": "m1"}

``time`` is ISO-8601, a form Chinese tools export (``2026/11/01 10:00:00``, ``2026-11-01 10:00``,
``2026年11月1日 10:00``), or an epoch number: seconds, or milliseconds when it is 1e11 or more
(1e11 seconds is the year 5138, 1e11 milliseconds 1973); past 1e14 (or not finite) it is
rejected. A time without an offset is read in the audit's ``--timezone`` (China Standard
Time by default). The encoding is detected as ``check`` detects it, unless told. CSV/TSV take ``--columns conversation_id=1,role=3,text=7``
(1-based numbers or header names) and ``--agent-role 1``/``--customer-role 0`` to map role
values, so raw exports such as the JDDC corpus read without conversion.
"""

from __future__ import annotations

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
from typing import BinaryIO, Literal, TypeVar, cast

from ..errors import ConfigError, InputError
from ..model import ChatMessage
from .decode import sniff_encoding

try:  # the `fast` extra: several times faster than the json module on chat-log lines
    from orjson import JSONDecodeError as _FastJSONError
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _fast_loads = None  # type: ignore[assignment]

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

#: csv's quoting constants (QUOTE_MINIMAL, QUOTE_ALL, QUOTE_NONNUMERIC, QUOTE_NONE).
_Quoting = Literal[0, 1, 2, 3]


@dataclass(frozen=True, slots=True)
class Rejected:
    source: str
    line: int
    reason: str  # in the audit's language (Chinese, or English with --lang en)
    raw: str


#: The languages a rejection reason is written in: Chinese for the CS team, English with --lang en.
LANGUAGES = ("zh", "en")


class RecordError(ValueError):
    """Why a record is rejected, in each of ``LANGUAGES``: the reader that rejects the record
    picks the audit's language (``str()`` is the Chinese)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(zh, en)  # both in args: the error crosses to audit workers pickled

    def __str__(self) -> str:
        return self.args[0]

    def text(self, language: str = "zh") -> str:
        return self.args[LANGUAGES.index(language)]


def reason_text(error: Exception, language: str = "zh") -> str:
    """A rejection reason from the error a record raised, in ``language``."""
    return error.text(language) if isinstance(error, RecordError) else str(error)


#: A repeated message id's reason, around the quoted id and where it was first read
#: (``file:line``): one template for the local store's SQL and the Spark engine's columns.
DUPLICATE_ID_REASON = {
    "zh": ("message_id ", " 重复：已在 ", " 读过"),
    "en": ("duplicate message_id ", ": already read at ", ""),
}


def duplicate_id_reason(message_id: str, first_read_at: str, language: str = "zh") -> str:
    """``DUPLICATE_ID_REASON`` filled in (what the SQL and Spark expressions build)."""
    before, middle, after = DUPLICATE_ID_REASON[language]
    return before + "'" + message_id.replace("'", "''") + "'" + middle + first_read_at + after


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


def open_text(path: str, encoding: str | None = None, raw: BinaryIO | None = None) -> io.TextIOBase:
    """A text stream for a path, ``-`` (stdin) or a ``.gz`` file, or for the bytes of ``raw``
    (read as the file ``path`` would be: the Spark engine hands each file's bytes). Without
    ``encoding`` the encoding is detected from the first bytes as ``check`` detects it (a BOM,
    UTF-8, GB18030/GBK, Big5): a shop's GBK export reads as it is."""
    stream: BinaryIO | io.BufferedIOBase
    if raw is not None:
        # BufferedReader reads any binary stream, not only a RawIOBase (Spark hands BytesIO)
        stream = raw if hasattr(raw, "peek") else io.BufferedReader(cast(io.RawIOBase, raw))
    elif path == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - the caller closes the wrapper
        except OSError as error:
            raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    peek = getattr(stream, "peek", None)
    head = peek(2)[:2] if peek is not None else b""
    if path.endswith(".gz") or head == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream)
    if encoding is None:
        replayed = _Replayed(stream, SNIFF_BYTES)
        # A BOM in the head is "utf-8-sig"; without one the stream is plain "utf-8", never
        # "utf-8-sig": that decoder drops an incomplete BOM at the end of the input (a file
        # holding just \xef), and that line would be lost uncounted.
        encoding = sniff_encoding(replayed.head)
        stream = io.BufferedReader(replayed)
    # Undecodable bytes are replaced, and the line they sit on is rejected with its reason.
    return io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")


#: How much of a log its encoding is detected from.
SNIFF_BYTES = 1 << 16


class _Replayed(io.RawIOBase):
    """A binary stream whose first bytes were read ahead (to detect the encoding) and are
    read again. Where the stream broke off inside them (a truncated .gz), the bytes before
    the break are read first and the error is raised at the point where it happened."""

    def __init__(self, raw, size: int) -> None:
        self._raw = raw
        chunks: list[bytes] = []
        self._error: BaseException | None = None
        try:
            while sum(map(len, chunks)) < size and (chunk := raw.read(min(8192, size))):
                chunks.append(chunk)
        except READ_ERRORS as error:
            self._error = error
        self.head = b"".join(chunks)
        self._pending = memoryview(self.head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pending:
            count = min(len(buffer), len(self._pending))
            buffer[:count] = self._pending[:count]
            self._pending = self._pending[count:]
            return count
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _flag(value) -> bool:
    """``partial``: JSON true/false, or 1/0, true/false, yes/no in a CSV cell."""
    if value in (None, "", False, 0, "0"):
        return False
    if value is True or value == 1 or str(value).strip().lower() in ("1", "true", "yes"):
        return True
    if str(value).strip().lower() in ("false", "no"):
        return False
    raise RecordError(f"partial 须为 true 或 false，而不是 {value!r}", f"partial must be true or false, got {value!r}")


#: Naive times (no offset) are read in this zone unless told otherwise (``--timezone``).
CHINA_STANDARD_TIME = datetime.timezone(datetime.timedelta(hours=8))
#: The date-and-time forms Chinese shops' exports write, besides ISO-8601:
#: 2026/11/01 10:00:00, 2026-11-01 10:00, 2026.11.1 9:05, 2026年11月1日 10:00, 10时05分30秒.
_LOCAL_FORM = re.compile(
    r"(?P<year>\d{4})\s*(?:[-/.]|年)\s*(?P<month>\d{1,2})\s*(?:[-/.]|月)\s*(?P<day>\d{1,2})\s*日?"
    r"(?:(?:\s+|T|\s*(?=\d{1,2}\s*[:：时]))(?P<hour>\d{1,2})\s*[:：时]\s*(?P<minute>\d{1,2})\s*分?"
    r"(?:\s*[:：]?\s*(?P<second>\d{1,2})(?:[.,](?P<fraction>\d{1,6}))?\s*秒?)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?"
)
TIME_FORMS = "2026-11-01 10:00:00、2026/11/01 10:00、2026年11月1日 10:00、ISO-8601（可带时区，如 +08:00）或纪元秒/毫秒"
TIME_FORMS_EN = "2026-11-01 10:00:00, 2026/11/01 10:00, 2026年11月1日 10:00, ISO-8601 (an offset such as +08:00 allowed) or epoch seconds/milliseconds"


def parse_time(value, timezone: datetime.tzinfo = CHINA_STANDARD_TIME) -> float | None:
    """Epoch seconds from an epoch number (seconds, or milliseconds from 1e11 on; also as a
    numeric string), ISO-8601 or a common Chinese form (``TIME_FORMS``); None when empty.
    A time without an offset is read in ``timezone``. Errors quote the value as given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"time 「{_shown(value)}」不是时间：请用 {TIME_FORMS}", f'time "{_shown(value)}" is not a time: use {TIME_FORMS_EN}')
    if isinstance(value, (int, float)):
        return _epoch_seconds(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _epoch_seconds(number, shown=text)
    # ISO-8601 first: most logs write it, and the C parser is several times faster.
    moment = _iso(text) or _local_form(text)
    if isinstance(moment, bool):  # False: a form naming no real moment
        raise RecordError(f"time 「{_shown(value)}」不是存在的日期或时刻：请检查年、月、日和时、分、秒",
                          f'time "{_shown(value)}" names no real date or time: check the year, month, day, hour, minute and second')
    if moment is None:
        raise RecordError(f"time 「{_shown(value)}」无法识别：请用 {TIME_FORMS}", f'time "{_shown(value)}" is not a time form kefu-lint reads: use {TIME_FORMS_EN}')
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    return moment.timestamp()


def _shown(value) -> str:
    """A value as the log wrote it, cut at 60 characters, for a reason to quote."""
    shown = str(value)
    return shown if len(shown) <= 60 else shown[:60] + "…"


def _local_form(text: str) -> datetime.datetime | None | bool:
    """The moment a Chinese form names; None when ``text`` is not one, False when it is
    one but names no real date or time (2026/02/30)."""
    match = _LOCAL_FORM.fullmatch(text)
    if match is None:
        return None
    part = lambda name: int(match[name]) if match[name] else 0  # noqa: E731
    offset = match["offset"]
    zone = None
    if offset == "Z":
        zone = datetime.timezone.utc
    elif offset:
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
        zone = datetime.timezone(datetime.timedelta(minutes=minutes if offset[0] == "+" else -minutes))
    try:
        return datetime.datetime(part("year"), part("month"), part("day"), part("hour"), part("minute"), part("second"),
                                 int((match["fraction"] or "0").ljust(6, "0")), tzinfo=zone)
    except (ValueError, OverflowError):
        return False


def _iso(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_timezone(name: str | None) -> datetime.tzinfo:
    """``--timezone``: an IANA zone name (Asia/Shanghai), UTC, or an offset (+08:00, -0500)."""
    if not name:
        return CHINA_STANDARD_TIME
    text = name.strip()
    offset = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", text, re.IGNORECASE)
    if offset:
        minutes = int(offset[2]) * 60 + int(offset[3] or 0)
        if minutes < 24 * 60:
            return datetime.timezone(datetime.timedelta(minutes=minutes if offset[1] == "+" else -minutes))
    if text.upper() in ("UTC", "GMT", "Z"):
        return datetime.timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(text)
    except (ValueError, OSError, ImportError, KeyError):
        pass
    raise ConfigError(f"--timezone: 不认识时区「{name}」：请用 IANA 时区名（如 Asia/Shanghai）、UTC 或偏移量（如 +08:00）")


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _local_moment(seconds: float, timezone: datetime.tzinfo) -> tuple[datetime.datetime, int]:
    """The moment to the millisecond (rounded half away from zero, as SQLite's ``round``
    does) in ``timezone``, and its milliseconds since the epoch."""
    scaled = seconds * 1000
    milliseconds = int(scaled + 0.5) if scaled >= 0 else -int(-scaled + 0.5)
    return (_EPOCH + datetime.timedelta(milliseconds=milliseconds)).astimezone(timezone), milliseconds


def local_iso(seconds: float | None, timezone: datetime.tzinfo) -> str | None:
    """Epoch seconds as ISO-8601 local time with its offset (2026-11-01T10:00:00+08:00), to
    the millisecond, the fraction left out when it is zero.

    The audit database computes the same text from ``time`` and ``utc_offset``
    (``audit.store.LOCAL_TIME_SQL``) instead of storing it; a property test holds the two
    equal."""
    if seconds is None:
        return None
    moment, milliseconds = _local_moment(seconds, timezone)
    return moment.isoformat(timespec="seconds" if milliseconds % 1000 == 0 else "milliseconds")


def utc_offset(seconds: float | None, timezone: datetime.tzinfo) -> int | None:
    """Seconds east of UTC in ``timezone`` at that moment (named zones change theirs)."""
    if seconds is None:
        return None
    offset = _local_moment(seconds, timezone)[0].utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _epoch_seconds(number: int | float, shown: str | None = None) -> float:
    """Epoch seconds from a number of seconds or milliseconds; ``shown`` is the value as the
    log wrote it, for the error (a JSON number is shown as parsed, at most 30 digits)."""
    shown = _shown(shown if shown is not None else number if len(repr(number)) <= 30 else repr(number)[:30] + "…")
    try:
        seconds = float(number)
    except OverflowError:  # an integer of hundreds of digits
        seconds = math.inf
    if math.isnan(seconds):
        raise RecordError(f"time 「{shown}」不是时间：纪元时间须是秒数或毫秒数",
                          f'time "{shown}" is not a time: an epoch time is a number of seconds or milliseconds')
    if abs(seconds) >= EPOCH_OUT_OF_RANGE:
        raise RecordError(f"time 「{shown}」超出范围：纪元时间读作秒数，从 1e11 起读作毫秒数，到 1e14 为止",
                          f'time "{shown}" is out of range: epoch numbers are seconds, milliseconds from 1e11 on, up to 1e14')
    seconds = seconds / 1000 if abs(seconds) >= EPOCH_MILLISECONDS_FROM else seconds
    try:
        datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):  # before the year 1: no calendar date to show
        raise RecordError(f"time 「{shown}」超出范围：早于公元1年", f'time "{shown}" is out of range: before the year 1') from None
    return seconds


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
        raise RecordError(f"不认识的角色 {text!r}：应为 customer、agent 或 system，或用 --agent-role 映射取值",
                          f"unknown role {text!r} (customer, agent, system; or map values with --agent-role)")
    return role


def _message(record: dict, source: str, line: int, seq: int, mapping: ColumnMapping | None,
             timezone: datetime.tzinfo = CHINA_STANDARD_TIME, *, surrogate_free: bool = False) -> ChatMessage:
    """``surrogate_free``: the caller knows no field can hold a surrogate (its raw line held
    neither one nor an escape that makes one)."""
    for name in () if surrogate_free else (*FIELDS, "partial"):
        value = record.get(name)
        if isinstance(value, str) and (lone := _SURROGATE.search(value)):
            if _UNDECODED.search(value):
                raise RecordError(f"{name} 含有不是 UTF-8 的字节（请用 --encoding 指明编码）",
                                  f"{name} has bytes that are not valid UTF-8 (pass --encoding)")
            code = f"\\u{ord(lone[0]):04x}"
            raise RecordError(f"{name} 含有孤立的代理码位（{code}），它不是字符", f"{name} has a lone surrogate ({code}), which is no character")
    for name in REQUIRED:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip() and name != "text"):
            raise RecordError(f"缺少 {name}", f"missing {name}")
    text = record["text"]
    if not isinstance(text, str):
        raise RecordError("text 必须是字符串", "text must be a string")
    optional = {name: (str(record[name]) if record.get(name) not in (None, "") else None) for name in ("agent", "shop", "message_id")}
    return ChatMessage(
        conversation_id=str(record["conversation_id"]).strip(),
        role=_role(record["role"], mapping),  # type: ignore[arg-type]
        text=text,
        time=parse_time(record.get("time"), timezone),
        partial=_flag(record.get("partial")),
        source=source,
        line=line,
        seq=seq,
        **optional,
    )


def parse_jsonl_line(line: str, source: str, number: int, seq: int, *, at_end_of_file: bool = False,
                     timezone: datetime.tzinfo = CHINA_STANDARD_TIME, language: str = "zh") -> ChatMessage | Rejected | None:
    """One JSONL line: a message, a rejection with its reason (in ``language``), or None for a
    blank line. The local reader and the Spark engine both call this, so they accept the same lines."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if len(line) > MAX_LINE_CHARS:
        too_long = RecordError(f"此行超过 {MAX_LINE_CHARS} 个字符", f"line longer than {MAX_LINE_CHARS} characters")
        return Rejected(source, number, too_long.text(language), line[:200])
    try:
        record = _json_object(line)
        if not isinstance(record, dict):
            raise RecordError("每行须是一个 JSON 对象", "a line must be a JSON object")
        # A surrogate in a field comes from the raw line: an undecodable byte, or a \uD800 escape.
        surrogate_free = "\\u" not in line and _SURROGATE.search(line) is None
        return _message(record, source, number, seq, None, timezone, surrogate_free=surrogate_free)
    except RecursionError:
        return Rejected(source, number, RecordError("JSON 无效：嵌套过深", "invalid JSON: nested too deeply").text(language),
                        storable(line[:500]))
    except json.JSONDecodeError as error:
        truncated = at_end_of_file
        problem = _JSON_PROBLEMS.get(error.msg, error.msg)
        invalid = RecordError(f"JSON 无效：第 {error.colno} 列{problem}" + ("（最后一行被截断了？）" if truncated else ""),
                              f"invalid JSON: {error.msg}" + (" (truncated last line?)" if truncated else ""))
        return Rejected(source, number, invalid.text(language), storable(line[:500]))
    except (ValueError, TypeError) as error:
        return Rejected(source, number, reason_text(error, language), storable(line[:500]))


#: The json module's messages, as a Chinese reason says them (any other is quoted as it is).
_JSON_PROBLEMS = {
    "Expecting value": "处缺少值",
    "Expecting property name enclosed in double quotes": "处应是双引号括起的键名",
    "Expecting ':' delimiter": "处缺少冒号",
    "Expecting ',' delimiter": "处缺少逗号",
    "Unterminated string starting at": "起的字符串没有结束引号",
    "Invalid control character at": "处有不允许的控制字符",
    "Invalid \\escape": "处有无效的转义",
    "Invalid \\uXXXX escape": "处有无效的 \\u 转义",
    "Extra data": "起有多余的内容",
}


def _json_object(line: str):
    """``json.loads(line)``, through orjson when it is installed. What orjson refuses goes
    to the json module, so that every line is accepted, and rejected with its reason, exactly
    as without orjson (which is stricter: lone surrogates, NaN, integers past 64 bits)."""
    if _fast_loads is not None:
        try:
            return _fast_loads(line)
        except _FastJSONError:
            pass
    return json.loads(line)


def read_jsonl(path: str, *, encoding: str | None = None, seq_start: int = 0, count: RecordCount | None = None,
               timezone: datetime.tzinfo = CHINA_STANDARD_TIME, raw: BinaryIO | None = None,
               language: str = "zh") -> Iterator[ChatMessage | Rejected]:
    for batch in jsonl_line_batches(path, 1000, encoding=encoding, count=count, raw=raw):
        yield from parse_jsonl_batch(path, batch, seq_start, timezone, language)


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Raw lines of a JSONL log, numbered, for parsing elsewhere (audit workers)."""

    first: int  # number of the first line
    lines: list[str]
    #: Why the file cannot be read past these lines (a truncated .gz), or None.
    broken: RecordError | None = None


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter), read lazily: memory stays bounded."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


#: What a stream that breaks off part-way raises: a truncated or corrupt .gz, a failing disk.
READ_ERRORS = (OSError, EOFError, UnicodeError, zlib.error)


def _lines_until_broken(stream: Iterable[str], broken: list[RecordError]) -> Iterator[str]:
    """The lines of ``stream`` up to where it breaks off; the reason then goes into ``broken``,
    so that the lines before the break are still read (and the break is reported as a record)."""
    try:
        yield from stream
    except READ_ERRORS as error:
        broken.append(RecordError(f"文件从此处起无法读取：{error}", f"the file cannot be read past this point: {error}"))


def jsonl_line_batches(path: str, size: int, *, encoding: str | None = None,
                       count: RecordCount | None = None, raw: BinaryIO | None = None) -> Iterator[LineBatch]:
    """The raw lines of a JSONL log in numbered batches; where the file breaks off, a last
    batch says why. ``count`` counts the non-blank lines (and the break) as they are read."""
    with open_text(path, encoding, raw) as stream:
        broken: list[RecordError] = []
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


def parse_jsonl_batch(path: str, batch: LineBatch, seq_start: int = 0,
                      timezone: datetime.tzinfo = CHINA_STANDARD_TIME, language: str = "zh") -> list[ChatMessage | Rejected]:
    """The records of a batch from :func:`jsonl_line_batches`: what :func:`read_jsonl` yields
    for those lines."""
    records = []
    for number, raw in enumerate(batch.lines, start=batch.first):
        record = parse_jsonl_line(raw, path, number, seq_start + number, at_end_of_file=not raw.endswith("\n"),
                                  timezone=timezone, language=language)
        if record is not None:
            records.append(record)
    if batch.broken is not None:
        records.append(Rejected(path, batch.first + len(batch.lines), batch.broken.text(language), ""))
    return records


def _blank(row: list[str]) -> bool:
    return not row or all(not cell.strip() for cell in row)


def parse_table_row(row: list[str], positions: dict[str, int], mapping: ColumnMapping, source: str, number: int,
                    seq: int, delimiter: str, timezone: datetime.tzinfo = CHINA_STANDARD_TIME,
                    language: str = "zh") -> ChatMessage | Rejected | None:
    """One CSV/TSV row (already split): a message, a rejection, or None for a blank row."""
    if _blank(row):
        return None
    try:
        record = {}
        for name, index in positions.items():
            if index >= len(row):
                raise RecordError(f"此行只有 {len(row)} 列，{name} 在第 {index + 1} 列",
                                  f"row has {len(row)} columns, {name} is column {index + 1}")
            record[name] = row[index]
        return _message(record, source, number, seq, mapping, timezone)
    except ValueError as error:
        return Rejected(source, number, reason_text(error, language), storable(delimiter.join(row)[:500]))


def read_table(path: str, mapping: ColumnMapping, *, encoding: str | None = None, seq_start: int = 0,
               count: RecordCount | None = None, timezone: datetime.tzinfo = CHINA_STANDARD_TIME,
               raw: BinaryIO | None = None, language: str = "zh") -> Iterator[ChatMessage | Rejected]:
    _require_columns(mapping)
    delimiter = mapping.delimiter or ","
    csv.field_size_limit(MAX_LINE_CHARS)
    counted = count if count is not None else RecordCount()
    with open_text(path, encoding, raw) as stream:
        # Tab-separated exports (the JDDC corpus among them) do not quote; csv would
        # treat a stray " in a message as an opening quote and swallow the next lines.
        quoting: _Quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
        broken: list[RecordError] = []
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
                    record = parse_table_row(row, positions, mapping, path, number, seq_start + number, delimiter, timezone,
                                             language)
                    if record is not None:
                        yield record
                break
            except (csv.Error, _RowTooLong) as error:
                counted.records += 1
                number, first_line = tape.row_start, tape.reread_after_first_line()
                yield Rejected(path, number, _row_error(error).text(language), storable(first_line.rstrip("\r\n")[:500]))
        if broken:
            counted.records += 1
            yield Rejected(path, tape.row_start, broken[0].text(language), "")


class _RowTooLong(Exception):
    pass


def _row_error(error: Exception) -> RecordError:
    text = str(error)
    rest_zh, rest_en = "（此行之后的各行另行读取）", " (the lines after this one are read on their own)"
    if isinstance(error, _RowTooLong):
        return RecordError(f"引号未闭合？带引号的单元格超过了 {MAX_ROW_LINES} 行{rest_zh}",
                           f"unclosed quote? a quoted cell runs on past {MAX_ROW_LINES} lines{rest_en}")
    if "unexpected end of data" in text:
        return RecordError(f"引号未闭合：带引号的单元格一直延续到文件末尾{rest_zh}",
                           f"unclosed quote: the quoted cell runs to the end of the file{rest_en}")
    if "field limit" in text:
        return RecordError(f"引号未闭合？单元格超过了 {MAX_LINE_CHARS} 个字符{rest_zh}",
                           f"unclosed quote? a cell longer than {MAX_LINE_CHARS} characters{rest_en}")
    return RecordError(f"格式有误的行：{text}", f"malformed row: {text}")


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


def _require_columns(mapping: ColumnMapping) -> None:
    if not mapping.columns:
        raise ConfigError("CSV/TSV chat logs need --columns, e.g. --columns conversation_id=1,role=3,text=7")
    missing = [name for name in REQUIRED if name not in mapping.columns]
    if missing:
        raise ConfigError(f"--columns must name {', '.join(missing)}")


def check_input(path: str, mapping: ColumnMapping | None, input_format: str = "auto", encoding: str | None = None) -> None:
    """Raise the usage errors reading ``path`` would meet on its first row, before anything is
    read or stored: a CSV/TSV log without ``--columns``, or naming a column its header lacks."""
    kind = input_kind(path, mapping, input_format)
    if kind == "jsonl":
        return
    mapping = table_mapping(path, mapping, kind)
    _require_columns(mapping)
    assert mapping.delimiter is not None  # table_mapping chose one
    quoting: _Quoting = csv.QUOTE_NONE if mapping.delimiter == "\t" else csv.QUOTE_MINIMAL
    try:
        with open_text(path, encoding) as stream:
            first = next(csv.reader(_lines_until_broken(stream, []), delimiter=mapping.delimiter, quoting=quoting), None)
    except (csv.Error, *READ_ERRORS):
        return  # the reader rejects that row with its reason
    if first is not None:
        table_positions(mapping, first, path)


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
                  encoding: str | None = None, seq_start: int = 0, count: RecordCount | None = None,
                  timezone: datetime.tzinfo = CHINA_STANDARD_TIME, raw: BinaryIO | None = None,
                  language: str = "zh") -> Iterator[ChatMessage | Rejected]:
    """Messages and rejected lines of one log, in input order, reasons in ``language``;
    ``count`` counts the records read. Where the stream breaks off (a truncated .gz) the
    lines before are read and the break is a rejected record; a file that cannot be opened
    at all is an InputError."""
    try:
        yield from _read_chat_log(path, mapping, input_format, encoding, seq_start, count, timezone, raw, language)
    except READ_ERRORS as error:
        raise InputError(f"{path}: cannot read past this point: {error}") from None


def _read_chat_log(path, mapping, input_format, encoding, seq_start, count, timezone, raw, language):
    kind = input_kind(path, mapping, input_format)
    if kind == "jsonl":
        return read_jsonl(path, encoding=encoding, seq_start=seq_start, count=count, timezone=timezone, raw=raw,
                          language=language)
    return read_table(path, table_mapping(path, mapping, kind), encoding=encoding, seq_start=seq_start, count=count,
                      timezone=timezone, raw=raw, language=language)


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
