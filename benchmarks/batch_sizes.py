"""How large the audit's transactions should be: the ingest batch (lines per insert) and the
scoring batch (conversations per transaction), measured, each size against the others in
the same run, interleaved (forwards, then backwards), best of each, in CPU time of this
process (SQLite writes from it; wall time on a shared machine is mostly the neighbours).

    python benchmarks/batch_sizes.py            # 100,000 generated messages, jieba-rs
    python benchmarks/batch_sizes.py 30000

Ingest is measured alone (read, parse and insert into a fresh store); scoring as a whole
``--jobs 1`` audit with ``--batch-size``-like options (``AuditOptions.batch_size``), since a
scoring batch is also how many conversations are linted at once (``lint_conversations``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("messages", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    options = parser.parse_args()

    import kefu_lint.audit.run as audit_run
    from generate_log import write
    from kefu_lint.audit.run import AuditOptions, run_audit
    from kefu_lint.audit.store import AuditStore, ingest_rows
    from kefu_lint.formats.chatlog import batched, parse_timezone, read_chat_log

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        log = workdir / "log.jsonl"
        with log.open("w", encoding="utf-8") as out:
            write(out, options.messages)
        timezone = parse_timezone(None)

        def ingest(size: int) -> float:
            database = workdir / f"ingest-{size}" / "audit.db"
            shutil.rmtree(database.parent, ignore_errors=True)
            store = AuditStore(database)
            store.attach_ingest("r")
            start = time.process_time()
            for batch in batched(read_chat_log(str(log), timezone=timezone), size):
                store.add_rows(ingest_rows("r", batch))
            elapsed = time.process_time() - start
            store.close()
            return elapsed

        def audit(size: int) -> float:
            out = workdir / f"score-{size}"
            shutil.rmtree(out, ignore_errors=True)
            start = time.process_time()  # this process's CPU: less at the mercy of a shared machine than wall time
            run_audit([str(log)], out / "audit.db", AuditOptions(tokenizer="jieba-rs", batch_size=size))
            return time.process_time() - start

        ingest_sizes = (500, 2000, 5000, 20000)
        score_sizes = (50, 200, 500, 2000)
        best_ingest = dict.fromkeys(ingest_sizes, float("inf"))
        best_score = dict.fromkeys(score_sizes, float("inf"))
        audit(200)  # loads and caches the tokenizer and the intent model
        for round_number in range(options.repeats):
            order = 1 if round_number % 2 == 0 else -1  # forwards, then backwards: no size always goes first
            for size in ingest_sizes[::order]:
                best_ingest[size] = min(best_ingest[size], ingest(size))
            for size in score_sizes[::order]:
                best_score[size] = min(best_score[size], audit(size))
    print(f"{options.messages:,} generated messages; the defaults: ingest {audit_run.INGEST_BATCH}, scoring {AuditOptions().batch_size}\n")
    print("| batch | CPU time | messages per CPU second |\n|---|---|---|")
    for size, seconds in best_ingest.items():
        print(f"| ingest {size:,} lines | {seconds:.2f} s | {options.messages / seconds:,.0f} |")
    for size, seconds in best_score.items():
        print(f"| whole audit, scoring {size:,} conversations | {seconds:.2f} s | {options.messages / seconds:,.0f} |")


if __name__ == "__main__":
    main()
