"""kefu-lint benchmarks: one command, everything measured in the same run.

    python benchmarks/run.py            # full run (a few minutes)
    python benchmarks/run.py --quick    # smaller sizes, for a smoke test

Reports, as a Markdown table:
- tokenize-only throughput of each backend: the floor;
- lint throughput (replies/s, MB/s) and its ratio to that backend's floor, with the result
  cache off (every reply is new) and on (template replies repeat, as in real logs);
- audit throughput (messages/s) at --jobs 1 and --jobs 2, per backend, beside how much
  faster two CPU-bound processes run than one on this machine at that moment;
- cold start of `kefu-lint check` on one small file, per backend;
- peak memory of an audit of N and of 10N messages;
- `kefu-lint serve` under the `hey` load generator on loopback (requests/s, p50/p99, single
  replies and batches, 1 and 2 workers) and the memory each extra served ruleset costs
  (benchmarks/serve.py; ``--only serve`` runs these rows alone).

Absolute times drift on shared machines, so read the ratios; each figure is the best of
several repeats. Corpus: the JDDC agent lines from ../shared/corpora when present, else
generated replies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JDDC = ROOT.parent / "shared" / "corpora" / "jddc_sample.tsv"
KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def corpus() -> tuple[list[str], str]:
    if JDDC.is_file():
        lines = []
        for row in JDDC.read_text(encoding="utf-8").splitlines():
            fields = row.split("\t")
            if len(fields) >= 7 and fields[2] == "1":
                lines.append(fields[6])
        return lines, f"JDDC agent lines ({len(lines)})"
    from generate_log import generate

    lines = [r["text"] for r in generate(20000) if r["role"] == "agent"]
    return lines, f"generated agent replies ({len(lines)})"


def best_of(repeats: int, action) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_best(repeats: int, actions: list) -> list[float]:
    """The best time of each action over ``repeats`` rounds that run every action once."""
    best = [float("inf")] * len(actions)
    for _ in range(repeats):
        for index, action in enumerate(actions):
            best[index] = min(best[index], best_of(1, action))
    return best


def lint_rows(lines: list[str], repeats: int) -> list[dict]:
    from kefu_lint import Linter

    megabytes = sum(len(s.encode("utf-8")) for s in lines) / 1e6
    rows = []
    for backend in ("jieba", "jieba-rs"):
        try:
            linter = Linter(tokenizer=backend)
            linter.warm_up()
        except Exception as error:  # noqa: BLE001 - report and go on
            rows.append({"what": f"{backend}: unavailable ({error})"})
            continue
        tokenizer = linter.tokenizer

        def cached():
            linter._cached_lint.cache_clear()
            linter._cached_offered.cache_clear()
            for s in lines * 3:  # the same replies three times, as templates repeat
                linter.lint(s)

        # Interleaved, best of each: a slow spell of the machine hits all three alike.
        floor, uncached, with_cache = interleaved_best(repeats, [
            lambda: [tokenizer.token_spans(s) for s in lines],
            lambda: [linter._lint(s, frozenset(), False) for s in lines],
            cached,
        ])
        count = len(lines)
        rows.append({"what": f"tokenize only ({backend}) — the floor", "rate": f"{count / floor:,.0f} replies/s",
                     "mb": f"{megabytes / floor:.2f} MB/s", "ratio": "1.00×"})
        rows.append({"what": f"lint, every reply new ({backend})", "rate": f"{count / uncached:,.0f} replies/s",
                     "mb": f"{megabytes / uncached:.2f} MB/s", "ratio": f"{uncached / floor:.2f}× floor time"})
        rows.append({"what": f"lint, replies repeated 3× ({backend}, cache)", "rate": f"{3 * count / with_cache:,.0f} replies/s",
                     "mb": f"{3 * megabytes / with_cache:.2f} MB/s", "ratio": f"{with_cache / (3 * floor):.2f}× floor time"})
        rows.append({"what": f"latency per new reply ({backend})", "rate": f"{uncached / count * 1e6:.0f} µs", "mb": "", "ratio": ""})
        # The batch call against a loop of the single one, every reply new to every cache.
        model = linter.ruleset.intents.model() if linter.ruleset.intents.definitions else None

        def forget() -> None:
            linter._cached_lint.cache_clear()
            linter._cached_offered.cache_clear()  # lint() answers from it first
            if model is not None:
                model._cached_logits.cache_clear()

        looped, batched = interleaved_best(repeats, [lambda: (forget(), [linter.lint(s) for s in lines]),
                                                     lambda: (forget(), linter.lint_many(lines))])
        rows.append({"what": f"loop of lint(), every reply new ({backend}) — baseline", "rate": f"{count / looped:,.0f} replies/s",
                     "mb": f"{megabytes / looped:.2f} MB/s", "ratio": "1.00×"})
        rows.append({"what": f"lint_many(), every reply new ({backend}; the same results)", "rate": f"{count / batched:,.0f} replies/s",
                     "mb": f"{megabytes / batched:.2f} MB/s", "ratio": f"{looped / batched:.2f}× loop throughput"})
    return rows


#: The default ruleset with the intent layer switched off: the phrase rules alone, as
#: before intents, measured in the same run as the baseline of the intent rows.
PHRASES_ONLY = """\
name: phrases-only
extends: default
rules:
  KF101: {intents: []}
  KF102: {intents: [], excused_by_intents: []}
  KF103: {intents: []}
  KF501: {intents: []}
  KF504: {intents: []}
"""


def acts_free_overlay() -> str:
    """The default ruleset judged by phrases alone: no intents, so no dialogue acts, the red
    rules on their lists and the conversation conditions on their phrases (the audit's
    baseline: the conversation engine without the intent layer)."""
    import yaml
    from kefu_lint.rulesets import SHIPPED_RULESETS

    raw = yaml.safe_load((SHIPPED_RULESETS / "default.yaml").read_text(encoding="utf-8"))
    def without_acts(value):
        """``value`` with every ``acts:`` cue taken out, however deep a condition holds it."""
        if isinstance(value, dict):
            return {k: without_acts(v) for k, v in value.items() if k != "acts"}
        if isinstance(value, list):
            return [without_acts(v) for v in value]
        return value

    rules = {}
    for code, entry in raw["rules"].items():
        change = {key: [] for key in ("intents", "excused_by_intents") if key in entry}
        for key, value in entry.items():
            stripped = without_acts(value)
            if key not in change and stripped != value:
                change[key] = stripped
        if change:
            rules[code] = change
    overlay = {"name": "no-acts", "extends": "default", "rules": rules,
               "intents": {name: {"enabled": False} for name in raw["intents"]}}
    return yaml.safe_dump(overlay, allow_unicode=True, sort_keys=False)


def intent_rows(lines: list[str], repeats: int, workdir: Path) -> list[dict]:
    """The intent layer's cost per new reply: default against the phrase rules alone, per backend."""
    from kefu_lint import Linter

    overlay = workdir / "phrases-only.yaml"
    overlay.write_text(PHRASES_ONLY, encoding="utf-8")
    rows = []
    for backend in ("jieba", "jieba-rs"):
        try:
            with_intents = Linter(tokenizer=backend)
            without = Linter(overlay, tokenizer=backend)
            with_intents.warm_up()
            without.warm_up()
            with_intents.lint("预热")  # loads the intent model
        except Exception as error:  # noqa: BLE001 - report and go on
            rows.append({"what": f"intents ({backend}): unavailable ({error})"})
            continue
        model = with_intents.ruleset.intents.model()

        def judged_all() -> None:
            model._cached_logits.cache_clear()  # every sentence new too, not only every reply
            for s in lines:
                with_intents._lint(s, frozenset(), False)

        def acts_all() -> None:
            model._cached_logits.cache_clear()
            for s in lines:
                with_intents._intents(s, "agent")

        baseline, judged = interleaved_best(repeats, [lambda: [without._lint(s, frozenset(), False) for s in lines], judged_all])
        count = len(lines)
        rows.append({"what": f"lint without intents, every reply new ({backend}) — baseline", "rate": f"{baseline / count * 1e6:.1f} µs/reply",
                     "mb": f"{count / baseline:,.0f} replies/s", "ratio": "1.00×"})
        rows.append({"what": f"lint with intents, every reply new ({backend})", "rate": f"{judged / count * 1e6:.1f} µs/reply",
                     "mb": f"{count / judged:,.0f} replies/s", "ratio": f"{judged / baseline:.2f}× baseline time"})
        acts = interleaved_best(repeats, [acts_all])[0]
        rows.append({"what": f"all agent intents of a reply (`intents()`, {backend})", "rate": f"{acts / count * 1e6:.1f} µs/reply",
                     "mb": f"{count / acts:,.0f} replies/s", "ratio": f"{acts / baseline:.2f}× baseline time"})
    from kefu_lint.rulesets import SHIPPED_RULESETS

    size = (SHIPPED_RULESETS / "default.intents.json").stat().st_size
    load = interleaved_best(repeats, [lambda: __import__("kefu_lint.intent.classifier", fromlist=["IntentModel"]).IntentModel.load(SHIPPED_RULESETS / "default.intents.json").warm_up()])[0]
    rows.append({"what": "intent model: size on disk, load + pack", "rate": f"{size / 1e6:.1f} MB", "mb": f"{load * 1000:.0f} ms", "ratio": ""})
    return rows


#: A launcher as small as Python gets (no site, nothing imported but os): it starts the
#: measured command and reports that child's own peak RSS. ``ru_maxrss`` of a child carries
#: the peak of the process that forked it (Linux copies it across fork and exec), so a child
#: of this harness, which holds linters and corpora, would report the harness's memory.
_LAUNCHER = """\
import os, sys
report = int(sys.argv[1])
os.set_inheritable(report, False)
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
os.write(report, str(usage.ru_maxrss).encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(args: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of a child process alone, through the clean launcher
    (its own peak, about 9 MiB, is below any command measured here, so the child's figure
    is its own)."""
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-S", "-I", "-c", _LAUNCHER, str(write_end), shutil.which(args[0]) or args[0], *args[1:]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, pass_fds=(write_end,))
    os.close(write_end)
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    with os.fdopen(read_end, "rb") as reader:
        peak = reader.read()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {stderr.decode(errors='replace')[-500:]}")
    return elapsed, int(peak)


_SPIN = "x = 0\nfor i in range(15_000_000):\n    x += i\n"


def parallel_ceiling(repeats: int) -> float:
    """How much faster two CPU-bound processes finish than one after the other, on this
    machine now: 2.0 on two free cores, less when the cores are shared (the yardstick for
    the --jobs 2 speed-up). Best time of each, interleaved, like everything compared here."""

    def pair() -> None:
        processes = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(2)]
        for process in processes:
            process.wait()

    alone, together = interleaved_best(repeats, [lambda: subprocess.run([sys.executable, "-c", _SPIN], check=True), pair])
    return 2 * alone / together


def write_log(path: Path, messages: int) -> None:
    from generate_log import write

    with path.open("w", encoding="utf-8") as out:
        write(out, messages)


def log_profile(path: Path) -> str:
    """What the generated log holds: agent messages and how many distinct texts among them."""
    agent_texts = [record["text"] for record in map(json.loads, path.open(encoding="utf-8")) if record["role"] == "agent"]
    distinct = len(set(agent_texts))
    return f"{len(agent_texts):,} agent messages, {distinct:,} distinct texts ({distinct / len(agent_texts):.0%})"


def cache_misses(database: Path) -> str:
    """How many of a --jobs 1 audit's replies its result cache could not answer: the engine's
    LRU (same size, same key: the text and the scenes it was judged in) replayed over the
    agent messages in the order the audit judged them (conversation by conversation)."""
    import sqlite3
    from collections import OrderedDict

    from kefu_lint.engine import CACHE_SIZE

    cache: OrderedDict = OrderedDict()
    misses = replies = 0
    db = sqlite3.connect(database)
    try:
        rows = db.execute("SELECT text, scenes FROM messages WHERE role = 'agent' ORDER BY conversation_id, message_index")
        for key in rows:
            replies += 1
            if key in cache:
                cache.move_to_end(key)
                continue
            misses += 1
            cache[key] = None
            if len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
    finally:
        db.close()
    return f"{misses:,} of {replies:,} replies linted anew ({misses / replies:.0%} cache misses)"


def baseline_rows(workdir: Path, messages: int, repeats: int, baseline: Path) -> list[dict]:
    """The audit --jobs 1 of another checkout (its ``src`` first on the path) against this one,
    on the same log, interleaved: the before/after ratio in one run."""
    log = workdir / "audit.jsonl"
    if not log.exists():
        write_log(log, messages)
    before_env = {**os.environ, "PYTHONPATH": str(baseline / "src")}

    def audit(name: str, env: dict | None) -> None:
        out = workdir / f"audit-{name}"
        shutil.rmtree(out, ignore_errors=True)
        run_measured([KEFU_LINT, "audit", str(log), "--out", str(out), "--tokenizer", "jieba-rs", "--no-progress"], env)

    before, after = interleaved_best(repeats, [lambda: audit("baseline", before_env), lambda: audit("this", None)])
    sizes = {name: sum(p.stat().st_size for p in (workdir / f"audit-{name}").iterdir() if p.is_file()) for name in ("baseline", "this")}
    input_size = log.stat().st_size
    return [
        {"what": f"audit --jobs 1, jieba-rs, {messages:,} messages: {baseline} (before) — baseline",
         "rate": f"{messages / before:,.0f} messages/s", "mb": f"{before:.1f} s; output {sizes['baseline'] / input_size:.2f}× input",
         "ratio": "1.00×"},
        {"what": f"audit --jobs 1, jieba-rs, {messages:,} messages: this checkout (after)",
         "rate": f"{messages / after:,.0f} messages/s", "mb": f"{after:.1f} s; output {sizes['this'] / input_size:.2f}× input",
         "ratio": f"{before / after:.2f}× baseline throughput"},
    ]


def audit_rows(workdir: Path, messages: int, repeats: int) -> list[dict]:
    log = workdir / "audit.jsonl"
    write_log(log, messages)
    rows = [{"what": f"audit log: generate_log.py {messages:,} (seed 7): {log_profile(log)}, {log.stat().st_size / 1e6:.0f} MB",
             "rate": "", "mb": "", "ratio": ""}]
    # Dialogue acts on every message and conversation conditions on them, against the same
    # engine judging by phrases alone, one job, the fast tokenizer.
    no_acts = workdir / "no-acts.yaml"
    no_acts.write_text(acts_free_overlay(), encoding="utf-8")

    def audit_with(ruleset: str, name: str) -> None:
        out = workdir / f"audit-{name}"
        shutil.rmtree(out, ignore_errors=True)
        run_measured([KEFU_LINT, "audit", str(log), "--out", str(out), "--ruleset", ruleset, "--tokenizer", "jieba-rs", "--no-progress"])

    plain, judged = interleaved_best(repeats, [lambda: audit_with(str(no_acts), "no-acts"), lambda: audit_with("default", "acts")])
    rows.append({"what": f"audit --jobs 1, phrases only: no intents, no acts ({messages:,} messages, jieba-rs) — baseline",
                 "rate": f"{messages / plain:,.0f} messages/s", "mb": f"{plain:.1f} s", "ratio": "1.00×"})
    rows.append({"what": f"audit --jobs 1 with intents, dialogue acts and conditions ({messages:,} messages, jieba-rs)",
                 "rate": f"{messages / judged:,.0f} messages/s", "mb": f"{judged:.1f} s", "ratio": f"{plain / judged:.2f}× baseline throughput"})
    for backend in ("jieba-rs", "jieba"):
        def audit(jobs: int, backend: str = backend) -> None:
            out = workdir / f"audit-{backend}-jobs{jobs}"
            shutil.rmtree(out, ignore_errors=True)  # a fresh database every time
            run_measured([KEFU_LINT, "audit", str(log), "--out", str(out), "--jobs", str(jobs),
                          "--tokenizer", backend, "--no-progress"])

        try:
            # --jobs 1 and 2 alternate, best of each, so that a slow spell hits both alike;
            # the two-process ceiling is measured right beside them, for the same reason.
            one, two = interleaved_best(repeats, [lambda: audit(1), lambda: audit(2)])
            ceiling = parallel_ceiling(3)
        except RuntimeError as error:
            rows.append({"what": f"audit ({backend}): unavailable", "rate": str(error)[:80], "mb": "", "ratio": ""})
            continue
        out = workdir / f"audit-{backend}-jobs1"
        size = sum(path.stat().st_size for path in out.iterdir() if path.is_file())
        rows.append({"what": f"audit --jobs 1 --tokenizer {backend} ({messages:,} generated messages; {cache_misses(out / 'audit.db')})",
                     "rate": f"{messages / one:,.0f} messages/s", "mb": f"{one:.1f} s", "ratio": "1.00×"})
        rows.append({"what": f"audit --jobs 2 --tokenizer {backend} ({messages:,} generated messages)",
                     "rate": f"{messages / two:,.0f} messages/s", "mb": f"{two:.1f} s",
                     "ratio": f"{one / two:.2f}× jobs 1; two-process ceiling now {ceiling:.2f}×"})
        rows.append({"what": f"audit output, database + conversations.jsonl ({backend})", "rate": f"{size / 1e6:.0f} MB", "mb": "",
                     "ratio": f"{size / log.stat().st_size:.2f}× the input"})
    return rows


def spark_rows(workdir: Path, messages: int) -> list[dict]:
    """The same generated log on Spark local[2], beside the local audit with --jobs 2."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return [{"what": "Spark: not installed (pip install 'kefu-lint[spark]')", "rate": "", "mb": "", "ratio": ""}]
    log = workdir / "spark.jsonl"
    write_log(log, messages)
    ceiling = parallel_ceiling(3)
    local, _ = run_measured([KEFU_LINT, "audit", str(log), "--out", str(workdir / "spark-local"), "--jobs", "2", "--no-progress"])
    on_spark, _ = run_measured([KEFU_LINT, "audit", "--engine", "spark", "--master", "local[2]", str(log), "--out", str(workdir / "spark-out")])
    return [
        {"what": f"audit --jobs 2, local ({messages:,} messages; two-process ceiling now {ceiling:.2f}×)",
         "rate": f"{messages / local:,.0f} messages/s", "mb": f"{local:.1f} s", "ratio": "1.00×"},
        {"what": f"audit --engine spark --master local[2] ({messages:,} messages, incl. JVM start)", "rate": f"{messages / on_spark:,.0f} messages/s",
         "mb": f"{on_spark:.1f} s", "ratio": f"{local / on_spark:.2f}× local speed"},
    ]


def memory_rows(workdir: Path, messages: int) -> list[dict]:
    rows = []
    peaks = {}
    for scale in (1, 10):
        log = workdir / f"memory{scale}.jsonl"
        write_log(log, messages * scale)
        _, peak = run_measured([KEFU_LINT, "audit", str(log), "--out", str(workdir / f"memory{scale}"), "--no-progress"])
        peaks[scale] = peak
        log.unlink()
        rows.append({"what": f"audit peak memory, {messages * scale:,} messages (the audit process alone, clean launcher)",
                     "rate": f"{peak / 1024:.0f} MiB",
                     "mb": "", "ratio": "1.00×" if scale == 1 else f"{peaks[10] / peaks[1]:.2f}× for 10× the input"})
    return rows


def check_rows(workdir: Path, sizes: tuple[int, int], repeats: int) -> list[dict]:
    """`check` on generated YAML reply libraries of two sizes: is it linear in their size?"""
    import random

    import yaml
    from generate_log import agent_text

    rng = random.Random(7)
    times = {}
    for size in sizes:
        library = workdir / f"library{size}.yaml"
        entries = [{"id": f"r{number}", "text": agent_text(rng, "旗舰店", "旗舰店-客服小美", canned=0.2, bad=0.08)} for number in range(size)]
        library.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
        command = [KEFU_LINT, "check", "--exit-zero", "--tokenizer", "jieba-rs", "-o", "json", str(library)]
        times[size] = min(run_measured(command)[0] for _ in range(repeats))
    small, large = sizes
    return [
        {"what": f"`kefu-lint check` a generated YAML library of {small:,} replies (jieba-rs)", "rate": f"{times[small]:.2f} s", "mb": "",
         "ratio": "1.00×"},
        {"what": f"`kefu-lint check` a generated YAML library of {large:,} replies (jieba-rs)", "rate": f"{times[large]:.2f} s", "mb": "",
         "ratio": f"{times[large] / times[small]:.1f}× the time for {large // small}× the replies"},
    ]


def cold_start_rows(workdir: Path, repeats: int) -> list[dict]:
    small = workdir / "small.txt"
    small.write_text("您好，很高兴为您服务\n不行，这个不算售后\n", encoding="utf-8")
    rows = []
    baseline = statistics.median(run_measured([sys.executable, "-c", "pass"])[0] for _ in range(repeats))
    rows.append({"what": "python -c pass (interpreter start, for scale)", "rate": f"{baseline:.3f} s", "mb": "", "ratio": ""})
    # As after `pip install`: bytecode compiled (this sandbox sets PYTHONDONTWRITEBYTECODE,
    # which would otherwise recompile kefu-lint on every start) and the caches filled.
    installed = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    for backend in ("jieba", "jieba-rs"):
        command = [KEFU_LINT, "check", "--exit-zero", "--tokenizer", backend, str(small)]
        try:
            run_measured(command, installed)  # writes bytecode, fills the dictionary caches
            times = [run_measured(command, installed)[0] for _ in range(repeats)]
        except RuntimeError as error:
            rows.append({"what": f"check cold start ({backend}): unavailable", "rate": str(error)[:80], "mb": "", "ratio": ""})
            continue
        rows.append({"what": f"`kefu-lint check` one small file, cold process ({backend})",
                     "rate": f"{statistics.median(times):.3f} s", "mb": "", "ratio": f"{statistics.median(times) / baseline:.1f}× python start"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--output", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier version (e.g. a git worktree of main): its audit"
                                                      " is measured beside this one's, on the same log, in the same run")
    parser.add_argument("--only", choices=["lint", "intents", "audit", "baseline", "cold-start", "check", "memory", "spark", "serve"], nargs="+",
                        help="run only these groups of rows")
    options = parser.parse_args()
    repeats = 2 if options.quick else 3
    wanted = set(options.only or ["lint", "intents", "audit", "baseline", "cold-start", "check", "memory", "spark", "serve"])
    if options.baseline is None:
        wanted.discard("baseline")
    lines, description = corpus()
    if options.quick:
        lines = lines[:1500]
    rows = [{"what": f"corpus: {description}", "rate": "", "mb": "", "ratio": ""}]
    from serve import ruleset_memory_rows, serve_rows

    # Auditors score millions of messages: 300,000 keeps the fixed start-up (about a second)
    # from standing in for throughput, and a run of the table under 15 minutes.
    audit_size, audit_repeats = (20_000, 1) if options.quick else (300_000, 2)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        groups = {
            "lint": lambda: lint_rows(lines, repeats),
            "intents": lambda: intent_rows(lines, repeats, workdir),
            "audit": lambda: audit_rows(workdir, audit_size, audit_repeats),
            "baseline": lambda: baseline_rows(workdir, audit_size, audit_repeats, options.baseline),
            "cold-start": lambda: cold_start_rows(workdir, 3 if options.quick else 5),
            "check": lambda: check_rows(workdir, (1_000, 10_000) if options.quick else (10_000, 100_000), 1 if options.quick else 2),
            "memory": lambda: memory_rows(workdir, 5_000 if options.quick else 30_000),
            "spark": lambda: spark_rows(workdir, 20_000 if options.quick else 100_000),
            # kefu-lint serve under load, and memory per ruleset
            "serve": lambda: serve_rows(lines, options.quick) + ruleset_memory_rows(),
        }
        for name, group in groups.items():
            if name in wanted:
                rows += group()
    _print_table(rows, options.output)


def _print_table(rows: list[dict], output: Path | None) -> None:
    table = ["| measurement | rate / time | MB/s or wall | ratio |", "|---|---|---|---|"]
    table += [f"| {r['what']} | {r.get('rate', '')} | {r.get('mb', '')} | {r.get('ratio', '')} |" for r in rows]
    text = "\n".join(table)
    print(f"kefu-lint benchmark · {time.strftime('%Y-%m-%d')} · {os.cpu_count()} cores · Python {sys.version.split()[0]}\n")
    print(text)
    if output:
        output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
