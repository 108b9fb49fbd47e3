"""Where an audit's time goes: each step's share of one ``--jobs 1`` audit, under cProfile.

    python benchmarks/profile_audit.py                 # 300,000 generated messages, jieba-rs
    python benchmarks/profile_audit.py 100000 --tokenizer jieba

Runs the audit in this process under cProfile and sums the time of the functions of each
step (their cumulative time, so a step includes what it calls). cProfile slows Python code
more than C code (SQLite, orjson, the tokenizer), so the shares lean towards the Python
steps; read them as where to look, and the wall times of ``run.py`` as what it costs.
The same script profiles any checkout: point ``PYTHONPATH`` at its ``src`` (functions a
version does not have count zero).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Each step and the functions whose cumulative time it is, as (file suffix, function name).
#: Steps must not nest inside each other; "linting" is subtracted from the steps that drive it.
STEPS = {
    "read + parse input": [("formats/chatlog.py", "read_jsonl"), ("formats/chatlog.py", "read_chat_log_fast")],
    "ingest: write rows": [("audit/store.py", "add_rows"), ("audit/store.py", "add_pending")],
    "ingest: finish (repeats, indexes)": [("audit/store.py", "finish_ingest")],
    "load conversations": [("audit/store.py", "load_conversations"), ("audit/store.py", "unscored_id_batches")],
    "lint conversations": [("engine.py", "lint_conversation"), ("engine.py", "lint_conversations")],
    "build result rows": [("audit/store.py", "result_rows")],
    "write results": [("audit/store.py", "save_rows")],
    "aggregate agents": [("audit/store.py", "finish")],
    "write conversations.jsonl": [("formats/audit_outputs.py", "start_conversations_jsonl"),
                                  ("formats/audit_outputs.py", "write_conversations_jsonl")],
}
#: Steps whose functions may drive the linter (a version that lints in a generator they
#: consume): their share is shown without it.
DRIVES_LINTING = ("build result rows",)


def step_times(stats: pstats.Stats) -> dict[str, float]:
    cumulative: dict[tuple[str, str], float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for suffixes in STEPS.values():
            for suffix, function in suffixes:
                if name == function and filename.replace("\\", "/").endswith(suffix):
                    cumulative[(suffix, function)] = cumulative.get((suffix, function), 0.0) + ct
    times = {step: sum(cumulative.get(key, 0.0) for key in keys) for step, keys in STEPS.items()}
    for step in DRIVES_LINTING:
        if times[step] >= times["lint conversations"]:  # the linting ran inside it (a generator it consumed)
            times[step] -= times["lint conversations"]
    return times


def profile(messages: int, tokenizer: str, workdir: Path) -> tuple[float, dict[str, float]]:
    from generate_log import write
    from kefu_lint.audit.run import AuditOptions, run_audit

    log = workdir / "profile.jsonl"
    with log.open("w", encoding="utf-8") as out:
        write(out, messages)
    out_dir = workdir / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    options = AuditOptions(tokenizer=tokenizer)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    run_audit([str(log)], out_dir / "audit.db", options, conversations_jsonl=out_dir / "conversations.jsonl")
    profiler.disable()
    total = time.perf_counter() - start
    return total, step_times(pstats.Stats(profiler))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("messages", nargs="?", type=int, default=300_000)
    parser.add_argument("--tokenizer", default="jieba-rs")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        total, times = profile(options.messages, options.tokenizer, Path(folder))
    times["start-up and the rest"] = max(0.0, total - sum(times.values()))
    print(f"audit of {options.messages:,} generated messages, --jobs 1, {options.tokenizer}, under cProfile: {total:.1f} s\n")
    print("| step | seconds | share |\n|---|---|---|")
    for step, seconds in times.items():
        print(f"| {step} | {seconds:.1f} | {seconds / total:.0%} |")


if __name__ == "__main__":
    main()
