"""An audit run: read logs into the database, score every conversation, aggregate agents.

Memory stays bounded whatever the input size: messages stream into SQLite, conversations
come back out of it a batch at a time, and at most a few batches are in flight per worker.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

from .. import __version__
from ..engine import Linter
from ..errors import ConfigError
from ..formats.chatlog import SEQ_PER_INPUT, ColumnMapping, read_chat_log
from .scoring import ConversationScorer, ScorerSpec
from .store import AuditStore, result_rows

INGEST_BATCH = 5000


@dataclass(frozen=True)
class AuditOptions:
    ruleset: str = "default"
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    tokenizer: str = "jieba"
    columns: str | None = None
    agent_role: str | None = None
    customer_role: str | None = None
    input_format: str = "auto"
    encoding: str | None = None
    jobs: int = 1
    batch_size: int = 200

    def scorer_spec(self) -> ScorerSpec:
        return ScorerSpec(self.ruleset, self.select, self.ignore, self.tokenizer)

    def identity(self) -> dict:
        """What changes the results; the run id hashes it (jobs and batch size do not)."""
        data = asdict(self)
        data.pop("jobs")
        data.pop("batch_size")
        return data


@dataclass(frozen=True)
class AuditOutcome:
    run_id: str
    database: Path
    summary: dict
    reused: bool = False
    notes: tuple[str, ...] = field(default=())


def _hash_inputs(paths: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _ruleset_fingerprint(linter: Linter) -> str:
    return hashlib.sha256(repr([rule.config for rule in linter.ruleset.rules]).encode("utf-8")).hexdigest()[:16]


def spool_stdin(directory: Path) -> str:
    """Stdin cannot be read twice; keep a copy so the run can be hashed and resumed."""
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="stdin-", suffix=".log", dir=directory)
    with os.fdopen(handle, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out)
    return name


_worker_scorer: ConversationScorer | None = None
_worker_store: AuditStore | None = None


def _init_worker(spec: ScorerSpec, database: str) -> None:
    """Each worker builds its Linter once and reuses it for every batch (forked workers
    inherit the parent's warm scorer), and opens its own connection to read batches."""
    global _worker_scorer, _worker_store
    if _worker_scorer is None:
        _worker_scorer = ConversationScorer(spec.linter())
    _worker_store = AuditStore(Path(database))


def _score_ids(run_id: str, ids: list[str]):
    """Read, score and turn into rows one batch: all the per-batch work but the write."""
    conversations = _worker_store.load_conversations(run_id, ids)
    return len(ids), result_rows(run_id, (_worker_scorer.score(c) for c in conversations))


def run_audit(
    inputs: Sequence[str],
    database: Path,
    options: AuditOptions,
    *,
    resume: bool = False,
    restart: bool = False,
    progress: Callable[[int, int], object] | None = None,
    on_rejected: Callable[[object], None] | None = None,
) -> AuditOutcome:
    for path in inputs:
        if not Path(path).is_file():
            raise ConfigError(f"{path}: no such file")
    mapping = ColumnMapping.parse(options.columns, options.agent_role, options.customer_role) if options.columns else None
    linter = options.scorer_spec().linter()
    identity = repr((__version__, _ruleset_fingerprint(linter), sorted(options.identity().items()), _hash_inputs(inputs)))
    run_id = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    store = AuditStore(database)
    try:
        status = store.run_status(run_id)
        notes: list[str] = []
        if status == "complete" and not restart:
            return AuditOutcome(run_id, database, store.summary(run_id), reused=True,
                                notes=("This input was already audited with these rules; results reused (--restart to redo).",))
        if status is not None and status != "complete" and not (resume or restart):
            raise ConfigError(
                f"{database} holds an interrupted audit of this input (run {run_id}); "
                "pass --resume to continue it or --restart to start over"
            )
        if status is None or restart:
            store.start_run(run_id, inputs, str(options.ruleset), options.identity(), __version__)
            status = "ingesting"
        elif resume:
            notes.append(f"Resumed run {run_id}.")
        if status == "ingesting":
            _ingest(store, run_id, inputs, mapping, options, on_rejected)
            store.set_status(run_id, "scoring")
        _score(store, run_id, linter, options, progress)
        store.finish(run_id)
        return AuditOutcome(run_id, database, store.summary(run_id), notes=tuple(notes))
    finally:
        store.close()


def _ingest(store: AuditStore, run_id: str, inputs, mapping, options: AuditOptions, on_rejected) -> None:
    for number, path in enumerate(inputs):
        records = read_chat_log(path, mapping=mapping, input_format=options.input_format,
                                encoding=options.encoding, seq_start=number * SEQ_PER_INPUT)
        while True:
            batch = list(islice(records, INGEST_BATCH))
            if not batch:
                break
            if on_rejected is not None:
                for record in batch:
                    if not hasattr(record, "conversation_id"):
                        on_rejected(record)
            store.add_records(run_id, batch)


def _score(store: AuditStore, run_id: str, linter: Linter, options: AuditOptions, progress) -> None:
    total, done = store.count_unscored(run_id)
    if progress:
        progress(done, total)

    def save(count: int, rows) -> None:
        nonlocal done
        store.save_rows(rows)
        done += count
        if progress:
            progress(done, total)

    batches = store.unscored_id_batches(run_id, options.batch_size)
    if options.jobs <= 1:
        scorer = ConversationScorer(linter)
        for ids in batches:
            save(len(ids), result_rows(run_id, (scorer.score(c) for c in store.load_conversations(run_id, ids))))
        return
    import multiprocessing

    global _worker_scorer
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if fork else "spawn")
    if fork:
        linter.warm_up()
        _worker_scorer = ConversationScorer(linter)  # inherited by the forked workers
    # The writer only hands out ids and writes rows; workers read, score and build rows.
    with context.Pool(options.jobs, initializer=_init_worker, initargs=(options.scorer_spec(), str(store.path))) as pool:
        in_flight: deque = deque()
        window = options.jobs * 2  # bounded: never more than this many batches in memory
        for ids in batches:
            in_flight.append(pool.apply_async(_score_ids, (run_id, ids)))
            if len(in_flight) >= window:
                save(*in_flight.popleft().get())
        while in_flight:
            save(*in_flight.popleft().get())
