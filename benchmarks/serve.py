"""`kefu-lint serve` under a real HTTP load generator on loopback, and the memory each extra
served ruleset costs. Run by benchmarks/run.py (``--only serve`` for these rows alone).

The load generator is ``hey`` (Debian: ``apt-get install hey``): it sends a fixed rate
(``-q`` per worker) as well as flat out, and reports latency percentiles. Without it the rows
say so and the rest of the benchmark runs. Every run is bounded in time (``-z``) and sends
only to 127.0.0.1. The request bodies repeat, so the engine's reply cache answers them: the
rows measure the service (HTTP, JSON, routing) around a cached lint; a reply it has not seen
adds the "latency per new reply" of the lint rows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

KEFU_LINT = str(Path(sys.executable).parent / "kefu-lint")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([KEFU_LINT, "serve", "--port", str(port), "--workers", str(workers)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode()[-500:])
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the service did not start in 120 s")


def _hey(url: str, body: Path, seconds: int, concurrency: int, rate_per_worker: int | None = None) -> dict[str, float]:
    args = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST", "-T", "application/json", "-D", str(body)]
    if rate_per_worker:
        args += ["-q", str(rate_per_worker)]
    output = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = float(re.search(r"Requests/sec:\s*([\d.]+)", output)[1])
    percentiles = {int(p): float(s) for p, s in re.findall(r"(\d+)%+ in ([\d.]+) secs", output)}
    statuses = re.findall(r"\[(\d{3})\]\s+(\d+) responses", output)
    failed = sum(int(n) for code, n in statuses if code != "200")
    return {"rate": rate, "p50": percentiles[50] * 1000, "p99": percentiles[99] * 1000, "failed": failed}


def serve_rows(lines: list[str], quick: bool) -> list[dict]:
    if shutil.which("hey") is None:
        return [{"what": "kefu-lint serve: skipped (no load generator: apt-get install hey)", "rate": "", "mb": "", "ratio": ""}]
    seconds = 3 if quick else 8
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as folder:
        single = Path(folder) / "single.json"
        single.write_text(json.dumps({"text": "亲，不好意思，您的快递还在路上，我马上帮您催一下"}, ensure_ascii=False), encoding="utf-8")
        batch = Path(folder) / "batch.json"
        batch.write_text(json.dumps({"replies": lines[:100]}, ensure_ascii=False), encoding="utf-8")
        for workers in (1, 2):
            try:
                process, url = _start(workers)
            except RuntimeError as error:
                rows.append({"what": f"kefu-lint serve --workers {workers}: did not start", "rate": str(error)[:80], "mb": "", "ratio": ""})
                continue
            try:
                _hey(f"{url}/v1/lint", single, 1, 4)  # warm-up: connections, caches
                measured = [
                    ("single reply, flat out (8 connections)", _hey(f"{url}/v1/lint", single, seconds, 8), 1),
                    ("single reply at 500 requests/s (10 connections × 50/s)", _hey(f"{url}/v1/lint", single, seconds, 10, 50), 1),
                    ("batch of 100 replies, flat out (4 connections)", _hey(f"{url}/v1/batch", batch, seconds, 4), 100),
                ]
            finally:
                process.terminate()
                process.wait(timeout=30)
            for what, result, per_request in measured:
                replies = f" = {result['rate'] * per_request:,.0f} replies/s" if per_request > 1 else ""
                failed = f", {result['failed']:.0f} non-200" if result["failed"] else ""
                rows.append({"what": f"serve --workers {workers}: {what}", "rate": f"{result['rate']:,.0f} requests/s{replies}",
                             "mb": f"p50 {result['p50']:.2f} ms · p99 {result['p99']:.2f} ms{failed}", "ratio": ""})
    return rows


_MEMORY_PROBE = r"""
import gc, json, sys
from kefu_lint import Linter, TokenizerPool

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

shared = sys.argv[1] == "shared"
extra = int(sys.argv[2])
pool = TokenizerPool() if shared else None
first = Linter("default", tokenizers=pool)
first.warm_up(); first.lint("亲，不好意思")
gc.collect(); before = rss_kib()
more = []
for index in range(extra):
    linter = Linter("platform" if index % 2 else "default", tokenizers=pool)
    linter.warm_up(); linter.lint("亲，不好意思")
    more.append(linter)
gc.collect()
print(json.dumps({"first": before, "per_extra": (rss_kib() - before) / extra}))
"""


def ruleset_memory_rows(extra: int = 6) -> list[dict]:
    """Resident memory of one served ruleset, and of each further one with and without a
    shared tokenizer (what ``kefu-lint serve --ruleset …`` pays per shop)."""
    if not Path("/proc/self/status").exists():
        return [{"what": "memory per extra ruleset: skipped (needs /proc)", "rate": "", "mb": "", "ratio": ""}]
    results = {}
    for mode in ("shared", "separate"):
        output = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, mode, str(extra)], capture_output=True, text=True,
                                timeout=600, env={**os.environ, "PYTHONHASHSEED": "0"})
        results[mode] = json.loads(output.stdout)
    shared, separate = results["shared"]["per_extra"] / 1024, results["separate"]["per_extra"] / 1024
    return [
        {"what": "serve: process with one ruleset loaded (resident)", "rate": f"{results['shared']['first'] / 1024:.0f} MiB", "mb": "", "ratio": ""},
        {"what": f"serve: each extra ruleset, tokenizer shared (mean of {extra})", "rate": f"{shared:.1f} MiB", "mb": "",
         "ratio": f"{shared / separate:.2f}× unshared" if separate > 0 else ""},
        {"what": f"serve: each extra ruleset, own tokenizer (Linter per ruleset, mean of {extra})", "rate": f"{separate:.1f} MiB", "mb": "", "ratio": "1.00×"},
    ]
