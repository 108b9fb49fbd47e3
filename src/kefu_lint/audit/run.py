"""An audit run: read logs into the database, score every conversation, aggregate agents.

Memory stays bounded whatever the input size: messages stream into SQLite, conversations
come back out of it a batch at a time, and at most a few batches are in flight per worker.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None  # type: ignore[assignment]

from .. import __version__
from ..engine import Linter
from ..errors import ConfigError, InputError, KefuLintError, PatternTimeoutWarning
from ..formats.audit_outputs import start_conversations_jsonl, write_conversations_jsonl
from ..formats.chatlog import (
    SEQ_PER_INPUT,
    ColumnMapping,
    LineBatch,
    RecordCount,
    Rejected,
    batched,
    check_input,
    input_kind,
    jsonl_line_batches,
    parse_jsonl_batch,
    parse_timezone,
    read_chat_log,
)
from ..rules.matching import pattern_timeout_message
from ..workers import PARENT_CHECK_SECONDS, Supervised, forks, new_lock, parent_gone
from .scoring import ScorerSpec
from .store import AuditStore, IngestRows, ResultRows, StoreError, ingest_rows, output_errors, result_rows, rule_rows

INGEST_BATCH = 5000


class AuditInterrupted(KefuLintError):
    """Ctrl-C during an audit: exit 2 (not 1, the findings code), with how to go on."""


@dataclass(frozen=True)
class AuditOptions:
    ruleset: str = "default"
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    tokenizer: str = "jieba"
    shop_numbers: tuple[str, ...] = ()
    columns: str | None = None
    agent_role: str | None = None
    customer_role: str | None = None
    input_format: str = "auto"
    encoding: str | None = None
    jobs: int = 1
    batch_size: int = 200
    #: Every conversation of the log starts mid-way (the greeting is not judged).
    partial: bool = False
    #: The zone naive input times are read in and local-time columns are written in:
    #: an IANA name or an offset; None is China Standard Time (+08:00).
    timezone: str | None = None
    #: Keep the database's earlier runs (by default it holds the run last reported only).
    keep_history: bool = False
    #: What conversations.jsonl says of each finding: ``lean`` (where it is: the message's
    #: seq and the span, its code and zone; the words and messages are in the database, stored
    #: once) or ``full`` (also the rule's name and message, the flagged words, the suggestion).
    jsonl: str = "lean"
    #: The language of the rejection reasons stored and shown: zh, or en (``--lang en``).
    language: str = "zh"

    def scorer_spec(self) -> ScorerSpec:
        return ScorerSpec(self.ruleset, self.select, self.ignore, self.tokenizer, self.shop_numbers)

    def identity(self) -> dict:
        """What changes the results; the run id hashes it (jobs, batch size and the JSONL's form do not)."""
        data = asdict(self)
        for kept_out in ("jobs", "batch_size", "keep_history", "jsonl"):
            data.pop(kept_out)
        return data


@dataclass(frozen=True)
class AuditOutcome:
    run_id: str
    database: Path
    summary: dict
    reused: bool = False
    notes: tuple[str, ...] = field(default=())


def _hash_inputs(paths: Sequence[str]) -> str:
    """The inputs' contents, in order: the same log under another name (``./x.jsonl`` and
    its absolute path, a copy, stdin) is the same run, not a second one counted twice."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(b"\0input\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _ruleset_fingerprint(linter: Linter) -> str:
    return hashlib.sha256(repr([rule.config for rule in linter.ruleset.rules]).encode("utf-8")).hexdigest()[:16]


@contextmanager
def spooled_stdin(directory: Path) -> Iterator[str]:
    """Stdin cannot be read twice: a copy of it, to hash and read, removed when the audit
    ends (its run is found again by content: pipe the same log in to reuse or resume it)."""
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="stdin-", suffix=".log", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        yield name
    finally:
        Path(name).unlink(missing_ok=True)


#: The descriptors of the --out folder locks this process holds (see audit_folder_lock).
_folder_locks: set[int] = set()


def _drop_folder_locks_in_child() -> None:
    # A forked worker inherits the parent's descriptors, and with them its flock (the lock
    # belongs to the open file, shared by every copy of the descriptor): an orphan of a
    # parent killed with kill -9 would hold OUT until it noticed. Workers close their copies
    # at once, so the lock is the parent's alone and goes with it.
    for descriptor in _folder_locks:
        try:
            os.close(descriptor)
        except OSError:
            pass
    _folder_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_folder_locks_in_child)


@contextmanager
def audit_folder_lock(out_dir: Path) -> Iterator[None]:
    """One audit at a time in an --out folder: two would interleave its conversations.jsonl.
    The kernel's lock (flock) goes with the process that holds it, even on ``kill -9``; it is
    held by the parent only (a raw descriptor, closed on exec and in forked workers)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out_dir / ".kefu-audit.lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(f"{out_dir} is in use by another audit running now: wait for it to end, or pass another --out") from None
        _folder_locks.add(descriptor)
        yield
    finally:
        _folder_locks.discard(descriptor)
        os.close(descriptor)


_worker_linter: Linter | None = None
_worker_store: AuditStore | None = None
_writer_lock = None


def _init_worker(spec: ScorerSpec, database: str, run_id: str, writer_lock) -> None:
    """Each worker keeps the scorer it inherited (or builds one when spawned), with its
    tokenizer loaded, and opens its own connection to the database and the run's ingest file."""
    global _worker_linter, _worker_store, _writer_lock
    if _worker_linter is None:  # spawned, not forked from a parent with a warm linter
        _worker_linter = spec.linter()
    _worker_linter.warm_up()
    _worker_store = AuditStore(Path(database))
    _worker_store.attach_ingest(run_id)
    _writer_lock = writer_lock


def _write(action: Callable[[], None]) -> None:
    """Run one write transaction, taking turns with the other workers. A worker whose
    parent is gone (the run was killed) stops instead, never holding the lock as it
    exits (the others would wait for it forever): ``--resume`` redoes its batch."""
    lock = _writer_lock
    assert lock is not None  # set by the worker's initialiser
    while not lock.acquire(timeout=PARENT_CHECK_SECONDS):
        if parent_gone():
            os._exit(1)
    try:
        orphaned = parent_gone()
        if not orphaned:
            action()
    finally:
        lock.release()
    if orphaned:
        os._exit(1)


def _worker_state() -> tuple[AuditStore, Linter]:
    """The worker's store and linter (set by its initialiser before any task runs)."""
    assert _worker_store is not None and _worker_linter is not None
    return _worker_store, _worker_linter


def _parse_and_add(run_id: str, path: str, batch: LineBatch, seq_start: int, timezone: datetime.tzinfo,
                   language: str) -> list[tuple]:
    """Parse a batch of raw JSONL lines and insert it; returns its rejected rows (to report)."""
    rows = ingest_rows(run_id, parse_jsonl_batch(path, batch, seq_start, timezone, language))
    store, _ = _worker_state()
    _write(lambda: store.add_rows(rows))
    return rows[1]


def _score_and_save(run_id: str, ids: list[str], partial: bool, timezone: datetime.tzinfo) -> tuple[int, Counter]:
    """Read, score and store one batch of conversations, in one transaction of its own."""
    store, linter = _worker_state()
    rows, timeouts = _scored_rows(store, linter, run_id, ids, partial, timezone)
    _write(lambda: store.save_rows(rows))
    return len(ids), timeouts


def _scored_rows(store: AuditStore, linter: Linter, run_id: str, ids: list[str], partial: bool,
                 timezone: datetime.tzinfo) -> tuple[ResultRows, Counter]:
    """Read one batch of conversations and score it into rows: all the per-batch work but the
    write. Also returns how many replies each (rule, pattern) timed out on: a run warns once
    per pattern with the count, not once per reply (thousands of lines in a large log)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PatternTimeoutWarning)
        results = linter.lint_conversations(store.load_conversations(run_id, ids), partial=partial)
        rows = result_rows(run_id, results, linter.weights, timezone)
    timeouts = Counter((w.message.rule, w.message.pattern) for w in caught if isinstance(w.message, PatternTimeoutWarning))
    for other in caught:
        if not isinstance(other.message, PatternTimeoutWarning):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return rows, timeouts


class _Workers(Supervised):
    """The worker processes of an ``--jobs N`` audit.

    They parse and insert the input (the parent only reads lines), then score and store
    whole batches of conversations, each batch one transaction of its own; the parent only
    hands out work. Writers take turns through a lock of their own rather than SQLite's
    busy timeout, which sleeps in steps of up to 100 ms.
    """

    def __init__(self, options: AuditOptions, database: Path, linter: Linter, run_id: str) -> None:
        global _worker_linter
        if forks():
            # Load the tokenizer once, here, and let the workers inherit it: loading it in
            # every worker costs N times the CPU (a second per worker with jieba).
            linter.warm_up()
            _worker_linter = linter
        super().__init__(options.jobs, initializer=_init_worker, initargs=(options.scorer_spec(), str(database), run_id, new_lock()))


def run_audit(
    inputs: Sequence[str],
    database: Path,
    options: AuditOptions,
    *,
    resume: bool = False,
    restart: bool = False,
    progress: Callable[[int, int], object] | None = None,
    on_rejected: Callable[[object], None] | None = None,
    conversations_jsonl: Path | None = None,
) -> AuditOutcome:
    """Audit ``inputs`` into ``database``; with ``conversations_jsonl``, also write the
    per-conversation JSONL there (with ``--jobs N``, in N processes while the parent
    aggregates the agents). Database and OS errors are a :class:`StoreError` naming the file."""
    with output_errors(database):
        return _run_audit(inputs, database, options, resume=resume, restart=restart, progress=progress,
                          on_rejected=on_rejected, conversations_jsonl=conversations_jsonl)


def _run_audit(inputs, database, options, *, resume, restart, progress, on_rejected, conversations_jsonl) -> AuditOutcome:
    for path in inputs:
        if not Path(path).is_file():
            raise ConfigError(f"{path}: no such file")
    mapping = ColumnMapping.parse(options.columns, options.agent_role, options.customer_role) if options.columns else None
    timezone = parse_timezone(options.timezone)
    # Usage errors (a CSV without --columns, a column the header does not have) before the
    # run is started: a failed start leaves nothing to resume.
    for path in inputs:
        check_input(path, mapping, options.input_format, options.encoding)
    linter = options.scorer_spec().linter()
    identity = repr((__version__, _ruleset_fingerprint(linter), sorted(options.identity().items()), _hash_inputs(inputs)))
    run_id = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    store = AuditStore(database)
    try:
        status = store.run_status(run_id)
        notes: list[str] = []
        if status == "complete" and not restart:
            store.drop_ingest(run_id)  # left behind if the run was killed as it completed
            store.report(run_id, keep_history=options.keep_history)
            if conversations_jsonl is not None:
                with output_errors(conversations_jsonl):
                    write_conversations_jsonl(store.db, run_id, conversations_jsonl, jobs=options.jobs, full=options.jsonl == "full")
            return AuditOutcome(run_id, database, store.summary(run_id), reused=True,
                                notes=("This input was already audited with these rules; results reused (--restart to redo).",))
        if status is not None and status != "complete" and not (resume or restart):
            raise ConfigError(
                f"{database} holds an interrupted audit of this input (run {run_id}); "
                "pass --resume to continue it or --restart to start over"
            )
        if status is None or restart:
            store.start_run(run_id, inputs, str(options.ruleset), options.identity(), __version__, timezone,
                            rule_rows(linter.ruleset.rules))
            status = "ingesting"
        elif resume:
            store.attach_ingest(run_id, create=status == "ingesting")
            notes.append(f"Resumed run {run_id}.")
        workers = _Workers(options, database, linter, run_id) if options.jobs > 1 else None
        try:
            if status == "ingesting":
                try:
                    records_read = _ingest(store, run_id, inputs, mapping, options, timezone, on_rejected, workers)
                except (ConfigError, InputError) as error:
                    if not isinstance(error, StoreError):
                        # A usage or input error: nothing of the run is worth resuming, and a run
                        # left "ingesting" would make the next try ask for --resume.
                        store.delete_run(run_id)
                    raise
                for repeat in store.finish_ingest(run_id, records_read, options.language):
                    if on_rejected is not None:
                        on_rejected(repeat)
            _score(store, run_id, linter, options, timezone, progress, workers)
        except BaseException as error:
            if workers is not None:
                workers.close(wait=False)
            if isinstance(error, KeyboardInterrupt):
                raise AuditInterrupted(f"interrupted: what was committed to {database} is kept; rerun with --resume to go on") from None
            raise
        if workers is not None:
            workers.close(wait=True)
        store.build_indexes()
        # The JSONL reads only conversations and findings, so it is written while the
        # agents are aggregated.
        with output_errors(conversations_jsonl or database):
            wait_for_jsonl = (start_conversations_jsonl(store.db, run_id, conversations_jsonl, jobs=options.jobs,
                                                        full=options.jsonl == "full")
                              if conversations_jsonl is not None else None)
        store.finish(run_id, timezone)
        store.drop_ingest(run_id)
        store.report(run_id, keep_history=options.keep_history)
        summary = store.summary(run_id)
        if wait_for_jsonl is not None:
            with output_errors(conversations_jsonl):
                wait_for_jsonl()
        return AuditOutcome(run_id, database, summary, notes=tuple(notes))
    finally:
        store.close()


def _ingest(store: AuditStore, run_id: str, inputs, mapping, options: AuditOptions, timezone, on_rejected, workers) -> int:
    """Read every input into the store; returns the number of records read, as the readers
    counted them (not as stored: the two are compared when the run is summed up)."""
    count = RecordCount()
    for number, path in enumerate(inputs):
        seq_start = number * SEQ_PER_INPUT
        if workers is not None and input_kind(path, mapping, options.input_format) == "jsonl":
            # JSONL lines stand alone, so workers parse and insert them; CSV rows may span lines.
            batches = jsonl_line_batches(path, INGEST_BATCH, encoding=options.encoding, count=count)
            rejected_batches = workers.ordered(_parse_and_add, ((run_id, path, batch, seq_start, timezone, options.language)
                                                                     for batch in batches))
        else:
            records = read_chat_log(path, mapping=mapping, input_format=options.input_format,
                                    encoding=options.encoding, seq_start=seq_start, count=count, timezone=timezone,
                                    language=options.language)
            rejected_batches = (_add(store, ingest_rows(run_id, batch)) for batch in batched(records, INGEST_BATCH))
        for rejected in rejected_batches:
            if on_rejected is not None:
                for row in rejected:
                    on_rejected(Rejected(*row[1:]))
    return count.records


def _add(store: AuditStore, rows: IngestRows) -> list[tuple]:
    store.add_rows(rows)
    return rows[1]


def _score(store: AuditStore, run_id: str, linter: Linter, options: AuditOptions, timezone, progress, workers) -> None:
    total, done = store.count_unscored(run_id)
    if progress:
        progress(done, total)
    batches = store.unscored_id_batches(run_id, options.batch_size)
    if workers is None:
        counts = (_save(store, _scored_rows(store, linter, run_id, ids, options.partial, timezone), len(ids)) for ids in batches)
    else:
        counts = workers.ordered(_score_and_save, ((run_id, ids, options.partial, timezone) for ids in batches))
    timeouts: Counter = Counter()
    try:
        for count, batch_timeouts in counts:
            done += count
            timeouts.update(batch_timeouts)
            if progress:
                progress(done, total)
    finally:
        for (rule, pattern), replies in sorted(timeouts.items()):
            warnings.warn(PatternTimeoutWarning(pattern_timeout_message(rule, pattern, replies)), stacklevel=2)


def _save(store: AuditStore, scored: tuple[ResultRows, Counter], count: int) -> tuple[int, Counter]:
    rows, timeouts = scored
    store.save_rows(rows)
    return count, timeouts
