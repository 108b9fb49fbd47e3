"""Tokenizer backends. Each Linter owns its own instance; jieba's global tokenizer is never used.

A backend turns normalised text into token spans. Rules only ask "does this range start and
end on token boundaries?", so any backend that segments the same way gives the same findings.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from itertools import accumulate
from pathlib import Path
from typing import Protocol

from ..errors import ConfigError
from .cache import cache_dir

TOKENIZER_NAMES = ("jieba", "jieba-rs", "auto")


class Tokenizer(Protocol):
    name: str

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Half-open ``(start, end)`` spans covering ``text`` in order."""
        ...

    def warm_up(self) -> None:
        """Load the dictionary now rather than on the first reply."""
        ...


class _QuietDuringInit(logging.Filter):
    """Drops jieba's log records emitted by threads that are initialising a kefu-lint tokenizer.

    jieba logs "Building prefix dict ..." at DEBUG through a handler of its own. Changing that
    logger's level would change the host application's jieba output too, so instead this
    filter hides only the records our own initialisation produces.
    """

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.local, "quiet", False)


_quiet_filter = _QuietDuringInit()
_filter_installed = False
_filter_lock = threading.Lock()


def _import_jieba():
    global _filter_installed
    with warnings.catch_warnings():
        # jieba 0.42 imports pkg_resources, which newer setuptools deprecates loudly.
        warnings.simplefilter("ignore")
        import jieba
    with _filter_lock:
        if not _filter_installed:
            jieba.default_logger.addFilter(_quiet_filter)
            _filter_installed = True
    return jieba


def _spans(words: Iterable[str]) -> list[tuple[int, int]]:
    ends = list(accumulate(map(len, words)))
    return list(zip([0, *ends[:-1]], ends))


#: Text longer than this is segmented window by window: jieba's HMM step copies its best
#: path at every character, so one long run of Han characters costs time quadratic in its
#: length (an 80,000-character run took seconds). Replies are far shorter than a window.
SEGMENT_WINDOW = 1024
#: Tokens ending within this many characters of a window's end are segmented again with
#: the next window, so a cut never falls inside a word (dictionary words are shorter).
WINDOW_OVERLAP = 64


def windowed_spans(cut: Callable[[str], Iterable[str]], text: str) -> list[tuple[int, int]]:
    """Token spans of ``text`` from ``cut`` (text → words), in bounded windows: linear time
    in the length of the text, and the same tokens as one call wherever a window is not cut."""
    if len(text) <= SEGMENT_WINDOW:
        return _spans(cut(text))
    spans: list[tuple[int, int]] = []
    position = 0
    while position < len(text):
        window_end = min(position + SEGMENT_WINDOW, len(text))
        window = _spans(cut(text[position:window_end]))
        if window_end < len(text):
            # Keep the tokens that end before the overlap; at least one, so the walk advances.
            kept = [span for span in window if span[1] <= SEGMENT_WINDOW - WINDOW_OVERLAP] or window[:1]
        else:
            kept = window
        spans.extend((position + start, position + end) for start, end in kept)
        position += kept[-1][1]
    return spans


class JiebaTokenizer:
    """jieba's reference segmenter, as a private ``jieba.Tokenizer`` instance."""

    name = "jieba"

    def __init__(self, words: Iterable[tuple[str, int | None]] = ()) -> None:
        self._words = tuple(words)
        self._lock = threading.Lock()
        self._tokenizer = None

    def _load(self):
        with self._lock:
            if self._tokenizer is not None:
                return self._tokenizer
            jieba = _import_jieba()
            tokenizer = jieba.Tokenizer()
            directory = cache_dir()
            try:
                directory.mkdir(parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(directory)
            except OSError:
                pass  # jieba falls back to the system temp dir
            _quiet_filter.local.quiet = True
            try:
                tokenizer.initialize()
                for word, frequency in self._words:
                    tokenizer.add_word(word, frequency)
            finally:
                _quiet_filter.local.quiet = False
            self._tokenizer = tokenizer
            return tokenizer

    def warm_up(self) -> None:
        self._load()

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        tokenizer = self._tokenizer or self._load()
        return windowed_spans(lambda part: tokenizer.cut(part, HMM=True), text)


class RustJiebaTokenizer:
    """jieba-rs through ``rjieba`` (``pip install kefu-lint[fast]``): same algorithm, same dictionary."""

    name = "jieba-rs"

    def __init__(self, words: Iterable[tuple[str, int | None]] = ()) -> None:
        self._jieba_class = _rjieba_class()
        self._words = tuple(words)
        self._lock = threading.Lock()
        self._instance = None

    def _load(self):
        with self._lock:
            if self._instance is None:
                instance = self._jieba_class()
                for word, frequency in self._words:
                    instance.add_word(word, frequency, None)
                self._instance = instance
            return self._instance

    def warm_up(self) -> None:
        self._load()

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        instance = self._instance or self._load()
        return windowed_spans(lambda part: instance.cut(part, True), text)


def _rjieba_class():
    """rjieba's ``Jieba`` class, without building rjieba's module-level default instance.

    ``import rjieba`` builds a default tokenizer at import time (about 0.15 s, the largest
    part of a cold ``kefu-lint check``) that kefu-lint never uses: each Linter builds its
    own. So the compiled extension ``rjieba.rjieba`` is loaded on its own and registered
    under its own name, exactly as the package's ``from .rjieba import Jieba`` would load
    it: a host that imports rjieba later gets the same module and its default instance.
    """
    with _rjieba_lock:  # two Linters built at once must not load the extension twice
        return _load_rjieba_class()


_rjieba_lock = threading.Lock()


def _load_rjieba_class():
    loaded = sys.modules.get("rjieba.rjieba") or sys.modules.get("rjieba")
    if loaded is not None:
        return loaded.Jieba
    try:
        package = importlib.util.find_spec("rjieba")
    except (ImportError, ValueError):
        package = None
    if package is None:
        raise ConfigError("tokenizer 'jieba-rs' needs the fast extra: pip install 'kefu-lint[fast]'")
    try:
        spec = importlib.machinery.PathFinder.find_spec("rjieba.rjieba", package.submodule_search_locations)
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            raise ImportError("rjieba.rjieba is not a compiled extension")
        module = importlib.util.module_from_spec(spec)
        sys.modules["rjieba.rjieba"] = module
        spec.loader.exec_module(module)
        return module.Jieba
    except Exception:  # noqa: BLE001 - another layout: the ordinary import still works
        sys.modules.pop("rjieba.rjieba", None)
        import rjieba

        return rjieba.Jieba


def domain_words() -> list[tuple[str, int | None]]:
    """The shipped customer-service dictionary (jieba format: word [frequency] [tag])."""
    words: list[tuple[str, int | None]] = []
    text = (Path(__file__).resolve().parent.parent / "data" / "kefu_dict.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        frequency = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
        words.append((fields[0], frequency))
    return words


class TokenizerPool:
    """Tokenizers shared between Linters: one instance per backend and dictionary.

    A tokenizer (its prefix dictionary) is most of what a Linter weighs (about 20 MiB for
    jieba), and Linters of rulesets that add the same ``dictionary:`` words segment alike, so
    a host serving one ruleset per shop (``kefu-lint serve``) builds the tokenizer once and
    each further ruleset costs little more than its automata. Thread-safe; the instances it
    hands out are as thread-safe as their backends (both load under a lock).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokenizers: dict[tuple[str, tuple[tuple[str, int | None], ...]], Tokenizer] = {}

    def get(self, name: str, words: Iterable[tuple[str, int | None]] = ()) -> Tokenizer:
        """The pool's tokenizer of backend ``name`` with ``words`` added (built on first use)."""
        key = (name, tuple(words))
        with self._lock:
            tokenizer = self._tokenizers.get(key)
            if tokenizer is None:
                tokenizer = self._tokenizers[key] = make_tokenizer(name, key[1])
            return tokenizer

    def __len__(self) -> int:
        return len(self._tokenizers)


def make_tokenizer(name: str, words: Iterable[tuple[str, int | None]] = ()) -> Tokenizer:
    """A backend by name; ``words`` are added on top of the shipped domain dictionary."""
    words = domain_words() + list(words)
    if name not in TOKENIZER_NAMES:
        raise ConfigError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZER_NAMES)}")
    if name == "jieba-rs":
        return RustJiebaTokenizer(words)
    if name == "auto":
        try:
            return RustJiebaTokenizer(words)
        except ConfigError:
            return JiebaTokenizer(words)
    return JiebaTokenizer(words)
