"""Worker processes under supervision, for the audit's ``--jobs N`` and its JSONL part writers.

A ``multiprocessing.Pool`` replaces a worker the OOM killer took and waits forever for the
batch it was doing; its workers outlive a parent killed with ``kill -9`` and print their own
traceback on Ctrl-C. Here, instead:

- a dead worker breaks the pool at once (``concurrent.futures`` watches every worker's
  process sentinel), and the run stops with :class:`WorkerDied` and a resumable state;
- every worker watches its parent and exits within half a second once it is gone;
- workers ignore Ctrl-C: the parent alone handles it, stops them and reports it once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .errors import KefuLintError

#: How often a worker looks for its parent (a worker orphaned by ``kill -9`` lives this long).
PARENT_CHECK_SECONDS = 0.5


class WorkerDied(KefuLintError):
    """A worker process died (killed, out of memory): exit 2, with how to go on."""


def forks() -> bool:
    """Workers are forked (they inherit the parent's memory: a warm tokenizer), not spawned."""
    return "fork" in multiprocessing.get_all_start_methods()


def _context():
    return multiprocessing.get_context("fork" if forks() else "spawn")


def new_lock():
    """A lock the workers of a :class:`Supervised` pool share."""
    return _context().Lock()


_parent_pid = 0


def parent_gone() -> bool:
    """In a worker: its parent has died (the worker has been handed to init)."""
    return os.getppid() != _parent_pid


def _start_worker(parent_pid: int, initializer: Callable | None, initargs: tuple) -> None:
    global _parent_pid
    _parent_pid = parent_pid
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, name="kefu-lint parent watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _watch_parent() -> None:
    while not parent_gone():
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)  # whatever it was doing is uncommitted: the database rolls it back


class _KeepingContext:
    """A multiprocessing context that keeps the processes it starts. ``concurrent.futures``
    has no public way to stop a pool's workers (before Python 3.14's ``terminate_workers``),
    but it starts them through the context it is given: so the pool's own processes are
    known, and stopped with ``Process.terminate``, without reading the pool's internals."""

    def __init__(self, context) -> None:
        self._context = context
        self.processes: list[multiprocessing.process.BaseProcess] = []

    def Process(self, *args, **kwargs):  # noqa: N802 - the context's own name
        process = self._context.Process(*args, **kwargs)
        self.processes.append(process)
        return process

    def __getattr__(self, name: str):
        return getattr(self._context, name)


class Supervised:
    """``jobs`` worker processes; :meth:`ordered` runs tasks in them with a bounded window."""

    def __init__(self, jobs: int, *, initializer: Callable | None = None, initargs: tuple = (), what: str = "audit") -> None:
        self.window = jobs * 2  # bounded: never more than this many tasks in memory
        self.what = what
        self._context = _KeepingContext(_context())
        # a context that keeps its processes: not one of multiprocessing's own, for the stubs
        self.pool = ProcessPoolExecutor(jobs, mp_context=self._context, initializer=_start_worker,  # type: ignore[call-overload]
                                        initargs=(os.getpid(), initializer, initargs))

    def ordered(self, function: Callable, arguments: Iterable[tuple]) -> Iterator:
        """``function(*args)`` for each of ``arguments`` in the workers; results in order."""
        in_flight: deque[Future] = deque()
        with self._noticing_death():
            for args in arguments:
                in_flight.append(self.pool.submit(function, *args))
                if len(in_flight) >= self.window:
                    yield in_flight.popleft().result()
            while in_flight:
                yield in_flight.popleft().result()

    def start(self, function: Callable, arguments: Iterable[tuple]) -> Callable[[], list]:
        """Start ``function(*args)`` for every one of ``arguments`` now; the returned function
        waits for their results, in order."""
        with self._noticing_death():
            futures = [self.pool.submit(function, *args) for args in arguments]

        def results() -> list:
            with self._noticing_death():
                return [future.result() for future in futures]

        return results

    @contextmanager
    def _noticing_death(self) -> Iterator[None]:
        try:
            yield
        except BrokenProcessPool:
            raise WorkerDied(
                f"a worker process of the {self.what} died (killed, or out of memory?); what was committed is kept:"
                " rerun with --resume to go on"
            ) from None

    def close(self, *, wait: bool) -> None:
        """Wait for the workers to finish, or (``wait=False``, on an error or Ctrl-C) stop them now."""
        if not wait:
            self.pool.shutdown(wait=False, cancel_futures=True)
            # A task stopped here is a transaction never committed.
            for process in self._context.processes:
                if process.is_alive():
                    process.terminate()
        self.pool.shutdown(wait=True)
